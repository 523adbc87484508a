"""Labels: append-only, newest wins, grades, undo and adjudication rows, old yes/no tables
upgraded, concurrent writers and other processes seen at once, JSONL round trip."""

from __future__ import annotations

import json
import multiprocessing

import lancedb
import pyarrow as pa
import pytest

from backend.store.labels import LABELS, Label
from backend.store.video_store import VideoStore


def test_reading_a_store_never_judged_makes_no_table(tmp_path):
    store = VideoStore.open(tmp_path / "s", "x", 8)
    tables = set(store.table_names())
    assert store.labels.current() == [] and store.queries.all() == []
    assert store.pools.current() == {}
    assert set(store.table_names()) == tables
    store.labels.add([Label("red fox", "v1", True)])  # the first write makes the table
    assert set(store.table_names()) == tables | {"labels"}
    assert [lab.video_id for lab in store.labels.current()] == ["v1"]


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


OLD_LABELS = pa.schema(  # the labels table before graded judging
    [
        pa.field("label_id", pa.string()),
        pa.field("query", pa.string()),
        pa.field("video_id", pa.string()),
        pa.field("relevant", pa.bool_()),
        pa.field("modality", pa.string()),
        pa.field("moment_s", pa.float64()),
        pa.field("user", pa.string()),
        pa.field("labelled_at", pa.string()),
    ]
)


def test_an_old_yes_no_table_gains_columns_and_reads_as_grades(tmp_path):
    store = VideoStore.open(tmp_path / "s", "x", 8)
    db = lancedb.connect(str(tmp_path / "s"))
    db.drop_table("labels", ignore_missing=True)
    old = [
        {"label_id": "a", "query": "red fox", "video_id": "v1", "relevant": True,
         "modality": "video", "moment_s": 2.0, "user": "ann", "labelled_at": "2026-01-01"},
        {"label_id": "b", "query": "red fox", "video_id": "v2", "relevant": False,
         "modality": "", "moment_s": None, "user": "ann", "labelled_at": "2026-01-02"},
    ]  # fmt: skip
    db.create_table("labels", data=pa.Table.from_pylist(old, schema=OLD_LABELS))

    labels = store.labels  # opening upgrades the table
    assert set(LABELS.names) <= set(db.open_table("labels").schema.names)
    grades = {lab.video_id: (lab.grade, lab.qid, lab.action) for lab in labels.current()}
    assert grades == {"v1": (2, "", "judge"), "v2": (0, "", "judge")}  # yes = 2, no = 0
    labels.add([Label.graded("red fox", "v2", 1, user="ann", qid="q1")])
    assert len(labels.history()) == 3 and VideoStore.open(tmp_path / "s").labels.history()


def test_grades_undo_and_adjudication_are_rows_of_their_own(tmp_path):
    labels = VideoStore.open(tmp_path / "s", "x", 8).labels
    first = Label.graded("dog", "v1", 2, user="ann", qid="q1")
    second = Label.graded("dog", "v1", 1, user="ann", qid="q1")
    labels.add([first])
    labels.add([second])
    assert [lab.grade for lab in labels.current()] == [1]
    labels.undo(second, "ann")  # back to the grade before
    assert [lab.grade for lab in labels.current()] == [2]
    labels.add([Label.graded("dog", "v1", 0, user="cy", qid="q1", action="adjudicate")])
    assert [lab.user for lab in labels.current()] == ["ann"]  # an adjudication is apart
    assert [lab.grade for lab in labels.current(action="adjudicate")] == [0]
    history = labels.history()
    assert [lab.action for lab in history] == ["judge", "judge", "undo", "adjudicate"]
    assert history[2].target_id == second.label_id
    with pytest.raises(ValueError, match="0, 1 or 2"):
        Label.graded("dog", "v1", 3)


def test_another_process_labels_are_seen_on_the_next_read(tmp_path):
    labels = VideoStore.open(tmp_path / "s", "x", 8).labels
    assert labels.current() == []
    context = multiprocessing.get_context("spawn")
    writer = context.Process(target=_write_labels, args=(str(tmp_path / "s"), "z"))
    writer.start()
    writer.join(120)
    assert writer.exitcode == 0
    assert len(labels.current()) == 10  # the same object, no reopening
