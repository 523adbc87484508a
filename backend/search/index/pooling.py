"""Token pooling: neighbouring tokens of one modality that say the same thing become one.

Consecutive frames of a shot, or the pieces of one word, give runs of near-identical vectors.
A run whose neighbours are all more similar than ``threshold`` (cosine) is replaced by its mean,
renormalised; MaxSim against the run changes little (the mean is close to each member) while
the index keeps one vector instead of several. The pooled token keeps the label, time and box of
the run's first token: the moment a match points at is where the run starts.

>>> x = np.array([[1, 0], [0.99, 0.141], [0, 1]], np.float32)   # two alike, then another
>>> starts = run_starts(x, threshold=0.95)
>>> starts
array([0, 2])
>>> np.round(pool_runs(x, starts), 3)
array([[0.997, 0.071],
       [0.   , 1.   ]], dtype=float32)
"""

from __future__ import annotations

import numpy as np


def run_starts(vectors: np.ndarray, threshold: float) -> np.ndarray:
    """Indices where a run begins: the first token, and each token unlike the one before it."""
    if len(vectors) == 0:
        return np.zeros(0, np.int64)
    neighbour = np.einsum("ij,ij->i", vectors[1:], vectors[:-1])
    return np.concatenate([[0], np.flatnonzero(neighbour <= threshold) + 1]).astype(np.int64)


def pool_runs(vectors: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """One unit vector per run: the renormalised mean of its members."""
    if len(starts) == len(vectors):
        return np.asarray(vectors, np.float32)
    sums = np.add.reduceat(np.asarray(vectors, np.float32), starts, axis=0)
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    return (sums / np.where(norms > 0, norms, 1.0)).astype(np.float32)
