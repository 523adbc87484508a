"""The pictures: what is drawn where, how big, and how fast."""

from __future__ import annotations

import time

import numpy as np
from PIL import Image

from backend.explain.heatmaps import (
    CELL_W,
    colour,
    columns_to_show,
    render_frame_heatmap,
    render_token_heatmap,
)

CRIMSON = (220, 20, 60)


def _has(image: Image.Image, rgb: tuple[int, int, int], box=None) -> bool:
    pixels = np.asarray(image.crop(box) if box else image)
    return bool((pixels == np.array(rgb, np.uint8)).all(axis=2).any())


def test_token_heatmap_marks_every_rows_best_cell() -> None:
    similarity = np.array([[0.1, 0.9, 0.2], [0.7, 0.1, 0.3]], np.float32)
    image = render_token_heatmap(["rain", "tuesday"], ["heavy", "rain", "Tuesday"], similarity)
    assert image.mode == "RGB" and image.width > 3 * CELL_W
    pixels = np.asarray(image)
    marked_rows = {y for y, x in zip(*np.nonzero((pixels == CRIMSON).all(axis=2)))}
    assert len(marked_rows) >= 4  # two outlined cells, each with a top and a bottom edge
    assert _has(image, tuple(colour(np.array(0.9)).tolist()))  # the best cell's colour


def test_long_documents_show_only_columns_around_the_matches() -> None:
    rng = np.random.default_rng(0)
    similarity = rng.uniform(0, 0.3, (4, 5000)).astype(np.float32)
    similarity[0, 4321] = similarity[1, 17] = 0.95
    kept = columns_to_show(similarity, 40)
    assert len(kept) == 40 and {17, 4321} <= set(kept.tolist())
    started = time.perf_counter()
    image = render_token_heatmap(
        ["a", "b", "c", "d"], [f"w{i}" for i in range(5000)], similarity, 40
    )
    assert time.perf_counter() - started < 0.5
    narrow = render_token_heatmap(
        ["a", "b", "c", "d"], [f"w{i}" for i in range(40)], similarity[:, :40], 40
    )
    assert image.width <= narrow.width + 10 * 12  # a few gap markers wider, never 5000 columns


def test_frame_heatmap_scales_boxes_to_the_thumbnail() -> None:
    frame = Image.new("RGB", (320, 180), (128, 128, 128))  # a thumbnail of a 640x360 frame
    boxes = [[100, 100, 300, 200], [400, 40, 600, 120]]  # original pixels
    image = render_frame_heatmap(frame, boxes, [0.9, 0.4], scale=0.5, labels=["SIGN", "exit"])
    assert image.size == frame.size
    inside, outside = image.getpixel((100, 75)), image.getpixel((10, 170))
    assert sum(inside) > sum(outside)  # the match is lit, the rest dimmed
    assert _has(image, CRIMSON, (45, 45, 55, 105))  # the strongest box's left edge at x=50


def test_frame_heatmap_without_a_box_frames_the_whole_picture() -> None:
    frame = Image.new("RGB", (64, 36), (128, 128, 128))
    image = render_frame_heatmap(frame, [[np.nan] * 4], [0.8])
    assert _has(image, CRIMSON, (0, 20, 4, 30))
    assert render_frame_heatmap(frame, np.zeros((0, 4)), []).size == frame.size
