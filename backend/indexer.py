"""Index files into a store: find them, skip what is there, ingest, encode, store, report.

Each file is committed on its own, so an interrupted run keeps every video it finished and the
next run picks up where it stopped; a file that fails is reported and the others go on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from backend.config import Settings
from backend.encoders.base import Encoder
from backend.ingest.errors import IngestError, ModelUnavailableError
from backend.ingest.pipeline import Ingestor, StageTimer
from backend.ingest.probe import content_id, probe_video
from backend.store.video_store import VideoStore

log = logging.getLogger(__name__)

#: Extensions picked up when a folder is given; a file named directly is always tried.
VIDEO_EXTENSIONS = frozenset(
    {".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ts", ".mts"}
    | {".m2ts", ".wmv", ".flv", ".3gp", ".ogv", ".vob"}
)

Status = Literal["indexed", "skipped", "failed"]


@dataclass(frozen=True)
class FileResult:
    path: Path
    status: Status
    video_id: str | None = None
    reason: str = ""
    seconds: float = 0.0
    stage_seconds: dict[str, float] = field(default_factory=dict)
    duration_s: float | None = None


@dataclass
class IndexReport:
    results: list[FileResult] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, status: Status) -> int:
        return sum(1 for r in self.results if r.status == status)


#: Called with (file path, stage) as work starts: stages are hash, decode, asr, ocr, vision,
#: encode, store, then done / skipped / failed.
ProgressCallback = Callable[[Path, str], None]


def find_videos(paths: Iterable[Path | str]) -> list[Path]:
    """Files named directly, plus video files found (recursively, sorted) in folders named."""
    found: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found.extend(
                sorted(
                    p
                    for p in path.rglob("*")
                    if p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS
                )
            )
        else:
            found.append(path)
    return list(dict.fromkeys(found))


class Indexer:
    def __init__(self, settings: Settings, store: VideoStore, encoder: Encoder) -> None:
        self.store = store
        self.encoder = encoder
        self.ingestor = Ingestor(settings)

    def index(
        self,
        paths: Iterable[Path | str],
        user_text: str | None = None,
        on_progress: ProgressCallback | None = None,
        retry_failed: bool = False,
    ) -> IndexReport:
        """Index every file; a file that failed before (same bytes) is not decoded again on
        every run unless ``retry_failed``: a fixed bug or a newer decoder is the reason to."""
        start = time.perf_counter()
        report = IndexReport()
        self.store.remove_orphans()
        failed_before = (
            {}
            if retry_failed
            else {f["video_id"]: f["reason"] for f in self.store.failures() if f["video_id"]}
        )
        for path in find_videos(paths):
            result = self.index_file(path, user_text, on_progress, failed_before)
            report.results.append(result)
            if on_progress is not None:
                on_progress(path, "done" if result.status == "indexed" else result.status)
        if report.count("indexed"):
            self.store.optimize()
        report.seconds = time.perf_counter() - start
        return report

    def index_file(
        self,
        path: Path,
        user_text: str | None = None,
        on_progress: ProgressCallback | None = None,
        failed_before: dict[str, str] | None = None,
    ) -> FileResult:
        start = time.perf_counter()

        def notify(stage: str) -> None:
            if on_progress is not None:
                on_progress(path, stage)

        timer = StageTimer(on_stage=notify)
        video_id = None
        try:
            if not path.is_file():
                raise IngestError(path, "no such file (check the path)")
            video_id = timer.run("hash", lambda: content_id(path))
            if self.store.has_video(video_id):
                return FileResult(
                    path, "skipped", video_id, "already indexed", time.perf_counter() - start
                )
            if failed_before and video_id in failed_before:
                reason = (
                    f"failed before (use --retry-failed to try again): {failed_before[video_id]}"
                )
                return FileResult(path, "failed", video_id, reason, time.perf_counter() - start)
            probe = timer.run("decode", lambda: probe_video(path))
            video = self.ingestor.ingest(path, probe, user_text, timer)
            tokens = timer.run("encode", lambda: self.encoder.encode_video(video))
            timer.run("store", lambda: self.store.add_video(video, tokens))
        except IngestError as error:
            log.warning("%s", error)
            self.store.record_failure(path, video_id, error.reason)
            return FileResult(
                path, "failed", video_id, error.reason, time.perf_counter() - start, timer.seconds
            )
        except ModelUnavailableError:
            raise  # not this file's fault: every other file would fail the same way
        except Exception as error:  # one bad file must not stop the others
            log.exception("unexpected error while indexing %s", path)
            reason = f"unexpected {type(error).__name__}: {error} (a bug: please report it)"
            self.store.record_failure(path, video_id, reason)
            return FileResult(
                path, "failed", video_id, reason, time.perf_counter() - start, timer.seconds
            )
        return FileResult(
            path,
            "indexed",
            video_id,
            "; ".join(video.warnings),
            time.perf_counter() - start,
            timer.seconds,
            probe.duration_s,
        )
