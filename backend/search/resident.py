"""Exact per-modality MaxSim with every token resident on one device (a GPU, or the CPU).

When the encoder runs on a GPU, the whole collection fits beside it: 100k videos x 256 tokens
are 3.3 GB in int8 (6.6 GB in float16), 1M videos 33 GB in int8. Search is then exact (no
candidate stage to lose recall) and fast, because the work is one large matrix product per
group of segments rather than a scatter per token.

The layout. Tokens are grouped into *segments*, one per (video, modality); a query token's best
match in a segment is the max over the segment's similarities. Segments of similar length are
stored together in *buckets* padded to one length, the padding repeating the segment's last
token (a copy cannot change a max, so no mask is needed). One bucket is then::

    sims = tokens (S * L, D) @ query.T (D, Q)        one matrix product
    best = sims.view(S, L, Q).amax(dim=1)            (S, Q): every query token's best per segment

and ``s_m = mean_q best`` for every (video, modality) at once. Buckets are cut from chunks of
videos (``chunk_tokens`` tokens each), so the similarities of one chunk bound the memory a query
needs. Stored precision: ``float16`` (a similarity moves by about 1e-3: half-precision products)
or ``int8`` with a float32 scale per token (``max |x| / 127``, as the index codecs; about 1e-3
too); ``float32`` is exact. Scores equal :func:`backend.search.maxsim.maxsim_per_modality`'s
within that rounding (tested on random data).

>>> import torch
>>> vectors = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
>>> index = ResidentIndex.build(vectors, torch.tensor([0, 0, 1]), torch.tensor([1, 2, 1]),
...                             n_videos=2, n_modality_ids=3, precision="float32")
>>> hits = index.search(torch.tensor([[1.0, 0.0], [0.0, 1.0]]), k=2)
>>> hits.videos.tolist(), [round(float(s), 2) for s in hits.scores]
([1, 0], [0.7, 0.5])
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

log = logging.getLogger(__name__)

Precision = Literal["float32", "float16", "int8"]
Mode = Literal["modality_max", "token_max"]
Kernel = Literal["auto", "torch", "triton"]


def padded_length(length: int) -> int:
    """The bucket a segment of ``length`` tokens goes to: rounded up to 8 below 64, to 16 below
    256, to 64 below 1024, else to 256 (under 8 tokens of padding up to 64, at most a quarter
    beyond).

    >>> [padded_length(n) for n in (1, 8, 9, 96, 110, 300, 2000)]
    [8, 8, 16, 96, 112, 320, 2048]
    """
    return int(padded_lengths(torch.tensor([length]))[0])


_STEPS = ((64, 8), (256, 16), (1024, 64))


def padded_lengths(lengths: torch.Tensor) -> torch.Tensor:
    """:func:`padded_length` of every element, on the tensor's device."""
    step = torch.full_like(lengths, 256)
    for limit, size in reversed(_STEPS):
        step = torch.where(lengths <= limit, size, step)
    return torch.maximum(step, (lengths + step - 1) // step * step)


@dataclass
class Bucket:
    """Segments padded to ``length`` tokens: ``data`` ``(S * length, D)``, one key per segment."""

    length: int
    data: torch.Tensor  # (S * length, D) in the stored precision
    scale: torch.Tensor | None  # (S * length,) float32 for int8
    key: torch.Tensor  # (S,) int64: local video * n_modality_ids + modality


@dataclass
class Chunk:
    first_video: int
    n_videos: int
    buckets: list[Bucket]
    # per (local video * M + modality): its bucket (-1: none), row in it and true length
    seg_bucket: torch.Tensor | None = None
    seg_row: torch.Tensor | None = None
    seg_length: torch.Tensor | None = None


@dataclass(frozen=True)
class ResidentHits:
    """The top videos (global indices), their scores and every modality's ``s_m`` (NaN: none)."""

    videos: np.ndarray  # (k,) int64
    scores: np.ndarray  # (k,) float32
    per_modality: np.ndarray  # (k, n_modality_ids) float32


def _quantize(vectors: torch.Tensor, precision: Precision):
    if precision == "float32":
        return vectors.float(), None
    if precision == "float16":
        return vectors.half(), None
    if precision == "int8":
        vectors = vectors.float()
        scale = vectors.abs().amax(dim=1) / 127.0
        safe = torch.where(scale > 0, scale, torch.ones_like(scale))
        return torch.round(vectors / safe[:, None]).to(torch.int8), scale
    raise ValueError(f"unknown precision {precision!r}: choose float32, float16 or int8")


def _compute_dtype(device: torch.device, precision: Precision) -> torch.dtype:
    """Half-precision products on a GPU; float32 on a CPU (where half is slow or emulated)."""
    return torch.float16 if device.type == "cuda" and precision != "float32" else torch.float32


class ResidentIndex:
    """All tokens of a collection on ``device``; exact per-modality MaxSim and top-k."""

    def __init__(
        self,
        n_modality_ids: int,
        device: str | torch.device = "cpu",
        precision: Precision = "float16",
        kernel: Kernel = "auto",
    ) -> None:
        self.n_modality_ids = n_modality_ids
        self.device = torch.device(device)
        self.precision = precision
        self.kernel = kernel
        self.chunks: list[Chunk] = []
        self.n_videos = 0
        self.n_tokens = 0

    # ------------------------------------------------------------------ building
    @classmethod
    def build(
        cls,
        vectors: torch.Tensor | np.ndarray,
        video: torch.Tensor | np.ndarray,
        modality: torch.Tensor | np.ndarray,
        n_videos: int,
        n_modality_ids: int,
        device: str | torch.device = "cpu",
        precision: Precision = "float16",
        chunk_tokens: int = 1 << 24,
        kernel: Kernel = "auto",
    ) -> ResidentIndex:
        """From all tokens at once: ``(N, D)`` vectors, each token's video and modality id."""
        index = cls(n_modality_ids, device, precision, kernel)
        vectors, video, modality = (torch.as_tensor(x) for x in (vectors, video, modality))
        video = video.to(torch.int64)
        counts = torch.bincount(video, minlength=n_videos)
        order = torch.argsort(video, stable=True)
        ends = torch.cumsum(counts, 0).tolist()
        first, start = 0, 0
        for last in range(n_videos):  # cut at video boundaries near chunk_tokens
            end = ends[last]
            if end - start >= chunk_tokens or last == n_videos - 1:
                rows = order[start:end]
                index.add_chunk(
                    vectors[rows], video[rows] - first, modality[rows], last + 1 - first
                )
                first, start = last + 1, end
        return index

    def add_chunk(
        self,
        vectors: torch.Tensor,
        video: torch.Tensor,
        modality: torch.Tensor,
        n_videos: int,
    ) -> None:
        """Append ``n_videos`` videos (``video`` in ``[0, n_videos)``, local to this chunk)."""
        device, m = self.device, self.n_modality_ids
        vectors = torch.as_tensor(vectors).to(device)
        key = torch.as_tensor(video).to(device, torch.int64) * m
        key = key + torch.as_tensor(modality).to(device, torch.int64)
        order = torch.argsort(key, stable=True)
        keys, lengths = torch.unique_consecutive(key[order], return_counts=True)
        starts = torch.cumsum(lengths, 0) - lengths
        padded = padded_lengths(lengths)
        buckets = []
        seg_bucket = torch.full((n_videos * m,), -1, dtype=torch.int32, device=device)
        seg_row = torch.zeros((n_videos * m,), dtype=torch.int32, device=device)
        seg_length = torch.zeros((n_videos * m,), dtype=torch.int32, device=device)
        for number, length in enumerate(torch.unique(padded).tolist()):
            chosen = torch.nonzero(padded == length).squeeze(1)
            offsets = torch.arange(length, device=device)
            within = torch.minimum(offsets[None, :], lengths[chosen, None] - 1)  # repeat last
            rows = order[(starts[chosen, None] + within).reshape(-1)]
            data, scale = _quantize(vectors[rows], self.precision)
            buckets.append(Bucket(length, data, scale, keys[chosen]))
            seg_bucket[keys[chosen]] = number
            seg_row[keys[chosen]] = torch.arange(len(chosen), dtype=torch.int32, device=device)
            seg_length[keys[chosen]] = lengths[chosen].to(torch.int32)
        self.chunks.append(Chunk(self.n_videos, n_videos, buckets, seg_bucket, seg_row, seg_length))
        self.n_videos += n_videos
        self.n_tokens += len(vectors)

    def tokens_of(self, video: int) -> dict[int, np.ndarray]:
        """A video's stored tokens per modality id, as float32 ``(n, D)`` on the CPU (in the
        order they were added): what matches and moments of a returned hit are computed from."""
        chunk = next(c for c in self.chunks if c.first_video <= video < c.first_video + c.n_videos)
        local = video - chunk.first_video
        keys = range(local * self.n_modality_ids, (local + 1) * self.n_modality_ids)
        where = torch.stack([chunk.seg_bucket, chunk.seg_row, chunk.seg_length], 1)[
            keys.start : keys.stop
        ]
        out = {}
        for modality, (number, row, length) in enumerate(where.tolist()):
            if number < 0:
                continue
            bucket = chunk.buckets[number]
            first = row * bucket.length
            data = bucket.data[first : first + length].float()
            if bucket.scale is not None:
                data = data * bucket.scale[first : first + length, None]
            out[modality] = data.cpu().numpy()
        return out

    @property
    def nbytes(self) -> int:
        """Device memory the tokens take (padding and scales included)."""
        return sum(
            b.data.nbytes + (b.scale.nbytes if b.scale is not None else 0) + b.key.nbytes
            for c in self.chunks
            for b in c.buckets
        )

    # ------------------------------------------------------------------- scoring
    def uses_triton(self) -> bool:
        """Whether buckets are scored by the fused kernel (:mod:`resident_kernel`)."""
        from backend.search.resident_kernel import HAS_TRITON

        if self.kernel == "torch" or self.precision == "float32":
            return False
        if self.kernel == "triton":
            return True
        dim = (
            self.chunks[0].buckets[0].data.shape[1] if self.chunks and self.chunks[0].buckets else 0
        )
        return HAS_TRITON and self.device.type == "cuda" and dim >= 16 and dim & (dim - 1) == 0

    def _best(self, chunk: Chunk, query: torch.Tensor) -> torch.Tensor:
        """``(n_videos * M, Q)``: every query token's best similarity per (video, modality)."""
        best = torch.full(
            (chunk.n_videos * self.n_modality_ids, query.shape[0]),
            -math.inf,
            device=self.device,
        )
        fused = self.uses_triton()
        if fused:
            from backend.search.resident_kernel import segment_max
        for bucket in chunk.buckets:
            if fused:
                try:
                    best[bucket.key] = segment_max(bucket.data, bucket.scale, bucket.length, query)
                    continue
                except Exception as error:  # a Triton that cannot build it: the torch path
                    log.warning("fused kernel failed (%s); scoring with torch instead", error)
                    self.kernel, fused = "torch", False
            sims = bucket.data.to(query.dtype) @ query.T  # (S * L, Q)
            if bucket.scale is not None:
                sims = sims * bucket.scale[:, None].to(sims.dtype)
            best[bucket.key] = sims.view(-1, bucket.length, query.shape[0]).amax(dim=1).float()
        return best

    def scores(
        self, query: torch.Tensor | np.ndarray, allowed: Sequence[int] | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(n_videos, M)`` per-modality ``s_m`` (NaN where a video has none) and
        ``(n_videos,)`` token_max over the ``allowed`` modality ids (default: all), on device."""
        q = torch.as_tensor(query).to(self.device, _compute_dtype(self.device, self.precision))
        mask = self._mask(allowed)
        per_modality, token_level = [], []
        for chunk in self.chunks:
            best = self._best(chunk, q).view(chunk.n_videos, self.n_modality_ids, -1)
            means = best.mean(dim=2)
            per_modality.append(torch.where(torch.isinf(means), math.nan, means))
            overall = best[:, mask].amax(dim=1).mean(dim=1)
            token_level.append(torch.where(torch.isinf(overall), math.nan, overall))
        return torch.cat(per_modality), torch.cat(token_level)

    def _mask(self, allowed: Sequence[int] | None) -> torch.Tensor:
        mask = torch.zeros(self.n_modality_ids, dtype=torch.bool, device=self.device)
        if allowed is None:
            mask[:] = True
        else:
            mask[torch.as_tensor(list(allowed), dtype=torch.int64, device=self.device)] = True
        return mask

    def search(
        self,
        query: torch.Tensor | np.ndarray,
        k: int = 10,
        allowed: Sequence[int] | None = None,
        mode: Mode = "modality_max",
    ) -> ResidentHits:
        """The ``k`` best videos by ``mode`` over the ``allowed`` modalities (top-k per chunk,
        merged), with their per-modality scores. Videos with nothing allowed are never returned."""
        q = torch.as_tensor(query).to(self.device, _compute_dtype(self.device, self.precision))
        mask = self._mask(allowed)
        found_scores, found_videos, found_rows = [], [], []
        for chunk in self.chunks:
            best = self._best(chunk, q).view(chunk.n_videos, self.n_modality_ids, -1)
            means = best.mean(dim=2)  # (V, M), -inf where a video has no such tokens
            if mode == "token_max":
                final = best[:, mask].amax(dim=1).mean(dim=1)
            else:
                final = means.masked_fill(~mask, -math.inf).amax(dim=1)
            top = torch.topk(final, min(k, chunk.n_videos))
            found_scores.append(top.values)
            found_videos.append(top.indices + chunk.first_video)
            found_rows.append(means[top.indices])
        scores, videos = torch.cat(found_scores), torch.cat(found_videos)
        rows = torch.cat(found_rows)
        order = torch.argsort(scores, descending=True, stable=True)[:k]
        order = order[torch.isfinite(scores[order])]
        per_modality = rows[order]
        per_modality = torch.where(torch.isinf(per_modality), math.nan, per_modality)
        return ResidentHits(
            videos=videos[order].cpu().numpy(),
            scores=scores[order].float().cpu().numpy(),
            per_modality=per_modality.float().cpu().numpy(),
        )
