"""CPU seconds per ingest stage, counted per thread, while stages run side by side.

Process CPU time cannot say which of two overlapping stages used it, so each stage is timed on
its own thread with :func:`time.thread_time`. That is exact when a stage's work runs on that
thread, which is how ingest configures its models when stages run side by side (onnxruntime and
faster-whisper with one intra-op thread, PyAV decoding on one thread). CTranslate2 still computes
on a worker thread of its own, created when the Whisper model loads: :class:`NativeThreads`
records such threads (Linux, from ``/proc/self/task``) so that their CPU time is added to the
stage that owns them. Whatever is left (torch's and LanceDB's pools in encode and store, the
interpreter itself) shows up as the difference between the process's CPU time and the sum over
stages, which the benchmark prints.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

_TASKS = Path("/proc/self/task")


def _thread_ids() -> set[int]:
    try:
        return {int(name) for name in os.listdir(_TASKS)}
    except OSError:  # not Linux: native helper threads are not counted
        return set()


def _thread_cpu_s(tid: int) -> float:
    """CPU seconds a thread of this process has run (0.0 once it has ended)."""
    try:
        # schedstat: time on CPU in nanoseconds, waiting time, timeslices.
        return int((_TASKS / str(tid) / "schedstat").read_text().split()[0]) / 1e9
    except (OSError, ValueError, IndexError):
        return 0.0


@dataclass
class NativeThreads:
    """Threads a library started for one stage (e.g. CTranslate2's workers), whose CPU time
    belongs to that stage although no Python code runs on them."""

    ids: frozenset[int] = frozenset()

    def cpu_s(self) -> float:
        return sum(_thread_cpu_s(tid) for tid in self.ids)


@contextmanager
def threads_started() -> Iterator[NativeThreads]:
    """The threads started while the block runs (load a model inside it).

    >>> with threads_started() as new:
    ...     worker = threading.Thread(target=time.sleep, args=(0.2,)); worker.start()
    >>> len(new.ids) == (1 if _TASKS.is_dir() else 0)
    True
    """
    before = _thread_ids()
    found = NativeThreads()
    yield found
    found.ids = frozenset(_thread_ids() - before - {threading.get_native_id()})


@dataclass
class StageClock:
    """Time of one run of a stage on the current thread (plus its helper threads)."""

    helpers: NativeThreads | None = None
    _wall: float = field(default_factory=time.perf_counter)
    _cpu: float = field(default_factory=time.thread_time)
    _process: float = field(default_factory=time.process_time)
    _helper_cpu: float = 0.0

    def __post_init__(self) -> None:
        self._helper_cpu = self.helpers.cpu_s() if self.helpers else 0.0

    def read(self) -> tuple[float, float, float]:
        """Since the clock was made: wall seconds, CPU seconds of this thread (and helpers),
        and CPU seconds of the whole process (all threads: exact only if nothing overlapped)."""
        cpu = time.thread_time() - self._cpu
        if self.helpers:
            cpu += self.helpers.cpu_s() - self._helper_cpu
        process = time.process_time() - self._process
        return time.perf_counter() - self._wall, cpu, process
