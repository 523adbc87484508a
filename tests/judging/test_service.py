"""Judging end to end on a small real store: query set, pools, two assessors, undo,
adjudication, qrels; nothing lost when two assessors judge one pair at the same moment."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from backend.collection import Collection
from backend.config import Settings
from backend.judging.rankers import RANKERS
from backend.judging.service import Judging, JudgingError
from backend.store.labels import Label
from backend.store.video_store import VideoStore

QUERIES = "q1\tbring an umbrella for the rain\tspeech\nq2\tbanana bread\nq3\tplatform nine\n"


def judging_of(store: Path) -> Judging:
    return Collection(Settings(store=str(store))).judging


def test_query_set_pool_and_progress(tiny_store: Path, tmp_path: Path) -> None:
    judging = judging_of(tiny_store)
    (tmp_path / "set.tsv").write_text(QUERIES)
    assert judging.import_queries(tmp_path / "set.tsv").added == 3
    again = judging.import_queries(tmp_path / "set.tsv")
    assert (again.added, again.changed, again.total) == (0, 0, 3)  # importing twice is harmless
    assert judging.add_typed_queries("sunny saturday").total == 4

    pools = judging.pool(depth=2)
    assert set(pools) == {"q1", "q2", "q3", judging.queries()[3].qid}
    rain = {row.video_id: row for row in pools["q1"]}["rain"]
    first = {"modality_max", "token_max", "asr", "bm25", "rrf"}  # its words are spoken
    assert first <= {name for name, rank in zip(rain.rankers, rain.ranks) if rank == 1}
    assert rain.moment_s is not None
    proposers = {name for row in pools["q1"] for name in row.rankers}
    assert proposers == set(RANKERS) - {"video"}  # hand-made clips have no image tags
    assert all(len(rows) >= 2 for rows in pools.values())
    tables = VideoStore.open(tiny_store).table("pools")
    rows_before = tables.count_rows()
    judging.pool(depth=2)
    assert tables.count_rows() == rows_before  # nothing changed, nothing written

    candidates = judging.candidates("q1")
    assert [c.video_id for c in candidates] == [r.video_id for r in pools["q1"]]
    assert candidates[0].file_name.endswith(".mp4")
    progress = {p.qid: p for p in judging.query_progress()}
    assert progress["q1"].pooled == len(pools["q1"]) and progress["q1"].judged == 0


def test_two_assessors_undo_adjudication_and_qrels(tiny_store: Path) -> None:
    judging = judging_of(tiny_store)
    judging.add_typed_queries(QUERIES)
    judging.pool(depth=2)
    judging.judge("q1", "rain", 2, "ann", moment_s=3.5, modality="asr")
    judging.judge("q1", "rain", 2, "bob")
    judging.judge("q1", "sun", 1, "ann")
    judging.judge("q1", "sun", 0, "bob")
    judging.judge("q2", "bread", 0, "ann")  # a slip ...
    assert judging.undo("ann", "q2").grade == 0  # ... undone: the undo is a row of its own
    judging.judge("q2", "bread", 2, "ann")
    assert [(d.qid, d.video_id, d.grades) for d in judging.disagreements()] == [
        ("q1", "sun", {"ann": 1, "bob": 0})
    ]
    qrels = {(q.qid, q.docid): q.grade for q in judging.qrels()}
    assert qrels == {("q1", "rain.mp4"): 2, ("q2", "bread.mp4"): 2}  # sun waits to be settled
    judging.adjudicate("q1", "sun", 1, "cy")
    assert judging.qrels()[1].docid == "sun.mp4" and judging.qrels()[1].grade == 1
    assert judging.disagreements()[0].adjudicated == 1
    kappa = judging.agreement().get("cohen_kappa")
    assert kappa.pairs == 2 and kappa.assessors == ("ann", "bob")
    actions = [lab.action for lab in VideoStore.open(tiny_store).labels.history()]
    assert actions.count("undo") == 1 and actions.count("adjudicate") == 1
    ann = {p.assessor: p for p in judging.assessor_progress()}["ann"]
    assert ann.labels == 3

    with pytest.raises(JudgingError, match="no query 'nope'"):
        judging.judge("nope", "rain", 2, "ann")
    with pytest.raises(JudgingError, match="0, 1 or 2"):
        judging.judge("q1", "rain", 5, "ann")
    with pytest.raises(JudgingError, match="assessor"):
        judging.judge("q1", "rain", 2, " ")
    with pytest.raises(JudgingError, match="not in the collection"):
        judging.judge("q1", "ghost", 2, "ann")


def test_same_pair_at_the_same_moment_keeps_both(tiny_store: Path) -> None:
    judging = judging_of(tiny_store)
    judging.add_typed_queries(QUERIES)
    start = threading.Barrier(2)

    def judge(user: str, grade: int) -> None:
        start.wait()
        judging_of(tiny_store).judge("q3", "train", grade, user)

    threads = [threading.Thread(target=judge, args=a) for a in (("ann", 2), ("bob", 1))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    grades = judging.snapshot().judgements.by_pair[("q3", "train")]
    assert {user: label.grade for user, label in grades.items()} == {"ann": 2, "bob": 1}


def test_search_tab_and_old_labels_join_the_query_set(tiny_store: Path) -> None:
    judging = judging_of(tiny_store)
    VideoStore.open(tiny_store).labels.add([Label("Banana  bread", "bread", True, user="old")])
    judging.add_typed_queries(QUERIES)
    label = judging.judge_text("will it rain on tuesday", "rain", 2, "ann")
    assert label.qid.startswith("q-") and judging.queries()[-1].set_name == "search"
    settled = judging.snapshot().settled
    assert settled[("q2", "bread")].grade == 2  # the old yes, matched to q2 by its words
    assert settled[(label.qid, "rain")].how == "single"
    assert judging.resolve_video("rain.mp4").video_id == "rain"
    with pytest.raises(JudgingError, match="no video"):
        judging.resolve_video("missing.mp4")
