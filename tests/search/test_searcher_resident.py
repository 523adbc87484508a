"""``SearchSettings.device``: the searcher's exact path with every token resident on a device
(here the CPU; tests/gpu does CUDA) returns the exact search's hits, scores, matches, moments."""

from __future__ import annotations

import pytest

from backend.config import SearchSettings
from backend.search.searcher import Searcher
from tests.search.test_searcher import query_tokens, random_store  # noqa: F401  (fixture)


@pytest.mark.parametrize("mode", ["modality_max", "token_max"])
@pytest.mark.parametrize("precision", ["float16", "int8"])
def test_resident_hits_equal_the_exact_search(random_store, mode, precision):  # noqa: F811
    store, _ = random_store
    exact = Searcher(store, encoder=None, settings=SearchSettings(exact=True))
    resident = Searcher(
        store, encoder=None, settings=SearchSettings(device="cpu", resident_precision=precision)
    )
    tolerance = 2e-3 if precision == "float16" else 1e-2
    for seed in range(3):
        query = query_tokens(seed)
        want, got = (
            exact.search_vectors(query, k=6, mode=mode),
            resident.search_vectors(query, k=6, mode=mode),
        )
        assert {h.video_id for h in got} == {h.video_id for h in want}
        by_id = {h.video_id: h for h in want}
        for hit in got:
            expected = by_id[hit.video_id]
            assert abs(hit.score - expected.score) < tolerance
            assert hit.matches == expected.matches  # from the stored float32 tokens, as before
            assert hit.moment_s == expected.moment_s and hit.path == expected.path
        for modalities in (["asr"], ["video", "ocr"]):
            a = resident.search_vectors(query, k=6, mode=mode, modalities=modalities)
            b = exact.search_vectors(query, k=6, mode=mode, modalities=modalities)
            expected = {h.video_id: h.score for h in b}
            assert all(abs(h.score - expected.get(h.video_id, -9)) < tolerance for h in a)
    assert resident._resident  # the resident index was built and kept
