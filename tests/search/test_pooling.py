"""Token pooling: runs of near-identical neighbours merge, each keeping its first token."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from backend.search.index.builder import _read_batch
from backend.search.index.pooling import pool_runs, run_starts
from backend.store import schema


def runs(rng, lengths, dim=16, noise=0.02):
    """Unit vectors in runs: each run a random direction, its members close to it."""
    rows = []
    for n in lengths:
        centre = rng.standard_normal(dim)
        rows.append(centre + noise * rng.standard_normal((n, dim)))
    x = np.concatenate(rows).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_runs_are_found_and_pooled_to_unit_vectors():
    x = runs(np.random.default_rng(0), [3, 1, 4])
    starts = run_starts(x, threshold=0.95)
    assert starts.tolist() == [0, 3, 4]
    pooled = pool_runs(x, starts)
    np.testing.assert_allclose(np.linalg.norm(pooled, axis=1), 1.0, atol=1e-6)
    assert (pooled[0] @ x[:3].T).min() > 0.99  # the mean stays close to every member


def test_a_threshold_of_one_keeps_every_token():
    x = runs(np.random.default_rng(1), [3, 2])
    assert len(run_starts(x, threshold=1.0)) == len(x)


def test_pooling_never_crosses_a_row_and_keeps_first_labels():
    x = runs(np.random.default_rng(2), [4])  # one run, split over two rows (modalities)
    dim = x.shape[1]
    batch = pa.table(
        {
            "video_id": ["v", "v"],
            "modality": pa.array([1, 2], pa.int8()),
            "vectors": pa.array(
                [x[:2].tolist(), x[2:].tolist()], schema.tokens_schema(dim).field("vectors").type
            ),
            "labels": [["a", "b"], ["c", "d"]],
            "times": pa.array([[0.0, 1.0], [2.0, 3.0]], pa.list_(pa.float32())),
            "boxes": pa.array([[[0, 0, 1, 1]] * 2] * 2, pa.list_(pa.list_(pa.float32(), 4))),
        }
    ).to_batches()[0]
    rows = _read_batch(batch, dim, pool_threshold=0.9)
    assert rows.lengths.tolist() == [1, 1]
    assert rows.labels.to_pylist() == ["a", "c"]
    assert rows.times.tolist() == [0.0, 2.0]
