"""Training jobs as separate processes: start and follow, cancel, and a failed job reported with
the store untouched."""

from __future__ import annotations

import json
import os
import signal
import time

import lancedb
import pytest

from backend.train import jobs
from backend.train.settings import TrainSettings

SMALL = {"epochs": 1, "synthetic": 12, "max_steps": 2}


def _table_versions(store) -> dict[str, int]:
    db = lancedb.connect(str(store))
    return {name: db.open_table(name).version for name in db.list_tables().tables}


def test_a_job_runs_apart_streams_progress_and_reports_its_result(indexed_store):
    job = jobs.start_job(TrainSettings(store=str(indexed_store), **SMALL))
    assert job.state in ("starting", "running") and job.folder.parent.name == "training"
    events = list(jobs.follow(indexed_store, job.job_id, poll_s=0.3, timeout_s=300))
    kinds = [e["event"] for e in events]
    assert kinds[0] == "launched" and kinds[-1] == "end" and kinds.count("step") == 2
    status = jobs.job_status(indexed_store, job.job_id)
    assert status.state == "completed", status.error
    assert (status.step, status.total_steps) == (2, 2)
    result = jobs.job_result(indexed_store, job.job_id)
    assert set(result["metrics"]) == {"before", "after"}
    assert [step for step, _ in result["loss_curve"]] == [1, 2]
    assert result["encoder"] == {"name": "default", "model": None, "adapter": result["adapter"]}
    assert (job.folder / "adapter" / "adapter_config.json").is_file()
    # what a reloaded browser tab sees: the newest job, from the files alone
    assert jobs.latest_job(indexed_store).job_id == job.job_id


def test_cancel_stops_after_a_step_and_keeps_the_adapter(indexed_store):
    job = jobs.start_job(TrainSettings(store=str(indexed_store), epochs=50, synthetic=12))
    with pytest.raises(jobs.JobError, match="still running"):
        jobs.start_job(TrainSettings(store=str(indexed_store)))
    deadline = time.monotonic() + 300
    while jobs.job_status(indexed_store, job.job_id).step < 1:
        assert time.monotonic() < deadline, jobs.job_status(indexed_store, job.job_id)
        time.sleep(0.3)
    assert jobs.cancel_job(indexed_store, job.job_id).cancel_requested
    status = jobs.wait_for(indexed_store, job.job_id, timeout_s=120)
    assert status.state == "cancelled", status.error
    assert status.step < status.total_steps
    assert (job.folder / "adapter" / "adapter_config.json").is_file()
    assert jobs.job_result(indexed_store, job.job_id)["status"] == "cancelled"


def test_a_failed_job_reports_its_error_and_leaves_the_store_untouched(store_copy):
    before = _table_versions(store_copy)
    settings = TrainSettings(store=str(store_copy), synthetic=0, no_labels=True)
    job = jobs.start_job(settings, launcher="python")
    status = jobs.wait_for(store_copy, job.job_id, timeout_s=180)
    assert status.state == "failed"
    assert "nothing to train on" in status.error and "--synthetic" in status.error
    assert _table_versions(store_copy) == before

    # a run killed outright (out of memory, say) leaves no result: its log tells what happened
    job = jobs.start_job(TrainSettings(store=str(store_copy), epochs=50), launcher="python")
    deadline = time.monotonic() + 120
    while not jobs.read_progress(store_copy, job.job_id)[0]:  # "launched": signals handled
        assert time.monotonic() < deadline
        time.sleep(0.2)
    os.killpg(json.loads((job.folder / "job.json").read_text())["pid"], signal.SIGKILL)
    status = jobs.wait_for(store_copy, job.job_id, timeout_s=30)
    assert status.state == "failed" and "ended without a result" in status.error
    assert _table_versions(store_copy) == before

    with pytest.raises(jobs.JobError, match="no store"):
        jobs.start_job(TrainSettings(store=str(store_copy / "missing")))
    assert not (store_copy / "missing").exists()
