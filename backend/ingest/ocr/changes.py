"""Where two frames differ, and whether a piece of text still looks the same: pixel tests that
decide what OCR must look at again.

Two measures, each cheap next to a detector run:

- :func:`change_mask`: which parts of a frame changed since the last one, on a grid of cells
  (grey, shrunk by :data:`CELL` pixels per cell). A cell changed when its mean absolute difference
  passes :data:`CELL_CHANGE`: above compression noise (1-3 grey levels on the corpus), below what
  a new or changed word does to a cell (the counter's "Frame = 10" -> "11": 8+ levels).
- :func:`patch` and :func:`same_patch`: a text box's pixels, shrunk to :data:`PATCH_HEIGHT` rows,
  and whether two such patches show the same text. The test is the worst stretch a stroke wide,
  not the mean, so one changed digit in a long line counts as a change.
"""

from __future__ import annotations

import cv2
import numpy as np

from backend.ingest.types import Box

#: Frame pixels per cell of the change grid.
CELL = 16
#: Mean absolute grey difference (0-255) over a cell above which the cell changed.
CELL_CHANGE = 4.0
#: Text patches are compared at this height.
PATCH_HEIGHT = 24
#: Width (patch columns) of the stretch over which two patches are compared: about a stroke, so
#: that one changed digit ("PTS = 0.5s" -> "0.6s") stands out of a long line.
STRETCH = 8
#: Mean absolute grey difference over the worst stretch above which the text changed.
PATCH_CHANGE = 10.0
#: Two patches are also compared shifted by up to this many patch pixels, for text that moved a
#: little or a box that came out a little different.
MAX_SHIFT = 2


def grey(image: np.ndarray) -> np.ndarray:
    """``(H, W, 3)`` RGB uint8 -> ``(H, W)`` grey uint8."""
    return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)


def cells(grey_image: np.ndarray) -> np.ndarray:
    """The frame shrunk to one value per :data:`CELL` x :data:`CELL` cell (float32)."""
    height, width = grey_image.shape
    size = (max(1, -(-width // CELL)), max(1, -(-height // CELL)))
    return cv2.resize(grey_image, size, interpolation=cv2.INTER_AREA).astype(np.float32)


def change_mask(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """Cells (of :func:`cells` grids of the same shape) that changed, widened by one cell so
    that text straddling a changed cell's edge counts as changed.

    >>> a = np.zeros((4, 6), np.float32); b = a.copy(); b[1, 2] = 50
    >>> change_mask(a, b).astype(int)
    array([[0, 1, 1, 1, 0, 0],
           [0, 1, 1, 1, 0, 0],
           [0, 1, 1, 1, 0, 0],
           [0, 0, 0, 0, 0, 0]])
    """
    changed = (np.abs(after - before) > CELL_CHANGE).astype(np.uint8)
    return cv2.dilate(changed, np.ones((3, 3), np.uint8)).astype(bool)


def box_cells(box: Box, mask_shape: tuple[int, int]) -> tuple[slice, slice]:
    """The cells a box (frame pixels) covers, as slices into a change mask."""
    x0, y0, x1, y1 = box
    rows = slice(max(0, int(y0 // CELL)), min(mask_shape[0], int(np.ceil(y1 / CELL)) or 1))
    cols = slice(max(0, int(x0 // CELL)), min(mask_shape[1], int(np.ceil(x1 / CELL)) or 1))
    return rows, cols


def changed_region(mask: np.ndarray, frame_shape: tuple[int, ...]) -> Box | None:
    """The frame-pixel box around every changed cell, or None when nothing changed."""
    rows, cols = np.nonzero(mask)
    if not len(rows):
        return None
    height, width = frame_shape[:2]
    return (
        float(cols.min() * CELL),
        float(rows.min() * CELL),
        float(min(width, (cols.max() + 1) * CELL)),
        float(min(height, (rows.max() + 1) * CELL)),
    )


def patch(grey_image: np.ndarray, box: Box) -> np.ndarray:
    """A text box's pixels at :data:`PATCH_HEIGHT` rows, width in proportion (float32)."""
    x0, y0, x1, y1 = (round(float(v)) for v in box)
    height, width = grey_image.shape
    x0, x1 = max(0, min(x0, width - 1)), max(1, min(x1, width))
    y0, y1 = max(0, min(y0, height - 1)), max(1, min(y1, height))
    crop = grey_image[y0 : max(y1, y0 + 1), x0 : max(x1, x0 + 1)]
    rows, cols = crop.shape
    size = (max(PATCH_HEIGHT, round(PATCH_HEIGHT * cols / rows)), PATCH_HEIGHT)
    return cv2.resize(crop, size, interpolation=cv2.INTER_AREA).astype(np.float32)


def same_patch(a: np.ndarray, b: np.ndarray, shift: int = 0) -> bool:
    """Whether two text patches show the same text: same width within a few columns, and, at
    the best of the offsets up to ``shift`` pixels, no stretch of :data:`STRETCH` columns that
    differs by more than :data:`PATCH_CHANGE` on average.

    >>> text = np.tile(np.array([0, 0, 255, 255] * 8, np.float32), (24, 2))  # 24 x 64 stripes
    >>> same_patch(text, text + 3), same_patch(text, np.roll(text, 2, axis=1))
    (True, False)
    >>> same_patch(text[:, 2:], text[:, :-2], shift=2)
    True
    """
    if abs(a.shape[1] - b.shape[1]) > 2 * STRETCH:
        return False
    if a.shape != b.shape:
        b = cv2.resize(b, (a.shape[1], a.shape[0]), interpolation=cv2.INTER_AREA)
    best = np.inf
    for dy in range(-min(shift, 1), min(shift, 1) + 1):
        for dx in range(-shift, shift + 1):
            best = min(best, _worst_stretch(a, b, dx, dy))
    return best <= PATCH_CHANGE


def _worst_stretch(a: np.ndarray, b: np.ndarray, dx: int, dy: int) -> float:
    """The largest mean difference over a stretch of columns, ``b`` offset by (dx, dy)."""
    height, width = a.shape
    a = a[max(0, dy) : height + min(0, dy), max(0, dx) : width + min(0, dx)]
    b = b[max(0, -dy) : height + min(0, -dy), max(0, -dx) : width + min(0, -dx)]
    profile = np.abs(a - b).mean(axis=0)  # per column
    window = min(STRETCH, len(profile))
    if window == 0:
        return np.inf
    return float(np.convolve(profile, np.full(window, 1.0 / window), mode="valid").max())
