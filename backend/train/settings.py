"""Everything a fine-tuning run is told, in one typed object that is also its command line.

The same fields are the flags of ``python -m backend.train.train`` (and of ``python -m backend
train``), so a job started from the app is the command a person could type. Settings left unset
take the backbone's defaults: for MiniLM on a CPU a small LoRA and a larger learning rate, for
CLaMR the paper's (r = alpha = 128, lr 1e-5, one epoch, batch 4 per device).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal

Backbone = Literal["default", "clamr"]


def _flag(help: str, type: type | None = None, choices: list[str] | None = None) -> dict:
    """A field's command-line flag: its help, value type and choices."""
    return {"help": help, "type": type, "choices": choices}


@dataclass(frozen=True)
class TrainSettings:
    store: str = field(
        default="", metadata=_flag("store folder whose videos and labels are trained on", str)
    )
    output: str | None = field(
        default=None,
        metadata=_flag(
            "folder for the adapter, checkpoints and progress (default: STORE/training/RUN)", str
        ),
    )
    encoder: Backbone = field(
        default="default", metadata=_flag("which encoder to fine-tune", str, ["default", "clamr"])
    )
    model: str | None = field(default=None, metadata=_flag("clamr: base model name or folder", str))
    adapter: str | None = field(
        default=None,
        metadata=_flag(
            "start from this LoRA adapter ('none': a fresh one; default: the store's active)", str
        ),
    )
    load_in_4bit: bool = field(
        default=False, metadata=_flag("clamr: 4-bit NF4 base weights (QLoRA, CUDA only)")
    )
    epochs: int | None = field(
        default=None, metadata=_flag("passes over the training queries", int)
    )
    lr: float | None = field(default=None, metadata=_flag("peak learning rate", float))
    rank: int | None = field(default=None, metadata=_flag("LoRA rank r", int))
    alpha: int | None = field(
        default=None, metadata=_flag("LoRA alpha (default: the rank, as CLaMR)", int)
    )
    dropout: float = field(default=0.1, metadata=_flag("LoRA dropout", float))
    loss: str = field(
        default="contrastive",
        metadata=_flag(
            "CLaMR loss",
            str,
            ["contrastive", "contrastive_hard_positive", "contrastive_hard_negative", "pairwise"],
        ),
    )
    aggregation: str = field(
        default="modality_max",
        metadata=_flag("late-interaction score", str, ["modality_max", "token_max"]),
    )
    temperature: float | None = field(
        default=None, metadata=_flag("InfoNCE temperature (CLaMR: 0.02)", float)
    )
    synthetic: int = field(
        default=200, metadata=_flag("at most this many synthetic queries (0: labels only)", int)
    )
    no_labels: bool = field(default=False, metadata=_flag("ignore the store's relevance labels"))
    heldout: float = field(
        default=0.2, metadata=_flag("share of queries held out for the before/after metrics", float)
    )
    seed: int = field(
        default=0, metadata=_flag("seed for queries, split, batches and LoRA init", int)
    )
    batch_size: int | None = field(
        default=None, metadata=_flag("queries per step (distinct videos)", int)
    )
    warmup_ratio: float = field(
        default=0.1, metadata=_flag("share of steps with a rising learning rate", float)
    )
    weight_decay: float = field(default=0.01, metadata=_flag("AdamW weight decay", float))
    max_grad_norm: float = field(default=1.0, metadata=_flag("gradient clipping", float))
    max_steps: int | None = field(default=None, metadata=_flag("stop after this many steps", int))
    save_every: int = field(
        default=0, metadata=_flag("checkpoint every N steps (0: at the end of each epoch)", int)
    )
    optimizer: str = field(
        default="auto",
        metadata=_flag(
            "auto: paged 8-bit AdamW for 4-bit CLaMR, AdamW otherwise",
            str,
            ["auto", "adamw", "paged_adamw_8bit"],
        ),
    )
    gradient_checkpointing: bool = field(
        default=False, metadata=_flag("clamr: trade compute for GPU memory")
    )
    device: str = field(default="auto", metadata=_flag("auto, cpu or cuda", str))

    def resolved(self) -> TrainSettings:
        """Unset values filled with the backbone's defaults."""
        defaults = BACKBONE_DEFAULTS[self.encoder]
        filled = {k: v for k, v in defaults.items() if getattr(self, k) is None}
        settings = replace(self, **filled)
        if settings.alpha is None:
            settings = replace(settings, alpha=settings.rank)
        return settings

    def to_argv(self) -> list[str]:
        """The flags that give back these settings (unset and false ones left out)."""
        argv: list[str] = []
        for f in fields(self):
            value = getattr(self, f.name)
            flag = "--" + f.name.replace("_", "-")
            if isinstance(value, bool):
                argv += [flag] if value else []
            elif value is not None:
                argv += [flag, str(value)]
        return argv

    @classmethod
    def from_namespace(cls, namespace: argparse.Namespace) -> TrainSettings:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in vars(namespace).items() if k in known})


#: Defaults per backbone. CLaMR's are its README's training command (8 GPUs x batch 4).
BACKBONE_DEFAULTS: dict[str, dict[str, Any]] = {
    "default": {"epochs": 4, "lr": 3e-4, "rank": 16, "batch_size": 8, "temperature": 0.05},
    "clamr": {"epochs": 1, "lr": 1e-5, "rank": 128, "batch_size": 4, "temperature": 0.02},
}


def add_arguments(parser: argparse.ArgumentParser, skip: Iterable[str] = ()) -> None:
    """One flag per field (``--batch-size`` for ``batch_size``), except those in ``skip``."""
    skipped = set(skip)
    for f in fields(TrainSettings):
        if f.name in skipped:
            continue
        flag = "--" + f.name.replace("_", "-")
        help_text = f.metadata["help"]
        if f.type in ("bool", bool):
            parser.add_argument(flag, action="store_true", help=help_text)
        else:
            parser.add_argument(
                flag,
                type=f.metadata["type"],
                default=f.default,
                choices=f.metadata["choices"],
                help=help_text,
                required=f.name == "store",
            )
