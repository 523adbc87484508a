"""Pillow drawing primitives for the demo videos: backgrounds, text and simple objects.

Every function draws onto a frame it is given and returns nothing, so a scene is a short list
of calls. The objects (clock face, traffic light, football, umbrella, flower pot, loaf) are drawn
to look like their ImageNet classes, so a frame classifier has something to recognise.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

Colour = tuple[int, int, int]
Point = tuple[float, float]

_FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
WHITE: Colour = (255, 255, 255)
BLACK: Colour = (0, 0, 0)


@lru_cache(maxsize=64)
def font(size: int, bold: bool = True) -> ImageFont.FreeTypeFont:
    """DejaVu Sans (Debian's `fonts-dejavu-core`); Pillow's bundled font where it is missing.

    The fallback keeps the script running anywhere, but the frames then differ from the
    committed ones, which were drawn with DejaVu.
    """
    path = _FONT_DIR / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")
    if path.is_file():
        return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size)


@lru_cache(maxsize=16)
def _gradient(size: tuple[int, int], top: Colour, bottom: Colour) -> Image.Image:
    width, height = size
    weight = np.linspace(0.0, 1.0, height)[:, None, None]
    rows = (1 - weight) * np.array(top) + weight * np.array(bottom)
    return Image.fromarray(np.broadcast_to(rows, (height, width, 3)).round().astype(np.uint8))


def fill_gradient(img: Image.Image, top: Colour, bottom: Colour) -> None:
    """Fill the whole frame with a vertical gradient (cached: scenes redraw it every frame)."""
    img.paste(_gradient(img.size, top, bottom))


def text(
    draw: ImageDraw.ImageDraw,
    xy: Point,
    words: str,
    size: int,
    fill: Colour = WHITE,
    bold: bool = True,
    anchor: str = "mm",
) -> None:
    """Draw one line of text; `anchor` follows Pillow ("mm" centres it on `xy`)."""
    draw.text(xy, words, font=font(size, bold), fill=fill, anchor=anchor)


def banner(
    draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], fill: Colour, words: str, size: int
) -> None:
    """A filled rounded box with centred text, for titles and signs."""
    draw.rounded_rectangle(box, radius=12, fill=fill)
    text(draw, ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2), words, size)


def _polar(center: Point, radius: float, turns: float) -> Point:
    """Point at `turns` of a full circle clockwise from 12 o'clock."""
    angle = 2 * math.pi * turns
    return center[0] + radius * math.sin(angle), center[1] - radius * math.cos(angle)


def clock_face(draw: ImageDraw.ImageDraw, center: Point, radius: float, seconds: float) -> None:
    """An analog wall clock; `seconds` since midnight sets all three hands."""
    cx, cy = center
    draw.ellipse(
        (cx - radius, cy - radius, cx + radius, cy + radius),
        fill=WHITE,
        outline=BLACK,
        width=max(3, int(radius / 12)),
    )
    for tick in range(60):
        long = tick % 5 == 0
        draw.line(
            [
                _polar(center, radius * (0.8 if long else 0.88), tick / 60),
                _polar(center, radius * 0.94, tick / 60),
            ],
            fill=BLACK,
            width=4 if long else 1,
        )
    for hour in (12, 3, 6, 9):
        text(draw, _polar(center, radius * 0.66, hour / 12), str(hour), int(radius / 5), BLACK)
    hours, minutes, secs = seconds / 3600 % 12, seconds / 60 % 60, seconds % 60
    draw.line([center, _polar(center, radius * 0.5, hours / 12)], fill=BLACK, width=7)
    draw.line([center, _polar(center, radius * 0.75, minutes / 60)], fill=BLACK, width=4)
    draw.line([center, _polar(center, radius * 0.85, secs / 60)], fill=(200, 0, 0), width=2)
    draw.ellipse((cx - 5, cy - 5, cx + 5, cy + 5), fill=BLACK)


def traffic_light(draw: ImageDraw.ImageDraw, top_left: Point, scale: float, lit: str) -> None:
    """A three-lamp signal on a pole; `lit` is "red", "amber" or "green"."""
    x, y = top_left
    width, height = 60 * scale, 160 * scale
    draw.rectangle(
        (
            x + width / 2 - 6 * scale,
            y + height,
            x + width / 2 + 6 * scale,
            y + height + 140 * scale,
        ),
        fill=(60, 60, 60),
    )
    draw.rounded_rectangle((x, y, x + width, y + height), radius=int(10 * scale), fill=(30, 30, 30))
    lamps = {"red": (230, 20, 20), "amber": (250, 170, 0), "green": (20, 210, 60)}
    for index, (name, colour) in enumerate(lamps.items()):
        on = colour if name == lit else tuple(c // 4 for c in colour)
        cy = y + (30 + 50 * index) * scale
        r = 20 * scale
        draw.ellipse((x + width / 2 - r, cy - r, x + width / 2 + r, cy + r), fill=on)


def football(img: Image.Image, center: Point, radius: float, spin: float) -> None:
    """A shaded black-and-white football; `spin` (turns) rotates its patches as it rolls.

    Drawn on its own tile and pasted through a round mask, so the edge patches are clipped the
    way a sphere hides them; the shading is what makes a classifier call it a soccer ball.
    """
    size = int(2 * radius) + 2
    tile = Image.new("RGB", (size, size), WHITE)
    draw = ImageDraw.Draw(tile)
    middle = (size / 2, size / 2)
    for step in range(12):  # soft shadow towards the lower right
        r, off = radius * (1 - step / 12), radius * 0.25 * step / 12
        grey = 255 - int(70 * (1 - step / 12) ** 2)
        draw.ellipse(
            (middle[0] - r - off, middle[1] - r - off, middle[0] + r - off, middle[1] + r - off),
            fill=(grey, grey, grey),
        )

    def pentagon(pc: Point, r: float, turn: float) -> list[Point]:
        return [_polar(pc, r, turn + k / 5) for k in range(5)]

    draw.polygon(pentagon(middle, radius * 0.38, spin), fill=BLACK)
    for k in range(5):
        outer = _polar(middle, radius * 0.95, spin + 0.1 + k / 5)
        draw.polygon(pentagon(outer, radius * 0.33, spin + 0.5 + k / 5), fill=BLACK)
        draw.line(
            [
                _polar(middle, radius * 0.38, spin + k / 5),
                _polar(middle, radius * 0.7, spin + k / 5),
            ],
            fill=(40, 40, 40),
            width=3,
        )
    mask = Image.new("L", (size, size), 0)
    ImageDraw.Draw(mask).ellipse((1, 1, size - 2, size - 2), fill=255)
    img.paste(tile, (int(center[0] - size / 2), int(center[1] - size / 2)), mask)
    cx, cy = center
    ImageDraw.Draw(img).ellipse(
        (cx - radius, cy - radius, cx + radius, cy + radius), outline=(40, 40, 40), width=2
    )


def umbrella(draw: ImageDraw.ImageDraw, center: Point, radius: float, colour: Colour) -> None:
    """An open umbrella: ribbed canopy, shaft and a J-shaped handle."""
    cx, cy = center
    draw.pieslice((cx - radius, cy - radius, cx + radius, cy + radius), 180, 360, fill=colour)
    rib = tuple(int(c * 0.7) for c in colour)
    for k in range(1, 4):
        draw.line([(cx, cy - radius), (cx - radius + k * radius / 2, cy)], fill=rib, width=3)
    shaft = max(3, int(radius / 18))
    brown = (70, 50, 30)
    draw.line([(cx, cy - radius * 1.1), (cx, cy + radius * 0.9)], fill=brown, width=shaft)
    hook = radius * 0.18
    draw.arc(
        (cx - 2 * hook, cy + radius * 0.9 - hook, cx, cy + radius * 0.9 + hook),
        0,
        180,
        fill=brown,
        width=shaft,
    )


def sun(draw: ImageDraw.ImageDraw, center: Point, radius: float, turn: float = 0.0) -> None:
    """A yellow disc with twelve rays; `turn` rotates the rays."""
    cx, cy = center
    for k in range(12):
        draw.line(
            [
                _polar(center, radius * 1.2, turn + k / 12),
                _polar(center, radius * 1.6, turn + k / 12),
            ],
            fill=(255, 200, 0),
            width=5,
        )
    draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=(255, 215, 0))


def cloud(draw: ImageDraw.ImageDraw, center: Point, scale: float, colour: Colour) -> None:
    """Three overlapping puffs on a flat base."""
    cx, cy = center
    for dx, dy, r in ((-40, 5, 30), (0, -15, 42), (42, 5, 30)):
        x, y, rr = cx + dx * scale, cy + dy * scale, r * scale
        draw.ellipse((x - rr, y - rr, x + rr, y + rr), fill=colour)
    draw.rectangle((cx - 40 * scale, cy + 5 * scale, cx + 42 * scale, cy + 35 * scale), fill=colour)


def raindrops(
    draw: ImageDraw.ImageDraw, drops: np.ndarray, t: float, box: tuple[int, int, int, int]
) -> None:
    """Falling streaks; `drops` holds (x, y0, speed) rows, wrapped top to bottom inside `box`."""
    left, top, _, bottom = box
    height = bottom - top
    for x, y0, speed in drops:
        y = top + (y0 + speed * t) % height
        draw.line([(left + x, y), (left + x - 4, y + 16)], fill=(170, 200, 255), width=2)


def daisy(draw: ImageDraw.ImageDraw, center: Point, radius: float) -> None:
    """Twenty pointed white petals round a yellow centre (round petals read as a balloon)."""
    petals = 20
    for k in range(petals):
        turn, half = k / petals, 0.45 / petals
        draw.polygon(
            [
                center,
                _polar(center, radius * 0.55, turn - half),
                _polar(center, radius, turn),
                _polar(center, radius * 0.55, turn + half),
            ],
            fill=WHITE,
            outline=(215, 215, 210),
        )
    cx, cy = center
    r = radius * 0.3
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(240, 185, 0), outline=(200, 140, 0))


def flower_pot(draw: ImageDraw.ImageDraw, base: Point, scale: float, sway: float) -> None:
    """A terracotta pot with three daisies on green stems; `sway` moves the heads (pixels)."""
    bx, by = base
    w, h = 90 * scale, 100 * scale
    heads = [
        (bx + (dx + sway) * scale, by - h - rise * scale)
        for dx, rise in ((-100, 120), (0, 190), (105, 110))
    ]
    for head in heads:
        draw.line([(bx, by - h), head], fill=(40, 140, 40), width=max(3, int(6 * scale)))
        middle = ((bx + head[0]) / 2 + 14 * scale, (by - h + head[1]) / 2)
        leaf(draw, middle, 46 * scale, (60, 170, 60))
    draw.polygon(
        [(bx - w, by - h), (bx + w, by - h), (bx + w * 0.7, by), (bx - w * 0.7, by)],
        fill=(196, 98, 45),
    )
    draw.rectangle(
        (bx - w * 1.08, by - h - 18 * scale, bx + w * 1.08, by - h + 4 * scale), fill=(176, 82, 35)
    )
    for head in heads:
        daisy(draw, head, 48 * scale)


def loaf(draw: ImageDraw.ImageDraw, box: tuple[float, float, float, float]) -> None:
    """A banana-bread loaf seen from the side: a domed, cracked top over a straight-sided tin."""
    x0, y0, x1, y1 = box
    height = y1 - y0
    draw.ellipse((x0, y0, x1, y0 + height * 0.7), fill=(120, 65, 25))
    draw.rounded_rectangle((x0, y0 + height * 0.35, x1, y1), radius=10, fill=(165, 100, 45))
    draw.arc(
        (x0 + 30, y0 + 12, x1 - 30, y0 + height * 0.55), 200, 340, fill=(235, 195, 130), width=5
    )
    for k in range(1, 4):  # slice marks
        x = x0 + (x1 - x0) * k / 4
        draw.line([(x, y0 + height * 0.45), (x, y1 - 8)], fill=(140, 80, 35), width=3)


def oven(draw: ImageDraw.ImageDraw, box: tuple[float, float, float, float], glow: float) -> None:
    """A kitchen oven; `glow` in [0, 1] lights the window orange."""
    x0, y0, x1, y1 = box
    draw.rectangle(box, fill=(200, 200, 205), outline=(90, 90, 95), width=4)
    for k in range(4):
        kx = x0 + (x1 - x0) * (0.2 + 0.2 * k)
        draw.ellipse((kx - 10, y0 + 14, kx + 10, y0 + 34), fill=(60, 60, 60))
    window = (x0 + 30, y0 + 60, x1 - 30, y1 - 30)
    heat = (int(60 + 190 * glow), int(40 + 90 * glow), 20)
    draw.rectangle(window, fill=heat, outline=(40, 40, 40), width=5)
    draw.line([(x0 + 40, y0 + 48), (x1 - 40, y0 + 48)], fill=(90, 90, 95), width=8)


def leaf(draw: ImageDraw.ImageDraw, center: Point, length: float, colour: Colour) -> None:
    """A pointed leaf with a midrib, lying left to right."""
    cx, cy = center
    half = length / 2
    outline = [(cx - half, cy)]
    outline += [
        (cx - half + length * s / 10, cy - length * 0.28 * math.sin(math.pi * s / 10))
        for s in range(1, 10)
    ]
    outline += [(cx + half, cy)]
    outline += [
        (cx + half - length * s / 10, cy + length * 0.28 * math.sin(math.pi * s / 10))
        for s in range(1, 10)
    ]
    draw.polygon(outline, fill=colour)
    draw.line([(cx - half, cy), (cx + half, cy)], fill=(20, 90, 20), width=3)


def train(draw: ImageDraw.ImageDraw, left: float, rail_y: float, carriages: int) -> None:
    """A side-on passenger train whose nose is at `left`, standing on `rail_y`."""
    draw.line([(0, rail_y + 4), (10_000, rail_y + 4)], fill=(90, 90, 90), width=6)
    for index in range(carriages):
        x0 = left + index * 230
        body = (x0, rail_y - 110, x0 + 220, rail_y - 16)
        draw.rounded_rectangle(body, radius=18, fill=(200, 30, 40))
        for w in range(4):
            wx = x0 + 20 + w * 50
            draw.rectangle((wx, rail_y - 92, wx + 34, rail_y - 62), fill=(200, 230, 250))
        for wx in (x0 + 40, x0 + 180):
            draw.ellipse((wx - 16, rail_y - 30, wx + 16, rail_y + 2), fill=(30, 30, 30))
