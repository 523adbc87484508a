"""Per-thread CPU time: a stage's CPU seconds are its own even while another stage runs."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from backend.ingest.cpu_clock import StageClock, threads_started
from backend.ingest.stage_timer import CPU_LEDGER, StageTimer


def _busy(seconds: float) -> None:
    end = time.thread_time() + seconds
    a = np.random.default_rng(0).random((200, 200))
    while time.thread_time() < end:
        a = a @ a.T / 200


def test_two_stages_side_by_side_each_count_their_own_cpu():
    timer = StageTimer()
    before = CPU_LEDGER.snapshot()
    stages = [
        threading.Thread(target=timer.run, args=(name, lambda s=s: _busy(s)))
        for name, s in (("ocr", 0.3), ("vision", 0.6))
    ]
    for thread in stages:
        thread.start()
    for thread in stages:
        thread.join()
    assert 0.3 <= timer.cpu_seconds["ocr"] < 0.45
    assert 0.6 <= timer.cpu_seconds["vision"] < 0.75
    added = CPU_LEDGER.snapshot().minus(before)
    assert added.thread_cpu["ocr"] == pytest.approx(timer.cpu_seconds["ocr"])


def test_threads_a_library_starts_are_counted_for_its_stage():
    stop = threading.Event()
    with threads_started() as started:
        helper = threading.Thread(target=lambda: [_busy(0.05) for _ in iter(stop.is_set, True)])
        helper.start()
    try:
        assert len(started.ids) == 1
        clock = StageClock(started)
        time.sleep(0.4)  # the helper works, this thread waits
        wall, cpu, _ = clock.read()
        assert wall >= 0.4 and cpu > 0.2
    finally:
        stop.set()
        helper.join()
