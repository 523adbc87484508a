"""Fine-tuning the CLaMR path on a tiny random ColQwen2.5 (CPU, float32): LoRA where CLaMR puts
it, gradients through frames and text, and an adapter the CLaMR encoder loads back."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from backend.config import EncoderSettings
from backend.encoders import build_encoder
from backend.encoders.base import Modality
from backend.encoders.clamr.tiny import save_tiny_checkpoint
from backend.train.backbones.clamr import ClamrBackbone
from backend.train.losses import clamr_loss
from backend.train.settings import TrainSettings
from tests.helpers import make_video


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return save_tiny_checkpoint(tmp_path_factory.mktemp("clamr") / "tiny")


def test_lora_trains_on_frames_and_text_and_its_adapter_reloads(tiny, tmp_path):
    settings = TrainSettings(
        encoder="clamr", model=str(tiny), adapter="none", device="cpu", rank=4, dropout=0.0
    ).resolved()
    torch.manual_seed(0)
    backbone = ClamrBackbone(settings)
    trainable = [n for n, p in backbone.peft.named_parameters() if p.requires_grad]
    assert any("custom_text_proj" in n for n in trainable)
    assert any("language_model.layers.0.self_attn.q_proj" in n for n in trainable)
    assert not any("visual" in n for n in trainable)  # CLaMR adapts the language model only

    videos = [make_video("a", "the quick brown fox", 2), make_video("b", "a red shirt", 2)]
    batch = backbone.encode_batch(["quick brown fox", "red shirt"], videos)
    assert batch.docs.shape[:2] == batch.doc_modalities.shape
    assert int(Modality.VIDEO) in batch.doc_modalities.tolist()[0]  # frames are in the document
    types = torch.tensor([int(Modality.ASR), int(Modality.ASR)])
    loss = clamr_loss(
        "contrastive", batch.query, batch.query_mask, batch.docs, batch.doc_modalities, types
    )
    loss.backward()
    grads = [p.grad for p in backbone.trainable_parameters()]
    assert all(g is not None for g in grads) and sum(float(g.abs().sum()) for g in grads) > 0
    torch.optim.AdamW(backbone.trainable_parameters(), lr=1e-2).step()  # LoRA B leaves zero

    adapter = backbone.save_adapter(tmp_path / "adapter")
    trained = backbone.as_encoder()
    reloaded = build_encoder(
        EncoderSettings(name="clamr", model=str(tiny), adapter=str(adapter), device="cpu")
    )
    for a, b in zip(trained.encode_queries(["red shirt"]), reloaded.encode_queries(["red shirt"])):
        np.testing.assert_allclose(a.vectors, b.vectors, atol=1e-5)
    for a, b in zip(trained.encode_videos(videos), reloaded.encode_videos(videos)):
        np.testing.assert_allclose(a.vectors, b.vectors, atol=1e-5)
    base = build_encoder(
        EncoderSettings(name="clamr", model=str(tiny), adapter="none", device="cpu")
    )
    moved = (
        base.encode_queries(["red shirt"])[0].vectors
        - trained.encode_queries(["red shirt"])[0].vectors
    )
    assert np.abs(moved).max() > 1e-4


def test_4bit_preparation_keeps_the_frozen_weights_in_their_loaded_dtype(tiny):
    """PEFT's k-bit preparation upcasts frozen bf16 weights to float32, so the trained model ran
    its residual stream in float32 while the reloaded adapter runs bf16 (0.031 apart on an
    H100). ``prepare_quantized`` keeps the loaded dtypes: the same vectors as the plain model.
    Shown on the CPU in bf16 (4-bit itself needs CUDA; the upcast does not)."""
    from peft import prepare_model_for_kbit_training

    from backend.encoders.clamr.encoder import ClamrEncoder
    from backend.encoders.clamr.loading import load_processor
    from backend.encoders.clamr.modeling_clamr import ClamrModel
    from backend.train.backbones.clamr import prepare_quantized

    def bf16_model():
        return ClamrModel.from_pretrained(tiny, dtype=torch.bfloat16).eval()

    processor = load_processor(str(tiny))
    video = make_video("a", "the quick brown fox", 2)

    def vectors(model):
        return ClamrEncoder.from_model(model, processor).encode_videos([video])[0].vectors

    plain = vectors(bf16_model())
    ours = prepare_quantized(bf16_model(), checkpointing=False).eval()
    assert {p.dtype for p in ours.parameters()} == {torch.bfloat16}
    assert np.array_equal(vectors(ours), plain)
    upcast = prepare_model_for_kbit_training(bf16_model(), use_gradient_checkpointing=False)
    assert torch.float32 in {p.dtype for p in upcast.parameters()}
    assert np.abs(vectors(upcast.eval()) - plain).max() > 1e-3  # the gap's cause
