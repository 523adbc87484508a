"""Resident exact search equals the MaxSim definition (``backend.search.maxsim``) on random data."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from backend.search.maxsim import maxsim_per_modality, modality_max, token_max
from backend.search.resident import ResidentIndex, padded_length, padded_lengths
from tests.device_audit import FactoryAudit

M = 5  # modality ids 0..4; 0 (PAD) never used by documents
TOLERANCE = {"float32": 1e-5, "float16": 2e-3, "int8": 5e-3}


def collection(seed: int, n_videos: int = 40, dim: int = 32):
    """Videos of 0 to 90 tokens in random modality runs (so some modalities are missing, and one
    video has several runs of one modality), unit vectors."""
    rng = np.random.default_rng(seed)
    vectors, video, modality = [], [], []
    for v in range(n_videos):
        n = 0 if v == 7 else int(rng.integers(1, 90))
        runs = rng.integers(1, M, size=max(1, n // 10 + 1))
        mods = np.repeat(runs, -(-n // len(runs)))[:n]
        vectors.append(rng.standard_normal((n, dim)))
        video += [v] * n
        modality += mods.tolist()
    docs = np.concatenate(vectors).astype(np.float32)
    docs /= np.linalg.norm(docs, axis=1, keepdims=True)
    shuffle = rng.permutation(len(docs))  # the index must not rely on stored order
    return (
        torch.from_numpy(docs[shuffle]),
        torch.tensor(video)[shuffle],
        torch.tensor(modality)[shuffle],
        n_videos,
    )


def query(seed: int, dim: int = 32, n: int = 12) -> torch.Tensor:
    q = torch.randn(n, dim, generator=torch.Generator().manual_seed(seed))
    return torch.nn.functional.normalize(q, dim=1)


@pytest.mark.parametrize("precision", ["float32", "float16", "int8"])
@pytest.mark.parametrize("chunk_tokens", [1 << 20, 300])  # one chunk, and many
def test_scores_equal_the_definition(precision, chunk_tokens):
    docs, video, modality, n_videos = collection(1)
    index = ResidentIndex.build(
        docs, video, modality, n_videos, M, precision=precision, chunk_tokens=chunk_tokens
    )
    assert index.n_videos == n_videos and index.n_tokens == len(docs)
    assert len(index.chunks) == (1 if chunk_tokens > len(docs) else len(index.chunks)) >= 1
    q = query(2)
    per_modality, token_level = index.scores(q)
    want = maxsim_per_modality(q, docs, video, modality, n_videos, M)
    assert torch.equal(torch.isnan(per_modality), torch.isnan(want))
    error = (torch.nan_to_num(per_modality) - torch.nan_to_num(want)).abs().max()
    assert error < TOLERANCE[precision], float(error)
    want_token = token_max(q, docs, video, n_videos)
    assert torch.equal(torch.isnan(token_level), torch.isnan(want_token))
    assert (torch.nan_to_num(token_level) - torch.nan_to_num(want_token)).abs().max() < (
        TOLERANCE[precision]
    )


@pytest.mark.parametrize("mode", ["modality_max", "token_max"])
def test_top_k_is_the_exact_ranking_with_every_modalitys_score(mode):
    docs, video, modality, n_videos = collection(3)
    index = ResidentIndex.build(docs, video, modality, n_videos, M, "cpu", "float32", 500)
    q = query(4)
    per_modality = maxsim_per_modality(q, docs, video, modality, n_videos, M)
    if mode == "modality_max":
        want = modality_max(per_modality)
    else:
        want = token_max(q, docs, video, n_videos)
    order = [int(i) for i in torch.argsort(torch.nan_to_num(want, nan=-9), descending=True)]
    hits = index.search(q, k=10, mode=mode)
    assert hits.videos.tolist() == order[:10]
    np.testing.assert_allclose(hits.scores, want[order[:10]].numpy(), atol=1e-5)
    np.testing.assert_allclose(hits.per_modality, per_modality[order[:10]].numpy(), atol=1e-5)
    everything = index.search(q, k=n_videos, mode=mode)
    assert 7 not in everything.videos.tolist()  # the video without tokens has no score


def test_allowed_modalities_restrict_the_ranking():
    docs, video, modality, n_videos = collection(5)
    index = ResidentIndex.build(docs, video, modality, n_videos, M, precision="float32")
    q = query(6)
    per_modality = maxsim_per_modality(q, docs, video, modality, n_videos, M)
    ocr_only = per_modality[:, 3]
    hits = index.search(q, k=5, allowed=[3])
    want = torch.argsort(torch.nan_to_num(ocr_only, nan=-9), descending=True)[:5]
    assert hits.videos.tolist() == want.tolist()
    assert all(not math.isnan(s) for s in hits.per_modality[:, 3])


def test_building_and_searching_make_no_tensor_off_the_inputs_device():
    docs, video, modality, n_videos = collection(7)
    with FactoryAudit() as audit:
        index = ResidentIndex.build(docs, video, modality, n_videos, M, precision="int8")
        index.search(query(8), k=3)
    assert not audit.calls, "\n".join(map(str, audit.calls))


def test_padding_lengths():
    lengths = torch.arange(1, 3000)
    assert padded_lengths(lengths).tolist() == [padded_length(n) for n in lengths.tolist()]
    assert (padded_lengths(lengths) >= lengths).all()
    padding = padded_lengths(lengths) - lengths
    assert (padding[:64] < 8).all() and (padding[64:] <= 0.25 * lengths[64:]).all()


KERNEL_CHECK = """
import torch
from backend.search.maxsim import maxsim_per_modality
from backend.search.resident import ResidentIndex
from tests.search.test_resident import M, collection, query

docs, video, modality, n = collection(1)
for precision in ("float16", "int8"):
    args = (docs, video, modality, n, M, "cpu", precision, 700)
    fused = ResidentIndex.build(*args, kernel="triton")
    plain = ResidentIndex.build(*args, kernel="torch")
    assert fused.uses_triton() and not plain.uses_triton()
    q = query(2)
    a, b = fused.scores(q)[0], plain.scores(q)[0]
    assert torch.equal(torch.isnan(a), torch.isnan(b))
    assert (torch.nan_to_num(a) - torch.nan_to_num(b)).abs().max() < 1e-3
    assert fused.search(q, 5).videos.tolist() == plain.search(q, 5).videos.tolist()
print("fused kernel agrees")
"""


def test_the_fused_kernel_equals_the_torch_path():
    """The Triton kernel, run by Triton's interpreter on the CPU (on CUDA in tests/gpu)."""
    import os
    import subprocess
    import sys

    pytest.importorskip("triton", reason="Triton is not installed (it comes with CUDA torch)")
    from tests.conftest import REPO_ROOT

    env = {**os.environ, "TRITON_INTERPRET": "1", "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", KERNEL_CHECK], cwd=REPO_ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "fused kernel agrees" in done.stdout


def test_tokens_of_a_video_come_back_per_modality():
    docs, video, modality, n_videos = collection(9)
    index = ResidentIndex.build(docs, video, modality, n_videos, M, precision="float32")
    for v in (0, 5, 7, n_videos - 1):
        got = index.tokens_of(v)
        for m in range(M):
            mine = docs[(video == v) & (modality == m)].numpy()
            if len(mine) == 0:
                assert m not in got
            else:
                np.testing.assert_array_equal(got[m], mine)
