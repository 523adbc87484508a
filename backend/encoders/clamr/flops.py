"""FLOPs of a CLaMR forward, counted from the configuration and the inputs' shapes.

Used to say what share of a GPU's peak an encode reaches (model FLOP utilisation). Only matrix
products are counted (2 FLOPs per multiply-add): projections, MLPs, the patch embedding, the
merger, attention's ``Q K^T`` and ``A V``; norms, activations and rotary embeddings are left
out (well under 1 %). Attention is counted over the whole ``L x L`` square (what SDPA with a
padding mask computes), real tokens only: padding is work a better batching avoids, not useful
work. ``torch.utils.flop_counter.FlopCounterMode`` gives the same numbers on the tiny model (a
test checks it).

>>> from backend.encoders.clamr.full_size import qwen2_5_vl_3b_config
>>> config = qwen2_5_vl_3b_config()
>>> round(text_flops(config.text_config, 1) / 1e9, 2)  # 2 x 2.78B weights of 36 layers
5.55
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from backend.encoders.clamr.processing_clamr import EncodedSequence


def _window_lengths(vision, grid_t: int, grid_h: int, grid_w: int) -> list[int]:
    """Patches per attention window of one clip, as ``get_window_index`` cuts them."""
    merge = vision.spatial_merge_size
    side = vision.window_size // merge // vision.patch_size  # window side in merged tokens
    rows, cols = grid_h // merge, grid_w // merge
    heights = [min(side, rows - r) for r in range(0, rows, side)]
    widths = [min(side, cols - c) for c in range(0, cols, side)]
    per_frame = [h * w * merge * merge for h in heights for w in widths]
    return per_frame * grid_t


def vision_flops(vision, grid_thw: Iterable[Sequence[int]]) -> float:
    """FLOPs of the vision tower (patch embedding, blocks, merger) for clips of these grids."""
    hidden, inter = vision.hidden_size, vision.intermediate_size
    merged_width = hidden * vision.spatial_merge_size**2
    patch_inputs = vision.in_channels * vision.temporal_patch_size * vision.patch_size**2
    total = 0.0
    for grid_t, grid_h, grid_w in grid_thw:
        patches = grid_t * grid_h * grid_w
        windows = sum(n * n for n in _window_lengths(vision, grid_t, grid_h, grid_w))
        full = grid_t * (grid_h * grid_w) ** 2  # "full" blocks attend within each time step
        per_block = 2 * patches * (4 * hidden * hidden + 3 * hidden * inter)
        n_full = len(vision.fullatt_block_indexes)
        attention = 4 * hidden * (n_full * full + (vision.depth - n_full) * windows)
        merger = 2 * (patches // vision.spatial_merge_size**2) * merged_width
        merger *= merged_width + vision.out_hidden_size
        total += 2 * patches * patch_inputs * hidden + vision.depth * per_block + attention
        total += merger
    return float(total)


def text_flops(text, length: int, projection_dim: int = 128) -> float:
    """FLOPs of the language model and ``custom_text_proj`` on one sequence of ``length``."""
    hidden, inter = text.hidden_size, text.intermediate_size
    head_dim = getattr(text, "head_dim", None) or hidden // text.num_attention_heads
    kv = text.num_key_value_heads * head_dim
    q = text.num_attention_heads * head_dim
    per_layer = 2 * length * (hidden * q + 2 * hidden * kv + q * hidden + 3 * hidden * inter)
    attention = 4 * length * length * q
    layers = text.num_hidden_layers * (per_layer + attention)
    return float(layers + 2 * length * hidden * projection_dim)


def sequence_flops(config, sequence: EncodedSequence, projection_dim: int = 128) -> float:
    """FLOPs of encoding one query or document (its vision inputs included)."""
    grids = [v.grid_thw for v in (*sequence.videos, *sequence.images)]
    return text_flops(config.text_config, len(sequence), projection_dim) + vision_flops(
        config.vision_config, grids
    )
