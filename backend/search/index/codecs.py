"""How token vectors are kept on disk for search: the precision is a setting of the index.

Each codec turns ``(n, D)`` unit vectors into stored bytes and scores a query against them at
the stored precision; the similarity is the same inner product MaxSim uses, so a re-score with
``float32`` is exactly the exact search, and the others differ by their rounding only:

- ``float32``: 4 bytes a dimension, no rounding.
- ``float16``: 2 bytes a dimension; a similarity moves by about 1e-4 (11-bit mantissa).
- ``int8``: 1 byte a dimension plus a float32 scale per vector (max |x| / 127); a similarity
  moves by about 1e-3.
- ``binary``: 1 bit a dimension (the sign) plus a float32 scale per vector (the mean |x|, which
  makes ``scale * sign(x)`` the closest such vector to ``x``); a ranking signal, not a score.

>>> x = np.array([[0.6, -0.8], [1.0, 0.0]], np.float32)
>>> q = np.array([[1.0, 0.0]], np.float32)
>>> for p in PRECISIONS:
...     data, scale = encode(x, p)
...     print(p, np.round(similarity(q, data, scale, p, dim=2), 3))
float32 [[0.6 1. ]]
float16 [[0.6 1. ]]
int8 [[0.598 1.   ]]
binary [[0.7 0.5]]
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch

from backend.search.kernels import KERNELS, fastest_kernel

Precision = Literal["float32", "float16", "int8", "binary"]
PRECISIONS: tuple[Precision, ...] = ("float32", "float16", "int8", "binary")


def row_width(precision: Precision, dim: int) -> tuple[np.dtype, int]:
    """The dtype and number of items one stored vector takes."""
    if precision == "float32":
        return np.dtype(np.float32), dim
    if precision == "float16":
        return np.dtype(np.float16), dim
    if precision == "int8":
        return np.dtype(np.int8), dim
    if precision == "binary":
        return np.dtype(np.uint8), (dim + 7) // 8
    raise ValueError(f"unknown precision {precision!r}: choose from {', '.join(PRECISIONS)}")


def has_scale(precision: Precision) -> bool:
    return precision in ("int8", "binary")


def bytes_per_vector(precision: Precision, dim: int) -> int:
    dtype, width = row_width(precision, dim)
    return dtype.itemsize * width + (4 if has_scale(precision) else 0)


def encode(vectors: np.ndarray, precision: Precision) -> tuple[np.ndarray, np.ndarray | None]:
    """``(n, D)`` float vectors -> stored rows and (for int8, binary) a scale per row."""
    vectors = np.asarray(vectors, np.float32)
    if precision == "float32":
        return vectors, None
    if precision == "float16":
        return vectors.astype(np.float16), None
    if precision == "int8":
        scale = np.abs(vectors).max(axis=1) / 127.0
        safe = np.where(scale > 0, scale, 1.0)[:, None]
        return np.rint(vectors / safe).astype(np.int8), scale.astype(np.float32)
    if precision == "binary":
        scale = np.abs(vectors).mean(axis=1).astype(np.float32)
        return np.packbits(vectors > 0, axis=1), scale
    raise ValueError(f"unknown precision {precision!r}: choose from {', '.join(PRECISIONS)}")


def decode(
    data: np.ndarray, scale: np.ndarray | None, precision: Precision, dim: int
) -> np.ndarray:
    """Stored rows back to ``(n, D)`` float32 vectors (what the similarities are taken with)."""
    if precision in ("float32", "float16"):
        return np.asarray(data, np.float32)
    if precision == "int8":
        return np.asarray(data, np.float32) * scale[:, None]
    signs = np.unpackbits(np.asarray(data), axis=1, count=dim).astype(np.float32) * 2.0 - 1.0
    return signs * scale[:, None]


def similarity(
    query: np.ndarray, data: np.ndarray, scale: np.ndarray | None, precision: Precision, dim: int
) -> np.ndarray:
    """``(Q, D)`` query vectors against stored rows: ``(Q, n)`` inner products.

    Half-precision rows are multiplied in half precision where that is faster here than
    converting them to float32 first (:func:`rescore_kernel`: with AVX512-FP16, measured 1.4 ms
    against 13 ms for 32k x 128 rows; on AVX2 or Zen 4, half products are many times slower);
    the result then carries float16 rounding too (about 2e-4 on a similarity). The per-row
    scale multiplies the ``(Q, n)`` result rather than the ``(n, D)`` rows.
    """
    q = torch.from_numpy(np.ascontiguousarray(query, np.float32))
    if precision == "binary":
        data = np.unpackbits(np.asarray(data), axis=1, count=dim).view(np.int8) * 2 - 1
    rows = torch.from_numpy(np.require(data, requirements=["C", "W"]))
    if precision == "float32":
        out = q @ rows.T
    elif precision == "float16":
        out = KERNELS[rescore_kernel(dim)].product(q, rows).float()
    else:
        out = q @ rows.float().T
    if scale is not None:
        out *= torch.from_numpy(np.asarray(scale, np.float32))[None, :]
    return out.numpy()


def rescore_kernel(dim: int) -> str:
    """How float16 rows are scored: ``float16`` products or ``float32`` after converting them,
    whichever is faster on this machine (timed once on 16 query tokens x 8192 rows)."""
    return fastest_kernel(
        f"re-score of float16 rows (x {dim})",
        16,
        dim,
        8192,
        b_dtype=torch.float16,
        allowed=("float32", "float16"),
        prepare_once=False,
    )
