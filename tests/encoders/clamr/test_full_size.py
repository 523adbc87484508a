"""Qwen2.5-VL-3B's architecture, built on the meta device (no memory), and the FLOP counter."""

from __future__ import annotations

import torch
from torch.utils.flop_counter import FlopCounterMode

from backend.encoders.clamr.flops import sequence_flops, vision_flops
from backend.encoders.clamr.full_size import build_random_full_size
from backend.encoders.clamr.modeling_clamr import ClamrModel
from backend.encoders.clamr.tiny import tiny_config


def test_full_size_has_qwen2_5_vl_3b_parameter_count():
    model = build_random_full_size("meta")
    assert all(p.device.type == "meta" for p in model.parameters())
    total = sum(p.numel() for p in model.parameters())
    projection = sum(p.numel() for p in model.custom_text_proj.parameters())
    assert total - projection == 3_754_622_976  # the hub says 3.75B for the checkpoint
    assert sum(p.numel() for p in model.model.visual.parameters()) == 668_684_288
    text = model.config.text_config
    assert (text.num_hidden_layers, text.hidden_size, text.intermediate_size) == (36, 2048, 11008)
    assert (text.num_attention_heads, text.num_key_value_heads, text.vocab_size) == (16, 2, 151936)
    assert text.rope_scaling["mrope_section"] == [16, 24, 24]
    vision = model.config.vision_config
    assert (vision.depth, vision.hidden_size, vision.out_hidden_size) == (32, 1280, 2048)
    assert (vision.window_size, vision.fullatt_block_indexes) == (112, [7, 15, 23, 31])
    assert model.lm_head.weight is model.model.language_model.embed_tokens.weight  # tied


def test_flop_count_equals_torchs_flop_counter_on_the_tiny_model(
    model, tokenizer, processor, counter_video
):
    """One sequence (no padding): the analytic count is what torch counts, to 1 %. Eager
    attention, because torch's counter does not see the CPU's fused SDPA kernel."""
    config = tiny_config(tokenizer)
    config._attn_implementation = "eager"
    eager = ClamrModel(config).eval()
    eager.load_state_dict(model.state_dict())
    sequence = processor.encode_document(counter_video)
    batch = processor.collate([sequence])
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        eager(**batch.inputs)
    counted = counter.get_total_flops()
    ours = sequence_flops(model.config, sequence)
    assert abs(ours - counted) / counted < 0.01, (ours, counted)

    visual = eager.model.visual
    grid = batch.inputs["video_grid_thw"]
    with torch.inference_mode(), FlopCounterMode(display=False) as tower:
        visual(batch.inputs["pixel_values_videos"], grid_thw=grid)
    assert abs(
        vision_flops(model.config.vision_config, grid.tolist()) - tower.get_total_flops()
    ) < (0.01 * tower.get_total_flops())
