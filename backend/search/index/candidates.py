"""The cheap first stage: which videos are worth an exact MaxSim, found through centroids.

Each query token is compared with the index's centroids (``(Q, C)``, a few million multiply-adds)
and probes its ``nprobe`` most similar ones. A segment (one modality of one video) with a token
at a probed centroid scores, for that query token, the centroid's similarity; a segment with
none scores the similarity of the last centroid probed, a bound on what it can have missed (the
imputation of XTR). Averaged over query tokens this approximates the segment's MaxSim from the
posting lists alone; no token vector is read. The best ``n`` videos go on to the exact re-score.

Shapes: ``Q`` query tokens, ``P`` probes each, ``E`` posting entries touched, ``U`` segments (or
videos, for token_max) touched.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from backend.search.index.part import Part, ranges


@dataclass(frozen=True)
class Probe:
    """The centroids a query probes: ``codes`` and ``sims`` ``(Q, P)``, ``floor`` ``(Q,)``."""

    codes: np.ndarray
    sims: np.ndarray
    floor: np.ndarray

    @classmethod
    def of(cls, query: np.ndarray, centroids: np.ndarray, nprobe: int) -> Probe:
        sims = np.asarray(query, np.float32) @ centroids.T  # (Q, C)
        nprobe = min(nprobe, centroids.shape[0])
        codes = np.argpartition(-sims, nprobe - 1, axis=1)[:, :nprobe]
        values = np.take_along_axis(sims, codes, axis=1)
        return cls(codes, values, values.min(axis=1))


def approximate_scores(
    part: Part, probe: Probe, segment_ok: np.ndarray, by_video: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Touched live videos of ``part`` (local indices) and their approximate scores.

    ``segment_ok`` ``(S,)`` marks the segments that may count (live video, allowed modality).
    ``by_video`` scores a video over all its allowed tokens (token_max); otherwise per segment,
    and a video takes its best segment (modality_max).
    """
    n_q, n_p = probe.codes.shape
    starts = part.post_start[probe.codes].ravel()
    lengths = part.post_start[probe.codes + 1].ravel() - starts
    segments = np.asarray(part.post_seg[ranges(starts, starts + lengths)], np.int64)
    query_row = np.repeat(np.arange(n_q * n_p) // n_p, lengths)
    values = np.repeat(probe.sims.ravel(), lengths)
    keep = segment_ok[segments]
    segments, query_row, values = segments[keep], query_row[keep], values[keep]
    groups = part.seg_video[segments].astype(np.int64) if by_video else segments
    size = part.video_seg_start.shape[0] - 1 if by_video else len(part.seg_video)
    unique, inverse = _compact(groups, size)
    best = np.repeat(probe.floor[:, None], len(unique), axis=1)  # (Q, U)
    np.maximum.at(best.reshape(-1), query_row * len(unique) + inverse, values)
    scores = best.mean(axis=0)
    if by_video:
        return unique, scores
    videos = part.seg_video[unique].astype(np.int64)
    video_unique, video_inverse = _compact(videos, part.video_seg_start.shape[0] - 1)
    per_video = np.full(len(video_unique), -np.inf, np.float32)
    np.maximum.at(per_video, video_inverse, scores)
    return video_unique, per_video


def _compact(ids: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct ``ids`` (all in ``[0, size)``) and each id's position among them.

    A mark-and-scan over ``size`` slots is linear, where ``np.unique`` sorts the entries.
    """
    present = np.zeros(size, bool)
    present[ids] = True
    unique = np.flatnonzero(present)
    slot = np.zeros(size, np.int64)
    slot[unique] = np.arange(len(unique))
    return unique, slot[ids]


def top_candidates(scored: list[tuple[np.ndarray, np.ndarray]], n: int) -> list[np.ndarray]:
    """The ``n`` best videos over all parts: for each part, its chosen local video indices."""
    sizes = [len(videos) for videos, _ in scored]
    if sum(sizes) == 0:
        return [np.zeros(0, np.int64) for _ in scored]
    scores = np.concatenate([s for _, s in scored])
    chosen = np.argpartition(-scores, n - 1)[:n] if len(scores) > n else np.arange(len(scores))
    bounds = np.cumsum([0, *sizes])
    return [
        np.sort(scored[i][0][chosen[(chosen >= lo) & (chosen < hi)] - lo])
        for i, (lo, hi) in enumerate(itertools.pairwise(bounds))
    ]
