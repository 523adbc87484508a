"""Switching the index to a fine-tuned adapter, in the background, one switch at a time.

Re-encoding a collection takes minutes; a request handler must not hold a browser (or the queue)
that long, and a reloaded page must still see how far it got. So the switch runs in a thread the
app owns, its progress lives here, and the Train tab (or the ``switch`` endpoint) only starts it
and reads :meth:`Switcher.snapshot`. The store switches only once the new version is complete
(``backend.reencode``); until then searches keep using the version in use.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Literal

from backend.collection import ReencodeProgress, ReencodeReport

log = logging.getLogger(__name__)

SwitchState = Literal["idle", "running", "completed", "failed"]
#: Does the switch: (job id, progress callback) -> report. The app's is AppContext.switch_to_job.
SwitchFn = Callable[[str, ReencodeProgress], ReencodeReport]


@dataclass(frozen=True)
class SwitchStatus:
    """Where the latest switch stands; plain data, JSON-friendly through :meth:`to_json`."""

    state: SwitchState = "idle"
    job_id: str = ""
    done: int = 0
    total: int = 0
    report: dict = field(default_factory=dict)  # ReencodeReport as a dict, once completed
    error: str | None = None
    seconds: float = 0.0

    @property
    def running(self) -> bool:
        return self.state == "running"

    def to_json(self) -> dict:
        return asdict(self)


class SwitchBusy(RuntimeError):
    """A switch is already running; the message says which."""


class Switcher:
    """Runs one switch at a time in a daemon thread and keeps its progress for any reader."""

    def __init__(self, switch: SwitchFn, on_activity: Callable[[str], None] | None = None) -> None:
        self._switch = switch
        self._on_activity = on_activity or (lambda _text: None)
        self._lock = threading.Lock()
        self._status = SwitchStatus()
        self._thread: threading.Thread | None = None

    def snapshot(self) -> SwitchStatus:
        return self._status

    def start(self, job_id: str) -> SwitchStatus:
        """Start switching to ``job_id``'s adapter; refuses while another switch runs."""
        with self._lock:
            if self._status.running:
                raise SwitchBusy(
                    f"the index is already being switched to job {self._status.job_id}: "
                    "wait until it completes"
                )
            self._status = SwitchStatus("running", job_id)
            self._thread = threading.Thread(
                target=self._run, args=(job_id,), name="switch-version", daemon=True
            )
            self._thread.start()
        return self._status

    def forget(self) -> None:
        """Clear a finished switch's status (after a rollback it would only mislead)."""
        with self._lock:
            if not self._status.running:
                self._status = SwitchStatus()

    def wait(self, timeout_s: float | None = None) -> SwitchStatus:
        """The status once the running switch (if any) has ended, or at the timeout."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout_s)
        return self._status

    def _progress(self, done: int, total: int, _video_id: str) -> None:
        self._status = replace(self._status, done=done, total=total)
        self._on_activity(f"re-encoding the collection for the new adapter ({done}/{total})")

    def _run(self, job_id: str) -> None:
        start = time.perf_counter()
        self._on_activity("re-encoding the collection for the new adapter")
        try:
            report = self._switch(job_id, self._progress)
        except Exception as error:  # shown in the Train tab; the version in use stays
            log.exception("switching to the adapter of job %s failed", job_id)
            self._status = replace(
                self._status,
                state="failed",
                error=f"{type(error).__name__}: {error}",
                seconds=round(time.perf_counter() - start, 2),
            )
        else:
            self._status = replace(
                self._status,
                state="completed",
                report=asdict(report),
                seconds=round(time.perf_counter() - start, 2),
            )
        finally:
            self._on_activity("")
