"""An ingested video as short texts per modality, each word with its label, time and box.

Each text is encoded on its own so that a word takes its context from its own sentence, OCR
span or frame tag, never from a neighbouring modality.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

from backend.encoders.base import Modality
from backend.encoders.search_text import split_words
from backend.ingest.types import Box, IngestedVideo

MAX_WORDS_PER_UNIT = 120  # keeps every unit well inside the model's 256 word-pieces
NO_BOX: Box = (math.nan, math.nan, math.nan, math.nan)


@dataclass(frozen=True)
class UnitWord:
    text: str  # as displayed
    label: str  # what a heatmap shows for this word's tokens
    time_s: float  # NaN when the word has no time
    box: Box


@dataclass(frozen=True)
class TextUnit:
    modality: Modality
    words: tuple[UnitWord, ...]


def _chunks(modality: Modality, words: list[UnitWord]) -> Iterator[TextUnit]:
    for start in range(0, len(words), MAX_WORDS_PER_UNIT):
        yield TextUnit(modality, tuple(words[start : start + MAX_WORDS_PER_UNIT]))


def _speech_units(video: IngestedVideo) -> Iterator[TextUnit]:
    for segment in video.transcript.segments:
        if segment.words:
            words = [
                UnitWord(w.text.strip(), w.text.strip(), w.start_s, NO_BOX)
                for w in segment.words
                if w.text.strip()
            ]
        else:
            words = [UnitWord(w, w, segment.start_s, NO_BOX) for w in split_words(segment.text)]
        yield from _chunks(Modality.ASR, words)


def _screen_text_units(video: IngestedVideo) -> Iterator[TextUnit]:
    for span in video.text_spans:
        words = [UnitWord(w, w, span.start_s, span.box) for w in split_words(span.text)]
        yield from _chunks(Modality.OCR, words)


def _description_units(video: IngestedVideo) -> Iterator[TextUnit]:
    words = [UnitWord(w, w, math.nan, NO_BOX) for w in split_words(video.description)]
    yield from _chunks(Modality.DESCRIPTION, words)


def _seen_units(video: IngestedVideo) -> Iterator[TextUnit]:
    for tag in video.visual_tags:
        label = f"{tag.label} @ {tag.time_s:.1f}s"
        box = tag.box if tag.box is not None else NO_BOX
        words = [UnitWord(w, label, tag.time_s, box) for w in split_words(tag.label)]
        yield from _chunks(Modality.VIDEO, words)


def document_units(video: IngestedVideo) -> list[TextUnit]:
    """All non-empty text units of a video, in modality order."""
    units = [
        *_seen_units(video),
        *_speech_units(video),
        *_screen_text_units(video),
        *_description_units(video),
    ]
    return [unit for unit in units if unit.words]
