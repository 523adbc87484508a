"""The CLaMR encoder behind the backend's ``Encoder`` interface.

Queries keep every real token CLaMR scores with: the ``"Query:"`` prefix, the words and the ten
``<|endoftext|>`` augmentation tokens (ColBERT's query augmentation), all with modality PAD as the
interface asks. Documents keep only tokens that carry a modality (frames, OCR, ASR, description,
tags included): template and padding tokens are dropped, so late interaction never matches a
query word against "You are a helpful assistant".

The model loads on first use, so building the encoder (and naming it in a store) costs nothing.
On a GPU, inputs are prepared by worker threads while the model runs (``pipeline``), documents
are batched by length, and each batch's vectors come back to the CPU while the next one runs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

import numpy as np
import torch
from torch import nn

from backend.encoders.base import Encoder, Modality, TokenVectors
from backend.encoders.clamr.modeling_clamr import CLAMR_DIM
from backend.encoders.clamr.pipeline import PipelineSettings, PreparedBatch, prepared_batches
from backend.encoders.clamr.processing_clamr import ClamrProcessor, EncodedSequence
from backend.ingest.types import IngestedVideo

Loader = Callable[[], tuple[nn.Module, ClamrProcessor]]
T = TypeVar("T")


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

    def __init__(
        self,
        loader: Loader,
        identity: str = "clamr",
        batch_size: int = 8,
        pipeline: PipelineSettings | None = None,
    ) -> None:
        self._loader = loader
        self._identity = identity
        self._batch_size = max(1, batch_size)
        self._pipeline = pipeline  # None: chosen for the model's device when it loads
        self._model: nn.Module | None = None
        self._processor: ClamrProcessor | None = None

    @classmethod
    def from_model(
        cls,
        model: nn.Module,
        processor: ClamrProcessor,
        identity: str = "clamr",
        batch_size: int = 8,
        pipeline: PipelineSettings | None = None,
    ) -> ClamrEncoder:
        """An encoder around an already loaded model (tests, notebooks)."""
        return cls(lambda: (model, processor), identity, batch_size, pipeline)

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

    def _run(
        self, items: Sequence[T], encode: Callable[[T], EncodedSequence]
    ) -> list[tuple[torch.Tensor, EncodedSequence]]:
        """``(L_i, dim)`` CPU vectors and the sequence of each item, in the items' order.

        The next batch is launched before the previous one's vectors are waited for, so the GPU
        never idles while the CPU unpacks results.
        """
        model, processor = self._loaded()
        device = next(model.parameters()).device
        settings = self._pipeline or PipelineSettings.for_device(device)
        out: list[tuple[torch.Tensor, EncodedSequence] | None] = [None] * len(items)
        waiting: tuple[PreparedBatch, torch.Tensor, torch.cuda.Event | None] | None = None
        for prepared in prepared_batches(
            items, encode, processor.collate, self._batch_size, settings
        ):
            inputs = {k: v.to(device, non_blocking=True) for k, v in prepared.batch.inputs.items()}
            with torch.inference_mode():
                host = model(**inputs).float().to("cpu", non_blocking=True)  # pinned, async
            done = None
            if device.type == "cuda":
                done = torch.cuda.Event()
                done.record()
            if waiting is not None:
                _unpack(*waiting, out)
            waiting = (prepared, host, done)
        if waiting is not None:
            _unpack(*waiting, out)
        return out  # type: ignore[return-value]

    def encode_queries(self, texts: Sequence[str]) -> list[TokenVectors]:
        encoded = self._run(list(texts), self.processor.encode_query)
        return [_token_vectors(v, s, np.ones(len(s), bool)) for v, s in encoded]

    def encode_image_query(self, image: np.ndarray, text: str = "") -> TokenVectors:
        """The picture through the vision tower as query tokens (:mod:`.image_query`)."""
        from backend.encoders.clamr.image_query import encode_image_query

        processor = self.processor
        (encoded,) = self._run([image], lambda item: encode_image_query(processor, item, text))
        vectors, sequence = encoded
        return _token_vectors(vectors, sequence, np.ones(len(sequence), bool))

    def encode_videos(self, videos: Sequence[IngestedVideo]) -> list[TokenVectors]:
        encoded = self._run(list(videos), self.processor.encode_document)
        return [_token_vectors(v, s, s.modalities != int(Modality.PAD)) for v, s in encoded]


def _unpack(
    prepared: PreparedBatch,
    host: torch.Tensor,
    done: torch.cuda.Event | None,
    out: list[tuple[torch.Tensor, EncodedSequence] | None],
) -> None:
    """Each sequence's rows of a finished batch, put back at its input position."""
    if done is not None:
        done.synchronize()
    rows = prepared.batch.rows(host)
    for position, row, sequence in zip(
        prepared.positions, rows, prepared.batch.sequences, strict=True
    ):
        out[position] = (row, sequence)
