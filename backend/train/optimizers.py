"""The optimizer a run uses: AdamW, or bitsandbytes' paged 8-bit AdamW for 4-bit CLaMR.

Apart from the loop so that what needs no store (the GPU benchmarks, the gpu tests) can build
the same optimizer without importing the store.
"""

from __future__ import annotations

import torch

from backend.train.settings import TrainSettings


class TrainError(RuntimeError):
    """A run that cannot start or go on; the message says what to do."""


def make_optimizer(params: list, settings: TrainSettings, device: torch.device):
    """AdamW, or bitsandbytes' paged 8-bit AdamW (CLaMR's optim) for 4-bit models on a GPU."""
    kind = settings.optimizer
    if kind == "auto":
        kind = "paged_adamw_8bit" if settings.load_in_4bit else "adamw"
    if kind == "paged_adamw_8bit":
        if device.type != "cuda":
            raise TrainError(
                "paged 8-bit AdamW (bitsandbytes) needs a CUDA GPU; use --optimizer adamw on a CPU"
            )
        import bitsandbytes as bnb

        return bnb.optim.PagedAdamW8bit(params, lr=settings.lr, weight_decay=settings.weight_decay)
    return torch.optim.AdamW(params, lr=settings.lr, weight_decay=settings.weight_decay)
