"""Indexing the real corpus from the command line: every file indexed or clearly reported,
a second run is a no-op, and a run killed midway resumes to the same store."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from backend.encoders.base import Modality
from backend.indexer import find_videos
from backend.ingest.probe import content_id
from backend.store.video_store import VideoStore
from tests.conftest import REPO_ROOT, IndexedCorpus, run_cli


def test_every_corpus_video_is_indexed_or_reported_with_a_reason(
    corpus_store: IndexedCorpus, shared_data: Path
):
    listed = (shared_data / "corpus_files.txt").read_text().split()
    files = corpus_store.report["files"]
    assert len(files) == len(listed) == 48
    assert {Path(f["path"]).resolve() for f in files} == {
        (shared_data / name).resolve() for name in listed
    }
    for result in files:
        assert result["status"] in ("indexed", "failed")
        if result["status"] == "failed":
            assert len(result["reason"]) > 10, result
    store = VideoStore.open(corpus_store.store)
    indexed = [f for f in files if f["status"] == "indexed"]
    assert len(store.video_ids()) == len(indexed) >= 40
    failed = {f["path"] for f in files if f["status"] == "failed"}
    assert {f["path"] for f in store.failures()} == failed
    info = json.loads(run_cli("info", "--store", str(corpus_store.store), "--json").stdout)
    assert info["videos"] == len(indexed)
    assert info["videos_with_modality"]["asr"] >= 11  # every GRID clip speaks
    assert info["videos_with_modality"]["ocr"] >= 5
    assert info["videos_with_modality"]["video"] >= 30


def test_indexing_again_adds_nothing_and_is_fast(corpus_store: IndexedCorpus, shared_data: Path):
    before = VideoStore.open(corpus_store.store).versions()
    start = time.perf_counter()
    again = run_cli(
        "index", str(shared_data / "corpus"), "--store", str(corpus_store.store), "--json"
    )
    seconds = time.perf_counter() - start
    report = json.loads(again.stdout)
    assert report["indexed"] == 0
    assert report["skipped"] == 48 - report["failed"]
    assert seconds < 0.1 * corpus_store.seconds, (seconds, corpus_store.seconds)
    assert VideoStore.open(corpus_store.store).versions() == before  # not even rewritten


def test_a_moved_copy_is_recognised(corpus_store: IndexedCorpus, shared_data: Path, tmp_path):
    source = shared_data / "corpus" / "grid_lipnet" / "bbaf2n.mpg"
    copy = tmp_path / "renamed.mpg"
    copy.write_bytes(source.read_bytes())
    report = json.loads(
        run_cli("index", str(copy), "--store", str(corpus_store.store), "--json").stdout
    )
    assert report["files"][0]["status"] == "skipped"
    assert report["files"][0]["video_id"] == content_id(source)


def _tokens(store: VideoStore, video_ids: list[str]) -> dict[tuple[str, int], dict]:
    rows = store.token_rows(video_ids).to_pylist()
    return {(r["video_id"], r["modality"]): r for r in rows}


def test_killed_run_resumes_to_the_same_store(corpus_store: IndexedCorpus, shared_data, tmp_path):
    paths = [str(p) for p in find_videos([shared_data / "corpus" / "grid_lipnet"])[:5]]
    store_path = tmp_path / "store"
    command = [sys.executable, "-m", "backend", "index", *paths, "--store", str(store_path)]
    process = subprocess.Popen(command, cwd=REPO_ROOT, stderr=subprocess.PIPE, text=True)
    finished = 0
    for line in process.stderr:
        finished += line.strip().startswith("done")
        if finished == 2:
            time.sleep(1.0)  # into the third video
            process.send_signal(signal.SIGKILL)
            break
    process.wait(60)
    assert process.returncode == -signal.SIGKILL
    partial = VideoStore.open(store_path).video_ids()
    assert 2 <= len(partial) < 5

    resumed = run_cli("index", *paths, "--store", str(store_path), "--json")
    report = json.loads(resumed.stdout)
    assert report["skipped"] == len(partial) and report["indexed"] == 5 - len(partial)

    store, full = VideoStore.open(store_path), VideoStore.open(corpus_store.store)
    ids = sorted(store.video_ids())
    assert ids == sorted(content_id(Path(p)) for p in paths)
    assert set(
        store.table("tokens")
        .search()
        .select(["video_id"])
        .limit(None)
        .to_arrow()["video_id"]
        .to_pylist()
    ) == set(ids)  # nothing half-written left behind
    mine, reference = _tokens(store, ids), _tokens(full, ids)
    assert mine.keys() == reference.keys()
    for key, row in mine.items():
        assert row["labels"] == reference[key]["labels"]
        np.testing.assert_allclose(row["vectors"], reference[key]["vectors"], atol=1e-4)
    for video_id in ids:
        assert store.video(video_id).ingest_json == full.video(video_id).ingest_json


@pytest.mark.parametrize("bad", ["notes.txt", "empty.mp4"])
def test_bad_files_fail_alone_with_a_clear_reason(tmp_path, shared_data, bad):
    (tmp_path / "notes.txt").write_text("not a video")
    (tmp_path / "empty.mp4").write_bytes(b"")
    good = shared_data / "corpus" / "pyscenedetect" / "counter.mp4"
    done = run_cli(
        "index", str(tmp_path / bad), str(good), "--store", str(tmp_path / "s"), "--json"
    )
    assert done.returncode == 3
    files = {Path(f["path"]).name: f for f in json.loads(done.stdout)["files"]}
    assert files["counter.mp4"]["status"] == "indexed"
    assert files[bad]["status"] == "failed" and bad in files[bad]["path"]
    assert files[bad]["reason"]
    again = json.loads(
        run_cli("index", str(tmp_path / bad), "--store", str(tmp_path / "s"), "--json").stdout
    )
    assert "failed before" in again["files"][0]["reason"]  # not decoded again every run


@pytest.mark.slow
def test_an_upload_indexed_in_the_app_while_the_command_line_indexes(tmp_path):
    """The app's indexing (in-process, as ``AppContext.index`` runs it) and ``index`` in another
    process, on one store at once: every video once and complete, each file ingested once."""
    from backend.collection import Collection
    from backend.config import Settings

    demo = REPO_ROOT / "assets" / "demo"
    upload = tmp_path / "uploads" / "my holiday.mp4"  # the same bytes as a demo clip
    upload.parent.mkdir()
    upload.write_bytes((demo / "weather_report.mp4").read_bytes())
    store = tmp_path / "store"
    command = [sys.executable, "-m", "backend", "index", str(demo), "--store", str(store)]
    cli = subprocess.Popen(command, cwd=REPO_ROOT, stderr=subprocess.PIPE, text=True)
    app = Collection(Settings(store=str(store))).index([upload, demo / "cup_final.mp4"])
    _, errors = cli.communicate(timeout=1800)
    assert cli.returncode == 0, errors[-2000:]
    assert {r.status for r in app.results} <= {"indexed", "skipped"}
    done = errors.count("    done  ") + app.count("indexed")
    assert done == 6  # six distinct videos, each ingested by one of the two

    reopened = VideoStore.open(store)
    ids = reopened.video_ids()
    assert sorted(ids) == sorted({content_id(p) for p in find_videos([demo])})
    assert len(ids) == len(set(ids)) == 6
    tokens = reopened.token_rows().to_pylist()
    keys = [(t["video_id"], t["modality"]) for t in tokens]
    assert len(keys) == len(set(keys))
    for record in reopened.videos():
        mine = [t for t in tokens if t["video_id"] == record.video_id]
        # no video without (all of) its tokens
        assert set(record.modalities) == {Modality(t["modality"]).key for t in mine}
    assert reopened.remove_orphans() == 0
