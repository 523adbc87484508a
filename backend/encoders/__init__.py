"""Encoders by name: each turns queries and videos into token vectors of one space."""

from __future__ import annotations

from backend.config import EncoderSettings
from backend.encoders.base import DOCUMENT_MODALITIES, Encoder, Modality, TokenVectors

__all__ = ["DOCUMENT_MODALITIES", "Encoder", "Modality", "TokenVectors", "build_encoder"]


def build_encoder(settings: EncoderSettings) -> Encoder:
    """The encoder the settings name; models load lazily on first use."""
    if settings.name == "default":
        from backend.encoders.default.encoder import DefaultEncoder
        from backend.encoders.lora import adapter_or_none

        return DefaultEncoder(
            batch_size=settings.batch_size,
            adapter=adapter_or_none(settings.adapter),
            runtime=settings.runtime,
        )
    if settings.name == "clamr":
        from backend.encoders.clamr import build

        return build(settings)
    raise ValueError(f"unknown encoder {settings.name!r}: choose 'default' or 'clamr'")
