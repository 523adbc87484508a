"""Wall and CPU seconds per stage of indexing one video, safe to use from several threads.

``StageTimer.seconds`` is each stage's own wall time (as it always was); when stages run side by
side these overlap, so they add up to more than the video took. ``StageTimer.cpu_seconds`` is
each stage's CPU time (:mod:`backend.ingest.cpu_clock`), which does add up. Every timer also
adds its CPU seconds to :data:`CPU_LEDGER`, the process-wide totals a benchmark reads.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from backend.ingest.cpu_clock import NativeThreads, StageClock

T = TypeVar("T")
StageCallback = Callable[[str], None]


class StageLedger:
    """CPU and wall seconds per stage, summed over every timer in this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cpu: dict[str, float] = {}
        self._wall: dict[str, float] = {}

    def add(self, stage: str, wall: float, cpu: float) -> None:
        with self._lock:
            self._cpu[stage] = self._cpu.get(stage, 0.0) + cpu
            self._wall[stage] = self._wall.get(stage, 0.0) + wall

    def snapshot(self) -> tuple[dict[str, float], dict[str, float]]:
        """(CPU seconds, wall seconds) per stage so far; subtract two snapshots for a run's."""
        with self._lock:
            return dict(self._cpu), dict(self._wall)


#: Process-wide totals (ingest stages, and the indexer's hash, encode and store).
CPU_LEDGER = StageLedger()


@dataclass
class StageTimer:
    seconds: dict[str, float] = field(default_factory=dict)  # wall, per stage
    cpu_seconds: dict[str, float] = field(default_factory=dict)
    on_stage: StageCallback | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def run(self, stage: str, work: Callable[[], T], helpers: NativeThreads | None = None) -> T:
        """``work()``, timed as ``stage`` on this thread (and on ``helpers``' threads)."""
        self.notify(stage)
        clock = StageClock(helpers)
        try:
            return work()
        finally:
            self.add(stage, *clock.read())

    def notify(self, stage: str) -> None:
        """Tell the progress callback that ``stage`` starts (``run`` does it itself)."""
        if self.on_stage is not None:
            self.on_stage(stage)

    def add(self, stage: str, wall: float, cpu: float) -> None:
        """Count time measured elsewhere (e.g. a decode done ahead on another thread)."""
        with self._lock:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + wall
            self.cpu_seconds[stage] = self.cpu_seconds.get(stage, 0.0) + cpu
        CPU_LEDGER.add(stage, wall, cpu)
