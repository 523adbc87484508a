"""Indexing gives way to searching: ingest's worker threads run at a lower CPU priority.

The app indexes an upload in the process that answers searches. On two cores, ASR, OCR and
vision keep both busy for about a fifth of the video's length, and a search that waits behind
them waits for seconds. The threads that do that work (the stage pool, the read-ahead pool and
CTranslate2's own workers) get a higher nice value (``IngestSettings.nice``), so the scheduler
serves a search first and indexing takes whatever is left: an idle machine indexes as fast as
before. Linux keeps a nice value per thread; raising one's own needs no privilege. Elsewhere,
or where the call is refused, nothing changes.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable

log = logging.getLogger(__name__)


def lower_priority(nice: int, thread_ids: Iterable[int] | None = None) -> None:
    """Raise the nice value of ``thread_ids`` (None: the calling thread) to at least ``nice``
    (never lowers one: that would need privileges)."""
    if nice <= 0 or not hasattr(os, "setpriority"):
        return
    ids = [threading.get_native_id()] if thread_ids is None else list(thread_ids)
    for tid in ids:
        try:
            if os.getpriority(os.PRIO_PROCESS, tid) < nice:
                os.setpriority(os.PRIO_PROCESS, tid, nice)
        except OSError as error:  # gone already, or not allowed here
            log.debug("could not lower the priority of thread %s: %s", tid, error)


def thread_initializer(nice: int) -> Callable[[], None] | None:
    """For ``ThreadPoolExecutor(initializer=...)``: each worker thread lowers its priority."""
    return None if nice <= 0 else lambda: lower_priority(nice)
