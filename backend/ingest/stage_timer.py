"""Wall and CPU seconds per stage of indexing one video, safe to use from several threads.

``StageTimer.seconds`` is each stage's own wall time (as it always was); when stages run side by
side these overlap, so they add up to more than the video took. ``StageTimer.cpu_seconds`` is
each stage's CPU time counted on its own thread (:mod:`backend.ingest.cpu_clock`), which does add
up. Every timer also adds its figures to :data:`CPU_LEDGER`, the process-wide totals a benchmark
reads, together with the process's CPU time while each stage ran: the exact figure when stages
run one after another (it includes the threads a library starts), meaningless when they overlap.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from backend.ingest.cpu_clock import NativeThreads, StageClock

T = TypeVar("T")
StageCallback = Callable[[str], None]


@dataclass(frozen=True)
class StageTimes:
    """Seconds per stage: own wall time, CPU on the stage's thread(s), process CPU meanwhile."""

    wall: dict[str, float]
    thread_cpu: dict[str, float]
    process_cpu: dict[str, float]

    def minus(self, earlier: StageTimes) -> StageTimes:
        def sub(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
            return {k: v - b.get(k, 0.0) for k, v in a.items()}

        return StageTimes(
            sub(self.wall, earlier.wall),
            sub(self.thread_cpu, earlier.thread_cpu),
            sub(self.process_cpu, earlier.process_cpu),
        )


class StageLedger:
    """:class:`StageTimes` summed over every timer in this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._times = StageTimes({}, {}, {})

    def add(self, stage: str, wall: float, cpu: float, process_cpu: float) -> None:
        with self._lock:
            for table, value in zip(
                (self._times.wall, self._times.thread_cpu, self._times.process_cpu),
                (wall, cpu, process_cpu),
                strict=True,
            ):
                table[stage] = table.get(stage, 0.0) + value

    def snapshot(self) -> StageTimes:
        """The totals so far; ``later.minus(earlier)`` gives a run's."""
        with self._lock:
            t = self._times
            return StageTimes(dict(t.wall), dict(t.thread_cpu), dict(t.process_cpu))


#: Process-wide totals (ingest stages, and the indexer's hash, encode and store).
CPU_LEDGER = StageLedger()


@dataclass
class StageTimer:
    seconds: dict[str, float] = field(default_factory=dict)  # wall, per stage
    cpu_seconds: dict[str, float] = field(default_factory=dict)
    on_stage: StageCallback | None = None
    ledger: StageLedger | None = CPU_LEDGER  # None: a timer whose times are handed on later
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def run(
        self,
        stage: str,
        work: Callable[[], T],
        helpers: NativeThreads | None = None,
        notify: bool = True,
    ) -> T:
        """``work()``, timed as ``stage`` on this thread (and on ``helpers``' threads).
        ``notify=False``: the caller has told the progress callback already."""
        if notify:
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

    def add(self, stage: str, wall: float, cpu: float, process_cpu: float = 0.0) -> None:
        """Count time measured elsewhere (e.g. a decode done ahead on another thread)."""
        with self._lock:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + wall
            self.cpu_seconds[stage] = self.cpu_seconds.get(stage, 0.0) + cpu
        if self.ledger is not None:
            self.ledger.add(stage, wall, cpu, process_cpu)

    def hand_on(self, other: StageTimer) -> None:
        """Add this timer's times to ``other`` (which notifies no one of them)."""
        with self._lock:
            times = [(s, w, self.cpu_seconds.get(s, 0.0)) for s, w in self.seconds.items()]
        for stage, wall, cpu in times:
            other.add(stage, wall, cpu)
