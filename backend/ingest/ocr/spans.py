"""Turn per-frame OCR lines into text spans: the same text on consecutive frames is one span.

A caption or a sign stays on screen for many sampled frames; indexing it once with its time range
keeps the index small and lets search say *when* the text was visible. Two readings are "the
same text" when they agree after normalising case and spaces, or when they are near-identical
(OCR noise) and say the same numbers: a clock, a counter or a score that changes is new text.
They must also sit in the same place, so one word in two corners stays two spans.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

from backend.ingest.ocr.base import OcrLine
from backend.ingest.types import Box, TextSpan

#: Readings at least this similar (difflib ratio on normalised text) count as the same text.
MIN_TEXT_RATIO = 0.9
#: Boxes count as the same place when they share this fraction of the smaller box's area.
MIN_BOX_OVERLAP = 0.5

_DIGITS = re.compile(r"\d+")


def normalise_text(text: str) -> str:
    """Case-folded, runs of whitespace collapsed to one space.

    >>> normalise_text("  PTS =\\t0.6s ")
    'pts = 0.6s'
    """
    return " ".join(text.casefold().split())


def same_text(a: str, b: str, min_ratio: float = MIN_TEXT_RATIO) -> bool:
    """Whether two readings show the same text, allowing small OCR noise but no changed number.

    >>> same_text("Yuyuan Rd.", "YUYUAN  RD.")
    True
    >>> same_text("Thoroughly cook meat", "Thoroughly c0ok meat")
    True
    >>> same_text("Frame = 10", "Frame = 11")  # difflib ratio 0.9, but the number changed
    False
    >>> same_text("EXIT", "EXIT STAGE")
    False
    """
    na, nb = normalise_text(a), normalise_text(b)
    if na == nb:
        return True
    digits_a, digits_b = _DIGITS.findall(na), _DIGITS.findall(nb)
    if digits_a and digits_b and digits_a != digits_b:
        return False
    return SequenceMatcher(None, na, nb, autojunk=False).ratio() >= min_ratio


def box_overlap(a: Box, b: Box) -> float:
    """Intersection area over the smaller box's area (1.0: one box lies inside the other).

    >>> box_overlap((0, 0, 10, 10), (5, 0, 15, 10))
    0.5
    >>> box_overlap((0, 0, 10, 10), (20, 20, 30, 30))
    0.0
    """
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return float(w * h / max(smaller, 1e-9))


def union_box(a: Box, b: Box) -> Box:
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


@dataclass
class _Track:
    """A span being built: where it was last seen, and its best reading so far."""

    start_s: float
    end_s: float
    last_frame: int
    last: OcrLine
    best: OcrLine
    box: Box

    def extend(self, line: OcrLine, time_s: float, frame_index: int) -> None:
        self.end_s = time_s
        self.last_frame = frame_index
        self.last = line
        self.box = union_box(self.box, line.box)
        if line.score > self.best.score:
            self.best = line

    def to_span(self) -> TextSpan:
        return TextSpan(
            text=self.best.text.strip(),
            start_s=self.start_s,
            end_s=self.end_s,
            box=self.box,
            score=self.best.score,
        )


def _continues(track: _Track, line: OcrLine) -> bool:
    return box_overlap(track.last.box, line.box) >= MIN_BOX_OVERLAP and same_text(
        track.last.text, line.text
    )


def merge_lines(frames: Sequence[tuple[float, Sequence[OcrLine]]]) -> list[TextSpan]:
    """Spans from ``(time_s, lines)`` per frame, frames in time order.

    A line continues a span seen on the frame just before at the same place with the same text;
    otherwise it starts a new one. A span's text and score are those of its most confident
    reading, its box covers every reading. Sorted by start time, then top-to-bottom, left-to-right.

    >>> a = OcrLine("EXIT", (10, 10, 50, 30), 0.9)
    >>> b = OcrLine("Exit", (11, 10, 51, 31), 0.95)
    >>> [(s.text, s.start_s, s.end_s) for s in merge_lines([(0.0, [a]), (1.0, [b]), (2.0, [a])])]
    [('Exit', 0.0, 2.0)]
    >>> [(s.text, s.start_s) for s in merge_lines([(0.0, [a]), (1.0, []), (2.0, [a])])]
    [('EXIT', 0.0), ('EXIT', 2.0)]
    """
    open_tracks: list[_Track] = []
    done: list[_Track] = []
    for index, (time_s, lines) in enumerate(frames):
        still_open: list[_Track] = []
        # Most confident readings claim their continuation first.
        for line in sorted(lines, key=lambda ln: -ln.score):
            candidates = [
                t for t in open_tracks if t.last_frame == index - 1 and _continues(t, line)
            ]
            if candidates:
                track = max(candidates, key=lambda t: box_overlap(t.last.box, line.box))
                open_tracks.remove(track)
                track.extend(line, time_s, index)
            else:
                track = _Track(time_s, time_s, index, line, line, line.box)
            still_open.append(track)
        done.extend(open_tracks)  # not seen on this frame: their span has ended
        open_tracks = still_open
    done.extend(open_tracks)
    spans = [t.to_span() for t in done]
    return sorted(spans, key=lambda s: (s.start_s, s.box[1], s.box[0]))
