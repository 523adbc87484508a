"""A video's stored frame at a moment, as pixels: the picture "more like this" searches with.

The store keeps a JPEG thumbnail (at most 640 pixels wide) of every sampled frame; the one
nearest the moment is what a result card shows, so it is also what the user asked to match.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image


def nearest_frame(frame_times: np.ndarray, time_s: float) -> int:
    """Index of the frame closest in time.

    >>> nearest_frame(np.array([0.0, 1.0, 2.0]), 1.4)
    1
    """
    return int(np.argmin(np.abs(frame_times - time_s)))


def decode_jpeg(jpeg: bytes) -> np.ndarray:
    """``(H, W, 3)`` uint8 RGB pixels of a JPEG."""
    with Image.open(io.BytesIO(jpeg)) as image:
        return np.asarray(image.convert("RGB"))


def frame_row_at(frames: list[dict], time_s: float | None) -> dict | None:
    """The stored frame row nearest ``time_s`` (None: the first frame); None without frames."""
    if not frames:
        return None
    times = np.array([row["time_s"] for row in frames], np.float32)
    return frames[nearest_frame(times, 0.0 if time_s is None else float(time_s))]


def frame_at(frames: list[dict], time_s: float | None, video_id: str = "") -> np.ndarray:
    """Pixels of the stored frame nearest ``time_s``; KeyError when the video has no frames."""
    row = frame_row_at(frames, time_s)
    if row is None:
        raise KeyError(f"video {video_id} has no stored frames to search with")
    return decode_jpeg(row["jpeg"])
