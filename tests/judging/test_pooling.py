"""Depth-k pooling: union, proposers and ranks kept, blind order fixed and rank-free."""

from __future__ import annotations

from backend.judging.pooling import pool_candidates, same_pool
from backend.judging.rankers import Ranked


def test_union_of_each_rankers_top_depth_with_proposers():
    runs = {
        "modality_max": [Ranked("a", 3.0), Ranked("b", 1.0), Ranked("c")],
        "bm25": [Ranked("c"), Ranked("d")],
        "asr": [Ranked("b", 7.0)],
    }
    rows = pool_candidates("q1", runs, depth=2)
    found = {r.video_id: (r.rankers, r.ranks, r.moment_s) for r in rows}
    assert found == {
        "a": (("modality_max",), (1,), 3.0),
        "b": (("modality_max", "asr"), (2, 1), 7.0),  # the moment of its best rank
        "c": (("bm25",), (1,), None),
        "d": (("bm25",), (2,), None),
    }
    assert [r.position for r in rows] == [0, 1, 2, 3]


def test_blind_order_is_fixed_and_survives_new_candidates():
    first = pool_candidates("q1", {"x": [Ranked(v) for v in "abcdefgh"]}, depth=8)
    again = pool_candidates("q1", {"y": [Ranked(v) for v in "hgfedcba"]}, depth=8)
    order = [r.video_id for r in first]
    assert order == [r.video_id for r in again]  # not the rankers' order
    assert order != list("abcdefgh") and order != list("hgfedcba")
    grown = pool_candidates("q1", {"x": [Ranked(v) for v in "abcdefghij"]}, depth=10)
    assert [v for v in (r.video_id for r in grown) if v in order] == order
    assert same_pool(first, pool_candidates("q1", {"x": [Ranked(v) for v in "abcdefgh"]}, 8))
    assert not same_pool(first, grown)
    other = [r.video_id for r in pool_candidates("q2", {"x": [Ranked(v) for v in "abcdefgh"]}, 8)]
    assert other != order  # each query has its own shuffle
