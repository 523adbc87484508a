"""What one ingest worker does to one video: probe, ingest, encode, turn into rows.

It never writes to the store: the rows go back to the one process that commits, so a worker
that dies mid-video leaves nothing behind, and the video can simply be given to another worker.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from backend.config import Settings
from backend.encoders import build_encoder
from backend.ingest.errors import IngestError
from backend.ingest.pipeline import Ingestor, StageTimer
from backend.ingest.probe import probe_video
from backend.store.rows import PreparedVideo, prepare_video

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkItem:
    path: str
    video_id: str
    user_text: str | None = None
    attempt: int = 1


@dataclass(frozen=True)
class WorkResult:
    item: WorkItem
    prepared: PreparedVideo | None  # None: the video failed (see reason)
    reason: str = ""  # the failure, or the ingest warnings of an indexed video
    seconds: float = 0.0
    stage_seconds: dict[str, float] = field(default_factory=dict)
    duration_s: float | None = None


class VideoWorker:
    """Keeps the models of one process across the videos it is given."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.ingestor = Ingestor(settings)
        self.encoder = build_encoder(settings.encoder)

    def pid(self) -> int:
        return os.getpid()

    def process(self, item: WorkItem) -> WorkResult:
        start = time.perf_counter()
        timer = StageTimer()
        path = Path(item.path)
        try:
            probe = timer.run("decode", lambda: probe_video(path))
            video = self.ingestor.ingest(path, probe, item.user_text, timer)
            tokens = timer.run("encode", lambda: self.encoder.encode_video(video))
            prepared = timer.run("store", lambda: prepare_video(video, tokens, self.encoder.dim))
        except IngestError as error:
            return WorkResult(item, None, error.reason, time.perf_counter() - start, timer.seconds)
        except Exception as error:  # one bad file must not stop the others
            log.exception("unexpected error while indexing %s", path)
            reason = f"unexpected {type(error).__name__}: {error} (a bug: please report it)"
            return WorkResult(item, None, reason, time.perf_counter() - start, timer.seconds)
        return WorkResult(
            item,
            prepared,
            "; ".join(video.warnings),
            time.perf_counter() - start,
            timer.seconds,
            probe.duration_s,
        )
