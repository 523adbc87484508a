"""The second stage: exact per-modality MaxSim of the candidates, on their stored vectors.

The same definition as :mod:`backend.search.maxsim` (``s_m = mean_q max_{d in D_m} <q, d>``),
computed on the candidates' tokens only. Segments are contiguous in the part, so the per-segment
maximum is a ``reduceat`` over the ``(Q, n)`` similarities, with no scatter. With ``float32``
storage the scores equal the exact search's up to float summation order; with other precisions
they carry the codec's rounding (see :mod:`backend.search.index.codecs`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from backend.search.index.codecs import similarity
from backend.search.index.part import Part, ranges


@dataclass(frozen=True)
class Rescored:
    videos: np.ndarray  # (K,) local video indices in the part
    per_modality: np.ndarray  # (K, n_modality_ids) s_m, NaN where the video has none
    token_max: np.ndarray  # (K,) MaxSim over the allowed modalities' tokens, NaN if none


def rescore(
    part: Part, query: np.ndarray, videos: np.ndarray, allowed: np.ndarray, n_modality_ids: int
) -> Rescored:
    """Exact scores of ``videos`` (local indices) for ``query`` ``(Q, D)``.

    ``allowed`` ``(n_modality_ids,)`` bool says which modalities count for ``token_max``.
    """
    videos = np.asarray(videos, np.int64)
    seg_counts = part.video_seg_start[videos + 1] - part.video_seg_start[videos]
    segments = part.segments_of(videos).astype(np.int64)
    owner = np.repeat(np.arange(len(videos)), seg_counts)
    lengths = part.seg_start[segments + 1] - part.seg_start[segments]
    keep = lengths > 0
    segments, owner, lengths = segments[keep], owner[keep], lengths[keep]
    positions = ranges(part.seg_start[segments], part.seg_start[segments + 1])
    data, scale = part.stored(positions)
    sims = similarity(query, data, scale, part.precision, part.dim)  # (Q, n)
    per_modality, token_max = score_segments(
        sims,
        np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64),
        owner,
        part.seg_modality[segments].astype(np.int64),
        len(videos),
        allowed,
    )
    return Rescored(videos, per_modality, token_max)


def score_segments(
    sims: np.ndarray,
    seg_offset: np.ndarray,
    seg_owner: np.ndarray,
    seg_modality: np.ndarray,
    n_owners: int,
    allowed: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-modality MaxSim and token_max from ``(Q, n)`` similarities to contiguous segments.

    Segment ``s`` is columns ``seg_offset[s]`` up to the next offset, of video ``seg_owner[s]``
    and modality ``seg_modality[s]``. Returns ``(n_owners, n_modality_ids)`` ``s_m`` (NaN where
    a video has no such segment) and ``(n_owners,)`` token_max over ``allowed`` modalities.

    >>> sims = np.array([[0.9, 0.1, 0.5], [0.2, 0.8, 0.4]], np.float32)  # Q=2, n=3
    >>> per, tmax = score_segments(sims, np.array([0, 2]), np.array([0, 0]), np.array([1, 2]),
    ...                            1, np.array([False, True, True]))
    >>> per.round(2), tmax.round(2)       # segment 0 = tokens 0-1 (modality 1), 1 = token 2
    (array([[ nan, 0.85, 0.45]], dtype=float32), array([0.85], dtype=float32))
    """
    n_q, n_ids = len(sims), len(allowed)
    per_modality = np.full((n_owners, n_ids), np.nan, np.float32)
    token_max = np.full(n_owners, np.nan, np.float32)
    if len(seg_offset) == 0:
        return per_modality, token_max
    seg_max = np.maximum.reduceat(sims, seg_offset, axis=1)  # (Q, S)
    cell = seg_owner * n_ids + seg_modality
    best = np.full((n_owners * n_ids, n_q), -np.inf, np.float32)
    np.maximum.at(best, cell, seg_max.T)  # a video's rows of one modality count as one
    filled = np.unique(cell)
    per_modality.reshape(-1)[filled] = best[filled].mean(axis=1)
    counted = allowed[seg_modality]
    if counted.any():
        per_video = np.full((n_owners, n_q), -np.inf, np.float32)
        np.maximum.at(per_video, seg_owner[counted], seg_max[:, counted].T)
        means = per_video.mean(axis=1)
        token_max = np.where(np.isinf(means), np.nan, means).astype(np.float32)
    return per_modality, token_max


def final_scores(
    per_modality: np.ndarray, token_max: np.ndarray, allowed: np.ndarray, mode: str
) -> np.ndarray:
    """The ranking score per video: the best allowed modality's ``s_m`` (modality_max, CLaMR's
    default) or ``token_max``; NaN for a video with nothing allowed."""
    if mode == "token_max":
        return token_max
    columns = np.where(allowed[None, :], per_modality, np.nan)
    final = np.full(len(columns), np.nan, np.float32)
    present = ~np.isnan(columns).all(axis=1)
    final[present] = np.nanmax(columns[present], axis=1)
    return final
