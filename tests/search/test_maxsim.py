"""The per-modality MaxSim equals a plain loop written straight from CLaMR's formula."""

from __future__ import annotations

import math

import pytest
import torch

from backend.search.maxsim import maxsim_per_modality, modality_max, token_max


def reference_scores(query, docs, video, modality, n_videos, n_modalities):
    """s_m = mean_q max_{d in video v, modality m} <q, d>, by explicit loops."""
    out = torch.full((n_videos, n_modalities), math.nan)
    for v in range(n_videos):
        for m in range(n_modalities):
            mine = [i for i in range(len(docs)) if video[i] == v and modality[i] == m]
            if not mine:
                continue
            total = 0.0
            for q in query:
                total += max(float(q @ docs[i]) for i in mine)
            out[v, m] = total / len(query)
    return out


def reference_token_max(query, docs, video, n_videos):
    out = torch.full((n_videos,), math.nan)
    for v in range(n_videos):
        mine = [i for i in range(len(docs)) if video[i] == v]
        if mine:
            out[v] = sum(max(float(q @ docs[i]) for i in mine) for q in query) / len(query)
    return out


def unit(x: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.normalize(x, dim=-1)


@pytest.mark.parametrize("seed", range(5))
def test_scores_equal_plain_reference_on_random_tensors(seed):
    generator = torch.Generator().manual_seed(seed)
    n_videos, n_modalities, n_tokens, dim = 7, 5, 200, 16
    query = unit(torch.randn(6, dim, generator=generator))
    docs = unit(torch.randn(n_tokens, dim, generator=generator))
    video = torch.randint(0, n_videos - 1, (n_tokens,), generator=generator)  # last video empty
    modality = torch.randint(1, n_modalities, (n_tokens,), generator=generator)  # 0 unused

    got = maxsim_per_modality(query, docs, video, modality, n_videos, n_modalities)
    want = reference_scores(query, docs, video, modality, n_videos, n_modalities)

    assert torch.equal(torch.isnan(got), torch.isnan(want))
    assert torch.allclose(torch.nan_to_num(got), torch.nan_to_num(want), atol=1e-5)
    assert torch.isnan(got[-1]).all()  # a video without tokens has no score in any modality
    best = modality_max(got)
    for v in range(n_videos - 1):
        assert best[v] == pytest.approx(float(torch.nan_to_num(want[v], nan=-9).max()), abs=1e-5)
    assert math.isnan(best[-1])
    assert torch.allclose(
        torch.nan_to_num(token_max(query, docs, video, n_videos)),
        torch.nan_to_num(reference_token_max(query, docs, video, n_videos)),
        atol=1e-5,
    )


def test_token_max_is_at_least_modality_max():
    generator = torch.Generator().manual_seed(42)
    query = unit(torch.randn(4, 8, generator=generator))
    docs = unit(torch.randn(60, 8, generator=generator))
    video = torch.arange(60) % 3
    modality = (torch.arange(60) // 3) % 4 + 1
    per_modality = maxsim_per_modality(query, docs, video, modality, 3, 5)
    assert (token_max(query, docs, video, 3) >= modality_max(per_modality) - 1e-6).all()


def test_scores_stay_on_the_inputs_device():
    """On the ``meta`` device every operation must follow the inputs: a buffer made on the CPU
    (the GPU crash of ``_segment_max``) fails here as it would on CUDA."""
    meta = torch.device("meta")
    query, docs = torch.randn(4, 8, device=meta), torch.randn(30, 8, device=meta)
    video = torch.zeros(30, dtype=torch.long, device=meta)
    modality = torch.ones(30, dtype=torch.long, device=meta)
    per_modality = maxsim_per_modality(query, docs, video, modality, 3, 5)
    assert per_modality.device == meta and per_modality.shape == (3, 5)
    assert modality_max(per_modality).device == meta
    assert token_max(query, docs, video, 3).device == meta


def test_no_tensor_is_made_without_a_device():
    from tests.device_audit import FactoryAudit

    generator = torch.Generator().manual_seed(1)
    query, docs = torch.randn(4, 8, generator=generator), torch.randn(30, 8, generator=generator)
    video, modality = torch.arange(30) % 3, torch.arange(30) % 4
    with FactoryAudit() as audit:
        modality_max(maxsim_per_modality(query, docs, video, modality, 3, 4))
        token_max(query, docs, video, 3)
    assert not audit.calls, "\n".join(map(str, audit.calls))
