"""Where in a frame the classifier looks: the centre square, then overlapping square tiles.

An ImageNet classifier names the one thing that fills its 224x224 input. A video frame is wider
than that and its subject is often small (a parakeet on a ladder covers a twentieth of the
picture), so besides the whole frame the tagger classifies square tiles: squares avoid stretching
the picture, and half-overlapping tiles make sure an object about half the short side wide lies
mostly inside one of them. Each tile's box is what a heatmap can light up.

Boxes are ``(x0, y0, x1, y1)`` in pixels of the frame as displayed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from PIL import Image

from backend.ingest.types import Box

INPUT_SIZE = 224
#: The whole-frame view is the centre square, trimmed like ImageNet evaluation (224 of 256):
#: on the corpus this beat squashing the full frame into a square (cockatoo clip: mean p of the
#: right class 0.23 against 0.15; gymnastics clip: top-1 right on 12 of 14 frames against 8).
WHOLE_CROP = 0.875
#: Frames whose short side is below this get no tiles: a tile would be a few pixels upscaled.
MIN_TILE_SOURCE_PX = 64
#: Standard deviation (0-255) below which a crop is one flat colour (black frame, fade, sky):
#: nothing there deserves a name, so the crop is not classified at all (the model gives uniform
#: black, grey and white at most p 0.02, but near-flat noise is less predictable, and fades and
#: letterbox tiles are common enough for the skipped runs to count).
FLAT_STD = 6.0


def whole_frame_box(width: int, height: int, crop: float = WHOLE_CROP) -> Box:
    """The centre square the whole-frame view classifies.

    >>> whole_frame_box(1280, 720)
    (325.0, 45.0, 955.0, 675.0)
    """
    side = crop * min(width, height)
    x0, y0 = (width - side) / 2, (height - side) / 2
    return (x0, y0, x0 + side, y0 + side)


def tile_boxes(width: int, height: int, scale: float = 0.5, overlap: float = 0.5) -> list[Box]:
    """Square tiles ``scale`` times the short side, overlapping by ``overlap``, covering the frame.

    Tiles are spread evenly from edge to edge, so the overlap is at least ``overlap``.

    >>> len(tile_boxes(1280, 720)), len(tile_boxes(720, 1280)), len(tile_boxes(320, 240))
    (21, 21, 15)
    >>> quarters = tile_boxes(100, 100, scale=0.5, overlap=0.0)
    >>> quarters[0], quarters[-1], len(quarters)
    ((0.0, 0.0, 50.0, 50.0), (50.0, 50.0, 100.0, 100.0), 4)
    >>> tile_boxes(40, 30)
    []
    """
    if scale <= 0 or min(width, height) < MIN_TILE_SOURCE_PX:
        return []
    side = min(1.0, scale) * min(width, height)
    stride = side * (1.0 - min(max(overlap, 0.0), 0.9))
    xs = _spread(width, side, stride)
    ys = _spread(height, side, stride)
    return [(x, y, x + side, y + side) for y in ys for x in xs]


def _spread(length: float, side: float, stride: float) -> list[float]:
    count = max(1, math.ceil((length - side) / stride - 1e-9) + 1)
    if count == 1:
        return [(length - side) / 2]
    return [float(v) for v in np.linspace(0.0, length - side, count)]


def crop_batch(image: np.ndarray, boxes: Sequence[Box], size: int = INPUT_SIZE) -> np.ndarray:
    """``(len(boxes), size, size, 3)`` uint8: each box of ``image`` resized to the model input."""
    picture = Image.fromarray(image)
    if picture.mode != "RGB":  # grey or RGBA frames from elsewhere than the sampler
        picture = picture.convert("RGB")
    out = np.empty((len(boxes), size, size, 3), np.uint8)
    for i, box in enumerate(boxes):
        # resize(box=...) crops and scales in one pass; bilinear in PIL widens its support when
        # shrinking, so large frames are averaged rather than aliased.
        out[i] = np.asarray(picture.resize((size, size), Image.Resampling.BILINEAR, box=box))
    return out


def is_flat(crop: np.ndarray, threshold: float = FLAT_STD) -> bool:
    """Whether a crop is nearly one colour, so nothing in it deserves a name."""
    return float(crop.std()) < threshold
