"""Frames in, words for what they show out: :class:`FrameTagger`.

Per frame, the classifier looks at the centre square (the whole-frame view, tagged with no box)
and at overlapping square tiles (tagged with the tile's box, so a heatmap can show where). A
tile repeats a whole-frame label only when it is much surer, i.e. when the tile localises it,
and tiles name only animals and people (see :class:`~backend.config.TileSettings`).
Over time, one label yields one tag per ``window_s`` seconds, at its best-scoring frame: a 30 s
shot of a balance beam gives three "balance beam" tokens, not thirty.

The same model run gives every crop's appearance features (:mod:`.appearance`):
:meth:`FrameTagger.look` returns the tags and each frame's regions, :meth:`FrameTagger.regions_of`
the regions of one picture (a query image), laid out as frames are.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from backend.config import VisionSettings
from backend.ingest.types import Box, Frame, FrameRegions, VisualTag
from backend.ingest.vision.appearance import frame_regions
from backend.ingest.vision.classifier import FEATURE_DIM, Backend, ImageNetClassifier
from backend.ingest.vision.labels import LIVING_CLASSES, LabelSet
from backend.ingest.vision.regions import crop_batch, is_flat, tile_boxes, whole_frame_box


@dataclass(frozen=True)
class FrameScores:
    """One frame's label probabilities: the whole-frame view and each tile."""

    time_s: float
    whole: np.ndarray | None  # (L,); None: the frame is one flat colour
    tiles: np.ndarray  # (T, L); rows of flat tiles are zero
    boxes: tuple[Box, ...]  # (T,)
    regions: FrameRegions | None = None  # what the non-flat crops look like (whole view first)


@dataclass(frozen=True)
class FrameLook:
    """What the tagger makes of a video's frames: words, and what each frame looks like."""

    tags: list[VisualTag]
    regions: list[FrameRegions]


class FrameTagger:
    """Names what frames show with ImageNet labels; the model loads on the first frame."""

    def __init__(
        self,
        settings: VisionSettings,
        *,
        cache_dir: Path | None = None,
        backend: Backend | None = None,
        threads: int | None = None,
        batch_frames: int = 8,
    ) -> None:
        self.settings = settings
        self.tiles = settings.tiles if settings.tiles.scale > 0 else None
        self.window_s = settings.window_s
        self.batch_frames = max(1, batch_frames)
        self.classifier = ImageNetClassifier(
            cache_dir=cache_dir, backend=backend or settings.runtime, threads=threads
        )
        self._labels: LabelSet | None = None
        self._tile_mask: np.ndarray | None = None

    @property
    def labels(self) -> LabelSet:
        if self._labels is None:
            self._labels = LabelSet.imagenet()
            self._tile_mask = (
                self._labels.mask(LIVING_CLASSES)
                if self.tiles and self.tiles.vocabulary == "living"
                else np.ones(len(self._labels.names), bool)
            )
        return self._labels

    def tag_frames(self, frames: Sequence[Frame]) -> list[VisualTag]:
        """Tags for all frames, merged over time, sorted by time then score (best first)."""
        return self.look(frames).tags

    def look(self, frames: Sequence[Frame]) -> FrameLook:
        """Tags (as :meth:`tag_frames`) and the regions of the frames looked at
        (:func:`frames_to_look_at`), from one model run."""
        tags: list[VisualTag] = []
        regions: list[FrameRegions] = []
        for scores in self.score_frames(frames_to_look_at(frames, self.settings.every_s)):
            tags.extend(self.pick(scores))
            if scores.regions is not None:
                regions.append(scores.regions)
        return FrameLook(merge_over_time(tags, self.window_s), regions)

    def regions_of(self, image: np.ndarray) -> FrameRegions | None:
        """The regions of one picture ``(H, W, 3)`` uint8 RGB (a query image), cropped as a
        frame is; None for a picture of one flat colour."""
        return next(iter(self.score_frames([Frame(0.0, image)]))).regions

    def score_frames(self, frames: Sequence[Frame]) -> Iterable[FrameScores]:
        """Label probabilities per frame (what :meth:`pick` chooses from), in batches."""
        for start in range(0, len(frames), self.batch_frames):
            batch = frames[start : start + self.batch_frames]
            layouts = [self._boxes(frame) for frame in batch]
            pixels = np.concatenate(
                [crop_batch(f.image, boxes) for f, boxes in zip(batch, layouts, strict=True)]
            )
            flat = np.array([is_flat(crop) for crop in pixels])
            scores = np.zeros((len(pixels), len(self.labels.names)), np.float32)
            features = np.zeros((len(pixels), FEATURE_DIM), np.float32)
            if not flat.all():  # flat crops (black frames, fades) are not worth a model run
                probs, features[~flat] = self.classifier.predict_with_features(pixels[~flat])
                scores[~flat] = self.labels.label_scores(probs)
            row = 0
            for frame, boxes in zip(batch, layouts, strict=True):
                rows = slice(row, row + len(boxes))
                whole = None if flat[row] else scores[row]
                tiles = scores[row + 1 : row + len(boxes)]
                regions = frame_regions(frame.time_s, boxes, features[rows], ~flat[rows])
                yield FrameScores(frame.time_s, whole, tiles, tuple(boxes[1:]), regions)
                row += len(boxes)

    def pick(self, scores: FrameScores) -> list[VisualTag]:
        """One frame's tags: the whole frame's top-k, then tile labels it does not already give."""
        k, floor = self.settings.top_k, self.settings.min_score
        names = self.labels.names
        tags: dict[str, VisualTag] = {}
        if scores.whole is not None:
            for label in np.argsort(-scores.whole)[:k]:
                if scores.whole[label] >= floor:
                    name = names[label]
                    tags[name] = VisualTag(scores.time_s, name, float(scores.whole[label]))
        if self.tiles is None or not len(scores.tiles):
            return list(tags.values())
        threshold = max(floor, self.tiles.min_score)
        best_tile: dict[str, VisualTag] = {}
        allowed = np.where(self._tile_mask, scores.tiles, 0.0)
        for tile, label in enumerate(allowed.argmax(axis=1)):
            score = float(allowed[tile, label])
            name = names[label]
            if score < threshold or (name in best_tile and best_tile[name].score >= score):
                continue
            best_tile[name] = VisualTag(scores.time_s, name, score, scores.boxes[tile])
        localised = [
            tag
            for name, tag in best_tile.items()
            if name not in tags or tag.score >= tags[name].score + self.tiles.margin
        ]
        localised.sort(key=lambda tag: -tag.score)
        return [*tags.values(), *localised[:k]]

    def _boxes(self, frame: Frame) -> list[Box]:
        height, width = frame.image.shape[:2]
        tiles = (
            tile_boxes(width, height, self.tiles.scale, self.tiles.overlap) if self.tiles else []
        )
        return [whole_frame_box(width, height), *tiles]


def frames_to_look_at(frames: Sequence[Frame], every_s: float) -> list[Frame]:
    """The first frame, every scene change, and any frame ``every_s`` or more after the last
    one kept.

    >>> times = [0, 1, 2, 3, 3.5, 4, 5, 6]
    >>> frames = [Frame(t, None, is_scene_change=t == 3.5) for t in times]
    >>> [f.time_s for f in frames_to_look_at(frames, 2.0)]
    [0, 2, 3.5, 6]
    """
    if every_s <= 0:
        return list(frames)
    kept: list[Frame] = []
    for frame in frames:
        if not kept or frame.is_scene_change or frame.time_s - kept[-1].time_s >= every_s - 1e-6:
            kept.append(frame)
    return kept


def merge_over_time(tags: Iterable[VisualTag], window_s: float) -> list[VisualTag]:
    """Keep, per label, the best-scoring tag of each ``window_s`` stretch from its first sighting.

    >>> tags = [VisualTag(t, "beam", s) for t, s in [(0, 0.5), (1, 0.9), (2, 0.6), (12, 0.4)]]
    >>> [(t.time_s, t.score) for t in merge_over_time(tags, window_s=10)]
    [(1, 0.9), (12, 0.4)]
    """
    by_label: dict[str, list[VisualTag]] = {}
    for tag in tags:
        by_label.setdefault(tag.label, []).append(tag)
    kept: list[VisualTag] = []
    for sightings in by_label.values():
        sightings.sort(key=lambda tag: tag.time_s)
        start, best = sightings[0].time_s, sightings[0]
        for tag in sightings[1:]:
            if tag.time_s >= start + window_s:
                kept.append(best)
                start, best = tag.time_s, tag
            elif tag.score > best.score:
                best = tag
        kept.append(best)
    kept.sort(key=lambda tag: (tag.time_s, -tag.score))
    return kept
