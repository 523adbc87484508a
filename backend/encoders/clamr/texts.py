"""The text parts of a CLaMR sequence as token runs, each token with its word, time and box.

CLaMR writes each text modality as ``" " + TAG + text`` (``" OCR: ..."``, ``" ASR: ..."``,
``" Description: ..."``) inside one chat turn, after the frames. Here each part is tokenized on
its own (tokens never cross a part boundary: every part starts with a space-led word and the
template around them is special tokens, so the ids equal those of the whole string) and every
token keeps the word it belongs to, so a heatmap can show "said 'fox' at 3.2 s" or "read 'EXIT'
in this box".

User text is tokenized with ``split_special_tokens``: a transcript that happens to contain
``<|im_end|>`` stays text and cannot close the chat turn.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from transformers import PreTrainedTokenizerFast

from backend.encoders.base import Modality
from backend.ingest.types import Box, IngestedVideo, TextSpan, Transcript

NO_BOX: Box = (math.nan, math.nan, math.nan, math.nan)


@dataclass(frozen=True)
class LabelledWord:
    text: str
    time_s: float = math.nan
    box: Box = NO_BOX


@dataclass
class TokenRun:
    """Consecutive tokens of one modality, with per-token label, time and box."""

    modality: Modality
    ids: list[int] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    boxes: list[Box] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ids)

    def head(self, n: int) -> TokenRun:
        """The first ``n`` tokens (truncation keeps the start of a text, as CLaMR does)."""
        return TokenRun(
            self.modality, self.ids[:n], self.labels[:n], self.times[:n], self.boxes[:n]
        )


def _words(text: str, time_s: float = math.nan, box: Box = NO_BOX) -> list[LabelledWord]:
    return [LabelledWord(w, time_s, box) for w in text.split()]


def asr_words(transcript: Transcript) -> list[LabelledWord]:
    """Spoken words with their start times; segments without word times share them out evenly."""
    words: list[LabelledWord] = []
    for segment in transcript.segments:
        if segment.words:
            words += [
                LabelledWord(w.text.strip(), w.start_s) for w in segment.words if w.text.strip()
            ]
            continue
        plain = segment.text.split()
        step = (segment.end_s - segment.start_s) / max(len(plain), 1)
        words += [LabelledWord(w, segment.start_s + i * step) for i, w in enumerate(plain)]
    return words


def ocr_words(spans: Iterable[TextSpan]) -> list[LabelledWord]:
    """Screen-text words in order of appearance, each with its span's first time and box."""
    ordered = sorted(spans, key=lambda s: (s.start_s, s.box[1], s.box[0]))
    return [word for span in ordered for word in _words(span.text, span.start_s, span.box)]


def description_words(video: IngestedVideo) -> list[LabelledWord]:
    """The description; without one, the container's title and comment (also metadata)."""
    text = video.description.strip()
    if not text:
        text = " ".join(t for t in (video.probe.title, video.probe.comment) if t)
    return _words(text)


def tokenize_words(
    tokenizer: PreTrainedTokenizerFast,
    prefix: str,
    words: Sequence[LabelledWord],
    modality: Modality,
) -> TokenRun:
    """``prefix + words`` joined by spaces; each token labelled with the word it starts in.

    The prefix's own words (``"ASR:"``) label the tag tokens, with no time and no box. A token
    that is only whitespace takes the next word.
    """
    all_words = _words(prefix) + list(words)
    text = prefix + " ".join(w.text for w in words)
    ends, cursor = [], 0
    for word in all_words:  # words appear in order, so each is found after the previous one
        cursor = text.index(word.text, cursor) + len(word.text)
        ends.append(cursor)
    encoded = tokenizer(
        text, add_special_tokens=False, return_offsets_mapping=True, split_special_tokens=True
    )
    run = TokenRun(modality)
    for token_id, (start, _end) in zip(
        encoded["input_ids"], encoded["offset_mapping"], strict=True
    ):
        # a token belongs to the word it starts in (the first word ending after its start)
        word = all_words[min(bisect.bisect_right(ends, start), len(all_words) - 1)]
        run.ids.append(int(token_id))
        run.labels.append(word.text)
        run.times.append(word.time_s)
        run.boxes.append(word.box)
    return run


def tokenize_template(tokenizer: PreTrainedTokenizerFast, text: str) -> TokenRun:
    """Chat-template text (special tokens meant as such); labels are the token strings."""
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    labels = tokenizer.convert_ids_to_tokens(ids)
    n = len(ids)
    return TokenRun(Modality.PAD, list(ids), list(labels), [math.nan] * n, [NO_BOX] * n)


def run_arrays(runs: Sequence[TokenRun]) -> dict[str, np.ndarray | tuple[str, ...]]:
    """Concatenated ids, modalities, labels, times and boxes of consecutive runs."""
    return {
        "ids": np.asarray([i for r in runs for i in r.ids], np.int64),
        "modalities": np.asarray([int(r.modality) for r in runs for _ in r.ids], np.int8),
        "labels": tuple(label for r in runs for label in r.labels),
        "times": np.asarray([t for r in runs for t in r.times], np.float32),
        "boxes": np.asarray([b for r in runs for b in r.boxes], np.float32).reshape(-1, 4),
    }
