"""Read a video's sampled frames incrementally: look again only where the picture changed, and
recognise only text that is new.

Reading every frame whole (``TextReader.read_image``) re-reads a caption or a sign on every frame
it stays on, and detects text at full resolution all over pictures that have none. Here each
frame is compared with the one read just before it (:mod:`.changes`):

1. **Carried over.** A line (or a rejected box) of the previous frame whose cells did not change
   and whose pixels still match keeps its reading: no detection, no recognition. A frame that did
   not change at all costs a few milliseconds.
2. **Detected where it changed**, inside the box around the changed cells, at the resolution the
   text needs: the frame's own (as ``read_image``) on the first frame, on scene changes and on
   every ``OcrSettings.full_resolution_every``-th frame, which is where text of any size is
   found; in between at a short side of ``OcrSettings.coarse_side`` (a 720p frame: a fifth of
   the pixels), which finds text as large as captions and titles, plus at the frame's own
   resolution around the boxes where small text was read on the frame before and the picture
   changed (in the box, or beside it, where text can grow), and where text of any size was read
   but the coarse look lost it, so that text keeps being read for as long as it is shown and is
   read anew when it changes.
3. **Recognised if new.** A detected box at the place of a previously read box whose pixels
   match takes over that reading; the others are recognised together, in one batched run.
4. **Second look** (:mod:`.second_look`): where the first look read no word, the same three steps
   run on the contrast-equalised copy, exactly as ``read_image`` would look at it.

The lines of each frame then become spans as before (:func:`.spans.merge_lines`), so a span still
starts on the first frame its text is read on and ends on the last one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from backend.config import OcrSettings
from backend.ingest.ocr import changes
from backend.ingest.ocr.base import OcrLine, Quad, StepwiseEngine, as_rgb, quad_to_box
from backend.ingest.ocr.rapid import detector_scale, is_ordinary
from backend.ingest.ocr.second_look import (
    MIN_SCORE as SECOND_LOOK_MIN_SCORE,
)
from backend.ingest.ocr.second_look import (
    equalise_lightness,
    found_words,
    is_wordlike,
    shrink_factor,
)
from backend.ingest.ocr.spans import box_overlap
from backend.ingest.types import Box, Frame

#: Short side of the equalised copy the second look reads between full-resolution frames
#: (on the corpus, TAXI is still found at 224; the full-resolution second look is as
#: second_look.read_equalised: 320, or half the frame).
COARSE_SECOND_SIDE = 256
#: Text whose box is less than this tall at the coarse scale is "small": it is looked for again
#: at the frame's own resolution where it was, on the frames between refreshes.
SMALL_TEXT_PX = 16
#: A changed region covering more than this share of the frame is detected whole.
WHOLE_FRAME_SHARE = 0.5
#: Margin (frame pixels) around a changed region or a small-text box when it is detected alone.
MARGIN = 16
#: A box must cover this share of a previous box (and be as tall, within this ratio) to be
#: taken for the same text.
SAME_PLACE = 0.5
SAME_HEIGHT = 1.4
#: Small text is looked for again this many text heights to its sides: room for a word or two
#: added to its line (issue-195-aspect-ratio.mp4: "BBC" becomes "BBC FOUR").
GROWTH_WIDTH = 3


@dataclass(frozen=True, eq=False)  # compared by identity: it holds pixels
class _Read:
    """A box read on some frame: its reading (kept or not), and its pixels then."""

    line: OcrLine
    kept: bool  # passed the score (and, second look, word) filter
    second: bool  # found by the second look
    patch: np.ndarray  # changes.patch of the plain grey frame

    def moved_to(self, box: Box, patch: np.ndarray) -> _Read:
        line = OcrLine(self.line.text, box, self.line.score)
        return _Read(line, self.kept, self.second, patch)


@dataclass
class _Previous:
    shape: tuple[int, ...]
    cells: np.ndarray
    reads: list[_Read]
    since_refresh: int


@dataclass
class Work:
    """What the incremental reader did, for benchmarks and tests."""

    frames: int = 0
    unchanged: int = 0  # frames with no changed cell: nothing detected or recognised
    full: int = 0  # frames detected at their own resolution (first, scene change, refresh)
    whole: int = 0  # frames read whole (odd shapes) as TextReader.read_image reads them
    detections: int = 0  # detector runs
    recognised: int = 0  # boxes recognised
    reused: int = 0  # boxes carried over or matched to an earlier reading


class IncrementalReader:
    """Reads the frames of one video in time order; keeps state between frames only."""

    def __init__(self, engine: StepwiseEngine, settings: OcrSettings, read_whole) -> None:
        self.engine = engine
        self.settings = settings
        self.read_whole = read_whole  # fallback for pictures detect() does not take
        self.work = Work()
        self._previous: _Previous | None = None

    def read(self, frames: Sequence[Frame]) -> list[tuple[float, list[OcrLine]]]:
        """``(time_s, lines)`` per frame, frames in time order."""
        out = []
        for frame in sorted(frames, key=lambda f: f.time_s):
            out.append((frame.time_s, self._frame(frame)))
        return out

    def _frame(self, frame: Frame) -> list[OcrLine]:
        self.work.frames += 1
        image = as_rgb(frame.image)
        if not is_ordinary(image.shape):
            self.work.whole += 1
            self._previous = None
            return self.read_whole(image)
        plain = changes.grey(image)
        grid = changes.cells(plain)
        previous = self._previous
        if previous is None or previous.shape != image.shape:
            mask = np.ones(grid.shape, bool)
            reads: list[_Read] = []
            full = True
        else:
            mask = changes.change_mask(previous.cells, grid)
            reads = previous.reads
            every = self.settings.full_resolution_every
            full = (self.settings.full_on_scene_changes and frame.is_scene_change) or (
                every > 0 and previous.since_refresh + 1 >= every
            )
        unchanged = [_unchanged(r, plain) for r in reads]
        carried = [r for r, same in zip(reads, unchanged, strict=True) if same]
        moved = [r for r, same in zip(reads, unchanged, strict=True) if not same]
        self.work.reused += len(carried)
        region = changes.changed_region(mask, image.shape)
        if region is None and moved:  # cells alike, text pixels not: look there again
            region = _grow(moved[0].line.box, [r.line.box for r in moved], image.shape)
        if region is None:
            self.work.unchanged += 1
            found = carried
        else:
            region = _grow(region, [r.line.box for r in moved], image.shape)
            self.work.full += full
            first = self._first_look(image, plain, region, full, carried, moved, mask)
            found = first
            if self.settings.second_look and not found_words(_kept(first, second=False)):
                found = first + self._second_look(image, plain, region, full, carried, moved)
        since = 0 if region is not None and full else (previous.since_refresh + 1)
        self._previous = _Previous(image.shape, grid, found, since)
        lines = _kept(found, second=False)
        if not found_words(lines):
            lines += _kept(found, second=True)
        return lines

    # -- first look ------------------------------------------------------------------------

    def _first_look(self, image, plain, region, full, carried, moved, mask) -> list[_Read]:
        own = detector_scale(image.shape)
        scale = own if full else min(own, self.settings.coarse_side / min(image.shape[:2]))
        quads = self._detect(image, region, scale)
        if scale < own:  # text read before: look for it again at the frame's resolution
            fine = []
            for roi in _merge_boxes(
                self._look_again(moved, carried, mask, quads, scale), image.shape
            ):
                crop = _crop(roi, image.shape)
                fine += [
                    q
                    for q in self._detect(image, roi, own)
                    if _finer(quad_to_box(q), crop, quads, scale, image.shape)
                ]
            quads = fine + [q for q in quads if not _covered(quad_to_box(q), fine)]
        quads, keep = _settle(quads, [r for r in carried if not r.second])
        return keep + self._recognise(image, plain, quads, [r for r in moved if not r.second])

    @staticmethod
    def _look_again(moved, carried, mask, coarse: list[Quad], scale: float) -> list[Box]:
        """Where to look again at the frame's own resolution on a coarse frame: text read before
        whose pixels changed, if it is small at the coarse scale or the coarse look did not find
        it again (text on the edge of the coarse look's reach, over a moving picture), and small
        text whose surroundings changed (a word may have been added beside it: "BBC" became
        "BBC FOUR", too small for the coarse look)."""
        boxes = [
            r.line.box
            for r in moved
            if r.kept
            and not r.second
            and (_small(r.line.box, scale) or not _covered(r.line.box, coarse))
        ]
        return boxes + [
            r.line.box
            for r in carried
            if r.kept
            and not r.second
            and _small(r.line.box, scale)
            and _changed_around(r.line.box, mask)
        ]

    # -- second look -----------------------------------------------------------------------

    def _second_look(self, image, plain, region, full, carried, moved) -> list[_Read]:
        """As second_look.read_equalised: the equalised copy, shrunk, read as read_image would."""
        height, width = image.shape[:2]
        shrink = shrink_factor(height, width)
        if not full:
            shrink = min(shrink, COARSE_SECOND_SIDE / min(height, width))
        small = equalise_lightness(image)
        if shrink < 1.0:
            size = (round(width * shrink), round(height * shrink))
            small = cv2.resize(small, size, interpolation=cv2.INTER_AREA)
        x0, y0, x1, y1 = (v * shrink for v in region)
        scale = detector_scale(small.shape)
        if not full:  # small frames too: not blown up past COARSE_SECOND_SIDE
            scale = min(scale, COARSE_SECOND_SIDE / min(small.shape[:2]))
        quads = self._detect(small, (x0, y0, x1, y1), scale)
        quads, keep = _settle(quads, [r for r in carried if r.second], shrink)
        earlier = [r for r in moved if r.second]
        found = self._recognise(small, plain, quads, earlier, shrink=shrink, second=True)
        return keep + found

    # -- shared steps ----------------------------------------------------------------------

    def _detect(self, image: np.ndarray, region: Box, scale: float) -> list[Quad]:
        """Boxes found in ``region`` of ``image`` (whole picture when the region is large)."""
        self.work.detections += 1
        crop = _crop(region, image.shape)
        if crop is None:
            return self.engine.detect(image, scale)
        left, top, right, bottom = crop
        quads = self.engine.detect(np.ascontiguousarray(image[top:bottom, left:right]), scale)
        return [q + np.array([left, top], np.float32) for q in quads]

    def _recognise(
        self,
        image: np.ndarray,
        plain: np.ndarray,
        quads: list[Quad],
        earlier: list[_Read],
        shrink: float = 1.0,
        second: bool = False,
    ) -> list[_Read]:
        """Readings for boxes of ``image`` (``shrink`` times the frame): an earlier reading where
        the text looks the same, else one batched recognition run."""
        found: list[_Read] = []
        unread: list[tuple[Quad, Box, np.ndarray]] = []
        for quad in quads:
            box = tuple(v / shrink for v in quad_to_box(quad))
            pixels = changes.patch(plain, box)
            same = _same_text_as(box, pixels, earlier)
            if same is not None:
                self.work.reused += 1
                found.append(same.moved_to(box, pixels))
            else:
                unread.append((quad, box, pixels))
        if unread:
            self.work.recognised += len(unread)
            readings = self.engine.recognise(image, [q for q, _, _ in unread])
            for (_, box, pixels), (text, score) in zip(unread, readings, strict=True):
                line = OcrLine(text, box, score)
                found.append(_Read(line, self._passes(line, second), second, pixels))
        return found

    def _passes(self, line: OcrLine, second: bool) -> bool:
        if not line.text.strip() or line.score < self.settings.min_score:
            return False
        return not second or (line.score >= SECOND_LOOK_MIN_SCORE and is_wordlike(line.text))


def _kept(reads: list[_Read], second: bool) -> list[OcrLine]:
    return [r.line for r in reads if r.kept and r.second == second]


def _unchanged(read: _Read, plain: np.ndarray) -> bool:
    """Whether the pixels where ``read`` was read are still the same (whatever moved around)."""
    return changes.same_patch(read.patch, changes.patch(plain, read.line.box))


def _same_text_as(box: Box, pixels: np.ndarray, earlier: list[_Read]) -> _Read | None:
    height = box[3] - box[1]
    for read in earlier:
        other = read.line.box
        ratio = max(height, 1e-6) / max(other[3] - other[1], 1e-6)
        if (
            box_overlap(box, other) >= SAME_PLACE
            and 1 / SAME_HEIGHT <= ratio <= SAME_HEIGHT
            and changes.same_patch(read.patch, pixels, shift=changes.MAX_SHIFT)
        ):
            return read
    return None


def _settle(
    quads: list[Quad], carried: list[_Read], shrink: float = 1.0
) -> tuple[list[Quad], list[_Read]]:
    """The detected boxes that are not carried-over text, and the carried reads that stand. A
    box at a carried box's place (IoU 0.5) is that text; one overlapping it otherwise (the text
    grew, shrank or joined other text) replaces it."""
    places = [tuple(v * shrink for v in r.line.box) for r in carried]
    fresh, replaced = [], set()
    for quad in quads:
        box = quad_to_box(quad)
        if any(_iou(box, place) >= SAME_PLACE for place in places):
            continue
        replaced.update(i for i, place in enumerate(places) if box_overlap(box, place) > 0)
        fresh.append(quad)
    return fresh, [r for i, r in enumerate(carried) if i not in replaced]


def _iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes.

    >>> _iou((0, 0, 10, 10), (5, 0, 15, 10))
    0.3333333333333333
    """
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h
    return float(w * h / union)


def _crop(region: Box, shape: tuple[int, ...]) -> tuple[int, int, int, int] | None:
    """The pixels ``_detect`` looks at for a region: the region and a margin, or None for the
    whole frame (a region over WHOLE_FRAME_SHARE of it)."""
    height, width = shape[:2]
    x0, y0, x1, y1 = region
    if (x1 - x0) * (y1 - y0) > WHOLE_FRAME_SHARE * height * width:
        return None
    left, top = int(max(0, x0 - MARGIN)), int(max(0, y0 - MARGIN))
    return left, top, int(min(width, x1 + MARGIN)), int(min(height, y1 + MARGIN))


def _finer(
    box: Box, crop: tuple[int, int, int, int] | None, coarse: list[Quad], scale: float, shape
) -> bool:
    """Whether a box found at the frame's own resolution is taken over the coarse look's: where
    the coarse look found nothing there, or found it but the text is small at the coarse scale
    (its box is rough there) and the crop did not cut the line."""
    if not _covered(box, coarse):
        return True
    return _small(box, scale) and not _cut(box, crop, shape)


def _small(box: Box, scale: float) -> bool:
    """Whether text is too small for a look at ``scale`` to read reliably."""
    return (box[3] - box[1]) * scale < SMALL_TEXT_PX


def _cut(box: Box, crop: tuple[int, int, int, int] | None, shape: tuple[int, ...]) -> bool:
    """Whether a box found in a crop touches one of the crop's edges inside the frame, so that
    its text may go on past it.

    >>> frame = (100, 100, 3)
    >>> _cut((0, 10, 50, 20), (0, 0, 50, 40), frame), _cut((0, 10, 40, 20), (0, 0, 50, 40), frame)
    (True, False)
    """
    if crop is None:
        return False
    left, top, right, bottom = crop
    height, width = shape[:2]
    near = 2.0
    return (
        (left > 0 and box[0] <= left + near)
        or (top > 0 and box[1] <= top + near)
        or (right < width and box[2] >= right - near)
        or (bottom < height and box[3] >= bottom - near)
    )


def _covered(box: Box, others: Sequence[Box] | Sequence[Quad]) -> bool:
    boxes = [o if isinstance(o, tuple) else quad_to_box(o) for o in others]
    return any(box_overlap(box, other) >= SAME_PLACE for other in boxes)


def _grow(region: Box, boxes: list[Box], shape: tuple[int, ...]) -> Box:
    """The changed region, grown to hold whole every earlier box it cuts."""
    x0, y0, x1, y1 = region
    for bx0, by0, bx1, by1 in boxes:
        if bx0 < x1 and bx1 > x0 and by0 < y1 and by1 > y0:
            x0, y0, x1, y1 = min(x0, bx0), min(y0, by0), max(x1, bx1), max(y1, by1)
    return (max(0.0, x0), max(0.0, y0), min(float(shape[1]), x1), min(float(shape[0]), y1))


def _surroundings(box: Box) -> Box:
    """A small-text box grown by its own height (at least MARGIN) above and below, and by
    GROWTH_WIDTH times that to the sides, where a line of text grows."""
    x0, y0, x1, y1 = box
    pad = max(y1 - y0, MARGIN)
    return (x0 - GROWTH_WIDTH * pad, y0 - pad, x1 + GROWTH_WIDTH * pad, y1 + pad)


def _changed_around(box: Box, mask: np.ndarray) -> bool:
    """Whether a cell changed in a box's surroundings (change-grid cells of the frame)."""
    rows, cols = changes.box_cells(_surroundings(box), mask.shape)
    return bool(mask[rows, cols].any())


def _merge_boxes(boxes: list[Box], shape: tuple[int, ...]) -> list[Box]:
    """Small-text boxes grown to their surroundings, overlapping ones merged."""
    grown = [_surroundings(box) for box in boxes]
    merged: list[Box] = []
    for box in sorted(grown):
        if (
            merged
            and box[0] <= merged[-1][2]
            and box[1] <= merged[-1][3]
            and box[3] >= merged[-1][1]
        ):
            last = merged.pop()
            box = (last[0], min(last[1], box[1]), max(last[2], box[2]), max(last[3], box[3]))
        merged.append(box)
    height, width = shape[:2]
    return [
        (max(0.0, a), max(0.0, b), min(float(width), c), min(float(height), d))
        for a, b, c, d in merged
    ]
