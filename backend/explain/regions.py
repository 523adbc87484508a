"""Which region of the query picture matched which region of a frame, as data and as a picture.

For a search by picture, the ``image`` modality's MaxSim pairs every query region with its most
similar frame region anywhere in the video. The picture shows the frame of the strongest pair:
the query picture and that frame side by side, the best-matching pairs boxed in the same colour
and joined by a line, and under them the similarity map between the query's regions (rows) and
that frame's regions (columns). Pure functions: tokens in, PIL image out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from backend.encoders.base import TokenVectors
from backend.explain.heatmaps import (
    BACKGROUND,
    colour,
    render_token_heatmap,
    scaled_box,
    stack_vertically,
    text_font,
)

PANEL_HEIGHT = 300
GAP = 24
MAX_PAIRS = 6  # pairs drawn on the pictures (the map shows them all)


@dataclass(frozen=True)
class RegionMatch:
    """Query regions against the regions of one frame (the one holding the strongest pair)."""

    time_s: float
    query_labels: tuple[str, ...]  # (Q,)
    frame_labels: tuple[str, ...]  # (R,)
    query_boxes: np.ndarray  # (Q, 4) in query-picture pixels
    frame_boxes: np.ndarray  # (R, 4) in original frame pixels
    similarity: np.ndarray  # (Q, R)

    @property
    def best(self) -> np.ndarray:
        """``(Q,)``: each query region's best region of this frame."""
        return self.similarity.argmax(axis=1)

    def pairs(self, limit: int = MAX_PAIRS) -> list[tuple[int, int, float]]:
        """The strongest (query region, frame region, similarity) pairs, best first."""
        best = self.best
        values = self.similarity[np.arange(len(best)), best]
        order = np.argsort(-values, kind="stable")[:limit]
        return [(int(q), int(best[q]), float(values[q])) for q in order]


def region_match(query: TokenVectors, frame_tokens: TokenVectors) -> RegionMatch | None:
    """Match ``query``'s region tokens against a video's region tokens (same modality), on the
    frame that holds the strongest single pair.

    >>> import numpy as np
    >>> from backend.encoders.base import Modality, TokenVectors
    >>> def regions(vectors, times, labels):
    ...     n = len(vectors)
    ...     return TokenVectors(np.array(vectors, np.float32), np.full(n, 5, np.int8), labels,
    ...                         np.array(times, np.float32), np.tile([0, 0, 8, 8.0], (n, 1)))
    >>> q = regions([[1, 0], [0, 1]], [np.nan, np.nan], ("query whole", "query tile 1"))
    >>> d = regions([[0.6, 0.8], [1, 0], [0, 1]], [1, 2, 2],
    ...             ("1.0s whole", "2.0s whole", "2.0s tile 1"))
    >>> m = region_match(q, d)
    >>> m.time_s, m.frame_labels, m.best.tolist(), m.pairs()[0]
    (2.0, ('2.0s whole', '2.0s tile 1'), [0, 1], (0, 0, 1.0))
    """
    if len(query) == 0 or len(frame_tokens) == 0:
        return None
    similarity = query.vectors @ frame_tokens.vectors.T  # (Q, n)
    timed = ~np.isnan(frame_tokens.times)
    if not timed.any():
        return None
    strongest = np.unravel_index(
        np.argmax(np.where(timed[None, :], similarity, -np.inf)), similarity.shape
    )
    time_s = float(frame_tokens.times[strongest[1]])
    columns = np.flatnonzero(frame_tokens.times == time_s)
    return RegionMatch(
        time_s=time_s,
        query_labels=tuple(query.labels),
        frame_labels=tuple(frame_tokens.labels[c] for c in columns),
        query_boxes=np.asarray(query.boxes, np.float32),
        frame_boxes=np.asarray(frame_tokens.boxes[columns], np.float32),
        similarity=similarity[:, columns].astype(np.float32),
    )


def _panel(image: Image.Image, height: int = PANEL_HEIGHT) -> tuple[Image.Image, float]:
    """The picture scaled to ``height`` pixels, and the scale applied."""
    scale = height / max(1, image.height)
    size = (max(1, round(image.width * scale)), height)
    return image.convert("RGB").resize(size, Image.Resampling.BILINEAR), scale


def _short(label: str) -> str:
    """A region's label without its frame time or "query" prefix.

    >>> _short("12.0s tile 3"), _short("query whole")
    ('tile 3', 'whole')
    """
    return label.split(" ", 1)[1] if " " in label else label


def render_region_matches(
    query_image: Image.Image,
    frame_image: Image.Image,
    match: RegionMatch,
    frame_scale: float = 1.0,
    title: str | None = None,
) -> Image.Image:
    """The query picture and the frame side by side, the strongest region pairs boxed in
    matching colours and joined, and the region-by-region similarity map below.

    ``frame_scale`` maps the frame boxes (original frame pixels) onto ``frame_image`` (a stored
    thumbnail's ``scale``).
    """
    left, left_scale = _panel(query_image)
    right, right_scale = _panel(frame_image)
    font = text_font(13)
    top = 24
    sheet = Image.new("RGB", (left.width + GAP + right.width, PANEL_HEIGHT + top), BACKGROUND)
    sheet.paste(left, (0, top))
    sheet.paste(right, (left.width + GAP, top))
    draw = ImageDraw.Draw(sheet)
    draw.text((4, 4), "query picture", fill=(33, 33, 33), font=font)
    draw.text(
        (left.width + GAP + 4, 4), f"frame at {match.time_s:.1f} s", fill=(33, 33, 33), font=font
    )
    pairs = match.pairs()
    for rank, (q, r, value) in reversed(list(enumerate(pairs))):  # strongest drawn last
        ink = (220, 20, 60) if rank == 0 else tuple(colour(np.array([value]))[0].tolist())
        width = 4 if rank == 0 else 2
        qbox = scaled_box(match.query_boxes[q], left_scale, left.size)
        fbox = scaled_box(match.frame_boxes[r], frame_scale * right_scale, right.size)
        if qbox is None or fbox is None:
            continue
        qbox = (qbox[0], qbox[1] + top, qbox[2], qbox[3] + top)
        fbox = (
            fbox[0] + left.width + GAP,
            fbox[1] + top,
            fbox[2] + left.width + GAP,
            fbox[3] + top,
        )
        draw.rectangle(qbox, outline=ink, width=width)
        draw.rectangle(fbox, outline=ink, width=width)
        start = ((qbox[0] + qbox[2]) // 2, (qbox[1] + qbox[3]) // 2)
        end = ((fbox[0] + fbox[2]) // 2, (fbox[1] + fbox[3]) // 2)
        draw.line([start, end], fill=ink, width=width)
        if rank == 0:
            text = f"{_short(match.query_labels[q])} -> {_short(match.frame_labels[r])} {value:.2f}"
            bbox = draw.textbbox((start[0] + 4, start[1] + 2), text, font=font)
            draw.rectangle((bbox[0] - 3, bbox[1] - 2, bbox[2] + 3, bbox[3] + 2), fill=ink)
            draw.text((start[0] + 4, start[1] + 2), text, fill=(255, 255, 255), font=font)
    heatmap = render_token_heatmap(
        [_short(label) for label in match.query_labels],
        [_short(label) for label in match.frame_labels],
        match.similarity,
        max_columns=max(40, len(match.frame_labels)),
        title=title or f"query regions x regions of the frame at {match.time_s:.1f} s",
    )
    return stack_vertically([sheet, heatmap])
