"""Where in a video a query matched: the best window of time, and each query token's match.

The moment is found the same way the score is: the query is scored by MaxSim against only the
tokens inside a short window around each token time, and the best window wins; inside it, the
time of its single most similar token is reported.
"""

from __future__ import annotations

import math

import numpy as np


def best_moment(similarity: np.ndarray, times: np.ndarray, window_s: float) -> float | None:
    """``similarity`` ``(Q, n)`` of query tokens to a video's tokens with ``times`` ``(n,)``.

    >>> sim = np.array([[0.6, 0.7, 0.1], [0.1, 0.3, 0.8]])        # 2 query tokens, 3 tokens
    >>> best_moment(sim, np.array([0.0, 5.0, 5.5]), window_s=2.0)   # both matched near 5 s
    5.5
    >>> best_moment(sim, np.array([0.0, 0.5, 9.0]), window_s=2.0)   # the pair near 0 s wins
    0.5
    """
    timed = ~np.isnan(times)
    if not timed.any():
        return None
    similarity, times = similarity[:, timed], times[timed]
    anchors = np.unique(np.round(times * 2) / 2)  # half-second grid
    inside = np.abs(times[None, :] - anchors[:, None]) <= window_s / 2  # (A, n)
    masked = np.where(inside[:, None, :], similarity[None, :, :], -np.inf)  # (A, Q, n)
    window_scores = masked.max(axis=2).mean(axis=1)  # (A,)
    best = inside[int(np.argmax(window_scores))]
    best_token = np.argmax(np.where(best[None, :], similarity, -np.inf)) % similarity.shape[1]
    time = float(times[best_token])
    return None if math.isnan(time) else time
