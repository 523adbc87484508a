"""The judged query set in training: held out whole, scored with its grades before and after."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend.collection import Collection
from backend.config import Settings
from backend.store.labels import Label
from backend.train.data import build_training_data
from backend.train.heldout import evaluate_heldout, judged_relevance
from tests.judging.conftest import tiny_store, tiny_template  # noqa: F401 - fixtures


def test_judged_queries_are_held_out_and_scored_with_grades(tiny_store: Path) -> None:  # noqa: F811
    collection = Collection(Settings(store=str(tiny_store)))
    judging = collection.judging
    judging.add_typed_queries("q1\tbring an umbrella for the rain\nq2\tbanana bread\n")
    judging.judge("q1", "rain", 2, "ann")
    judging.judge("q1", "sun", 1, "ann")
    judging.judge("q1", "sun", 0, "bob")  # a disagreement: not settled, not in the set
    judging.judge("q2", "bread", 0, "ann")  # nothing relevant: not a test query
    judging.judge_text("platform nine", "train", 2, "ann")  # a search-tab label: training data
    collection.store.labels.add([Label("oven", "bread", True, user="old")])  # an old yes

    judged = judged_relevance(collection.store)
    assert judged == {"bring an umbrella for the rain": ("bring an umbrella for the rain",
                                                          {"rain": 2})}  # fmt: skip
    data = build_training_data(collection.store, synthetic=0, use_labels=True, heldout=0.0, seed=0)
    assert data.judged == judged and data.counts["judged_queries"] == 1
    trained = {(e.query, e.video_id) for e in data.train + data.heldout}
    assert trained == {("platform nine", "train"), ("oven", "bread")}  # q1 never trained on

    metrics = evaluate_heldout(collection.encoder, data.videos, {"judged": data.judged})
    assert metrics["judged"]["queries"] == 1 and metrics["judged"]["R@1"] == pytest.approx(1.0)
    graded = {"q": ("bring an umbrella for the rain", {"rain": 1, "sun": 2})}
    assert evaluate_heldout(collection.encoder, data.videos, {"g": graded})["g"]["nDCG@10"] < 1
