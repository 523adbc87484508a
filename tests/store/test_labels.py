"""Labels: append-only, newest wins, concurrent writers, JSONL round trip."""

from __future__ import annotations

import json
import multiprocessing

from backend.store.labels import Label
from backend.store.video_store import VideoStore


def test_newest_judgement_wins_and_history_keeps_all(tmp_path):
    labels = VideoStore.open(tmp_path / "s", "x", 8).labels
    labels.add([Label("red fox", "v1", True, user="ann")])
    labels.add([Label("Red  Fox", "v1", False, user="ann")])  # same query, changed mind
    labels.add([Label("red fox", "v1", True, user="bob")])
    current = labels.current("red fox")
    assert {(lab.user, lab.relevant) for lab in current} == {("ann", False), ("bob", True)}
    assert len(labels.history()) == 3


def test_labels_survive_reopening(tmp_path):
    VideoStore.open(tmp_path / "s", "x", 8).labels.add([Label("q", "v1", True, "asr", 3.5)])
    again = VideoStore.open(tmp_path / "s", "x", 8).labels.current()
    assert again[0].modality == "asr" and again[0].moment_s == 3.5


def _write_labels(store_path: str, user: str) -> None:
    labels = VideoStore.open(store_path, "x", 8).labels
    for i in range(10):
        labels.add([Label(f"query {i}", f"v{i}", i % 2 == 0, user=user)])


def test_two_writers_at_once_lose_nothing(tmp_path):
    VideoStore.open(tmp_path / "s", "x", 8)
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_write_labels, args=(str(tmp_path / "s"), u)) for u in "ab"]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
    assert all(w.exitcode == 0 for w in workers)
    assert len(VideoStore.open(tmp_path / "s", "x", 8).labels.current()) == 20


def test_export_import_round_trip(tmp_path):
    source = VideoStore.open(tmp_path / "a", "x", 8).labels
    source.add([Label("dog on beach", "v1", True, "video"), Label("dog on beach", "v2", False)])
    out = tmp_path / "labels.jsonl"
    assert source.export_jsonl(out, {"v1": "clips/dog.mp4"}) == 1
    line = json.loads(out.read_text())
    assert line["relevant"] == ["clips/dog.mp4"] and line["query_type"] == "video"

    target = VideoStore.open(tmp_path / "b", "x", 8).labels
    assert target.import_jsonl(out, {}) == 2
    assert target.import_jsonl(out, {}) == 0  # the same judgements are not added twice
    judged = {(lab.video_id, lab.relevant) for lab in target.current()}
    assert judged == {("v1", True), ("v2", False)}

    plain = tmp_path / "plain.jsonl"
    plain.write_text(json.dumps({"qid": "1", "query": "q", "relevant": ["x/dog.mp4"]}) + "\n")
    assert target.import_jsonl(plain, {"dog.mp4": "v1"}) == 1
