"""Read the text on sampled frames with the engine the settings name, loaded on first use."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from backend.config import OcrSettings
from backend.ingest.ocr.base import OcrEngine, OcrLine, StepwiseEngine
from backend.ingest.ocr.incremental import IncrementalReader
from backend.ingest.ocr.second_look import MIN_SCORE as SECOND_LOOK_MIN_SCORE
from backend.ingest.ocr.second_look import found_words, read_equalised
from backend.ingest.ocr.spans import merge_lines
from backend.ingest.types import Frame, TextSpan


def _rapidocr(settings: OcrSettings, threads: int | None) -> OcrEngine:
    from backend.ingest.ocr.rapid import RapidOcrEngine

    return RapidOcrEngine(threads, runtime=settings.runtime)


def _easyocr(settings: OcrSettings, threads: int | None) -> OcrEngine:
    from backend.ingest.ocr.easy import EasyOcrEngine

    return EasyOcrEngine(settings.languages)


#: Engine name (``OcrSettings.engine``) -> factory(settings, threads). Each engine's heavy
#: imports stay inside it; ``threads`` caps the engine's intra-op threads where it can.
ENGINES: dict[str, Callable[[OcrSettings, int | None], OcrEngine]] = {
    "rapidocr": _rapidocr,
    "easyocr": _easyocr,
}


def load_engine(settings: OcrSettings, threads: int | None = None) -> OcrEngine:
    """Build the engine ``settings.engine`` names (raises ``OcrEngineUnavailable`` if missing)."""
    try:
        factory = ENGINES[settings.engine]
    except KeyError:
        raise ValueError(
            f"unknown OCR engine {settings.engine!r}; choose one of {sorted(ENGINES)}"
        ) from None
    return factory(settings, threads)


class TextReader:
    """Frames in, text spans out. The engine loads on the first call, so building is free.

    ``threads`` caps the engine's intra-op threads (None: the engine's default, every core).
    """

    def __init__(self, settings: OcrSettings, threads: int | None = None) -> None:
        self.settings = settings
        self.threads = threads
        self._engine: OcrEngine | None = None

    @property
    def engine(self) -> OcrEngine:
        if self._engine is None:
            self._engine = load_engine(self.settings, self.threads)
        return self._engine

    def read_image(self, image: np.ndarray) -> list[OcrLine]:
        """The confident, non-empty lines in one RGB picture, at its own resolution."""
        first = self.first_look(image)
        return first + self.second_look(image, first)

    def first_look(self, image: np.ndarray) -> list[OcrLine]:
        """What the engine reads in the picture as it is, cut at ``min_score``."""
        return [
            line
            for line in self.engine.read_image(image)
            if line.text.strip() and line.score >= self.settings.min_score
        ]

    def second_look(self, image: np.ndarray, first: list[OcrLine]) -> list[OcrLine]:
        """Where the first look read no word, the words read in a contrast-equalised copy
        (``OcrSettings.second_look``; see :mod:`backend.ingest.ocr.second_look`)."""
        if not self.settings.second_look or found_words(first):
            return []
        min_score = max(SECOND_LOOK_MIN_SCORE, self.settings.min_score)
        return read_equalised(self.engine, image, min_score)

    def read_frames(self, frames: list[Frame]) -> list[TextSpan]:
        """Spans of text over ``frames`` (in time order), merged over consecutive frames."""
        return merge_lines(self.read_frame_lines(frames))

    def read_frame_lines(self, frames: list[Frame]) -> list[tuple[float, list[OcrLine]]]:
        """``(time_s, lines)`` per frame, in time order: incrementally
        (:mod:`~backend.ingest.ocr.incremental`) when ``OcrSettings.incremental`` and the engine
        detects and recognises apart, else every frame read whole."""
        ordered = sorted(frames, key=lambda f: f.time_s)
        if self.settings.incremental and isinstance(self.engine, StepwiseEngine):
            return IncrementalReader(self.engine, self.settings, self.read_image).read(ordered)
        return [(f.time_s, self.read_image(f.image)) for f in ordered]
