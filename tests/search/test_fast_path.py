"""Two-stage search on a real store: exact for what it returns, and in step with the store."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from backend.bench.synthetic import (
    SyntheticCollection,
    SyntheticSpec,
    synthetic_video,
    write_store,
)
from backend.config import SearchSettings
from backend.search.fast_path import INDEX_FOLDER
from backend.search.searcher import Searcher
from backend.store.rows import prepare_video
from backend.store.video_store import VideoStore

SPEC = SyntheticSpec(n_videos=300, tokens_per_video=32, dim=64, n_topics=512, query_tokens=8)
# A sixth of the collection re-scored: recall is lower than at scale (see the bench), but the
# mechanism is the same.
FAST = SearchSettings(fast_min_tokens=0, precision="float32", n_candidates=48, nprobe=16)


@pytest.fixture(scope="module")
def collection() -> SyntheticCollection:
    return SyntheticCollection(SPEC)


@pytest.fixture()
def store(collection, tmp_path) -> VideoStore:
    return write_store(collection, tmp_path / "s", batch_videos=100)


def ids(hits):
    return [h.video_id for h in hits]


def test_with_every_video_a_candidate_it_is_the_exact_search(collection, store):
    searcher = Searcher(store, None, settings=replace(FAST, n_candidates=10_000))
    for number in range(3):
        _, query = collection.query(number)
        for mode in ("modality_max", "token_max"):
            for modalities in (None, ["asr", "ocr"]):
                exact = searcher.search_vectors(query, 10, mode, modalities, exact=True)
                fast = searcher.search_vectors(query, 10, mode, modalities)
                assert ids(fast) == ids(exact)
                for a, b in zip(fast, exact):
                    assert a.score == pytest.approx(b.score, abs=1e-5)
                    assert a.best_modality == b.best_modality
                    assert a.moment_s == b.moment_s
                    assert a.path == b.path
                    assert {k: [m.label for m in v] for k, v in a.matches.items()} == {
                        k: [m.label for m in v] for k, v in b.matches.items()
                    }


def test_few_candidates_still_find_the_exact_top_ten(collection, store):
    searcher = Searcher(store, None, settings=FAST)
    recall = []
    for number in range(10):
        target, query = collection.query(number)
        exact = searcher.search_vectors(query, 10, exact=True)
        fast = searcher.search_vectors(query, 10)
        assert fast[0].video_id == collection.video_id(target)
        recall.append(len(set(ids(fast)) & set(ids(exact))) / 10)
        for hit in fast:  # every returned score is the exact one
            same = next((e for e in exact if e.video_id == hit.video_id), None)
            if same is not None:
                assert hit.score == pytest.approx(same.score, abs=1e-5)
    assert np.mean(recall) >= 0.8


@pytest.mark.parametrize(("precision", "tolerance"), [("float16", 1e-3), ("int8", 5e-3)])
def test_compressed_indexes_score_within_their_rounding(collection, store, precision, tolerance):
    searcher = Searcher(store, None, settings=replace(FAST, precision=precision))
    _, query = collection.query(0)
    exact = {h.video_id: h.score for h in searcher.search_vectors(query, 10, exact=True)}
    for hit in searcher.search_vectors(query, 10):
        if hit.video_id in exact:
            assert hit.score == pytest.approx(exact[hit.video_id], abs=tolerance)


def test_pooled_and_binary_indexes_still_find_the_target(collection, store):
    for settings in (replace(FAST, pool_threshold=0.9), replace(FAST, precision="binary")):
        searcher = Searcher(store, None, settings=settings)
        target, query = collection.query(1)
        assert searcher.search_vectors(query, 10)[0].video_id == collection.video_id(target)


def test_a_small_collection_is_searched_exactly_without_an_index(collection, store):
    searcher = Searcher(store, None)  # default: fast only from 100,000 tokens
    assert searcher.fast_search() is None
    assert searcher.search_vectors(collection.query(0)[1], 5)
    assert not (Path(store.uri) / INDEX_FOLDER).exists()


def test_index_follows_added_and_deleted_videos(collection, store):
    searcher = Searcher(store, None, settings=FAST)
    index = searcher.fast_search().index
    assert len(index.parts) == 1
    # Three new videos: copies of existing token sets under new ids.
    added = [f"new-{i}" for i in range(3)]
    store.commit(
        [
            prepare_video(synthetic_video(v), collection.video(i), SPEC.dim)
            for i, v in enumerate(added)
        ]
    )
    _, query = collection.query(0)
    searcher.search_vectors(query, 10)
    assert len(index.parts) == 2  # one small part, not a rebuild
    target = collection.video_id(0)
    hits = ids(searcher.search_vectors(_query_for(collection, 0), 10))
    assert {target, "new-0"} <= set(hits)  # the copy scores like its original
    store.delete_video("new-0")
    assert "new-0" not in ids(searcher.search_vectors(_query_for(collection, 0), 10))
    # A second searcher (another process, say) opens the same index without rebuilding it.
    other = Searcher(VideoStore.open(store.uri), None, settings=FAST)
    assert [p.directory.name for p in other.fast_search().index.parts] == [
        p.directory.name for p in index.parts
    ]


def test_too_many_parts_are_merged_into_one(collection, store):
    searcher = Searcher(store, None, settings=FAST)
    index = searcher.fast_search().index
    for round_ in range(index.settings.max_parts):
        video = synthetic_video(f"extra-{round_}")
        store.commit([prepare_video(video, collection.video(round_), SPEC.dim)])
        searcher.fast_search()
    assert len(index.parts) == 1
    assert sum(len(p.video_ids) for p in index.parts) == SPEC.n_videos + index.settings.max_parts


def test_index_settings_are_noted_in_the_store_meta(store):
    Searcher(store, None, settings=FAST).fast_search()
    rows = store.table("meta").to_arrow().to_pylist()
    noted = [json.loads(r["value"]) for r in rows if r["key"].startswith("search_index:")]
    assert noted and noted[0]["precision"] == "float32"


def _query_for(collection, video):
    """A query copying tokens of ``video`` (its first modality), like the synthetic queries."""
    tokens = collection.video(video)
    keep = np.flatnonzero(tokens.modalities == tokens.modalities[0])[:8]
    return tokens.select(keep)
