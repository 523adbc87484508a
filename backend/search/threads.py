"""How many threads a search's small matrix products may use.

A search multiplies small matrices (16 x 4096 for the probe, 16 x 30k for the re-score); on a
busy machine, waking a second thread costs more than it saves (measured on 2 shared cores: the
probe 3.4 ms with two BLAS threads, 0.4 ms with one; a hit's matches 11 ms vs under 1 ms).
Both numpy's BLAS (via threadpoolctl, when installed) and torch's own pool are limited.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Iterator

import torch

_torch_lock = threading.Lock()


@functools.cache
def _threadpools():
    """The process's BLAS thread pools (found once: looking is not free), or None."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return None
    return ThreadpoolController()


@contextlib.contextmanager
def limited_threads(threads: int | None) -> Iterator[None]:
    """Run the block with at most ``threads`` BLAS and torch threads (None: unchanged)."""
    if threads is None:
        yield
        return
    controller = _threadpools()
    blas = (
        controller.limit(limits=threads, user_api="blas")
        if controller is not None
        else contextlib.nullcontext()
    )
    with blas, _torch_limit(threads):
        yield


@contextlib.contextmanager
def _torch_limit(threads: int) -> Iterator[None]:
    with _torch_lock:
        before = torch.get_num_threads()
        torch.set_num_threads(min(threads, before))
    try:
        yield
    finally:
        with _torch_lock:
            torch.set_num_threads(before)
