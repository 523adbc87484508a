"""Index files into a store: find them, skip what is there, ingest, encode, store, report.

Each file is committed on its own, so an interrupted run keeps every video it finished and the
next run picks up where it stopped; a file that fails is reported and the others go on.

Several runs may index into one store at once (two ``index`` commands, the app and the command
line): a run holds a claim on the video it is ingesting (``VideoStore.claim``), so another run
passes it by and comes back to it at the end, when it waits for the claim and finds the video
there (or, if the first run died or failed, ingests it itself). Decoding and encoding run
unlocked; only the commit takes the store's write lock, and it adds a video only if no other
writer did first. So every file is ingested and committed once, whoever does it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from backend.config import Settings
from backend.encoders.base import Encoder, TokenVectors
from backend.ingest.errors import IngestError, ModelUnavailableError
from backend.ingest.pipeline import Ingestor, StageTimer
from backend.ingest.probe import content_id, probe_video
from backend.ingest.types import IngestedVideo
from backend.store.video_store import StoreError, VideoStore

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
        failed_before = self._failed_before(retry_failed)
        in_other_hands: list[Path] = []  # claimed by another run: come back at the end
        for path in self.plan(find_videos(paths)):
            result = self._index_file(path, user_text, on_progress, failed_before, wait=False)
            if result is None:
                in_other_hands.append(path)
                continue
            self._report(report, result, on_progress)
        if in_other_hands:
            failed_before = self._failed_before(retry_failed)  # the other run's failures too
        for path in in_other_hands:
            result = self._index_file(path, user_text, on_progress, failed_before, wait=True)
            assert result is not None  # waiting always ends with the claim
            self._report(report, result, on_progress)
        if report.count("indexed"):
            self.store.optimize()
        report.seconds = time.perf_counter() - start
        return report

    def _failed_before(self, retry_failed: bool) -> dict[str, str]:
        if retry_failed:
            return {}
        return {f["video_id"]: f["reason"] for f in self.store.failures() if f["video_id"]}

    @staticmethod
    def _report(report: IndexReport, result: FileResult, on_progress) -> None:
        report.results.append(result)
        if on_progress is not None:
            on_progress(result.path, "done" if result.status == "indexed" else result.status)

    def index_file(
        self,
        path: Path,
        user_text: str | None = None,
        on_progress: ProgressCallback | None = None,
        failed_before: dict[str, str] | None = None,
    ) -> FileResult:
        """Index one file (waiting for another run that has it in hand)."""
        result = self._index_file(path, user_text, on_progress, failed_before, wait=True)
        assert result is not None
        return result

    def _index_file(
        self,
        path: Path,
        user_text: str | None,
        on_progress: ProgressCallback | None,
        failed_before: dict[str, str] | None,
        wait: bool,
    ) -> FileResult | None:
        """The file's result, or None if another run holds its claim and not ``wait``."""
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
            done = self._done_before(path, video_id, failed_before, start)
            if done is not None:
                return done
            with self.store.claim(video_id, wait) as claimed:
                if not claimed:
                    return None
                if wait:  # the claim may have been another run's: look again
                    done = self._done_before(path, video_id, failed_before, start)
                    if done is not None:
                        return done
                return self._ingest(path, video_id, user_text, timer, start)
        except IngestError as error:
            log.warning("%s", error)
            return self._failed(path, video_id, error.reason, timer, start)
        except (ModelUnavailableError, StoreError):
            raise
        except Exception as error:  # one unreadable file must not stop the others
            log.exception("unexpected error while indexing %s", path)
            return self._failed(path, video_id, _unexpected(error), timer, start)

    def _ingest(
        self, path: Path, video_id: str, user_text: str | None, timer: StageTimer, start: float
    ) -> FileResult:
        """Ingest, encode and commit a video this run has claimed; a failure is recorded while
        the claim is held, so a run waiting for it sees the failure."""
        try:
            video, tokens = self.read_file(path, user_text, timer)
            record = timer.run("store", lambda: self.store.add_video_if_absent(video, tokens))
        except IngestError as error:
            log.warning("%s", error)
            return self._failed(path, video_id, error.reason, timer, start)
        except (ModelUnavailableError, StoreError):
            raise  # not this file's fault: every other file would fail the same way
        except Exception as error:  # one bad file must not stop the others
            log.exception("unexpected error while indexing %s", path)
            return self._failed(path, video_id, _unexpected(error), timer, start)
        seconds = time.perf_counter() - start
        if record is None:  # a writer without claims (Ray, another machine) was first
            return FileResult(path, "skipped", video_id, "indexed by another run", seconds)
        warnings = "; ".join(video.warnings)
        return FileResult(
            path, "indexed", video_id, warnings, seconds, timer.seconds, video.probe.duration_s
        )

    def plan(self, paths: list[Path]) -> Iterator[Path]:
        """The files in the order they are indexed; the next one not yet in the store is read
        (decode, ASR, OCR, vision) while this one is finished, encoded and stored (issue 13)."""
        return self.ingestor.read_ahead(paths, lambda p: not self.store.has_video(content_id(p)))

    def read_file(
        self, path: Path, user_text: str | None, timer: StageTimer
    ) -> tuple[IngestedVideo, TokenVectors]:
        """Decode, ingest and encode one file: the expensive part, run without the store's
        lock (a test's writer replaces it with a quick fake)."""
        probe = timer.run("decode", lambda: probe_video(path))
        video = self.ingestor.ingest(path, probe, user_text, timer)
        tokens = timer.run("encode", lambda: self.encoder.encode_video(video))
        return video, tokens

    def _failed(
        self, path: Path, video_id: str | None, reason: str, timer: StageTimer, start: float
    ) -> FileResult:
        self.store.record_failure(path, video_id, reason)
        return FileResult(
            path, "failed", video_id, reason, time.perf_counter() - start, timer.seconds
        )

    def _done_before(
        self, path: Path, video_id: str, failed_before: dict[str, str] | None, start: float
    ) -> FileResult | None:
        """The result for a video already indexed, or that failed before; else None."""
        if self.store.has_video(video_id):
            return FileResult(
                path, "skipped", video_id, "already indexed", time.perf_counter() - start
            )
        if failed_before and video_id in failed_before:
            reason = f"failed before (use --retry-failed to try again): {failed_before[video_id]}"
            return FileResult(path, "failed", video_id, reason, time.perf_counter() - start)
        return None


def _unexpected(error: Exception) -> str:
    return f"unexpected {type(error).__name__}: {error} (a bug: please report it)"
