"""Qwen2.5-VL-3B's exact architecture with random weights: full-size speed and memory, offline.

The weights cannot be downloaded here, but speed and memory depend only on the shapes. Every
number below is the released checkpoint's ``config.json``
(https://huggingface.co/Qwen/Qwen2.5-VL-3B-Instruct/blob/main/config.json), checked against
two more sources:

- transformers 4.57's ``Qwen2_5_VLVisionConfig`` defaults, which are the vision tower of every
  Qwen2.5-VL size: depth 32, intermediate 3420, 16 heads, patch 14, spatial merge 2, temporal
  patch 2, window 112, full attention in blocks 7, 15, 23 and 31 (its ``hidden_size`` and
  ``out_hidden_size`` defaults, 3584, are the 7B's merger width, not the tower's 1280);
- the Qwen2.5-VL technical report (arXiv 2502.13923, Table 1): vision hidden 1280, 32 layers,
  16 heads, patch 14, window 112, full-attention blocks {7, 15, 23, 31}, merger out 2048; the
  3B language model hidden 2048, 36 layers, 2 KV heads, head size 128, tied embeddings. The
  table's "intermediate size" rows (3456 vision, 4864 language) disagree with the checkpoint
  (3420 and 11008, the tensors' real shapes), so the checkpoint's are used.

The text side's vocabulary is 151,936 rows (the checkpoint's embedding), rope theta 1e6, RMS
norm epsilon 1e-6, M-RoPE sections [16, 24, 24] (time, height, width over the 64 rotary
frequencies of a 128-wide head). Built on the ``meta`` device this has 3,754,622,976 parameters
(3.75B, as the hub reports for the checkpoint; the vision tower 668,684,288 of them), plus
262,272 for ``custom_text_proj``.

The tokenizer is the tiny one (:mod:`backend.encoders.clamr.tiny`): Qwen's own needs a download.
Its special-token ids are written into the config, so frames and text go where they should; text
splits into somewhat more tokens than Qwen's tokenizer would make, which the benchmarks count.
"""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import Qwen2_5_VLConfig

from backend.encoders.clamr.modeling_clamr import ClamrModel
from backend.encoders.clamr.tiny import (
    SPECIAL_TOKENS,
    build_tiny_tokenizer,
    tiny_image_processor,
)

#: Qwen2.5-VL-3B-Instruct's config.json, text side.
TEXT_3B = {
    "vocab_size": 151_936,
    "hidden_size": 2048,
    "intermediate_size": 11_008,
    "num_hidden_layers": 36,
    "num_attention_heads": 16,
    "num_key_value_heads": 2,
    "hidden_act": "silu",
    "max_position_embeddings": 128_000,
    "rms_norm_eps": 1e-6,
    "rope_theta": 1_000_000.0,
    "rope_scaling": {"type": "mrope", "mrope_section": [16, 24, 24]},
    "tie_word_embeddings": True,
    "use_sliding_window": False,
    "sliding_window": 32_768,
    "max_window_layers": 70,
}
#: Qwen2.5-VL-3B-Instruct's config.json, vision side.
VISION_3B = {
    "depth": 32,
    "hidden_size": 1280,
    "intermediate_size": 3420,
    "num_heads": 16,
    "hidden_act": "silu",
    "in_channels": 3,
    "out_hidden_size": 2048,
    "patch_size": 14,
    "spatial_merge_size": 2,
    "temporal_patch_size": 2,
    "window_size": 112,
    "fullatt_block_indexes": [7, 15, 23, 31],
    "tokens_per_second": 2,
}
#: The checkpoint's special-token ids (Qwen's tokenizer).
TOKENS_3B = {
    "image_token_id": 151_655,
    "video_token_id": 151_656,
    "vision_start_token_id": 151_652,
    "vision_end_token_id": 151_653,
    "bos_token_id": 151_643,
    "eos_token_id": 151_645,
}


def qwen2_5_vl_3b_config(token_ids: dict[str, int] | None = None) -> Qwen2_5_VLConfig:
    """The 3B architecture; ``token_ids`` replaces the special-token ids (another tokenizer)."""
    return Qwen2_5_VLConfig(
        text_config=dict(TEXT_3B),
        vision_config=dict(VISION_3B),
        tie_word_embeddings=True,
        **{**TOKENS_3B, **(token_ids or {})},
    )


def tiny_tokenizer_ids(tokenizer) -> dict[str, int]:
    """The config's special-token ids as the tiny tokenizer spells them."""
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS}
    return {
        "image_token_id": ids["<|image_pad|>"],
        "video_token_id": ids["<|video_pad|>"],
        "vision_start_token_id": ids["<|vision_start|>"],
        "vision_end_token_id": ids["<|vision_end|>"],
        "bos_token_id": ids["<|endoftext|>"],
        "eos_token_id": ids["<|endoftext|>"],
        "pad_token_id": ids["<|endoftext|>"],
    }


def build_random_full_size(
    device: str | torch.device = "meta", dtype: torch.dtype = torch.bfloat16, seed: int = 0
) -> ClamrModel:
    """The 3B model with random weights made directly on ``device`` (``meta``: shapes only).

    Never on a CPU in a test: 3.75B parameters are 7.5 GB in bf16, 15 GB in float32.
    """
    config = qwen2_5_vl_3b_config(tiny_tokenizer_ids(build_tiny_tokenizer()))
    torch.manual_seed(seed)
    default = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with torch.device(device):
            model = ClamrModel(config)
    finally:
        torch.set_default_dtype(default)
    return model.eval()


def save_random_full_size(directory: str | Path, device: str = "cuda", seed: int = 0) -> Path:
    """A checkpoint folder of the random 3B model (bf16 safetensors, 7.5 GB), with the tiny
    tokenizer and Qwen2.5-VL's image-processor settings, loadable like the real one (4-bit too).
    A folder that already holds one is reused."""
    directory = Path(directory)
    if (directory / "config.json").is_file() and any(directory.glob("*.safetensors")):
        return directory
    model = build_random_full_size(device, torch.bfloat16, seed)
    model.save_pretrained(directory, max_shard_size="2GB")
    del model
    build_tiny_tokenizer().save_pretrained(directory)
    tiny_image_processor().save_pretrained(directory)
    return directory
