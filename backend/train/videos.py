"""The collection's videos as a backbone reads them, straight from the store.

Everything ingest found is in each video's stored ``ingest_json``; a backbone that reads pixels
(CLaMR) also gets frames, decoded from the store's thumbnails on access (only those it keeps)
and not held, so a large collection does not sit in memory as images.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace

import numpy as np

from backend.ingest.types import Frame, IngestedVideo
from backend.reencode import decode_jpeg
from backend.store.video_store import VideoStore
from backend.train.backbones.base import Backbone

_NO_PIXELS = np.zeros((0, 0, 3), np.uint8)


class TrainingVideos(Mapping[str, IngestedVideo]):
    """``{video_id: IngestedVideo}``, with frames when the backbone needs them."""

    def __init__(
        self, store: VideoStore, videos: Mapping[str, IngestedVideo], backbone: Backbone
    ) -> None:
        self._store = store
        self._videos = dict(videos)
        self._backbone = backbone

    def __getitem__(self, video_id: str) -> IngestedVideo:
        video = self._videos[video_id]
        if not self._backbone.needs_frames:
            return video
        rows = self._store.frames(video_id)
        placeholders = [Frame(r["time_s"], _NO_PIXELS, r["is_scene_change"]) for r in rows]
        kept = {f.time_s for f in self._backbone.select_frames(placeholders)}
        frames = [
            Frame(r["time_s"], decode_jpeg(r["jpeg"]), r["is_scene_change"])
            for r in rows
            if r["time_s"] in kept
        ]
        return replace(video, frames=frames)

    def __iter__(self) -> Iterator[str]:
        return iter(self._videos)

    def __len__(self) -> int:
        return len(self._videos)
