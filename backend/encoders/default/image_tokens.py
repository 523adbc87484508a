"""Frame regions as ``IMAGE`` tokens, and a query picture as query tokens of the same kind.

A store holds vectors of one dimension (384, MiniLM's), and the appearance features of
EfficientNet-Lite0 have 320 (:mod:`backend.ingest.vision.appearance`). They are zero-padded to
384: every inner product, and so every MaxSim, is exactly the one of the 320-d features, and
unit length is kept. A seeded random rotation would do the same but spread the features over
all dimensions for no gain: image vectors are never compared with word vectors (see
:func:`backend.encoders.base.comparable_modalities`), so sharing dimensions buys nothing.

A token's label names the frame time and the region ("12.0s whole", "12.0s tile 4"); its box is
the region in frame pixels, so Explain can draw which part of a frame matched which part of
the query picture.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from backend.encoders.base import Modality, TokenVectors
from backend.ingest.types import FrameRegions


def pad_to(features: np.ndarray, dim: int) -> np.ndarray:
    """``(R, F)`` features as ``(R, dim)`` vectors, zero-padded (inner products unchanged).

    >>> v = pad_to(np.array([[0.6, 0.8]], np.float32), 4)
    >>> v.astype(float).round(3).tolist(), round(float((v @ v.T)[0, 0]), 3)
    ([[0.6, 0.8, 0.0, 0.0]], 1.0)
    """
    features = np.asarray(features, np.float32).reshape(len(features), -1)
    if features.shape[1] > dim:
        raise ValueError(f"{features.shape[1]}-d image features do not fit a {dim}-d store")
    return np.pad(features, ((0, 0), (0, dim - features.shape[1])))


def region_tokens(regions: FrameRegions, dim: int, prefix: str | None = None) -> TokenVectors:
    """One frame's (or a query picture's) regions as ``IMAGE`` tokens.

    ``prefix`` replaces the frame time in labels (``"query"`` for a query picture, whose tokens
    have no time).
    """
    n = len(regions)
    parts = regions.parts or tuple("region" for _ in range(n))
    timed = prefix is None
    head = f"{regions.time_s:.1f}s" if timed else prefix
    return TokenVectors(
        vectors=pad_to(regions.features, dim),
        modalities=np.full(n, int(Modality.IMAGE), np.int8),
        labels=tuple(f"{head} {part}" for part in parts),
        times=np.full(n, regions.time_s if timed else np.nan, np.float32),
        boxes=np.asarray(regions.boxes, np.float32).reshape(n, 4),
    )


def video_image_tokens(frame_regions: Sequence[FrameRegions], dim: int) -> TokenVectors:
    """All frames' regions of a video, in time order."""
    ordered = sorted(frame_regions, key=lambda r: r.time_s)
    return TokenVectors.concatenate([region_tokens(r, dim) for r in ordered if len(r)], dim)
