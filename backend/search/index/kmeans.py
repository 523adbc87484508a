"""Centroids of the token space, trained once per index: spherical k-means.

Assigning every token to its nearest centroid (N x C x D multiply-adds) is the slow part of
building an index. The products are taken in row blocks, by the kernel that is fastest on the
machine running it (:mod:`backend.search.kernels`, measured once): float32 through torch or
numpy, or bfloat16 / float16 where the CPU multiplies those natively (AMX), which moves the
chosen centroid only between near-equal ones. Assuming bfloat16 was fast cost hours: it is 45x
slower than float32 on an AVX2 CPU.

Why not two levels (coarse cells, then fine centroids inside a cell), which is sqrt(C) times
cheaper? Measured on the synthetic 10k x 256 collection: a query probes the globally nearest
centroids, and tokens that two levels placed elsewhere are missed; candidate recall@128 fell
from 0.93 to 0.81.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from backend.search.kernels import KERNELS, fastest_kernel
from backend.search.threads import limited_threads

#: Rows per product (the kernels are timed on one such block): a (2048, 4096) float32 result
#: stays near the cache, and OpenBLAS and MKL reach their speed (measured 2048 to 16,384).
_BLOCK = 2048


def _normalise(x: torch.Tensor) -> torch.Tensor:
    return x / x.norm(dim=1, keepdim=True).clamp_min(1e-12)


def assignment_kernel(dim: int, n_centroids: int) -> str:
    """The kernel :func:`nearest` takes its products with for this shape, chosen by timing
    every kernel of :data:`backend.search.kernels.KERNELS` on one thread, as each of
    :func:`nearest`'s workers multiplies."""
    use = f"k-means assignment ({n_centroids} centroids x {dim})"
    with limited_threads(1):
        return fastest_kernel(use, _BLOCK, dim, n_centroids, best_columns=True)


def nearest(x: torch.Tensor, centroids: torch.Tensor) -> torch.Tensor:
    """Index of the most similar centroid for each row of ``x``.

    One block per core at a time, each worker on one BLAS thread: the argmax after each product
    runs on every core too, instead of one core while the other waits (measured on 2 cores:
    90-124 GFLOP/s against 58-67 for two-thread products one block after another).
    """
    kernel = KERNELS[assignment_kernel(x.shape[1], len(centroids))]
    workers = torch.get_num_threads()
    prepared = kernel.prepare(centroids)
    starts = range(0, len(x), _BLOCK)
    out = np.empty(len(x), np.int64)
    with limited_threads(1), ThreadPoolExecutor(workers) as pool:
        columns = pool.map(lambda s: kernel.best_columns(x[s : s + _BLOCK], prepared), starts)
        for start, best in zip(starts, columns):
            out[start : start + _BLOCK] = best
    return torch.from_numpy(out)


def train_centroids(
    sample: np.ndarray, n_centroids: int, iterations: int = 8, seed: int = 0
) -> np.ndarray:
    """``(C, D)`` unit centroids of ``sample`` ``(n, D)`` unit vectors; empty ones re-seeded.

    >>> x = np.array([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9]], np.float32)
    >>> c = train_centroids(x / np.linalg.norm(x, axis=1, keepdims=True), 2)
    >>> sorted(assign(x, c).tolist()) == [0, 0, 1, 1]
    True
    """
    generator = torch.Generator().manual_seed(seed)
    x = torch.from_numpy(np.require(sample, np.float32, ["C", "W"]))
    k = max(1, min(n_centroids, len(x)))
    centroids = x[torch.randperm(len(x), generator=generator)[:k]].clone()
    for _ in range(iterations):
        assigned = nearest(x, centroids)
        sums = torch.zeros_like(centroids).index_add_(0, assigned, x)
        empty = torch.bincount(assigned, minlength=k) == 0
        if empty.any():
            pick = torch.randint(len(x), (int(empty.sum()),), generator=generator)
            sums[empty] = x[pick]
        centroids = _normalise(sums)
    return centroids.numpy()


def assign(vectors: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """The nearest centroid of each ``(n, D)`` vector: ``(n,)`` int32."""
    x = torch.from_numpy(np.require(vectors, np.float32, ["C", "W"]))
    return nearest(x, torch.from_numpy(centroids)).numpy().astype(np.int32)


def auto_n_centroids(n_tokens: int) -> int:
    """A power of two near ``2.5 * sqrt(n_tokens)`` (4096 for 2.5M tokens), 64 to 8192."""
    if n_tokens <= 0:
        return 64
    return int(min(8192, max(64, 2 ** round(math.log2(2.5 * math.sqrt(n_tokens))))))
