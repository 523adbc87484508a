"""A tiny random CLaMR, built offline in a second, for tests and benchmarks.

The real model is Qwen2.5-VL-3B (gigabytes, downloaded). This builds the same architecture and
the same special tokens at a hidden size of 64, with a byte-level BPE tokenizer trained here on a
few sentences, so every step (processor, vision tower, M-RoPE, projection, PEFT, loading from a
folder) runs on a CPU with no network. The vectors mean nothing; the plumbing is what is tested.
"""

from __future__ import annotations

from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import Qwen2_5_VLConfig, Qwen2TokenizerFast, Qwen2VLImageProcessor

from backend.encoders.clamr.modeling_clamr import ClamrModel

#: The special tokens Qwen2.5-VL's chat template and vision placeholders use.
SPECIAL_TOKENS = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|vision_pad|>",
    "<|image_pad|>",
    "<|video_pad|>",
)

_CORPUS = (
    "You are a helpful assistant. system user assistant",
    "Query: ASR: OCR: Description: frame video speech screen text",
    "The quick brown fox jumps over the lazy dog near the river bank.",
    "A man in a red shirt speaks to the camera about the weather today.",
    "Bin blue at F two now. Place green by K seven soon. Lay white with X four again.",
    "Frame = 12 PTS = 1.1 s counter test pattern colour bars big buck bunny",
    "Welcome to the show, where we talk about cooking, music, sports and news.",
)


def build_tiny_tokenizer(vocab_size: int = 512) -> Qwen2TokenizerFast:
    """A byte-level BPE (any text tokenizes) with Qwen's special tokens; deterministic."""
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(list(_CORPUS) * 4, trainer)
    return Qwen2TokenizerFast(
        tokenizer_object=bpe,
        bos_token=None,
        unk_token=None,
        eos_token="<|endoftext|>",
        pad_token="<|endoftext|>",
    )


def tiny_config(tokenizer: Qwen2TokenizerFast) -> Qwen2_5_VLConfig:
    """Qwen2.5-VL-3B's shape in miniature: 2 text layers of width 64, a 2-block vision tower."""
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS}
    return Qwen2_5_VLConfig(
        text_config={
            "hidden_size": 64,
            "intermediate_size": 128,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "vocab_size": len(tokenizer),
            "max_position_embeddings": 8192,
            "rope_theta": 1_000_000.0,
            # head dim 16 -> 8 rotary frequencies split over (time, height, width)
            "rope_scaling": {"type": "mrope", "mrope_section": [2, 3, 3]},
            "tie_word_embeddings": True,
        },
        vision_config={
            "depth": 2,
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_heads": 2,
            "out_hidden_size": 64,
            "fullatt_block_indexes": [1],
            "window_size": 56,
            "patch_size": 14,
            "spatial_merge_size": 2,
            "temporal_patch_size": 2,
            "tokens_per_second": 2,  # as in Qwen2.5-VL-3B
        },
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
        bos_token_id=ids["<|endoftext|>"],
        eos_token_id=ids["<|endoftext|>"],
        pad_token_id=ids["<|endoftext|>"],
    )


def tiny_image_processor() -> Qwen2VLImageProcessor:
    """The slow image processor with Qwen2.5-VL-3B's preprocessor_config values."""
    return Qwen2VLImageProcessor(min_pixels=3136, max_pixels=12845056)


def build_tiny_model(tokenizer: Qwen2TokenizerFast, seed: int = 0) -> ClamrModel:
    """Random weights drawn from ``seed``: the same seed gives the same model."""
    torch.manual_seed(seed)
    return ClamrModel(tiny_config(tokenizer)).eval()


def save_tiny_checkpoint(directory: str | Path, seed: int = 0) -> Path:
    """A folder laid out like a hub checkpoint: weights, config, tokenizer, image processor."""
    directory = Path(directory)
    tokenizer = build_tiny_tokenizer()
    build_tiny_model(tokenizer, seed).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    tiny_image_processor().save_pretrained(directory)
    return directory
