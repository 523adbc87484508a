"""Which kernel takes a CPU matrix product fastest on this machine: measured once, never assumed.

Reduced precision is fast only where the CPU multiplies it natively (Intel AMX, AVX512-FP16);
elsewhere torch falls back to slow loops. Measured with torch 2.13: one 16,384 x 128 by
128 x 4,096 block takes 0.75 s in float32 and 33 s in bfloat16 on a 2-core AVX2 EPYC; on a
2-core Zen 4 EPYC (AVX-512 with BF16) bfloat16 is no faster than float32 and float16 is 10-60x
slower. Which float32 BLAS wins varies too (numpy's OpenBLAS reached 86 GFLOP/s there, torch's
MKL 55). So a module that multiplies names the kernels it can accept, and
:func:`fastest_kernel` times each on a block of that product's shape, once per process, and
keeps the fastest; ``float32`` (torch) is the reference, and another kernel is kept only when
it is clearly faster (:data:`MARGIN`), so a noisy timing cannot pick a slower path.

>>> a, b = torch.eye(2, 3), torch.ones(4, 3)
>>> [tuple(KERNELS[name].product(a, b).shape) for name in KERNELS]
[(2, 4), (2, 4), (2, 4), (2, 4)]
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import torch

log = logging.getLogger(__name__)

REFERENCE = "float32"
#: Another kernel must take at most this share of the reference's time to be chosen.
MARGIN = 0.8
#: Timings per kernel, interleaved, best kept, so one busy moment decides nothing: at least 5,
#: and for short products as many as fill :data:`_BUDGET_S` of the reference's time (up to 50).
_ROUNDS = (5, 50)
_BUDGET_S = 0.2
#: A kernel this many times slower than the reference after one run, then two, is dropped
#: (the first run includes one-time set-up: library load, JIT).
_GIVE_UP = (10.0, 3.0)


@dataclass(frozen=True)
class Kernel:
    """``a (m, D) @ b (n, D).T`` in one way: ``prepare`` converts ``b`` (once, when it is reused
    over many ``a``), ``multiply`` takes the product, a ``(m, n)`` torch tensor or numpy array
    (bfloat16 or float16 for those kernels: take ``.float()`` where the values matter)."""

    name: str
    prepare: Callable[[torch.Tensor], object]
    multiply: Callable[[torch.Tensor, object], torch.Tensor | np.ndarray]

    def product(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return torch.as_tensor(self.multiply(a, self.prepare(b)))

    def best_columns(self, a: torch.Tensor, prepared: object) -> np.ndarray:
        """``(m,)`` the column of each row's largest product, by the library that multiplied:
        torch's threaded argmax costs more than it saves on a busy CPU after numpy's product
        (measured 27 against 49 GFLOP per CPU-second on 2 shared cores)."""
        out = self.multiply(a, prepared)
        return out.argmax(axis=1) if isinstance(out, np.ndarray) else out.argmax(dim=1).numpy()


def _torch_in(dtype: torch.dtype) -> Kernel:
    name = str(dtype).removeprefix("torch.")
    return Kernel(name, lambda b: b.to(dtype).T, lambda a, bt: a.to(dtype) @ bt)


def _openblas_multiply(a: torch.Tensor, bt: np.ndarray) -> np.ndarray:
    return a.float().numpy() @ bt


KERNELS: dict[str, Kernel] = {
    "float32": _torch_in(torch.float32),
    # numpy's own BLAS (OpenBLAS in its wheels): faster than torch's MKL on some AMD CPUs
    "float32-numpy": Kernel(
        "float32-numpy", lambda b: np.ascontiguousarray(b.float().numpy().T), _openblas_multiply
    ),
    "bfloat16": _torch_in(torch.bfloat16),
    "float16": _torch_in(torch.float16),
}


@dataclass(frozen=True)
class Measurement:
    chosen: str
    milliseconds: dict[str, float]  # best time per kernel tried (slow ones: of two runs)


_measured: dict[str, Measurement] = {}


def fastest_kernel(
    use: str,
    rows: int,
    inner: int,
    cols: int,
    b_dtype: torch.dtype = torch.float32,
    allowed: tuple[str, ...] = tuple(KERNELS),
    prepare_once: bool = True,
    best_columns: bool = False,
) -> str:
    """The name of the fastest allowed kernel for ``(rows, inner) @ (cols, inner).T``.

    ``b_dtype`` is how the right operand is stored; ``prepare_once`` says whether it is
    converted once and reused (k-means centroids) or arrives new with each product (stored
    rows a query is scored against), which decides whether its conversion is timed;
    ``best_columns`` times :meth:`Kernel.best_columns` (what k-means does) instead of the bare
    product. Measured on random data once per process and arguments (``use`` names it in the
    log and in :func:`measurements`); float32 unless another kernel takes under :data:`MARGIN`
    of its time. Chosen again under another torch thread count (a search multiplies on one
    thread, an index build on all).
    """
    threads = torch.get_num_threads()
    key = (use, rows, inner, cols, b_dtype, allowed, prepare_once, best_columns)
    return _fastest(*key, threads)


@functools.cache
def _fastest(
    use: str,
    rows: int,
    inner: int,
    cols: int,
    b_dtype: torch.dtype,
    allowed: tuple[str, ...],
    prepare_once: bool,
    best_columns: bool,
    threads: int,
) -> str:
    generator = torch.Generator().manual_seed(0)
    a = torch.randn((rows, inner), generator=generator)
    b = torch.randn((cols, inner), generator=generator).to(b_dtype)
    names = [REFERENCE, *(n for n in allowed if n != REFERENCE)]
    best = dict.fromkeys(names, float("inf"))
    spent = 0.0  # by the reference
    for round_ in range(_ROUNDS[1]):
        if round_ >= _ROUNDS[0] and spent >= _BUDGET_S:
            break
        if round_ in (1, 2):
            limit = _GIVE_UP[round_ - 1] * best[REFERENCE]
            names = [n for n in names if best[n] <= limit]
        for name in names:
            seconds = _time_once(KERNELS[name], a, b, prepare_once, best_columns)
            best[name] = min(best[name], seconds)
            spent += seconds if name == REFERENCE else 0.0
    faster = [n for n in names if best[n] < MARGIN * best[REFERENCE]]
    choice = min(faster, key=best.__getitem__) if faster else REFERENCE
    timings = {n: round(t * 1000, 3) for n, t in best.items()}
    _measured[f"{use}, {threads} thread{'s' if threads != 1 else ''}"] = Measurement(
        choice, timings
    )
    log.info("%s, %d thread(s): %s kernel (best ms: %s)", use, threads, choice, timings)
    return choice


def _time_once(
    kernel: Kernel, a: torch.Tensor, b: torch.Tensor, prepare_once: bool, best_columns: bool
) -> float:
    prepared = kernel.prepare(b) if prepare_once else None
    start = time.perf_counter()
    if not prepare_once:
        prepared = kernel.prepare(b)
    (kernel.best_columns if best_columns else kernel.multiply)(a, prepared)
    return time.perf_counter() - start


def measurements() -> dict[str, dict]:
    """What this process measured so far: per use, the chosen kernel and the best time of each
    (for a benchmark's report of what it ran on)."""
    return {use: asdict(m) for use, m in _measured.items()}
