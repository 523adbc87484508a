"""Catch, on a CPU, the code that would break on a GPU: tensors made without a ``device``.

``torch.full((Q, N), -inf)`` inside a function whose inputs are on CUDA makes a CPU tensor, and
the next operation that mixes the two fails ("Expected all tensors to be on the same device").
On a CPU nothing shows, because everything is on the CPU. :class:`FactoryAudit` is a
``TorchFunctionMode`` that records every factory call (``torch.zeros``, ``full``, ``arange`` ...)
made *from the backend's own code* without a ``device=`` argument, with its file and line, so a
test can assert that a path creates no tensor that would stay behind on the CPU.

>>> import torch
>>> with FactoryAudit() as audit:
...     _ = torch.zeros(3)            # made here, in a doctest: not backend code, not recorded
>>> audit.calls
[]
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.overrides import TorchFunctionMode

BACKEND = Path(__file__).resolve().parents[1] / "backend"

#: Functions that make a new tensor on the default device unless told otherwise (``*_like`` and
#: ``new_*`` follow their input, so they are not here).
FACTORIES = frozenset(
    {
        torch.arange,
        torch.empty,
        torch.eye,
        torch.full,
        torch.linspace,
        torch.ones,
        torch.rand,
        torch.randint,
        torch.randn,
        torch.tensor,
        torch.zeros,
    }
)


@dataclass(frozen=True)
class FactoryCall:
    function: str
    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: torch.{self.function}(...) without device="


def _caller() -> tuple[str, int] | None:
    """The first frame outside torch and this module, if it is the backend's code."""
    frame = sys._getframe(2)
    while frame is not None:
        name = frame.f_code.co_filename
        if name != __file__ and f"{Path('torch')}/" not in name.replace("\\", "/"):
            path = Path(name).resolve()
            if BACKEND in path.parents:
                return str(path.relative_to(BACKEND.parent)), frame.f_lineno
            return None
        frame = frame.f_back
    return None


class FactoryAudit(TorchFunctionMode):
    """Records factory calls without ``device=`` made by code under ``backend/``."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[FactoryCall] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in FACTORIES and kwargs.get("device") is None:
            where = _caller()
            if where is not None:
                self.calls.append(FactoryCall(func.__name__, *where))
        return func(*args, **kwargs)
