"""Picture-region tokens for re-encoding, and for stores indexed before search by picture.

The default encoder's ``image`` tokens are EfficientNet-Lite0 features of frame regions, made at
ingest (:mod:`backend.ingest.vision.appearance`); they do not depend on MiniLM or its adapter.
So when a collection is re-encoded (``backend.reencode``), a video whose active version has
picture tokens keeps them as they are (no decoding). A video without them (indexed before they
existed) stays without, unless the re-encoding is :func:`add_pictures`: then they are computed
from its frames, from the original file when it is unchanged, else from the store's thumbnails
(boxes scaled back to frame pixels).

:func:`add_pictures` re-encodes a store into a new version with the same encoder, which is how
an old store gains search by picture: searches keep using the old version until the new one is
complete, and the old one stays for rollback.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image

from backend.config import Settings
from backend.encoders.base import IMAGE_SPACE_MODALITIES, TokenVectors
from backend.ingest.errors import IngestError
from backend.ingest.frames import sample_frames
from backend.ingest.probe import content_id
from backend.ingest.types import Frame, FrameRegions, IngestedVideo
from backend.search.token_matrix import TokenMatrix
from backend.store.records import VideoRecord
from backend.store.video_store import VideoStore

#: Encoders whose documents hold picture-region tokens.
PICTURE_ENCODERS = frozenset({"default"})
#: ``meta`` key noting that a token table was filled with picture tokens by :func:`add_pictures`
#: (videos without a usable picture stay without, and are not re-encoded every time).
FILLED_KEY = "pictures_added:"


def regions_from_tokens(tokens: TokenVectors) -> list[FrameRegions]:
    """A video's stored picture tokens back as per-frame regions (the inverse of
    ``backend.encoders.default.image_tokens.video_image_tokens``; zero padding kept).

    >>> nan = float("nan")
    >>> t = TokenVectors(np.eye(3, dtype=np.float32), np.array([5, 5, 2], np.int8),
    ...                  ("1.0s whole", "1.0s tile 2", "hello"), np.array([1, 1, 0], np.float32),
    ...                  np.zeros((3, 4), np.float32))
    >>> [(r.time_s, r.parts, r.features.shape) for r in regions_from_tokens(t)]
    [(1.0, ('whole', 'tile 2'), (2, 3))]
    """
    picture = np.isin(tokens.modalities, [int(m) for m in IMAGE_SPACE_MODALITIES])
    chosen = tokens.select(picture)
    out = []
    for time_s in sorted(set(chosen.times.tolist())):
        rows = np.flatnonzero(chosen.times == time_s)
        parts = tuple(chosen.labels[i].split(" ", 1)[-1] for i in rows)
        out.append(FrameRegions(float(time_s), chosen.boxes[rows], chosen.vectors[rows], parts))
    return out


def active_tokens(store: VideoStore, video_id: str) -> TokenVectors:
    """One video's tokens in the store's active version."""
    matrix = TokenMatrix.from_arrow(store.token_rows([video_id]), store.dim, [video_id])
    return matrix.tokens_of(0)[1]


def missing_pictures(store: VideoStore) -> list[str]:
    """Videos whose active tokens have no picture tokens (indexed before they existed, or
    without frames: a video with no picture cannot gain any)."""
    table = store.table(store.tokens_table)
    ids = ", ".join(str(int(m)) for m in IMAGE_SPACE_MODALITIES)
    rows = table.search().where(f"modality IN ({ids})").select(["video_id"]).limit(None)
    have = set(rows.to_arrow()["video_id"].to_pylist())
    return [v for v in store.video_ids() if v not in have]


class PictureRegions:
    """Picture regions of stored videos, carried over or computed (the model loads once)."""

    def __init__(self, store: VideoStore, settings: Settings, compute: bool = False) -> None:
        """``compute``: make the regions of videos that have none from their frames (else
        they stay without, and nothing is decoded)."""
        self.store = store
        self.settings = settings
        self.compute = compute
        self._tagger = None

    @property
    def tagger(self):
        if self._tagger is None:
            from backend.ingest.vision import FrameTagger

            self._tagger = FrameTagger(self.settings.vision)
        return self._tagger

    def of(self, record: VideoRecord, warnings: list[str]) -> list[FrameRegions]:
        kept = regions_from_tokens(active_tokens(self.store, record.video_id))
        if kept or not record.has_video or not self.compute:
            return kept
        frames, scale = self._frames(record, warnings)
        regions = self.tagger.look(frames).regions if frames else []
        return [replace(r, boxes=r.boxes / np.float32(s)) for r, s in zip(regions, scale)]

    def _frames(self, record: VideoRecord, warnings: list[str]) -> tuple[list[Frame], list[float]]:
        """Frames from the unchanged original file, else the thumbnails, with each frame's
        pixels per original pixel."""
        path = Path(record.path)
        try:
            if not path.is_file() or content_id(path) != record.video_id:
                raise IngestError(path, "moved or changed since it was indexed")
            frames = sample_frames(record.probe(), self.settings.frames, warnings)
            return frames, [1.0] * len(frames)
        except IngestError as error:
            warnings.append(f"{error}: picture regions taken from the store's thumbnails")
        rows = self.store.frames(record.video_id)
        frames = [Frame(r["time_s"], _pixels(r["jpeg"]), r["is_scene_change"]) for r in rows]
        return frames, [float(r["scale"]) or 1.0 for r in rows]


def _pixels(jpeg: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(jpeg)) as image:
        return np.asarray(image.convert("RGB"))


def with_pictures(
    source: PictureRegions,
    records: Sequence[VideoRecord],
    videos: Sequence[IngestedVideo],
    warnings: list[str],
) -> list[IngestedVideo]:
    """The videos with their picture regions attached (for an encoder that stores them)."""
    return [
        replace(video, frame_regions=source.of(record, warnings))
        for record, video in zip(records, videos, strict=True)
    ]


def add_pictures(store: VideoStore, settings: Settings, on_progress=None):
    """Re-encode ``store`` with its own (default) encoder into a new version that has picture
    tokens, and switch to it. A no-op (an empty report) when every video has them, or when the
    active version was made by this function (videos without pictures cannot gain any)."""
    from backend.reencode import ReencodeReport, reencode

    if settings.encoder.name not in PICTURE_ENCODERS:
        raise ValueError(
            f"the {settings.encoder.name} encoder reads pictures into its own tokens: "
            "there are no picture tokens to add"
        )
    if FILLED_KEY + store.tokens_table in store.meta or not missing_pictures(store):
        return ReencodeReport(version="", encoder=store.encoder_identity)
    report = reencode(store, settings, settings.encoder, True, on_progress, fill_pictures=True)
    if report.activated:
        store.set_meta({FILLED_KEY + store.tokens_table: report.version})
    return report
