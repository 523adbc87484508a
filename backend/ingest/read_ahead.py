"""Read the next video (decode, ASR, OCR, vision) while this one is still being read, encoded
and stored, so that two cores stay busy between videos.

A video's stages end unevenly (vision often runs alone at the end), and encoding and storing
run after them; meanwhile the next video's work fills the idle core. The indexer walks its files
through :meth:`ReadAhead.plan`; when the ingest of one file starts (:meth:`ReadAhead.start_after`,
on the caller's thread, before it waits for its own), the next file is read on a background
thread if ``wanted`` says it is not indexed yet, and :meth:`ReadAhead.take` hands the result over
when its turn comes. The stages of both videos share the ingestor's pool of stage threads, in the
order they were asked for, so the next video's stages start as this one's end. At most two
videos are read at once: the one being taken and the next.
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


class ReadAhead:
    def __init__(self, read_file: ReadFile, initializer: Callable[[], None] | None = None) -> None:
        self._read_file = read_file
        self._initializer = initializer  # run by each background thread as it starts
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

    @property
    def pending(self) -> list[Path]:
        """Files read (or being read) ahead, not yet taken."""
        with self._lock:
            return list(self._ahead)

    def start_after(self, path: Path) -> None:
        """Start reading the planned file after ``path``, if there is one and it is wanted."""
        with self._lock:
            try:
                following = self._order[self._order.index(path) + 1]
            except (ValueError, IndexError):
                return
            wanted = self._wanted
            if following in self._ahead:
                return
        try:
            if wanted is not None and not wanted(following):
                return
        except Exception as error:  # unreadable: its own turn will say why
            log.debug("not reading %s ahead: %s", following, error)
            return
        with self._lock:
            if self._pool is None:
                # Two: the file being taken may still be read while the next one starts.
                self._pool = ThreadPoolExecutor(
                    2, thread_name_prefix="read-ahead", initializer=self._initializer
                )
            self._ahead[following] = self._pool.submit(self._read, following)

    def take(self, path: Path, probe: VideoProbe) -> tuple[IngestedVideo, StageTimer] | None:
        """The reading of ``path`` done ahead (waits for it to finish), with its timer; None if
        there is none, or if it failed or the file has changed since (read it again then)."""
        with self._lock:
            future = self._ahead.pop(path, None)
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
