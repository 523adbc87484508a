"""Tiny CLaMR on CUDA gives the CPU's vectors, through the GPU encoder path (workers, pinned
batches, asynchronous copies back) and with either vision attention.

Tolerances: float32 on both sides, TF32 off: 1e-4 (measured on the CPU, the batched and the
stock vision attention agree to 1e-5; CUDA kernels sum in other orders). bf16 on CUDA against
float32 on the CPU: 0.05, with the same best match for every query token of the demo queries.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from backend.config import EncoderSettings
from backend.encoders.clamr.encoder import ClamrEncoder
from backend.encoders.clamr.loading import build_encoder
from backend.encoders.clamr.pipeline import PipelineSettings
from backend.encoders.clamr.vision_attention import set_batched_windows

pytestmark = pytest.mark.gpu
FLOAT32 = 1e-4
BF16 = 0.05


@pytest.fixture(autouse=True)
def no_tf32():
    """TF32 convolutions (cuDNN's default) would round the patch embedding to 1e-3."""
    before = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    yield
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = before


def _encoder(checkpoint, device: str, **kwargs) -> ClamrEncoder:
    return build_encoder(
        EncoderSettings(
            name="clamr", model=str(checkpoint), adapter="none", device=device, **kwargs
        )
    )


def _largest_difference(a, b) -> float:
    out = 0.0
    for x, y in zip(a, b, strict=True):
        assert x.labels == y.labels
        out = max(out, float(np.abs(x.vectors - y.vectors).max()))
    return out


def test_cuda_float32_gives_the_cpu_vectors(tiny_checkpoint, demo_videos, demo_queries):
    cpu = _encoder(tiny_checkpoint, "cpu")
    cuda_model = copy.deepcopy(cpu.model).cuda()  # the same float32 weights (a GPU load is bf16)
    piped = ClamrEncoder.from_model(cuda_model, cpu.processor, batch_size=4)  # workers, pinned
    texts = [q for q, _ in demo_queries]
    videos_error = _largest_difference(
        cpu.encode_videos(demo_videos), piped.encode_videos(demo_videos)
    )
    queries_error = _largest_difference(cpu.encode_queries(texts), piped.encode_queries(texts))
    print(f"\nCUDA float32 vs CPU: videos {videos_error:.2e}, queries {queries_error:.2e}")
    assert videos_error < FLOAT32 and queries_error < FLOAT32


def test_stock_and_batched_vision_attention_agree_on_cuda(tiny_checkpoint, demo_videos):
    cpu = _encoder(tiny_checkpoint, "cpu")
    model = copy.deepcopy(cpu.model).cuda()
    inline = ClamrEncoder.from_model(model, cpu.processor, 2, pipeline=PipelineSettings())
    batched = inline.encode_videos(demo_videos)
    set_batched_windows(model, False)
    try:
        stock = inline.encode_videos(demo_videos)
    finally:
        set_batched_windows(model, True)
    assert _largest_difference(batched, stock) < FLOAT32


def test_cuda_bf16_is_close_to_the_cpu(tiny_checkpoint, demo_videos, demo_queries):
    cpu = _encoder(tiny_checkpoint, "cpu")
    cuda = _encoder(tiny_checkpoint, "cuda")  # bf16, as the encoder runs on a GPU
    assert next(cuda.model.parameters()).dtype == torch.bfloat16
    error = _largest_difference(cpu.encode_videos(demo_videos), cuda.encode_videos(demo_videos))
    print(f"\nCUDA bf16 vs CPU float32: {error:.3f}")
    assert error < BF16
