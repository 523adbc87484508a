"""Index precisions: how far each moves a similarity, and bytes per vector."""

from __future__ import annotations

import numpy as np
import pytest

from backend.search.index.codecs import (
    PRECISIONS,
    bytes_per_vector,
    decode,
    encode,
    similarity,
)

DIM = 128


def unit(rng, n):
    x = rng.standard_normal((n, DIM)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.parametrize(
    ("precision", "tolerance"), [("float32", 1e-6), ("float16", 1e-3), ("int8", 1e-2)]
)
def test_similarity_error_is_within_the_documented_bound(precision, tolerance):
    rng = np.random.default_rng(0)
    docs, query = unit(rng, 500), unit(rng, 16)
    data, scale = encode(docs, precision)
    got = similarity(query, data, scale, precision, DIM)
    assert np.abs(got - query @ docs.T).max() < tolerance


def test_binary_keeps_the_ranking_signal_only():
    rng = np.random.default_rng(1)
    docs, query = unit(rng, 500), unit(rng, 4)
    data, scale = encode(docs, "binary")
    got = similarity(query, data, scale, "binary", DIM)
    exact = query @ docs.T
    assert all(np.corrcoef(g, e)[0, 1] > 0.75 for g, e in zip(got, exact))


@pytest.mark.parametrize("precision", PRECISIONS)
def test_similarity_is_the_product_with_the_decoded_vectors(precision):
    rng = np.random.default_rng(2)
    docs, query = unit(rng, 64), unit(rng, 8)
    data, scale = encode(docs, precision)
    decoded = decode(data, scale, precision, DIM)
    np.testing.assert_allclose(
        similarity(query, data, scale, precision, DIM), query @ decoded.T, atol=2e-3
    )


def test_bytes_per_vector():
    assert [bytes_per_vector(p, DIM) for p in PRECISIONS] == [512, 256, 132, 20]
