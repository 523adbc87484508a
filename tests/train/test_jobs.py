"""Training jobs as separate processes: start and follow, cancel, and a failed job reported with
the store untouched."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import lancedb
import pytest

from backend.store.video_store import VideoStore
from backend.train import jobs
from backend.train.settings import TrainSettings
from tests.helpers import fresh_processes

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


# ---------------------------------------------------------------- ids and files from requests
JOB = "20261123-101500-ab12"


def _fake_job(store: Path, job_id: str = JOB, pid: int = 0, **result) -> Path:
    """A job folder as start_job and a finished run leave it (result.json only if given)."""
    folder = store / "training" / job_id
    folder.mkdir(parents=True)
    settings = {"encoder": "default", "model": None}
    (folder / "job.json").write_text(
        json.dumps({"job_id": job_id, "pid": pid, "settings": settings, "started_at": "now"})
    )
    if result:
        (folder / "result.json").write_text(json.dumps(result))
    return folder


@pytest.mark.parametrize(
    "job_id",
    ["..", "../..", "/etc", "../training", f"{JOB}/..", f"../{JOB}", "", " ", "x" * 5000, None, 7],
)
def test_job_ids_that_are_not_ids_are_refused(tmp_path: Path, job_id) -> None:
    _fake_job(tmp_path)
    for action in (jobs.job_status, jobs.job_result, jobs.cancel_job, jobs.read_progress):
        with pytest.raises(jobs.JobError, match="is not a training job id"):
            action(tmp_path, job_id)
    with pytest.raises(jobs.JobError, match="is not a training job id"):
        jobs.switch_to_result(tmp_path, job_id)


def test_a_job_folder_that_links_out_of_training_is_refused(tmp_path: Path) -> None:
    outside = _fake_job(tmp_path / "elsewhere")
    (tmp_path / "store" / "training").mkdir(parents=True)
    (tmp_path / "store" / "training" / JOB).symlink_to(outside, target_is_directory=True)
    with pytest.raises(jobs.JobError, match="no training job"):
        jobs.job_status(tmp_path / "store", JOB)
    assert jobs.list_jobs(tmp_path / "store") == []


def test_cancel_signals_only_the_jobs_own_process(tmp_path: Path) -> None:
    """A job.json naming another process (one that even looks like training) is not acted on."""
    other = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)", "backend.train.train"],
        start_new_session=True,
    )
    try:
        _fake_job(tmp_path, pid=other.pid)
        assert not jobs.job_status(tmp_path, JOB).finished  # it does look alive
        jobs.cancel_job(tmp_path, JOB)
        time.sleep(0.5)
        assert other.poll() is None  # not its folder on its command line: left alone
        assert (tmp_path / "training" / JOB / "cancel-requested").exists()
    finally:
        other.kill()
        other.wait()


def test_switch_loads_only_an_adapter_inside_the_jobs_folder(tmp_path: Path) -> None:
    (tmp_path / "evil").mkdir()
    encoder = {"name": "default", "model": None}
    _fake_job(
        tmp_path, status="completed", adapter=str(tmp_path / "evil"), encoder=encoder, metrics={}
    )
    with pytest.raises(jobs.JobError, match="is not a folder inside"):
        jobs.switch_to_result(tmp_path, JOB)
    other = "20261123-101501-cd34"
    _fake_job(tmp_path, other, status="completed", adapter="adapter", encoder={"name": "evil"})
    with pytest.raises(jobs.JobError, match="no known encoder"):
        jobs.switch_to_result(tmp_path, other)


def _start(store: str) -> str:
    """In another process: start a job, or say why not."""
    try:
        return "started " + jobs.start_job(TrainSettings(store=store), launcher="python").job_id
    except jobs.JobError as error:
        return f"refused: {error}"


def test_two_starts_at_once_give_one_job(tmp_path: Path) -> None:
    """Two processes start training on one store at the same moment: the start lock lets one
    check-and-launch happen at a time, so the second sees the first running."""
    store = tmp_path / "store"
    VideoStore.open(store, "test-encoder", 8)  # an empty store: the runs fail on their own
    with fresh_processes(2) as pool:
        outcomes = sorted(pool.map(_start, [str(store)] * 2))
    assert outcomes[0].startswith("refused") and "still running" in outcomes[0], outcomes
    assert outcomes[1].startswith("started"), outcomes
    started = outcomes[1].split()[1]
    assert [job.job_id for job in jobs.list_jobs(store)] == [started]
    assert jobs.wait_for(store, started, timeout_s=120).finished
