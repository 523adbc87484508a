"""The background switch: one at a time, progress readable while it runs, errors kept."""

from __future__ import annotations

import threading

import pytest

from app.switching import SwitchBusy, Switcher
from backend.reencode import ReencodeReport


def test_a_switch_runs_in_the_background_and_reports_progress() -> None:
    release = threading.Event()
    activity: list[str] = []

    def switch(job_id: str, on_progress) -> ReencodeReport:
        on_progress(1, 2, "a")
        release.wait(10)
        on_progress(2, 2, "b")
        return ReencodeReport("v1", "enc", encoded=2, activated=True)

    switcher = Switcher(switch, activity.append)
    assert switcher.start("job-1").running
    with pytest.raises(SwitchBusy, match="job-1"):
        switcher.start("job-2")
    release.set()
    done = switcher.wait(10)
    assert done.state == "completed" and (done.done, done.total) == (2, 2)
    assert done.report["version"] == "v1" and done.report["activated"]
    assert "(1/2)" in activity[1] and activity[-1] == ""  # the status line is cleared after
    switcher.forget()
    assert switcher.snapshot().state == "idle"


def test_a_failed_switch_keeps_its_error_and_allows_another() -> None:
    def switch(job_id: str, on_progress) -> ReencodeReport:
        raise RuntimeError(f"no adapter for {job_id}")

    switcher = Switcher(switch)
    switcher.start("job-1")
    failed = switcher.wait(10)
    assert failed.state == "failed" and failed.error == "RuntimeError: no adapter for job-1"
    switcher.start("job-2")
    assert switcher.wait(10).error.endswith("job-2")
