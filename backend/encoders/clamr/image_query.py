"""A CLaMR query that is a picture (with optional text): its patches become query tokens.

ColQwen2.5 embeds every token of its input, image tokens included, into the one 128-d space
documents live in, so a picture is a query like any other::

    <|vision_start|><|image_pad|> x T<|vision_end|> Query: <text> <|endoftext|> x 10

The picture is resized as document frames are (Qwen's smart resize, at most 224x224 pixels: 64
tokens for a square picture, each a 28x28 patch) and given as one image (``pixel_values``,
``image_grid_thw``); ``Query: `` and the augmentation tokens come only with text, as CLaMR's
text queries have them. Every token keeps modality ``PAD``: CLaMR's space is shared, so each is
scored against every document modality, per modality, as text queries are. Image tokens carry
their patch's box in the picture's pixels, for Explain.
"""

from __future__ import annotations

import math

import numpy as np

from backend.encoders.base import Modality
from backend.encoders.clamr import frames as vision
from backend.encoders.clamr.processing_clamr import (
    ClamrProcessor,
    EncodedSequence,
)
from backend.encoders.clamr.texts import NO_BOX, TokenRun, run_arrays
from backend.ingest.types import Frame


def picture_run(
    processor: ClamrProcessor, image: np.ndarray
) -> tuple[TokenRun, vision.VisionTokens]:
    """The picture's marker and image-pad tokens (modality PAD), and its patches."""
    height, width = image.shape[:2]
    cfg = processor.config
    size = vision.resized_size(
        height, width, processor.geometry, cfg.frame_min_pixels, cfg.frame_max_pixels
    )
    if size is None:
        raise ValueError(f"a {width}x{height} picture is too narrow for Qwen2.5-VL")
    tokens = vision.vision_tokens([Frame(0.0, image)], size, processor.geometry)
    ids = processor.token_ids
    n = tokens.n_tokens
    labels = [label.replace("frame @ 0.0 s", "query picture") for label in tokens.labels]
    run = TokenRun(
        Modality.PAD,
        [ids["<|vision_start|>"], *([ids["<|image_pad|>"]] * n), ids["<|vision_end|>"]],
        ["<|vision_start|>", *labels, "<|vision_end|>"],
        [math.nan] * (n + 2),
        [NO_BOX, *tokens.boxes, NO_BOX],
    )
    return run, tokens


def encode_image_query(
    processor: ClamrProcessor, image: np.ndarray, text: str = ""
) -> EncodedSequence:
    """The query sequence for a picture ``(H, W, 3)`` uint8 RGB and optional text."""
    picture, patches = picture_run(processor, np.ascontiguousarray(np.asarray(image)[..., :3]))
    runs = [picture]
    if text.strip():
        runs.append(processor.query_text_run(text))
    return EncodedSequence(**run_arrays(runs), images=(patches,))
