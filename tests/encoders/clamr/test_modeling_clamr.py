"""The ColQwen2.5 model: unit vectors, zero padding, CLaMR's forward and its parameter names."""

from __future__ import annotations

import torch
from safetensors.torch import save_file
from torch import nn

from backend.encoders.clamr.modeling_clamr import CLAMR_DIM, ClamrModel


def test_vectors_are_unit_and_padding_is_zero(model, processor, grid_video, counter_video):
    batch = processor.process_videos([grid_video, counter_video])
    with torch.inference_mode():
        out = model(**batch.inputs)
    mask = batch.inputs["attention_mask"].bool()
    assert out.shape == (*mask.shape, CLAMR_DIM) and out.dtype == torch.float32
    assert torch.allclose(out[mask].norm(dim=-1), torch.ones(int(mask.sum())), atol=1e-5)
    assert (out[~mask] == 0).all() and torch.isfinite(out).all()


def test_forward_equals_clamr_hidden_states_route(model, processor, counter_video):
    """CLaMR takes ``hidden_states[-1]`` of the full generation model; we skip the LM head."""
    batch = processor.process_videos([counter_video])
    with torch.inference_mode():
        ours = model(**batch.inputs)
        full = super(ClamrModel, model).forward(
            **batch.inputs, output_hidden_states=True, use_cache=False
        )
        theirs = nn.functional.normalize(model.custom_text_proj(full.hidden_states[-1]), dim=-1)
        theirs = theirs * batch.inputs["attention_mask"].unsqueeze(-1)
    assert torch.allclose(ours, theirs, atol=1e-6)


def test_outputs_are_deterministic(model, processor, grid_video):
    batch = processor.process_videos([grid_video])
    with torch.inference_mode():
        assert torch.equal(model(**batch.inputs), model(**batch.inputs))


def test_parameter_names_match_clamr_colqwen2_5(model):
    names = set(dict(model.named_parameters()))
    assert {"custom_text_proj.weight", "custom_text_proj.bias"} <= names
    assert "model.language_model.layers.0.self_attn.q_proj.weight" in names
    assert "model.visual.blocks.0.mlp.down_proj.weight" in names
    # adapters saved with transformers < 4.52 say "model.layers.*": PEFT renames them with this
    assert ClamrModel._checkpoint_conversion_mapping[r"^model(?!\.(language_model|visual))"] == (
        "model.language_model"
    )
    assert model.custom_text_proj.in_features == model.config.text_config.hidden_size


def test_loads_checkpoints_saved_with_pre_4_52_key_names(model, tmp_path):
    """Qwen2.5-VL-3B-Instruct's files say ``model.layers.*`` and ``visual.*``: they still load."""
    state = {
        k.replace("model.language_model.", "model.").replace("model.visual.", "visual."): v
        for k, v in model.state_dict().items()
        if k != "lm_head.weight"  # tied to the input embeddings, as in the 3B checkpoint
    }
    assert any(k.startswith("visual.") for k in state)
    model.config.save_pretrained(tmp_path)
    save_file({k: v.contiguous() for k, v in state.items()}, tmp_path / "model.safetensors")
    reloaded = ClamrModel.from_pretrained(tmp_path)
    for name, parameter in model.state_dict().items():
        assert torch.equal(reloaded.state_dict()[name], parameter), name
