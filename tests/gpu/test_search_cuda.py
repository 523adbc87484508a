"""Search on CUDA: the losses (where fine-tuning crashed), resident exact search (torch path and
fused kernel), and the demo collection encoded on the GPU and searched there."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from backend.config import EncoderSettings
from backend.encoders.base import Modality
from backend.encoders.clamr.loading import build_encoder
from backend.search.maxsim import maxsim_per_modality, modality_max
from backend.search.resident import ResidentIndex
from backend.train import losses
from tests.search.test_resident import M, collection, query

pytestmark = pytest.mark.gpu
KINDS = ["contrastive", "contrastive_hard_positive", "contrastive_hard_negative", "pairwise"]


@pytest.mark.parametrize("aggregation", ["modality_max", "token_max"])
def test_every_loss_runs_on_cuda_and_equals_the_cpu(aggregation):
    g = torch.Generator().manual_seed(0)
    query = torch.nn.functional.normalize(torch.randn(4, 6, 16, generator=g), dim=-1)
    docs = torch.nn.functional.normalize(torch.randn(4, 20, 16, generator=g), dim=-1)
    mask = torch.ones(4, 6, dtype=torch.bool)
    modalities = torch.randint(0, 5, (4, 20), generator=g)
    types = torch.tensor([1, 2, 3, 0])
    for kind in KINDS:
        cpu = losses.clamr_loss(kind, query, mask, docs, modalities, types, aggregation)
        cuda_args = [t.cuda() for t in (query, mask, docs, modalities, types)]
        on_gpu = losses.clamr_loss(kind, *cuda_args, aggregation)
        assert on_gpu.is_cuda and abs(float(on_gpu) - float(cpu)) < 1e-4, kind


@pytest.mark.parametrize("precision", ["float16", "int8"])
@pytest.mark.parametrize("kernel", ["auto", "torch"])
def test_resident_search_on_cuda_equals_the_definition(precision, kernel):
    docs, video, modality, n_videos = collection(1, dim=128)
    index = ResidentIndex.build(
        docs, video, modality, n_videos, M, "cuda", precision, chunk_tokens=700, kernel=kernel
    )
    q = query(2, dim=128)
    per_modality, _ = index.scores(q)
    want = maxsim_per_modality(q, docs, video, modality, n_videos, M)
    error = (torch.nan_to_num(per_modality.cpu()) - torch.nan_to_num(want)).abs().max()
    print(f"\n{precision} {kernel} (fused: {index.uses_triton()}): max error {float(error):.1e}")
    assert error < (2e-3 if precision == "float16" else 5e-3)
    hits = index.search(q, k=5)
    order = torch.argsort(torch.nan_to_num(modality_max(want), nan=-9), descending=True)
    assert len(set(hits.videos.tolist()) & set(order[:5].tolist())) >= 4


def test_demo_encoded_and_searched_on_cuda(tiny_checkpoint, demo_videos, demo_queries):
    """The demo's six clips encoded with CLaMR on CUDA, searched exactly on the GPU: the same
    ranking and scores as the CPU's MaxSim on the same vectors (the tiny model is random, so
    what is checked is agreement, not that the right clip wins)."""
    encoder = build_encoder(
        EncoderSettings(name="clamr", model=str(tiny_checkpoint), adapter="none", device="cuda")
    )
    tokens = encoder.encode_videos(demo_videos)
    vectors = torch.from_numpy(np.concatenate([t.vectors for t in tokens]))
    owner = torch.from_numpy(np.repeat(np.arange(len(tokens)), [len(t) for t in tokens]))
    modality = torch.from_numpy(np.concatenate([t.modalities for t in tokens]).astype(np.int64))
    n_ids = len(Modality)
    index = ResidentIndex.build(vectors, owner, modality, len(tokens), n_ids, "cuda", "float16")
    for text, _ in demo_queries:
        q = encoder.encode_query(text).vectors
        hits = index.search(q, k=len(tokens))
        want = modality_max(
            maxsim_per_modality(torch.from_numpy(q), vectors, owner, modality, len(tokens), n_ids)
        )
        np.testing.assert_allclose(hits.scores, want[hits.videos].numpy(), atol=2e-3)
        assert hits.scores[0] >= float(torch.nan_to_num(want, nan=-9).max()) - 2e-3
