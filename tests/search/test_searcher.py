"""Search over a real LanceDB store: exact scores, filters, moments, matches, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from backend.encoders.base import Modality, TokenVectors
from backend.search.searcher import QueryError, Searcher
from backend.store.video_store import VideoStore
from tests.helpers import make_video, random_tokens
from tests.search.test_maxsim import reference_scores, reference_token_max

DIM = 8


@pytest.fixture()
def random_store(tmp_path):
    store = VideoStore.open(tmp_path / "s", "random", DIM)
    tokens = {}
    for i in range(6):
        counts = {Modality.VIDEO: 3 + i, Modality.ASR: 4, Modality.OCR: 2 + (i % 3)}
        if i == 5:
            counts = {Modality.DESCRIPTION: 3}  # a video with one modality only
        tokens[f"v{i}"] = random_tokens(i, counts, DIM)
        store.add_video(make_video(f"v{i}"), tokens[f"v{i}"])
    return store, tokens


def query_tokens(seed: int, n: int = 3) -> TokenVectors:
    rng = np.random.default_rng(100 + seed)
    v = rng.standard_normal((n, DIM)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return TokenVectors(
        v,
        np.zeros(n, np.int8),
        tuple(f"q{i}" for i in range(n)),
        np.full(n, np.nan, np.float32),
        np.full((n, 4), np.nan, np.float32),
    )


def reference(tokens: dict[str, TokenVectors], query: TokenVectors):
    ids = sorted(tokens)
    docs = torch.from_numpy(np.concatenate([tokens[i].vectors for i in ids]))
    video = torch.tensor([n for n, i in enumerate(ids) for _ in range(len(tokens[i]))])
    modality = torch.from_numpy(np.concatenate([tokens[i].modalities for i in ids])).long()
    q = torch.from_numpy(query.vectors)
    return (
        ids,
        reference_scores(q, docs, video, modality, len(ids), len(Modality)),
        reference_token_max(q, docs, video, len(ids)),
    )


@pytest.mark.parametrize("seed", range(3))
def test_scores_and_order_equal_reference(random_store, seed):
    store, tokens = random_store
    query = query_tokens(seed)
    ids, per_modality, token_level = reference(tokens, query)
    hits = Searcher(store, encoder=None).search_vectors(query, k=10)
    assert len(hits) == 6
    expected = {
        i: float(torch.nan_to_num(per_modality[n], nan=-9).max()) for n, i in enumerate(ids)
    }
    assert [h.video_id for h in hits] == sorted(expected, key=expected.get, reverse=True)
    for hit in hits:
        n = ids.index(hit.video_id)
        assert hit.score == pytest.approx(expected[hit.video_id], abs=1e-5)
        for m in Modality:
            if m is Modality.PAD:
                continue
            want = float(per_modality[n, int(m)])
            got = hit.scores[m.key]
            assert (got is None) == math.isnan(want)
            if got is not None:
                assert got == pytest.approx(want, abs=1e-5)
        assert hit.best_modality == max(
            (k for k, v in hit.scores.items() if v is not None), key=lambda k: hit.scores[k]
        )
        assert hit.path == f"/videos/{hit.video_id}.mp4"
    token_hits = Searcher(store, encoder=None).search_vectors(query, k=10, mode="token_max")
    for hit in token_hits:
        assert hit.score == pytest.approx(float(token_level[ids.index(hit.video_id)]), abs=1e-5)


def test_matches_point_at_the_argmax_token(random_store):
    store, tokens = random_store
    query = query_tokens(0)
    hit = Searcher(store, encoder=None).search_vectors(query, k=1)[0]
    video_tokens = tokens[hit.video_id]
    for modality, matches in hit.matches.items():
        mask = video_tokens.modalities == int(Modality[modality.upper()])
        sims = query.vectors @ video_tokens.vectors[mask].T
        labels = np.asarray(video_tokens.labels)[mask]
        assert [m.label for m in matches] == list(labels[sims.argmax(axis=1)])
        assert [m.similarity for m in matches] == pytest.approx(list(sims.max(axis=1)), abs=1e-4)
        assert hit.scores[modality] == pytest.approx(float(sims.max(axis=1).mean()), abs=1e-5)


def test_modality_filter_scores_only_those(random_store):
    store, _ = random_store
    hits = Searcher(store, encoder=None).search_vectors(query_tokens(1), k=10, modalities=["ocr"])
    assert "v5" not in {h.video_id for h in hits}  # v5 has no OCR
    assert all(h.score == pytest.approx(h.scores["ocr"]) for h in hits)
    with pytest.raises(QueryError, match="unknown modality"):
        Searcher(store, encoder=None).search_vectors(query_tokens(1), modalities=["smell"])


def test_k_limits_and_empty_store(random_store, tmp_path):
    store, _ = random_store
    assert len(Searcher(store, encoder=None).search_vectors(query_tokens(2), k=2)) == 2
    empty = VideoStore.open(tmp_path / "empty", "random", DIM)
    assert Searcher(empty, encoder=None).search_vectors(query_tokens(2)) == []


def test_search_sees_new_and_deleted_videos(random_store):
    store, _ = random_store
    searcher = Searcher(store, encoder=None)
    assert len(searcher.search_vectors(query_tokens(0))) == 6
    store.delete_video("v0")
    assert "v0" not in {h.video_id for h in searcher.search_vectors(query_tokens(0))}
    store.add_video(make_video("v9"), random_tokens(9, {Modality.ASR: 3}, DIM))
    assert "v9" in {h.video_id for h in searcher.search_vectors(query_tokens(0))}
