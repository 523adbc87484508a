"""The offline default encoder: MiniLM token states over the words of every modality.

Frames enter as the words an image classifier gave them (ingest/vision), speech and screen text
as their words; every word-piece becomes a unit vector labelled with its modality, word, time
and box. The query side drops words that carry no content (stop words) unless nothing else is
left, because an encoder not trained for late interaction otherwise lets "a" and "the" match
whichever modality has the most common words.

With ``adapter`` (a LoRA folder written by ``backend.train``) queries and documents go through the
fine-tuned MiniLM, and the identity names the adapter by the hash of its weights, so a store
built with one fine-tune refuses queries encoded by another.

What frames *look like* enters as ``IMAGE`` tokens: the appearance features ingest computed for
every frame region (:mod:`.image_tokens`), untouched by MiniLM or any adapter. A query picture
gets the same features (EfficientNet-Lite0, loaded on the first image query), so an image query
is scored by late interaction over frame regions, and its words, if any, over the words.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from bm25s.stopwords import STOPWORDS_EN

from backend.encoders.base import Encoder, Modality, TokenVectors
from backend.encoders.default.documents import TextUnit, document_units
from backend.encoders.default.image_tokens import region_tokens, video_image_tokens
from backend.encoders.default.token_model import (
    DIM,
    MODEL_NAME,
    EncodedSequence,
    MiniLMTokenModel,
    TextRuntime,
)
from backend.encoders.lora import adapter_fingerprint
from backend.encoders.search_text import normalise_word, split_words
from backend.ingest.types import IngestedVideo

_STOPWORDS = frozenset(STOPWORDS_EN)


def _unit_tokens(unit: TextUnit, encoded: EncodedSequence) -> TokenVectors:
    words = [unit.words[i] for i in encoded.word_index]
    n = len(words)
    return TokenVectors(
        vectors=encoded.vectors,
        modalities=np.full(n, int(unit.modality), np.int8),
        labels=tuple(w.label for w in words),
        times=np.asarray([w.time_s for w in words], np.float32).reshape(n),
        boxes=np.asarray([w.box for w in words], np.float32).reshape(n, 4),
    )


def query_words(text: str, drop_stopwords: bool) -> list[str]:
    words = split_words(text)
    if not drop_stopwords:
        return words
    content = [w for w in words if normalise_word(w).strip(".,;:!?\"'()") not in _STOPWORDS]
    return content or words


class DefaultEncoder(Encoder):
    name = "default"
    dim = DIM

    def __init__(
        self,
        batch_size: int = 32,
        drop_query_stopwords: bool = True,
        adapter: str | Path | None = None,
        token_model: MiniLMTokenModel | None = None,
        runtime: TextRuntime = "auto",
    ) -> None:
        """``token_model`` replaces the packaged model (a model being trained, for evaluation);
        ``runtime`` says what runs MiniLM (:class:`MiniLMTokenModel`)."""
        self._identity = f"default:{MODEL_NAME}"
        if adapter is not None:
            self._identity += f"+lora:{adapter_fingerprint(adapter)}"
        elif token_model is not None:
            self._identity += "+in-memory"
        self._model = token_model or MiniLMTokenModel(
            batch_size=batch_size, adapter=adapter, runtime=runtime
        )
        self._drop_query_stopwords = drop_query_stopwords
        self._tagger = None  # the image model, for query pictures; loaded on first use

    @property
    def identity(self) -> str:
        return self._identity

    def encode_queries(self, texts: Sequence[str]) -> list[TokenVectors]:
        word_lists = [query_words(t, self._drop_query_stopwords) for t in texts]
        encoded = self._model.encode([[normalise_word(w) for w in ws] for ws in word_lists])
        out = []
        for words, enc in zip(word_lists, encoded):
            n = len(enc.word_index)
            out.append(
                TokenVectors(
                    vectors=enc.vectors,
                    modalities=np.zeros(n, np.int8) + int(Modality.PAD),
                    labels=tuple(words[i] for i in enc.word_index),
                    times=np.full(n, np.nan, np.float32),
                    boxes=np.full((n, 4), np.nan, np.float32),
                )
            )
        return out

    def encode_image_query(self, image: np.ndarray, text: str = "") -> TokenVectors:
        """The picture's regions as ``IMAGE`` tokens, then the words of ``text`` (``PAD``)."""
        if self._tagger is None:
            from backend.config import VisionSettings
            from backend.ingest.vision import FrameTagger

            self._tagger = FrameTagger(VisionSettings())
        regions = self._tagger.regions_of(np.asarray(image))
        parts = [region_tokens(regions, self.dim, prefix="query")] if regions is not None else []
        if text.strip():
            parts.append(self.encode_query(text))
        return TokenVectors.concatenate(parts, self.dim)

    def encode_videos(self, videos: Sequence[IngestedVideo]) -> list[TokenVectors]:
        units_per_video = [document_units(v) for v in videos]
        flat = [unit for units in units_per_video for unit in units]
        encoded = self._model.encode([[normalise_word(w.text) for w in u.words] for u in flat])
        out, cursor = [], 0
        for video, units in zip(videos, units_per_video, strict=True):
            parts = [
                _unit_tokens(u, e) for u, e in zip(units, encoded[cursor : cursor + len(units)])
            ]
            cursor += len(units)
            parts.append(video_image_tokens(video.frame_regions, self.dim))
            out.append(TokenVectors.concatenate(parts, self.dim))
        return out
