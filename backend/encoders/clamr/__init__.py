"""CLaMR (arXiv 2506.06144): ColQwen2.5 over frames, speech, screen text and description at once.

``build(settings)`` is what the encoder registry calls; torch and transformers are imported only
then, so naming the package costs nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from backend.config import EncoderSettings

if TYPE_CHECKING:
    from backend.encoders.clamr.encoder import ClamrEncoder


def build(settings: EncoderSettings) -> ClamrEncoder:
    """The CLaMR encoder the settings describe (model loaded on first use)."""
    from backend.encoders.clamr.loading import build_encoder

    return build_encoder(settings)
