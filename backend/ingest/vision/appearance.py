"""What frames look like, for search by image: one feature vector per crop the tagger classifies.

The tagger already runs EfficientNet-Lite0 on the whole-frame view and on overlapping tiles of
every sampled frame; the same pass returns each crop's appearance features (see
:mod:`.network`), so a frame's regions cost no extra model run. A region is a crop the tagger
looked at: row 0 the whole-frame view (the centre square), then the tiles, each with its box.
Flat crops (black frames, fades) were not run through the model, so they have no region.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from backend.ingest.types import Box, FrameRegions


def unit_rows(features: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (a zero row stays zero).

    >>> unit_rows(np.array([[3.0, 4.0], [0.0, 0.0]])).astype(float).round(3).tolist()
    [[0.6, 0.8], [0.0, 0.0]]
    """
    features = np.asarray(features, np.float32)
    norms = np.linalg.norm(features, axis=1, keepdims=True)
    return np.divide(features, norms, out=np.zeros_like(features), where=norms > 0)


def frame_regions(
    time_s: float, boxes: Sequence[Box], features: np.ndarray, looked: np.ndarray
) -> FrameRegions | None:
    """One frame's regions: the crops the model looked at (``looked``), features made unit
    length; None when it looked at none (a flat frame).

    >>> regions = frame_regions(2.0, [(0, 0, 4, 4), (0, 0, 2, 2), (2, 2, 4, 4)],
    ...                         np.array([[2.0, 0], [0, 0], [0, 5.0]]), np.array([1, 0, 1], bool))
    >>> regions.time_s, regions.parts, regions.boxes.tolist()
    (2.0, ('whole', 'tile 2'), [[0.0, 0.0, 4.0, 4.0], [2.0, 2.0, 4.0, 4.0]])
    >>> regions.features.tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    """
    looked = np.asarray(looked, bool)
    if not looked.any():
        return None
    parts = ["whole", *(f"tile {i}" for i in range(1, len(looked)))]
    return FrameRegions(
        time_s=float(time_s),
        boxes=np.asarray(boxes, np.float32).reshape(-1, 4)[looked],
        features=unit_rows(features[looked]),
        parts=tuple(part for part, kept in zip(parts, looked, strict=True) if kept),
    )
