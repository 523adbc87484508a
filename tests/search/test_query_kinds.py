"""Queries of words and picture regions: each kind scored only against its own space.

A plain loop over the definition (``backend.search.query_kinds``) is the reference for the
exact search and the two-stage search, on a real store whose videos hold picture tokens.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from backend.config import SearchSettings
from backend.encoders.base import DOCUMENT_MODALITIES, Modality, TokenVectors, comparable_modalities
from backend.search.query_kinds import query_parts, video_scores
from backend.search.searcher import NO_IMAGE_TOKENS, QueryError, Searcher
from backend.store.video_store import VideoStore
from tests.helpers import make_video, random_tokens

DIM = 8
FAST = SearchSettings(fast_min_tokens=0, precision="float32", n_candidates=10_000, nprobe=64)


def _query(seed: int, kinds: list[Modality]) -> TokenVectors:
    rng = np.random.default_rng(500 + seed)
    vectors = rng.standard_normal((len(kinds), DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    n = len(kinds)
    return TokenVectors(
        vectors,
        np.array([int(k) for k in kinds], np.int8),
        tuple(f"{Modality(k).key}{i}" for i, k in enumerate(kinds)),
        np.full(n, np.nan, np.float32),
        np.full((n, 4), np.nan, np.float32),
    )


WORDS = [Modality.PAD] * 3
PICTURE = [Modality.IMAGE] * 4
BOTH = [Modality.IMAGE, Modality.PAD, Modality.IMAGE, Modality.PAD, Modality.IMAGE]


@pytest.fixture()
def store(tmp_path):
    store = VideoStore.open(tmp_path / "s", "random", DIM)
    tokens = {}
    for i in range(8):
        counts = {Modality.VIDEO: 2 + i, Modality.ASR: 3, Modality.IMAGE: 5 + 2 * i}
        if i == 6:
            counts = {Modality.OCR: 4}  # no picture tokens (indexed without a picture)
        if i == 7:
            counts = {Modality.IMAGE: 6}  # pictures only (a silent film without words)
        tokens[f"v{i}"] = random_tokens(i, counts, DIM)
        store.add_video(make_video(f"v{i}"), tokens[f"v{i}"])
    return store, tokens


def reference(query: TokenVectors, tokens: TokenVectors) -> dict[Modality, float]:
    """s_m by the definition, one query token and one document token at a time."""
    out = {}
    for m in DOCUMENT_MODALITIES:
        rows = [q for q in range(len(query)) if m in comparable_modalities(query.modalities[q])]
        columns = [d for d in range(len(tokens)) if tokens.modalities[d] == m]
        if rows and columns:
            best = [max(float(query.vectors[q] @ tokens.vectors[d]) for d in columns) for q in rows]
            out[m] = sum(best) / len(best)
    return out


@pytest.mark.parametrize("kinds", [WORDS, PICTURE, BOTH], ids=["words", "picture", "both"])
def test_exact_scores_follow_the_definition(store, kinds):
    store, tokens = store
    query = _query(len(kinds), kinds)
    hits = Searcher(store, None).search_vectors(query, k=10, exact=True)
    expected = {v: reference(query, t) for v, t in tokens.items()}
    ranked = sorted(
        (v for v in expected if expected[v]), key=lambda v: max(expected[v].values()), reverse=True
    )
    assert [h.video_id for h in hits] == ranked
    for hit in hits:
        for m in DOCUMENT_MODALITIES:
            want = expected[hit.video_id].get(m)
            got = hit.scores[m.key]
            assert (got is None) == (want is None), (hit.video_id, m)
            if want is not None:
                assert got == pytest.approx(want, abs=1e-5)
        per_modality, _ = video_scores(query, tokens[hit.video_id])
        assert hit.score == pytest.approx(float(np.nanmax(per_modality)), abs=1e-5)


def test_words_never_match_picture_tokens_and_regions_never_match_words(store):
    store, _ = store
    query = _query(9, BOTH)
    for hit in Searcher(store, None).search_vectors(query, k=10, exact=True):
        for modality, matches in hit.matches.items():
            kind = "image" if modality == "image" else "pad"
            assert all(m.query_token.startswith(kind) for m in matches), (modality, matches)
        if hit.scores["image"] is not None:
            assert len(hit.matches["image"]) == 3  # the three picture tokens, each matched


def test_token_max_weighs_each_kind_by_its_tokens(store):
    store, tokens = store
    query = _query(3, BOTH)
    hits = Searcher(store, None).search_vectors(query, 10, "token_max", exact=True)
    for hit in hits:
        _, token_level = video_scores(query, tokens[hit.video_id])
        assert hit.score == pytest.approx(token_level, abs=1e-5)
    picture_only = tokens["v7"]
    words = query.select(query.modalities == 0)
    assert math.isnan(video_scores(words, picture_only)[1])  # words meet nothing there


def test_the_modality_filter_drops_the_kinds_it_leaves_nothing_for(store):
    store, _ = store
    searcher = Searcher(store, None)
    assert searcher.search_vectors(_query(1, WORDS), modalities=["image"], exact=True) == []
    hits = searcher.search_vectors(_query(2, BOTH), modalities=["image"], exact=True)
    assert hits and all(h.best_modality == "image" for h in hits)
    assert "v6" not in {h.video_id for h in hits}
    assert len(query_parts(_query(2, BOTH), [Modality.ASR])) == 1


@pytest.mark.parametrize("kinds", [WORDS, PICTURE, BOTH], ids=["words", "picture", "both"])
@pytest.mark.parametrize("mode", ["modality_max", "token_max"])
def test_the_two_stage_search_returns_the_exact_ranking(store, kinds, mode):
    store, _ = store
    searcher = Searcher(store, None, settings=FAST)
    query = _query(4, kinds)
    exact = searcher.search_vectors(query, 5, mode, exact=True)
    fast = searcher.search_vectors(query, 5, mode)
    assert [h.video_id for h in fast] == [h.video_id for h in exact]
    for a, b in zip(fast, exact, strict=True):
        assert a.score == pytest.approx(b.score, abs=1e-5)
        for key in a.scores:
            if b.scores[key] is None:
                assert a.scores[key] is None
            else:
                assert a.scores[key] == pytest.approx(b.scores[key], abs=1e-5)
        assert a.moment_s == b.moment_s and a.path == b.path


def test_a_store_without_picture_tokens_says_how_to_enable_them(tmp_path):
    store = VideoStore.open(tmp_path / "old", "random", DIM)
    store.add_video(make_video("old"), random_tokens(1, {Modality.ASR: 4}, DIM))
    searcher = Searcher(store, None)
    assert not searcher.has_image_tokens()
    assert searcher.search_vectors(_query(1, PICTURE), exact=True) == []  # vectors: just nothing
    assert "add-images" in NO_IMAGE_TOKENS
    store.add_video(make_video("new"), random_tokens(2, {Modality.IMAGE: 4}, DIM))
    assert searcher.has_image_tokens()
    with pytest.raises(QueryError, match="k must be"):
        searcher.search_image(np.zeros((8, 8, 3), np.uint8), k=0)
