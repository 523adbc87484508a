"""Three LoRA steps of CLaMR on CUDA in bf16 and in 4-bit, the adapter saved and reloaded as
search loads it: the same vectors (bf16 and 4-bit alike: the frozen weights keep their dtype)
and the same ranking of the demo queries."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from backend.config import EncoderSettings
from backend.encoders.base import Modality
from backend.encoders.clamr.loading import build_encoder
from backend.train.losses import clamr_loss
from backend.train.settings import TrainSettings
from tests.gpu.conftest import needs

pytestmark = pytest.mark.gpu
RELOAD = 1e-2  # the bar for the trained-vs-reloaded difference


@pytest.mark.parametrize("four_bit", [False, True], ids=["bf16", "4bit"])
def test_three_steps_save_reload_same_vectors_and_ranking(
    four_bit, tiny_checkpoint, demo_videos, demo_queries, tmp_path
):
    if four_bit:
        needs("bitsandbytes")
    from backend.train.backbones.clamr import ClamrBackbone
    from backend.train.optimizers import make_optimizer
    from bench.train_gpu import compare

    settings = TrainSettings(
        encoder="clamr",
        model=str(tiny_checkpoint),
        adapter="none",
        device="cuda",
        load_in_4bit=four_bit,
        optimizer="paged_adamw_8bit" if four_bit else "adamw",
        gradient_checkpointing=True,
        lr=1e-3,
    ).resolved()
    torch.manual_seed(0)
    backbone = ClamrBackbone(settings)
    frozen = {p.dtype for p in backbone.peft.parameters() if not p.requires_grad}
    assert torch.float32 not in frozen  # nothing upcast behind our back (PEFT k-bit prep)
    optimizer = make_optimizer(backbone.trainable_parameters(), settings, backbone.device)
    texts = {name: text for text, name in demo_queries}
    losses = []
    for step in range(3):
        batch = demo_videos[step : step + 3]
        vectors = backbone.encode_batch([texts[v.probe.video_id] for v in batch], batch)
        types = torch.full((len(batch),), int(Modality.PAD), device=vectors.docs.device)
        loss = clamr_loss(
            "contrastive",
            vectors.query,
            vectors.query_mask,
            vectors.docs,
            vectors.doc_modalities,
            types,
        )
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(float(loss.detach()))
    assert all(np.isfinite(losses))
    adapter = backbone.save_adapter(tmp_path / "adapter")
    backbone.peft.eval()
    reloaded = build_encoder(
        EncoderSettings(
            name="clamr",
            model=str(tiny_checkpoint),
            adapter=str(adapter),
            device="cuda",
            load_in_4bit=four_bit,
        )
    )
    result = compare(backbone.as_encoder(), reloaded, demo_videos, [q for q, _ in demo_queries])
    print(f"\n{'4-bit' if four_bit else 'bf16'}: losses {losses}, {result}")
    assert result["reload_max_abs_diff"] < RELOAD
    assert result["same_top1"]
