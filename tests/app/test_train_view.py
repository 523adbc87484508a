"""What the Train tab shows, from plain data: progress lines, errors, tables, the loss plot."""

from __future__ import annotations

import doctest

from app import train_view as view
from app.switching import SwitchStatus

IDLE = SwitchStatus().to_json()
JOB = {
    "job_id": "20261123-120000-abcd",
    "state": "running",
    "step": 3,
    "total_steps": 8,
    "epoch": 0,
    "loss": 0.0123,
    "eta_s": 75.0,
    "cancel_requested": False,
    "error": None,
    "metrics": {},
}


def test_progress_says_state_step_loss_and_time_left() -> None:
    text = view.progress_html(JOB, IDLE)
    assert "RUNNING" in text and "step 3/8" in text and "loss 0.0123" in text
    assert "1:15.0 left" in text and 'style="width:38%"' in text  # 3 of 8 steps
    stopping = view.progress_html({**JOB, "cancel_requested": True}, IDLE)
    assert "stopping after this step" in stopping
    assert "No training run" in view.progress_html(None, IDLE)


def test_a_failed_job_and_a_failed_switch_show_their_errors() -> None:
    failed = {**JOB, "state": "failed", "error": "ValueError: nothing to train on"}
    assert "FAILED" in view.progress_html(failed, IDLE)
    switch = SwitchStatus("failed", "x", error="StoreError: disk full").to_json()
    text = view.error_markdown(failed, switch)
    assert "nothing to train on" in text and "disk full" in text
    assert view.error_markdown(JOB, IDLE) == ""


def test_switch_progress_and_result() -> None:
    running = SwitchStatus("running", JOB["job_id"], done=1, total=4).to_json()
    assert "1/4 videos" in view.progress_html(None, running)
    report = {"version": "v2", "encoded": 4, "activated": True}
    done = SwitchStatus("completed", JOB["job_id"], 4, 4, report, seconds=3.2).to_json()
    assert "Switched to version <b>v2</b> (4 videos" in view.progress_html(None, done)


def test_metrics_table_compares_before_and_after() -> None:
    metrics = {
        "before": {"all": {"R@1": 0.5, "nDCG@10": 0.6, "queries": 4.0}, "train": {"loss": 0.2}},
        "after": {"all": {"R@1": 0.75, "nDCG@10": 0.6, "queries": 4.0}, "train": {"loss": 0.1}},
    }
    table = view.metrics_markdown(metrics)
    assert "| all (4) | R@1 | 0.500 | 0.750 | +0.250 |" in table
    assert "| training batches | loss | 0.2 | 0.1 | -0.1 |" in table
    during = view.metrics_markdown({"before": metrics["before"]})  # after not measured yet
    assert "| all (4) | R@1 | 0.500 |  |  |" in during
    assert view.metrics_markdown({}) == ""


def test_versions_table_and_choices() -> None:
    versions = [
        {
            "name": "v0",
            "active": False,
            "state": "complete",
            "encoder": "default:all-MiniLM-L6-v2",
            "adapter": None,
            "created_at": "2026-11-23T12:00:00+00:00",
            "missing_videos": 0,
        },
        {
            "name": "v1",
            "active": True,
            "state": "complete",
            "encoder": "default:all-MiniLM-L6-v2+lora:adapter@1234",
            "adapter": "/s/training/20261123-120000-abcd/adapter",
            "created_at": "2026-11-23T12:05:00+00:00",
            "missing_videos": 2,
        },
        {**dict.fromkeys(("encoder", "adapter", "created_at"), ""), "name": "v2"}
        | {"active": False, "state": "building", "missing_videos": 5},
    ]
    table = view.versions_markdown(versions)
    assert "| v1 | **active** | complete |" in table and "20261123-120000-abcd" in table
    assert "(none: base model)" in table
    assert view.version_choices(versions) == [
        ("v0 ((none: base model))", "v0"),
        ("v1 (20261123-120000-abcd) · active", "v1"),
    ]  # a version still being built cannot be activated


def test_loss_plot_data() -> None:
    assert view.loss_frame([]) is None
    frame = view.loss_frame([[1, 0.5], [2, 0.25]])
    assert list(frame.columns) == ["step", "loss"] and frame["loss"].tolist() == [0.5, 0.25]


def test_the_settings_offered_are_the_training_scripts() -> None:
    assert view.loss_choices()[0] == "contrastive" and "pairwise" in view.loss_choices()
    assert view.defaults_for("default")["epochs"] == 4
    assert view.defaults_for("clamr")["rank"] == 128


def test_the_examples_in_the_docstrings_hold() -> None:
    assert doctest.testmod(view, optionflags=doctest.NORMALIZE_WHITESPACE).failed == 0
