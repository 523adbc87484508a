"""Read the next video (decode, ASR, OCR, vision) while this one is still being read, encoded
and stored, so that two cores stay busy between videos.

A video's stages end unevenly (vision often runs alone at the end), and encoding and storing
run after them; meanwhile the next video's work fills the idle core. The indexer walks its files
through :meth:`ReadAhead.plan`; when the ingest of one file starts (:meth:`ReadAhead.start_after`,
on the caller's thread, before it waits for its own), the next file is read on a background
thread if ``wanted`` says it is not indexed yet, and :meth:`ReadAhead.take` hands the result over
when its turn comes. The stages of both videos share the ingestor's pool of stage threads, in the
order they were asked for, so the next video's stages start as this one's end.

Short files end too soon for one file ahead to keep the cores busy, so with ``ahead_s`` the
files after the next one are read ahead as well, while the files read ahead (not yet taken) come
to less than ``ahead_s`` seconds of video: their decoded frames wait in memory.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from backend.ingest.stage_timer import StageTimer
from backend.ingest.types import IngestedVideo, VideoProbe

log = logging.getLogger(__name__)

#: (path, timer) -> the file ingested (without description); runs on the background thread.
ReadFile = Callable[[Path, StageTimer], IngestedVideo]
#: Whether a file still needs indexing (e.g. not in the store yet); called on the caller's thread.
Wanted = Callable[[Path], bool]
#: A file's length in seconds (None: unknown), to bound what is read ahead beyond the next file.
Duration = Callable[[Path], float | None]

#: Files read ahead at most (their stages share the ingestor's pool of stage threads).
MAX_AHEAD = 2


class ReadAhead:
    def __init__(
        self,
        read_file: ReadFile,
        initializer: Callable[[], None] | None = None,
        duration: Duration | None = None,
        ahead_s: float = 0.0,
    ) -> None:
        self._read_file = read_file
        self._initializer = initializer  # run by each background thread as it starts
        self._duration = duration
        self._ahead_s = ahead_s if duration is not None else 0.0
        self._seconds: dict[Path, float] = {}  # the length of each file read ahead
        self._lock = threading.Lock()
        self._order: list[Path] = []
        self._wanted: Wanted | None = None
        self._ahead: dict[Path, Future[tuple[IngestedVideo, StageTimer]]] = {}
        self._pool: ThreadPoolExecutor | None = None

    def plan(self, paths: Iterable[Path], wanted: Wanted | None = None) -> Iterator[Path]:
        """The paths, in order; the next wanted file is read ahead while the caller walks them."""
        order = list(paths)
        with self._lock:
            self._order, self._wanted = order, wanted
        try:
            yield from order
        finally:
            with self._lock:
                self._order, self._wanted = [], None
                self._ahead.clear()  # a read still running is dropped when it ends
                self._seconds.clear()

    @property
    def pending(self) -> list[Path]:
        """Files read (or being read) ahead, not yet taken."""
        with self._lock:
            return list(self._ahead)

    def start_after(self, path: Path) -> None:
        """Start reading the planned file after ``path`` if it is wanted, and the files after
        that while what is read ahead stays under ``ahead_s`` seconds of video."""
        with self._lock:
            try:
                at = self._order.index(path)
            except ValueError:
                return
            following = self._order[at + 1 : at + 1 + MAX_AHEAD]
        for n, file in enumerate(following):
            with self._lock:
                if file in self._ahead:
                    continue
                in_flight = sum(self._seconds.values())
            if not self._is_wanted(file):
                continue
            seconds = self._length(file) if self._ahead_s else None
            if n > 0 and (seconds is None or in_flight + seconds > self._ahead_s):
                return
            with self._lock:
                if self._pool is None:
                    # One more thread than files ahead: the file being taken may still be read.
                    threads, start = MAX_AHEAD + 1, self._initializer
                    self._pool = ThreadPoolExecutor(threads, "read-ahead", start)
                self._ahead[file] = self._pool.submit(self._read, file)
                self._seconds[file] = seconds or 0.0

    def _is_wanted(self, file: Path) -> bool:
        with self._lock:
            wanted = self._wanted
        try:
            return wanted is None or wanted(file)
        except Exception as error:  # unreadable: its own turn will say why
            log.debug("not reading %s ahead: %s", file, error)
            return False

    def _length(self, file: Path) -> float | None:
        try:
            return self._duration(file) if self._duration is not None else None
        except Exception as error:  # unreadable: its own turn will say why
            log.debug("no length for %s: %s", file, error)
            return None

    def take(self, path: Path, probe: VideoProbe) -> tuple[IngestedVideo, StageTimer] | None:
        """The reading of ``path`` done ahead (waits for it to finish), with its timer; None if
        there is none, or if it failed or the file has changed since (read it again then)."""
        with self._lock:
            future = self._ahead.pop(path, None)
            self._seconds.pop(path, None)
        if future is None:
            return None
        try:
            video, timer = future.result()
        except Exception as error:  # reading again on the caller's thread reports it properly
            log.debug("reading %s ahead failed: %s", path, error)
            return None
        if video.probe.video_id != probe.video_id:
            return None
        return video, timer

    def _read(self, path: Path) -> tuple[IngestedVideo, StageTimer]:
        timer = StageTimer(ledger=None)  # handed on to the file's own timer when taken
        return self._read_file(path, timer), timer
