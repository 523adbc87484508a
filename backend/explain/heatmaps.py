"""MaxSim as pictures: a token heatmap (query tokens x document words) and a frame with regions.

Pure functions, PIL in and PIL out, no plotting library: the cells are painted as one numpy
array and scaled up, so a picture costs milliseconds whatever the document's length. Colour is
cosine similarity on a fixed 0..1 scale, so pictures of different modalities and videos compare.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

CELL_W, CELL_H = 30, 22
GAP_W = 10  # a narrow grey column where document words were left out
MAX_LABEL_CHARS = 22
BACKGROUND = (255, 255, 255)
INK = (33, 33, 33)
MUTED = (130, 130, 130)
# A perceptually even dark-blue -> green -> yellow ramp (close to viridis), as anchor colours.
_RAMP = np.array(
    [(68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37)], np.float32
)


def text_font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()


def colour(values: np.ndarray, vmin: float = 0.0, vmax: float = 1.0) -> np.ndarray:
    """``(...,)`` similarities -> ``(..., 3)`` uint8 RGB on the ramp (clipped to vmin..vmax).

    >>> colour(np.array([0.0, 1.0])).tolist()
    [[68, 1, 84], [253, 231, 37]]
    """
    t = np.clip((np.nan_to_num(values, nan=vmin) - vmin) / (vmax - vmin), 0.0, 1.0)
    position = t * (len(_RAMP) - 1)
    low = np.minimum(position.astype(np.int64), len(_RAMP) - 2)
    frac = (position - low)[..., None]
    return np.rint(_RAMP[low] * (1 - frac) + _RAMP[low + 1] * frac).astype(np.uint8)


def columns_to_show(similarity: np.ndarray, max_columns: int) -> np.ndarray:
    """Sorted indices of the columns worth drawing: every row's argmax, then its neighbours
    (nearest first, stronger first), up to ``max_columns`` (more only if the argmaxes need it).

    >>> sim = np.zeros((2, 10)); sim[0, 2] = 0.9; sim[1, 7] = 0.8; sim[1, 8] = 0.3
    >>> columns_to_show(sim, 4).tolist()
    [1, 2, 7, 8]
    >>> columns_to_show(sim, 20).tolist() == list(range(10))
    True
    """
    n = similarity.shape[1]
    if n <= max_columns:
        return np.arange(n)
    best = np.unique(similarity.argmax(axis=1))
    distance = np.abs(np.arange(n)[:, None] - best[None, :]).min(axis=1)
    order = np.lexsort((-similarity.max(axis=0), distance))
    return np.sort(order[: max(max_columns, len(best))])


def _short(label: str) -> str:
    label = " ".join(label.split())
    return label if len(label) <= MAX_LABEL_CHARS else label[: MAX_LABEL_CHARS - 1] + "…"


def _text_width(draw: ImageDraw.ImageDraw, text: str, font) -> int:
    left, _, right, _ = draw.textbbox((0, 0), text, font=font)
    return int(right - left)


def _vertical_label(text: str, font, height: int) -> Image.Image:
    """A column label written bottom-to-top, as a small RGBA image ``CELL_W`` wide."""
    strip = Image.new("RGBA", (height, CELL_W), (0, 0, 0, 0))
    ImageDraw.Draw(strip).text((2, CELL_W // 2), text, fill=INK, font=font, anchor="lm")
    return strip.rotate(90, expand=True)


def _legend(width: int, font) -> Image.Image:
    bar_w = min(200, max(80, width - 80))
    legend = Image.new("RGB", (bar_w + 100, 26), BACKGROUND)
    ramp = colour(np.linspace(0.0, 1.0, bar_w))[None, :, :].repeat(10, axis=0)
    legend.paste(Image.fromarray(ramp), (30, 8))
    draw = ImageDraw.Draw(legend)
    draw.text((26, 13), "0", fill=MUTED, font=font, anchor="rm")
    draw.text((34 + bar_w, 13), "1 cosine", fill=MUTED, font=font, anchor="lm")
    return legend


def render_token_heatmap(
    query_labels: Sequence[str],
    column_labels: Sequence[str],
    similarity: np.ndarray,
    max_columns: int = 40,
    title: str | None = None,
) -> Image.Image:
    """Query tokens (rows) against document words (columns), colour = similarity, each row's
    best column outlined with its value. Long documents show the columns around the matches.
    """
    similarity = np.asarray(similarity, np.float32).reshape(len(query_labels), -1)
    font, small = text_font(13), text_font(10)
    keep = columns_to_show(similarity, max_columns) if similarity.size else np.zeros(0, int)
    gaps = np.concatenate([[keep[0] > 0], np.diff(keep) > 1]) if len(keep) else np.zeros(0, bool)
    trailing_gap = bool(len(keep)) and keep[-1] < similarity.shape[1] - 1
    # x position of every kept column, with a gap before each run that skips columns
    x_of = np.cumsum(np.where(gaps, GAP_W, 0) + CELL_W) - CELL_W
    grid_w = int(x_of[-1] + CELL_W + (GAP_W if trailing_gap else 0)) if len(keep) else CELL_W
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    rows = [_short(label) for label in query_labels]
    left = max([_text_width(probe, r, font) for r in rows] + [40]) + 14
    shown = [_short(column_labels[c]) for c in keep]
    label_h = max([_text_width(probe, s, small) for s in shown] + [20]) + 8
    title_h = 24 if title else 4
    top = title_h + label_h
    grid_h = CELL_H * len(rows)
    legend = _legend(left + grid_w, small)
    width = max(
        left + grid_w + 12,  # the grid
        left - 30 + legend.width + 8,  # the colour scale under it
        (_text_width(probe, title, font) + 16) if title else 0,
    )
    image = Image.new("RGB", (width, top + grid_h + legend.height + 10), BACKGROUND)
    draw = ImageDraw.Draw(image)
    if title:
        draw.text((8, 4), title, fill=INK, font=font)

    if len(keep):  # the cells: one colour array, scaled up without interpolation
        cells = colour(similarity[:, keep])
        block = np.repeat(np.repeat(cells, CELL_H, axis=0), CELL_W, axis=1)
        grid = np.full((grid_h, grid_w, 3), 235, np.uint8)
        for i, x in enumerate(x_of):
            grid[:, x : x + CELL_W] = block[:, i * CELL_W : (i + 1) * CELL_W]
        image.paste(Image.fromarray(grid), (left, top))
    for i, x in enumerate(x_of):
        label = _vertical_label(shown[i], small, label_h - 4)
        image.paste(label, (left + int(x), title_h), label)
        if gaps[i]:
            draw.text(
                (left + int(x) - GAP_W // 2, top - 4), "…", fill=MUTED, font=small, anchor="mb"
            )
    for r, row in enumerate(rows):
        y = top + r * CELL_H
        draw.text((left - 8, y + CELL_H // 2), row, fill=INK, font=font, anchor="rm")
        if not len(keep):
            continue
        best = int(similarity[r].argmax())
        x = left + int(x_of[int(np.searchsorted(keep, best))])
        value = float(similarity[r, best])
        draw.rectangle((x, y, x + CELL_W - 1, y + CELL_H - 1), outline=(255, 255, 255), width=2)
        draw.rectangle((x + 2, y + 2, x + CELL_W - 3, y + CELL_H - 3), outline=(220, 20, 60))
        text = f"{value:.2f}".replace("-0.00", "0.00").replace("0.", ".", 1)
        ink = INK if value > 0.6 else (255, 255, 255)
        draw.text((x + CELL_W // 2, y + CELL_H // 2), text, fill=ink, font=small, anchor="mm")
    image.paste(legend, (left - 30, top + grid_h + 6))
    return image


def stack_vertically(images: Sequence[Image.Image], gap: int = 8) -> Image.Image:
    """Pictures one under another on white, left-aligned (all modalities in one image).

    >>> stack_vertically([Image.new("RGB", (4, 2)), Image.new("RGB", (3, 5))], gap=1).size
    (4, 8)
    """
    width = max((im.width for im in images), default=1)
    height = sum(im.height for im in images) + gap * max(0, len(images) - 1)
    sheet = Image.new("RGB", (width, max(1, height)), BACKGROUND)
    y = 0
    for image in images:
        sheet.paste(image.convert("RGB"), (0, y))
        y += image.height + gap
    return sheet


def scaled_box(box: np.ndarray, scale: float, size: tuple[int, int]) -> tuple[int, ...] | None:
    if np.isnan(box).any():
        return None
    w, h = size
    x0, y0, x1, y1 = (float(v) * scale for v in box)
    x0, x1 = sorted((min(max(x0, 0), w - 1), min(max(x1, 0), w - 1)))
    y0, y1 = sorted((min(max(y0, 0), h - 1), min(max(y1, 0), h - 1)))
    return (round(x0), round(y0), round(x1), round(y1))


def render_frame_heatmap(
    frame: Image.Image,
    boxes: np.ndarray | Sequence[Sequence[float]],
    similarities: np.ndarray | Sequence[float],
    scale: float = 1.0,
    labels: Sequence[str] | None = None,
) -> Image.Image:
    """The frame with each matched region tinted by its similarity, the strongest outlined and
    named. ``boxes`` ``(K, 4)`` are in original frame pixels (a row of NaN: the whole frame);
    ``scale`` maps them onto ``frame`` (the stored thumbnails' ``scale`` column).
    """
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    similarities = np.asarray(similarities, np.float32).reshape(-1)
    base = frame.convert("RGB")
    if not len(boxes):
        return base.copy()
    order = np.argsort(similarities)  # strongest drawn last, on top
    shade = Image.new("L", base.size, 110)  # dim what did not match
    overlay = Image.new("RGBA", base.size, (0, 0, 0, 0))
    tint = ImageDraw.Draw(overlay)
    mask_draw = ImageDraw.Draw(shade)
    rgb = colour(similarities)
    scaled = [scaled_box(boxes[i], scale, base.size) for i in range(len(boxes))]
    for i in order:
        box = scaled[i] or (0, 0, base.width - 1, base.height - 1)
        mask_draw.rectangle(box, fill=0)
        alpha = int(50 + 110 * float(np.clip(similarities[i], 0, 1)))
        if scaled[i] is not None:
            tint.rectangle(box, fill=(*rgb[i].tolist(), alpha))
    dark = Image.new("RGB", base.size, (0, 0, 0))
    image = Image.composite(dark, base, shade.point(lambda v: v * 0.6))
    image = Image.alpha_composite(image.convert("RGBA"), overlay).convert("RGB")
    draw = ImageDraw.Draw(image)
    font = text_font(max(12, base.width // 40))
    for rank, i in enumerate(order[::-1]):
        box = scaled[i] or (1, 1, base.width - 2, base.height - 2)
        strongest = rank == 0
        ink = (220, 20, 60) if strongest else tuple(rgb[i].tolist())
        draw.rectangle(box, outline=ink, width=4 if strongest else 2)
        if strongest:
            name = f"{_short(labels[i])}  " if labels is not None else ""
            text = f"{name}{float(similarities[i]):.2f}"
            x, y = box[0], max(0, box[1] - getattr(font, "size", 11) - 6)
            bbox = draw.textbbox((x + 4, y + 2), text, font=font)
            draw.rectangle((bbox[0] - 4, bbox[1] - 2, bbox[2] + 4, bbox[3] + 2), fill=ink)
            draw.text((x + 4, y + 2), text, fill=(255, 255, 255), font=font)
    return image
