"""The fast path ranks the real dev queries as well as exact search (nDCG@10 within 0.01).

Slow: it indexes the whole shared corpus first (python -m pytest -m slow tests/bench).
"""

from __future__ import annotations

import pytest

from backend.bench.quality import dev_quality, format_quality
from backend.collection import Collection
from backend.config import Settings

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def corpus_collection(shared_data, tmp_path_factory) -> Collection:
    collection = Collection(Settings(store=str(tmp_path_factory.mktemp("corpus") / "store")))
    report = collection.index([shared_data / "corpus"])
    assert report.count("indexed") > 30
    return collection


def test_fast_search_keeps_dev_quality(corpus_collection, shared_data):
    result = dev_quality(
        corpus_collection.store, corpus_collection.encoder, shared_data / "retrieval_dev.jsonl"
    )
    print(format_quality(result))
    exact = result["exact"]["nDCG@10"]
    assert result["exact"]["queries"] == 9
    assert abs(result["fast (default settings)"]["nDCG@10"] - exact) <= 0.01
    assert abs(result["fast, few candidates"]["nDCG@10"] - exact) <= 0.05
