"""Frames to Qwen2.5-VL vision patches, and what each vision token shows (time, place, label).

CLaMR gives a video's frames (up to ten key frames) to Qwen2.5-VL as ONE video clip: each frame is
resized to at most 224x224 pixels (``max_pixels=224*224``, aspect kept, sides multiples of 28),
and consecutive pairs of frames form one temporal patch (``temporal_patch_size=2``). Each vision
token then covers a 28x28 square of two frames.

The patches are computed here, with the same arithmetic as transformers' slow
``Qwen2VLImageProcessor`` (PIL bicubic resize, rescale in float64 then float32, CLIP mean/std,
the (t, h, w, merge) patch order); tests check the two agree. Doing it here avoids the video
processor of transformers >= 4.52, which needs torchvision, and gives each token its frame times
and its box in frame pixels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image
from transformers.models.qwen2_vl.image_processing_qwen2_vl import smart_resize

from backend.ingest.types import Box, Frame


@dataclass(frozen=True)
class PatchGeometry:
    """The vision tower's shape parameters, read from the checkpoint's image processor."""

    patch_size: int = 14
    merge_size: int = 2
    temporal_patch_size: int = 2
    image_mean: tuple[float, float, float] = (0.48145466, 0.4578275, 0.40821073)
    image_std: tuple[float, float, float] = (0.26862954, 0.26130258, 0.27577711)
    rescale_factor: float = 1 / 255

    @property
    def factor(self) -> int:
        """Side lengths must be multiples of this (one merged token = factor x factor pixels)."""
        return self.patch_size * self.merge_size


@dataclass(frozen=True)
class VisionTokens:
    """One video's (or one image's) patches and the metadata of its merged tokens."""

    patches: np.ndarray  # (grid_t * grid_h * grid_w, 3 * temporal * patch * patch) float32
    grid_thw: tuple[int, int, int]
    labels: tuple[str, ...]  # (T,) one per merged token
    times: tuple[float, ...]  # (T,)
    boxes: tuple[Box, ...]  # (T,)

    @property
    def n_tokens(self) -> int:
        return len(self.labels)


def select_frames(frames: Sequence[Frame], max_frames: int) -> list[Frame]:
    """At most ``max_frames`` frames in time order, scene changes first, the rest spread evenly.

    CLaMR's MultiVENT documents hold up to ten PySceneDetect key frames; scene-change frames are
    the closest thing ingest provides.
    """
    ordered = sorted(frames, key=lambda f: f.time_s)
    if len(ordered) <= max_frames:
        return ordered
    if max_frames <= 0:
        return []
    scenes = [f for f in ordered if f.is_scene_change]
    others = [f for f in ordered if not f.is_scene_change]
    chosen = _spread(scenes, max_frames) + _spread(
        others, max_frames - min(len(scenes), max_frames)
    )
    return sorted(chosen, key=lambda f: f.time_s)


def _spread(items: list[Frame], count: int) -> list[Frame]:
    if count <= 0 or not items:
        return []
    if len(items) <= count:
        return list(items)
    positions = np.linspace(0, len(items) - 1, count).round().astype(int)
    return [items[i] for i in positions]


def resized_size(
    height: int, width: int, geometry: PatchGeometry, min_pixels: int, max_pixels: int
) -> tuple[int, int] | None:
    """``(height, width)`` after Qwen's smart resize; ``None`` for impossible aspect ratios."""
    try:
        return smart_resize(height, width, geometry.factor, min_pixels, max_pixels)
    except ValueError:  # aspect ratio above 200: Qwen2.5-VL cannot take the frame
        return None


def tokens_per_group(size: tuple[int, int], geometry: PatchGeometry) -> int:
    """Merged tokens for one temporal patch of frames of this resized size."""
    return (size[0] // geometry.factor) * (size[1] // geometry.factor)


def _resize(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    image = Image.fromarray(np.ascontiguousarray(frame[..., :3], dtype=np.uint8))
    if image.size != (size[1], size[0]):
        image = image.resize((size[1], size[0]), Image.Resampling.BICUBIC)
    return np.asarray(image)


def patchify(
    images: Sequence[np.ndarray], geometry: PatchGeometry
) -> tuple[np.ndarray, tuple[int, int, int]]:
    """Resized ``(H, W, 3)`` uint8 frames of one clip to flat patches and ``(t, h, w)`` grid.

    Mirrors ``Qwen2VLImageProcessor._preprocess``: an odd count repeats the last frame.
    """
    g = geometry
    pixels = np.stack(images).astype(np.float64) * g.rescale_factor
    pixels = pixels.astype(np.float32)
    pixels = (pixels - np.asarray(g.image_mean, np.float32)) / np.asarray(g.image_std, np.float32)
    pixels = pixels.transpose(0, 3, 1, 2)  # (N, C, H, W)
    if pixels.shape[0] % g.temporal_patch_size:
        missing = g.temporal_patch_size - pixels.shape[0] % g.temporal_patch_size
        pixels = np.concatenate([pixels, np.repeat(pixels[-1:], missing, axis=0)])
    n, channels, height, width = pixels.shape
    grid_t, grid_h, grid_w = (
        n // g.temporal_patch_size,
        height // g.patch_size,
        width // g.patch_size,
    )
    m, p = g.merge_size, g.patch_size
    pixels = pixels.reshape(
        grid_t, g.temporal_patch_size, channels, grid_h // m, m, p, grid_w // m, m, p
    )
    pixels = pixels.transpose(0, 3, 6, 4, 7, 2, 1, 5, 8)
    flat = pixels.reshape(grid_t * grid_h * grid_w, channels * g.temporal_patch_size * p * p)
    return np.ascontiguousarray(flat), (grid_t, grid_h, grid_w)


def _frame_label(times: list[float], row: int, col: int) -> str:
    first, last = times[0], times[-1]
    when = f"{first:.1f} s" if first == last else f"{first:.1f}-{last:.1f} s"
    return f"frame @ {when} (patch {row},{col})"


def vision_tokens(
    frames: Sequence[Frame], size: tuple[int, int], geometry: PatchGeometry
) -> VisionTokens:
    """Frames (one clip, all resized to ``size``) to patches plus per-token label, time, box.

    A token of temporal group ``t`` shows frames ``2t`` and ``2t+1``; its time is the first of
    them, its box the 28x28 square it covers, scaled back to that frame's own pixels.
    """
    resized = [_resize(f.image, size) for f in frames]
    patches, (grid_t, grid_h, grid_w) = patchify(resized, geometry)
    rows, cols, step = grid_h // geometry.merge_size, grid_w // geometry.merge_size, geometry.factor
    labels, times, boxes = [], [], []
    for t in range(grid_t):
        group = list(
            frames[t * geometry.temporal_patch_size : (t + 1) * geometry.temporal_patch_size]
        )
        group_times = [f.time_s for f in group]
        height, width = group[0].image.shape[:2]
        sy, sx = height / size[0], width / size[1]
        for r in range(rows):
            for c in range(cols):
                labels.append(_frame_label(group_times, r, c))
                times.append(group_times[0])
                boxes.append(
                    (c * step * sx, r * step * sy, (c + 1) * step * sx, (r + 1) * step * sy)
                )
    return VisionTokens(
        patches, (grid_t, grid_h, grid_w), tuple(labels), tuple(times), tuple(boxes)
    )
