"""What every OCR engine returns, and the one method it must have.

Engines differ in how they report a line (quadrilaterals, nested lists, numpy scalars); each
engine module turns its own output into :class:`OcrLine` so that span merging and everything
after it never sees an engine's types.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from backend.ingest.errors import ModelUnavailableError
from backend.ingest.types import Box


@dataclass(frozen=True)
class OcrLine:
    """One piece of text an engine read in one image: a line, or a word for word-level engines."""

    text: str
    box: Box  # (x0, y0, x1, y1) pixels of the image that was read
    score: float  # the engine's confidence, 0..1


#: A detected text box: its four corner points ``(4, 2)`` float32, in the picture's pixels.
Quad = np.ndarray


class OcrEngine(Protocol):
    """Reads the text in one picture. ``image`` is ``(H, W, 3)`` uint8 RGB, as in ``Frame``."""

    name: str

    def read_image(self, image: np.ndarray) -> list[OcrLine]: ...


@runtime_checkable
class StepwiseEngine(Protocol):
    """An engine whose detection and recognition can be run apart: what lets video frames be
    read incrementally (only new or changed text is recognised). Engines without it are read a
    whole frame at a time."""

    def detect(self, image: np.ndarray, scale: float | None = None) -> list[Quad]: ...

    def recognise(self, image: np.ndarray, quads: Sequence[Quad]) -> list[tuple[str, float]]: ...


class OcrEngineUnavailable(ModelUnavailableError, ImportError):
    """An engine that was asked for but cannot run in this Python; the message says what to do."""


def quad_to_box(points: Iterable[Iterable[float]]) -> Box:
    """The axis-aligned box around an engine's polygon (engines return 4 corner points).

    >>> quad_to_box([[33, 84], [585, 86], [585, 125], [33, 123]])
    (33.0, 84.0, 585.0, 125.0)
    """
    pts = np.asarray([[float(x), float(y)] for x, y in points], dtype=np.float64)
    x0, y0 = pts.min(axis=0)
    x1, y1 = pts.max(axis=0)
    return (float(x0), float(y0), float(x1), float(y1))


def as_rgb(image: np.ndarray) -> np.ndarray:
    """Accept grey or RGBA pictures too (image files are not always RGB), return contiguous RGB."""
    if image.dtype != np.uint8:
        raise ValueError(f"OCR expects a uint8 image, got {image.dtype}")
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    elif image.ndim == 3 and image.shape[2] == 4:
        image = image[:, :, :3]
    elif image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"OCR expects an (H, W, 3) RGB image, got shape {image.shape}")
    return np.ascontiguousarray(image)
