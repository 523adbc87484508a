"""Models being fine-tuned, one small module per encoder (``minilm``, ``clamr``), one interface."""

from __future__ import annotations

from backend.train.backbones.base import Backbone, BatchVectors
from backend.train.settings import TrainSettings

__all__ = ["Backbone", "BatchVectors", "build_backbone"]


def build_backbone(settings: TrainSettings) -> Backbone:
    """The backbone ``settings.encoder`` names, with its LoRA attached and ready to train."""
    if settings.encoder == "default":
        from backend.train.backbones.minilm import MiniLMBackbone

        return MiniLMBackbone(settings)
    if settings.encoder == "clamr":
        from backend.train.backbones.clamr import ClamrBackbone

        return ClamrBackbone(settings)
    raise ValueError(f"unknown encoder {settings.encoder!r}: choose 'default' or 'clamr'")
