"""One GPU kernel for a bucket of the resident index: products, scale and segment max, fused.

Done with torch, a bucket costs a similarity matrix written to GPU memory and read back (and
for int8 an fp16 copy of the tokens first): about 7x the bytes of the tokens themselves. This
Triton kernel reads each stored token once, takes its products with all query tokens in
registers (int8 widened to fp16 there, times its scale), keeps the running max per segment, and
writes only ``(segments, Q)`` maxima: the read of the tokens is the whole cost, as it should be
for a scan. Used on CUDA when Triton is installed (``ResidentIndex(kernel="auto")``); its
results equal the torch path's (``TRITON_INTERPRET=1`` runs it on a CPU, which the tests use).
"""

from __future__ import annotations

import importlib.util

import torch

HAS_TRITON = importlib.util.find_spec("triton") is not None

if HAS_TRITON:
    import triton
    import triton.language as tl

    @triton.jit
    def _segment_max_kernel(
        data_ptr,
        scale_ptr,
        query_ptr,
        out_ptr,
        n_segments,
        n_query,
        LENGTH: tl.constexpr,  # tokens per segment (padded), a multiple of BLOCK_T
        DIM: tl.constexpr,
        BLOCK_S: tl.constexpr,  # segments per program
        BLOCK_T: tl.constexpr,  # tokens of each segment per step
        BLOCK_Q: tl.constexpr,  # query tokens, padded to a power of two >= 16
        HAS_SCALE: tl.constexpr,
    ):
        segment = tl.program_id(0) * BLOCK_S + tl.arange(0, BLOCK_S)  # (BLOCK_S,)
        seg_ok = segment < n_segments
        q = tl.arange(0, BLOCK_Q)
        d = tl.arange(0, DIM)
        query = tl.load(
            query_ptr + q[None, :] * DIM + d[:, None], mask=q[None, :] < n_query, other=0.0
        )  # (DIM, BLOCK_Q), the query transposed
        best = tl.full((BLOCK_S, BLOCK_Q), float("-inf"), tl.float32)
        t = tl.arange(0, BLOCK_T)
        for start in range(0, LENGTH, BLOCK_T):
            rows = segment[:, None] * LENGTH + start + t[None, :]  # (BLOCK_S, BLOCK_T)
            rows = tl.reshape(rows, (BLOCK_S * BLOCK_T,))
            row_ok = tl.reshape(seg_ok[:, None] & (t[None, :] >= 0), (BLOCK_S * BLOCK_T,))
            tokens = tl.load(
                data_ptr + rows[:, None] * DIM + d[None, :], mask=row_ok[:, None], other=0
            )
            sims = tl.dot(tokens.to(query.dtype), query)  # (BLOCK_S * BLOCK_T, BLOCK_Q) fp32
            if HAS_SCALE:
                sims = sims * tl.load(scale_ptr + rows, mask=row_ok, other=0.0)[:, None]
            sims = tl.reshape(sims, (BLOCK_S, BLOCK_T, BLOCK_Q))
            best = tl.maximum(best, tl.max(sims, axis=1))
        out = out_ptr + segment[:, None] * n_query + q[None, :]
        tl.store(out, best, mask=seg_ok[:, None] & (q[None, :] < n_query))


def _block_t(length: int) -> int:
    """The largest power of two up to 32 that divides ``length`` (a multiple of 8)."""
    for size in (32, 16, 8):
        if length % size == 0:
            return size
    raise ValueError(f"segment length {length} is not a multiple of 8")


def segment_max(
    data: torch.Tensor, scale: torch.Tensor | None, length: int, query: torch.Tensor
) -> torch.Tensor:
    """``(S, Q)`` float32: per segment of ``length`` rows of ``data`` (``(S * length, D)``,
    float16 or int8 times ``scale``), every query token's best similarity."""
    n_segments, dim = data.shape[0] // length, data.shape[1]
    n_query = query.shape[0]
    out = torch.empty((n_segments, n_query), dtype=torch.float32, device=data.device)
    block_t = _block_t(length)
    block_s = max(1, 128 // block_t)
    block_q = max(16, triton.next_power_of_2(n_query))
    grid = (triton.cdiv(n_segments, block_s),)
    _segment_max_kernel[grid](
        data,
        scale if scale is not None else data,
        query.to(torch.float16).contiguous(),
        out,
        n_segments,
        n_query,
        LENGTH=length,
        DIM=dim,
        BLOCK_S=block_s,
        BLOCK_T=block_t,
        BLOCK_Q=block_q,
        HAS_SCALE=scale is not None,
    )
    return out
