"""Every API endpoint of the real app, driven with gradio_client (what scripts use)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

import httpx
import lancedb
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from backend.store.labels import LabelStore
from tests.app.conftest import AppServer, start_app

SPOKEN = "bin blue at f two now"  # the sentence spoken in grid_lipnet/bbaf2n.mpg
USER = ("ann", "secret-pw")


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("api")


@pytest.fixture(scope="module")
def server(root: Path) -> AppServer:
    app = start_app(
        root / "store",
        root / "app.log",
        "--no-demo",
        "--auth",
        ":".join(USER),
        "--max-upload-mb",
        "1",
    )
    yield app
    app.stop()


@pytest.fixture(scope="module")
def client(server: AppServer) -> Client:
    return Client(server.url, auth=USER, verbose=False)


@pytest.fixture(scope="module")
def browser_session(server: AppServer) -> httpx.Client:
    """Plain HTTP, logged in the way a browser is (a session cookie)."""
    session = httpx.Client(base_url=server.url, timeout=10)
    session.post("login", data={"username": USER[0], "password": USER[1]})
    return session


@pytest.fixture(scope="module")
def indexed(client: Client, shared_data: Path, root: Path) -> dict:
    """One real video, plus a text file and an empty "video" that are refused (an over-size
    one never arrives: tests/app/test_api_fuzz.py)."""
    (root / "notes.txt").write_text("not a video")
    (root / "empty.mp4").write_bytes(b"")
    files = [
        shared_data / "corpus/grid_lipnet/bbaf2n.mpg",
        root / "notes.txt",
        root / "empty.mp4",
    ]
    return client.predict([handle_file(str(f)) for f in files], "", api_name="/index")


def test_every_action_is_a_named_endpoint(client: Client) -> None:
    endpoints = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert {"/search", "/index", "/label", "/explain", "/collection"} <= set(endpoints)


def test_index_reports_every_file_and_refuses_non_videos(indexed: dict) -> None:
    status = {f["file"]: f for f in indexed["files"]}
    assert indexed["done"] and indexed["indexed"] == 1 and indexed["rejected"] == 2
    assert status["bbaf2n.mpg"]["status"] == "indexed"  # the refused ones stop nothing
    assert "not a video file (.txt)" in status["notes.txt"]["message"]
    assert "empty (0 bytes)" in status["empty.mp4"]["message"]


def test_search_ranks_the_spoken_video_first(client: Client, indexed: dict) -> None:
    result = client.predict(SPOKEN, 5, "modality_max", [], api_name="/search")
    best = result["hits"][0]
    assert best["file_name"] == "bbaf2n.mpg"
    assert best["best_modality"] == "asr" and best["moment_s"] is not None
    assert best["snippets"]["asr"] and best["matches"]["asr"]
    assert best["video_url"].startswith("gradio_api/file=")


def test_search_filters_and_errors(client: Client, indexed: dict) -> None:
    speech = client.predict(SPOKEN, 5, "token_max", ["asr"], api_name="/search")
    assert speech["mode"] == "token_max" and speech["modalities"] == ["asr"]
    assert [hit["best_modality"] for hit in speech["hits"]] == ["asr"]
    screen = client.predict(SPOKEN, 5, "modality_max", ["ocr"], api_name="/search")
    assert screen["hits"] == []  # a speaking face shows no text: nothing to score
    with pytest.raises(AppError, match="Type something"):
        client.predict("  ", 5, "modality_max", [], api_name="/search")


def test_explain_returns_matches_and_pictures(client: Client, indexed: dict) -> None:
    video_id = client.predict(SPOKEN, 1, "modality_max", [], api_name="/search")["hits"][0][
        "video_id"
    ]
    started = time.perf_counter()
    data, heatmap, frame = client.predict(SPOKEN, video_id, "best", api_name="/explain")
    assert time.perf_counter() - started < 5  # generous: a shared CPU, plus HTTP round trips
    assert data["best_modality"] == "asr"
    asr = data["modalities"]["asr"]
    assert [m["query_token"] for m in asr["matches"]][:2] == ["bin", "blue"]
    assert Image.open(heatmap).width > 100
    assert Image.open(frame).size[0] > 0  # speech has a time, so a frame is shown


def test_label_is_stored_with_user_and_listed(client: Client, indexed: dict) -> None:
    video_id = client.predict(SPOKEN, 1, "modality_max", [], api_name="/search")["hits"][0][
        "video_id"
    ]
    stored = client.predict(SPOKEN, video_id, True, "asr", 1.2, api_name="/label")
    assert stored["label"]["user"] == "ann" and stored["label"]["relevant"] is True
    assert any(lab["video_id"] == video_id for lab in stored["labels"])
    with pytest.raises(AppError, match="not in the collection"):
        client.predict(SPOKEN, "no-such-video", True, "", None, api_name="/label")


def test_two_sessions_labelling_at_once_lose_nothing(
    server: AppServer, root: Path, indexed: dict
) -> None:
    sessions = [Client(server.url, auth=USER, verbose=False) for _ in range(2)]
    hits = sessions[0].predict(SPOKEN, 1, "modality_max", [], api_name="/search")["hits"]
    video_id = hits[0]["video_id"]

    def label_four(number: int) -> None:  # one session, four labels, one after another
        for n in range(number * 4, number * 4 + 4):
            sessions[number].predict(f"query {n}", video_id, True, "", None, api_name="/label")

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(label_four, range(2)))
    stored = LabelStore(lancedb.connect(str(root / "store"))).history()
    assert sorted(lab.query for lab in stored if lab.query.startswith("query ")) == sorted(
        f"query {n}" for n in range(8)
    )


def test_collection_lists_complete_videos(client: Client, indexed: dict) -> None:
    data = client.predict(api_name="/collection")
    assert [v["file_name"] for v in data["videos"]] == ["bbaf2n.mpg"]
    assert "asr" in data["videos"][0]["modalities"] and data["info"]["videos"] == 1


def test_password_protection_keeps_strangers_out(server: AppServer, indexed: dict) -> None:
    refused = r"(?i)auth|login|credentials"
    with pytest.raises(Exception, match=refused):
        Client(server.url, verbose=False)
    with pytest.raises(Exception, match=refused):  # a wrong password is no better than none
        Client(server.url, auth=(USER[0], "wrong"), verbose=False)
    stranger = httpx.get(f"{server.url}gradio_api/file=/etc/hostname", timeout=10)
    assert stranger.status_code in (401, 403)


def test_files_are_served_only_from_the_media_folders(
    browser_session: httpx.Client, client: Client, root: Path, indexed: dict
) -> None:
    hit = client.predict(SPOKEN, 1, "modality_max", [], api_name="/search")["hits"][0]
    assert browser_session.get(hit["video_url"]).status_code == 200
    store = root / "store"
    meta = next(store.glob("meta.lance/**/*.lance"))
    escape = f"{store}/media/../{meta.relative_to(store)}"
    for path in (meta, escape, "/etc/passwd", f"{store}/media/../../app.log"):
        response = browser_session.get(f"gradio_api/file={quote(str(path))}")
        assert response.status_code == 403, path


def test_search_while_indexing_sees_only_complete_videos(
    client: Client, shared_data: Path, indexed: dict
) -> None:
    job = client.submit(
        [handle_file(str(shared_data / "corpus/pyscenedetect/counter.mp4"))], "", api_name="/index"
    )
    deadline = time.monotonic() + 120
    while not job.done() and time.monotonic() < deadline:  # wait until it is mid-way
        outputs = job.outputs()
        if outputs and outputs[-1]["files"][0]["status"] == "indexing":
            break
        time.sleep(0.2)
    during = client.predict("Frame", 5, "modality_max", [], api_name="/search")
    report = job.result(timeout=180)
    assert report["files"][0]["status"] == "indexed"
    assert [h["file_name"] for h in during["hits"]] == ["bbaf2n.mpg"]
    after = client.predict("Frame 22", 5, "modality_max", [], api_name="/search")
    assert after["hits"][0]["file_name"] == "counter.mp4"


def test_delete_removes_the_video_and_its_upload(client: Client, root: Path, indexed: dict) -> None:
    data = client.predict(api_name="/collection")
    video = next(v for v in data["videos"] if v["file_name"] == "bbaf2n.mpg")
    assert client.predict(video["video_id"], api_name="/delete")["deleted"] is True
    names = [v["file_name"] for v in client.predict(api_name="/collection")["videos"]]
    assert "bbaf2n.mpg" not in names
    assert not (root / "store" / "media" / "bbaf2n.mpg").exists()
