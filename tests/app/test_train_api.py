"""The Train tab's endpoints (``train``, ``train_status``, ``train_cancel``, ``switch``,
``versions``) driven with gradio_client, as a script would: a run that fails shows its error and
harms neither the app nor the store, a run can be cancelled, a finished one is switched to and
searched with, and an older version can be made active again."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import lancedb
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from tests.app.conftest import AppServer, copy_store, start_app

SPOKEN = "bin blue at f two now"  # the sentence spoken in grid_lipnet/bbaf2n.mpg
ENDPOINTS = {"/train", "/train_status", "/train_cancel", "/switch", "/versions"}


@pytest.fixture(scope="module")
def store(indexed_pair: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_store(indexed_pair, tmp_path_factory.mktemp("train-api") / "store")


@pytest.fixture(scope="module")
def client(store: Path) -> Iterator[Client]:
    server: AppServer = start_app(store, store.parent / "app.log", "--no-demo")
    yield Client(server.url, verbose=False)
    server.stop()


def _table_versions(store: Path) -> dict[str, int]:
    db = lancedb.connect(str(store))
    return {name: db.open_table(name).version for name in db.list_tables().tables}


def _wait(client: Client, job_id: str, until: Callable[[dict], bool], timeout_s: float) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        job = client.predict(job_id, api_name="/train_status")["job"]
        if until(job) or time.monotonic() > deadline:
            return job
        time.sleep(0.5)


def _finished(job: dict) -> bool:
    return job["finished"]


def test_every_training_action_is_a_named_endpoint(client: Client) -> None:
    endpoints = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert set(endpoints) >= ENDPOINTS
    status = client.predict("", api_name="/train_status")
    assert status["job"] is None and status["switch"]["state"] == "idle"
    assert [(v["name"], v["active"]) for v in status["versions"]] == [("v0", True)]


def test_a_failed_run_shows_its_error_and_harms_nothing(client: Client, store: Path) -> None:
    before = _table_versions(store)
    # no labels yet, and no synthetic queries asked for: nothing to train on
    job = client.predict(1, 3e-4, 8, "contrastive", 0, api_name="/train")
    assert job["state"] in ("starting", "running")
    job = _wait(client, job["job_id"], _finished, 180)
    assert job["state"] == "failed" and "nothing to train on" in job["error"]
    assert _table_versions(store) == before  # reading labels made no table either
    hits = client.predict(SPOKEN, 5, "modality_max", [], api_name="/search")["hits"]
    assert hits[0]["file_name"] == "bbaf2n.mpg"  # the app goes on as before
    with pytest.raises(AppError, match="from 1 to"):
        client.predict(0, 3e-4, 8, "contrastive", 50, api_name="/train")


def test_a_run_can_be_cancelled_and_keeps_its_adapter(client: Client) -> None:
    video_id = client.predict(SPOKEN, 1, "modality_max", [], api_name="/search")["hits"][0][
        "video_id"
    ]
    client.predict(SPOKEN, video_id, True, "asr", None, api_name="/label")
    job = client.predict(50, 3e-4, 8, "contrastive", 50, api_name="/train")
    with pytest.raises(AppError, match="still running"):
        client.predict(1, 3e-4, 8, "contrastive", 50, api_name="/train")
    running = _wait(client, job["job_id"], lambda j: j["step"] >= 1 or j["finished"], 180)
    assert running["state"] == "running", running
    assert client.predict("", api_name="/train_cancel")["cancel_requested"]
    job = _wait(client, job["job_id"], _finished, 120)
    assert job["state"] == "cancelled" and job["step"] < job["total_steps"]
    assert Path(job["adapter"], "adapter_config.json").is_file()


def test_train_switch_search_and_roll_back(client: Client, store: Path) -> None:
    started = client.predict(1, 3e-4, 8, "contrastive", 50, api_name="/train")
    job = _wait(client, started["job_id"], _finished, 240)
    assert job["state"] == "completed", job["error"]
    assert [step for step, _ in job["loss_curve"]] == list(range(1, job["total_steps"] + 1))
    assert set(job["metrics"]) == {"before", "after"}
    assert job["metrics"]["before"]["all"]["queries"] >= 1

    switched = client.predict("", api_name="/switch")  # the latest job; returns once active
    report = switched["switch"]["report"]
    assert switched["switch"]["state"] == "completed" and report["activated"]
    assert report["encoded"] == 2 and "+lora:" in report["encoder"]
    active = next(v for v in switched["versions"] if v["active"])
    assert active["name"] == report["version"] and Path(active["adapter"]) == Path(job["adapter"])
    assert [v["name"] for v in switched["versions"]] == ["v0", report["version"]]

    hits = client.predict(SPOKEN, 5, "modality_max", [], api_name="/search")["hits"]
    assert hits[0]["file_name"] == "bbaf2n.mpg" and len(hits) == 2
    status = client.predict(job["job_id"], api_name="/train_status")
    assert status["switch"]["job_id"] == job["job_id"]

    rolled_back = client.predict("v0", api_name="/versions")
    assert [v["name"] for v in rolled_back["versions"] if v["active"]] == ["v0"]
    assert rolled_back["missing_videos"] == []
    hits = client.predict(SPOKEN, 5, "modality_max", [], api_name="/search")["hits"]
    assert hits[0]["file_name"] == "bbaf2n.mpg"
    with pytest.raises(AppError, match="no version"):
        client.predict("v9", api_name="/versions")
