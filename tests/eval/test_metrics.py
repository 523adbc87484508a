"""Metrics through trec_eval on rankings whose values can be worked out by hand."""

from __future__ import annotations

import math

import pytest

from backend.eval.metrics import mean, per_query


def test_hand_computed_values():
    relevant = {"a": {"d1"}, "b": {"d2"}, "c": {"d3"}}
    ranked = {
        "a": [("d1", 0.9), ("d5", 0.5)],  # first
        "b": [("d7", 0.9), ("d8", 0.8), ("d2", 0.1)],  # third
        "c": [],  # nothing retrieved: counts as zero, not skipped
    }
    values = per_query(relevant, ranked)
    assert values["a"] == {"R@1": 1.0, "R@5": 1.0, "R@10": 1.0, "nDCG@10": 1.0, "MRR": 1.0}
    assert values["b"]["R@1"] == 0.0 and values["b"]["R@5"] == 1.0
    assert values["b"]["MRR"] == pytest.approx(1 / 3)
    assert values["b"]["nDCG@10"] == pytest.approx(1 / math.log2(4))
    assert values["c"]["MRR"] == 0.0
    assert mean(list(values.values()))["MRR"] == pytest.approx((1 + 1 / 3 + 0) / 3)


def test_queries_without_relevant_videos_are_left_out():
    assert per_query({"a": set()}, {"a": [("d1", 1.0)]}) == {}
    assert math.isnan(mean([])["R@1"])
