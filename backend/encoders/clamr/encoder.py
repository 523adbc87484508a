"""The CLaMR encoder behind the backend's ``Encoder`` interface.

Queries keep every real token CLaMR scores with: the ``"Query:"`` prefix, the words and the ten
``<|endoftext|>`` augmentation tokens (ColBERT's query augmentation), all with modality PAD as the
interface asks. Documents keep only tokens that carry a modality (frames, OCR, ASR, description,
tags included): template and padding tokens are dropped, so late interaction never matches a
query word against "You are a helpful assistant".

The model loads on first use, so building the encoder (and naming it in a store) costs nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

import numpy as np
import torch
from torch import nn

from backend.encoders.base import Encoder, Modality, TokenVectors
from backend.encoders.clamr.modeling_clamr import CLAMR_DIM
from backend.encoders.clamr.processing_clamr import ClamrProcessor, EncodedSequence
from backend.ingest.types import IngestedVideo

Loader = Callable[[], tuple[nn.Module, ClamrProcessor]]
T = TypeVar("T")


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _token_vectors(vectors: torch.Tensor, seq: EncodedSequence, keep: np.ndarray) -> TokenVectors:
    return TokenVectors(
        vectors=vectors.numpy()[keep],
        modalities=seq.modalities[keep],
        labels=tuple(np.asarray(seq.labels, dtype=object)[keep].tolist()),
        times=seq.times[keep],
        boxes=seq.boxes[keep],
    )


class ClamrEncoder(Encoder):
    """ColQwen2.5 (+ CLaMR's LoRA) token vectors: 128-d, one per query token or document token."""

    name = "clamr"
    dim = CLAMR_DIM

    def __init__(self, loader: Loader, identity: str = "clamr", batch_size: int = 8) -> None:
        self._loader = loader
        self._identity = identity
        self._batch_size = max(1, batch_size)
        self._model: nn.Module | None = None
        self._processor: ClamrProcessor | None = None

    @classmethod
    def from_model(
        cls,
        model: nn.Module,
        processor: ClamrProcessor,
        identity: str = "clamr",
        batch_size: int = 8,
    ) -> ClamrEncoder:
        """An encoder around an already loaded model (tests, notebooks)."""
        return cls(lambda: (model, processor), identity, batch_size)

    @property
    def identity(self) -> str:
        return self._identity

    @property
    def processor(self) -> ClamrProcessor:
        return self._loaded()[1]

    @property
    def model(self) -> nn.Module:
        return self._loaded()[0]

    def _loaded(self) -> tuple[nn.Module, ClamrProcessor]:
        if self._model is None or self._processor is None:
            model, processor = self._loader()
            self._model, self._processor = model.eval(), processor
        return self._model, self._processor

    def _run(self, sequences: Sequence[EncodedSequence]) -> list[torch.Tensor]:
        """``(L_i, dim)`` vectors for each sequence, in batches."""
        model, processor = self._loaded()
        device = next(model.parameters()).device
        out: list[torch.Tensor] = []
        for chunk in _chunks(sequences, self._batch_size):
            batch = processor.collate(chunk)
            inputs = {k: v.to(device) for k, v in batch.inputs.items()}
            with torch.inference_mode():
                out += batch.rows(model(**inputs).float().cpu())
        return out

    def encode_queries(self, texts: Sequence[str]) -> list[TokenVectors]:
        processor = self.processor
        sequences = [processor.encode_query(t) for t in texts]
        vectors = self._run(sequences)
        return [
            _token_vectors(v, s, np.ones(len(s), bool))
            for v, s in zip(vectors, sequences, strict=True)
        ]

    def encode_videos(self, videos: Sequence[IngestedVideo]) -> list[TokenVectors]:
        processor = self.processor
        sequences = [processor.encode_document(v) for v in videos]
        vectors = self._run(sequences)
        return [
            _token_vectors(v, s, s.modalities != int(Modality.PAD))
            for v, s in zip(vectors, sequences, strict=True)
        ]
