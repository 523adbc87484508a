"""Decode the next video while this one is analysed, encoded and stored.

The indexer walks its files through :meth:`DecodeAhead.plan`; when ingest of one file starts
(:meth:`DecodeAhead.start_after`), the file after it is probed and decoded on a background
thread, and :meth:`DecodeAhead.take` hands the result over when its turn comes. Only a file whose
ingest has begun sends the next one ahead, so a run over files that are all indexed already
decodes nothing; at worst one decode is wasted, when the next file turns out to be indexed
already. One video's frames are held ahead at a time.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from backend.ingest.decoding import Decoded
from backend.ingest.stage_timer import StageTimer
from backend.ingest.types import VideoProbe

log = logging.getLogger(__name__)

#: (path, timer) -> the file decoded; runs on the background thread.
DecodeFile = Callable[[Path, StageTimer], Decoded]


class DecodeAhead:
    def __init__(self, decode_file: DecodeFile) -> None:
        self._decode_file = decode_file
        self._lock = threading.Lock()
        self._order: list[Path] = []
        self._ahead: dict[Path, Future[tuple[Decoded, StageTimer]]] = {}
        self._pool: ThreadPoolExecutor | None = None

    def plan(self, paths: Iterable[Path]) -> Iterator[Path]:
        """The paths, in order; files are decoded ahead while the caller walks them."""
        order = list(paths)
        with self._lock:
            self._order = order
        try:
            yield from order
        finally:
            with self._lock:
                self._order = []
                self._ahead.clear()  # a decode still running is dropped when it ends

    @property
    def pending(self) -> list[Path]:
        """Files decoded (or being decoded) ahead, not yet taken."""
        with self._lock:
            return list(self._ahead)

    def start_after(self, path: Path) -> None:
        """Start decoding the planned file after ``path`` (nothing if there is none)."""
        with self._lock:
            try:
                following = self._order[self._order.index(path) + 1]
            except (ValueError, IndexError):
                return
            if following in self._ahead:
                return
            if self._pool is None:
                self._pool = ThreadPoolExecutor(1, thread_name_prefix="decode-ahead")
            self._ahead[following] = self._pool.submit(self._decode, following)

    def take(self, path: Path, probe: VideoProbe) -> tuple[Decoded, StageTimer] | None:
        """The decode of ``path`` done ahead (waits for it to finish), with its timer; None if
        there is none, or if it failed or the file has changed since (decode it again then)."""
        with self._lock:
            future = self._ahead.pop(path, None)
        if future is None:
            return None
        try:
            decoded, timer = future.result()
        except Exception as error:  # decoding again on the caller's thread reports it properly
            log.debug("decode ahead of %s failed: %s", path, error)
            return None
        if decoded.probe.video_id != probe.video_id:
            return None
        return decoded, timer

    def _decode(self, path: Path) -> tuple[Decoded, StageTimer]:
        timer = StageTimer(ledger=None)  # handed on to the file's own timer when taken
        return self._decode_file(path, timer), timer
