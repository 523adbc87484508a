"""What the training loop needs from a model: vectors of a batch with gradients, an adapter to
save, and an ordinary :class:`Encoder` around the same weights for evaluation.

The encoder view matters: held-out metrics and the saved adapter are checked through the code
path search uses, so "the adapter gives the same vectors as at the end of training" is a claim
about the vectors the store will hold.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from backend.encoders.base import Encoder
from backend.ingest.types import Frame, IngestedVideo


@dataclass(frozen=True)
class BatchVectors:
    """A batch in the shapes ``backend.train.losses`` takes."""

    query: torch.Tensor  # (B, Q, D)
    query_mask: torch.Tensor  # (B, Q) bool
    docs: torch.Tensor  # (B, S, D)
    doc_modalities: torch.Tensor  # (B, S) Modality ids, 0 where padding


def pad_rows(rows: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """``(n_i, ...)`` tensors to one ``(B, max n_i, ...)`` tensor (zeros after) and its mask."""
    longest = max(1, max(len(r) for r in rows))
    out = rows[0].new_zeros((len(rows), longest, *rows[0].shape[1:]))
    mask = torch.zeros((len(rows), longest), dtype=torch.bool, device=rows[0].device)
    for i, row in enumerate(rows):
        out[i, : len(row)] = row
        mask[i, : len(row)] = True
    return out, mask


class Backbone(ABC):
    """A LoRA-wrapped encoder model in training."""

    name: str
    #: whether documents need frames (loaded from the store's thumbnails for training)
    needs_frames: bool = False

    def __init__(self) -> None:
        #: the PEFT model; ``module`` is what the forward pass calls (accelerate may wrap it)
        self.peft: nn.Module
        self.module: nn.Module

    @abstractmethod
    def encode_batch(self, queries: Sequence[str], videos: Sequence[IngestedVideo]) -> BatchVectors:
        """Query ``i`` and video ``i`` of a batch (positives on the diagonal), with gradients."""

    @abstractmethod
    def as_encoder(self) -> Encoder:
        """The model in training as the encoder search would use (inference mode, no dropout)."""

    def select_frames(self, frames: Sequence[Frame]) -> list[Frame]:
        """The frames a document would use (only these thumbnails are decoded)."""
        return list(frames)

    def can_encode(self, video: IngestedVideo) -> bool:
        """Whether the video yields any document token (a positive without any cannot score)."""
        return True

    def trainable_parameters(self) -> list[nn.Parameter]:
        return [p for p in self.peft.parameters() if p.requires_grad]

    def save_adapter(self, folder: Path) -> Path:
        """The LoRA in PEFT's standard layout (``adapter_config.json``, safetensors)."""
        folder = Path(folder)
        self.peft.save_pretrained(str(folder))
        return folder

    @property
    def device(self) -> torch.device:
        return next(self.peft.parameters()).device
