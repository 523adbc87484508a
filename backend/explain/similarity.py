"""The MaxSim picture of one modality: query tokens against a video's words, as a matrix.

An encoder splits a word into several sub-word tokens that all carry the word's label, time and
box; a person reads words, so consecutive tokens with the same label, time and box become one
column holding the best of their similarities. The MaxSim score is unchanged by this: the max
over a column's tokens is taken before the max over columns.

Only the query tokens that may meet a modality are its rows (words for the word modalities, the
query picture's regions for ``image``: :func:`backend.encoders.base.comparable_modalities`), as
in the search's scores.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from backend.encoders.base import Modality, TokenVectors, comparable_modalities


@dataclass(frozen=True)
class SimilarityMap:
    """Similarities of ``Q`` query tokens to ``C`` word columns of one modality of a video."""

    modality: Modality
    query_labels: tuple[str, ...]  # (Q,)
    column_labels: tuple[str, ...]  # (C,)
    similarity: np.ndarray  # (Q, C) float32: max over each column's tokens
    times: np.ndarray  # (C,) float32 seconds, NaN where a column has no time
    boxes: np.ndarray  # (C, 4) float32 (x0, y0, x1, y1) original frame pixels, NaN where none

    @property
    def best_columns(self) -> np.ndarray:
        """``(Q,)``: the column each query token matched (the argmax of its row)."""
        return self.similarity.argmax(axis=1)

    @property
    def score(self) -> float:
        """``s_m``: the mean over query tokens of their best similarity (MaxSim)."""
        return float(self.similarity.max(axis=1).mean())


def _same(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Element-wise equality where NaN equals NaN (rows of times or boxes)."""
    return (a == b) | (np.isnan(a) & np.isnan(b))


def column_groups(labels: tuple[str, ...], times: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """``(n,)`` column index of every token: a new column starts where label, time or box change.

    >>> nan = float("nan")
    >>> column_groups(
    ...     ("pre", "pre", "heat", "heat"),                 # "preheat" then "heat" twice
    ...     np.array([1.0, 1.0, 2.0, 3.0]),                 # the second "heat" is later
    ...     np.full((4, 4), nan),
    ... )
    array([0, 0, 1, 2])
    """
    n = len(labels)
    if n == 0:
        return np.zeros(0, np.int64)
    label_change = np.array([labels[i] != labels[i - 1] for i in range(1, n)], bool)
    time_change = ~_same(times[1:], times[:-1])
    box_change = ~_same(boxes[1:], boxes[:-1]).all(axis=1)
    starts = np.concatenate([[True], label_change | time_change | box_change])
    return np.cumsum(starts) - 1


def query_rows(query: TokenVectors, modality: Modality) -> np.ndarray:
    """Positions of the query tokens that may be scored against ``modality``.

    >>> from backend.encoders.base import TokenVectors
    >>> q = TokenVectors(np.eye(3, dtype=np.float32), np.array([0, 5, 0], np.int8), ("a", "r", "b"),
    ...                  np.zeros(3, np.float32), np.zeros((3, 4), np.float32))
    >>> query_rows(q, Modality.ASR).tolist(), query_rows(q, Modality.IMAGE).tolist()
    ([0, 2], [1])
    """
    return np.array(
        [
            i
            for i, m in enumerate(query.modalities.tolist())
            if modality in comparable_modalities(m)
        ],
        np.int64,
    )


def modality_similarity(
    query: TokenVectors, tokens: TokenVectors, modality: Modality
) -> SimilarityMap | None:
    """The ``(Q_m, C)`` map of one modality of a video's tokens (rows: the query tokens that may
    meet it); None when the video has no such tokens or the query none that may meet them.

    >>> from backend.encoders.base import TokenVectors
    >>> nan = float("nan")
    >>> q = TokenVectors(np.array([[1.0, 0.0], [0.0, 1.0]], np.float32), np.zeros(2, np.int8),
    ...                  ("rain", "tuesday"), np.full(2, nan, np.float32),
    ...                  np.full((2, 4), nan, np.float32))
    >>> d = TokenVectors(np.array([[0.8, 0.6], [0.6, 0.8], [0.0, 1.0]], np.float32),
    ...                  np.full(3, int(Modality.ASR), np.int8), ("rain", "rain", "tuesday"),
    ...                  np.array([1.0, 1.0, 2.5], np.float32), np.full((3, 4), nan, np.float32))
    >>> m = modality_similarity(q, d, Modality.ASR)
    >>> m.column_labels, m.similarity.astype(float).round(2).tolist(), m.best_columns.tolist()
    (('rain', 'tuesday'), [[0.8, 0.0], [0.8, 1.0]], [0, 1])
    >>> round(m.score, 2)
    0.9
    """
    positions = np.flatnonzero(tokens.modalities == int(modality))
    rows = query_rows(query, modality)
    if len(positions) == 0 or len(rows) == 0:
        return None
    query = query.select(rows)
    labels = tuple(tokens.labels[i] for i in positions)
    times = tokens.times[positions].astype(np.float32)
    boxes = tokens.boxes[positions].astype(np.float32)
    groups = column_groups(labels, times, boxes)
    token_similarity = query.vectors @ tokens.vectors[positions].T  # (Q, n)
    n_columns = int(groups[-1]) + 1
    similarity = np.full((len(query), n_columns), -np.inf, np.float32)
    np.maximum.at(similarity.T, groups, token_similarity.T.astype(np.float32))
    first = np.flatnonzero(np.concatenate([[True], groups[1:] != groups[:-1]]))
    return SimilarityMap(
        modality=modality,
        query_labels=tuple(query.labels),
        column_labels=tuple(labels[i] for i in first),
        similarity=similarity,
        times=times[first],
        boxes=boxes[first],
    )
