"""Centroids: well-separated groups get their own, and the count grows with the collection."""

from __future__ import annotations

import numpy as np

from backend.search.index.kmeans import assign, auto_n_centroids, train_centroids


def test_centroids_fit_the_groups_and_tokens_go_to_their_nearest():
    rng = np.random.default_rng(0)
    centres = np.eye(8, 32, dtype=np.float32)
    x = np.repeat(centres, 50, axis=0) + 0.05 * rng.standard_normal((400, 32)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    centroids = train_centroids(x, 8, iterations=10)
    np.testing.assert_allclose(np.linalg.norm(centroids, axis=1), 1.0, atol=1e-5)
    codes = assign(x, centroids)
    sims = x @ centroids.T
    # a reduced-precision kernel (where measured faster than float32) moves only near-ties
    assert (sims[np.arange(len(x)), codes] >= sims.max(axis=1) - 1e-2).all()
    pure = sum(len(set(group)) == 1 for group in codes.reshape(8, 50))
    assert pure >= 6  # random starts may merge two groups, never scatter one


def test_automatic_count_is_a_bounded_power_of_two():
    assert auto_n_centroids(2_560_000) == 4096
    assert auto_n_centroids(10) == 64
    assert auto_n_centroids(10**9) == 8192
