"""The fine-tuning loop: data from the store, LoRA on the backbone, CLaMR's loss, accelerate.

One run: build the examples (labels + synthetic queries, held-out split), measure the held-out
queries, train for the planned steps (in-batch negatives, hard negatives pulled into the batch,
linear warm-up and decay as transformers' Trainer, which CLaMR uses), save checkpoints and the
adapter, measure again. A stop request (the job's SIGTERM) ends it after the current step, with
the adapter saved. The store is only read.
"""

from __future__ import annotations

import math
import shutil
import threading
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch
from accelerate import Accelerator
from accelerate.utils import set_seed
from transformers import get_linear_schedule_with_warmup

from backend.encoders.base import Modality
from backend.store.video_store import VideoStore
from backend.train.backbones import Backbone, build_backbone
from backend.train.batches import training_batches
from backend.train.data import TrainExample, TrainingData, build_training_data
from backend.train.heldout import evaluate_heldout
from backend.train.losses import clamr_loss
from backend.train.optimizers import TrainError, make_optimizer
from backend.train.progress import ProgressWriter
from backend.train.settings import TrainSettings
from backend.train.synthetic import QUERY_TYPES
from backend.train.videos import TrainingVideos

KEEP_CHECKPOINTS = 2
FIXED_LOSS_BATCHES = 16  # training batches whose loss is measured before and after


@dataclass
class TrainOutcome:
    status: str  # "completed" or "cancelled"
    settings: TrainSettings
    adapter: Path | None
    # {"before" | "after": {"all" | "label" | "synthetic": {"R@1": ..., "nDCG@10": ...}}}
    metrics: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    steps_done: int = 0
    total_steps: int = 0
    losses: list[tuple[int, float]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    backbone: Backbone | None = None  # the trained model (in-process callers, tests)


def _query_types(batch: list[TrainExample], device: torch.device) -> torch.Tensor:
    ids = [int(QUERY_TYPES[e.query_type]) if e.query_type else int(Modality.PAD) for e in batch]
    return torch.tensor(ids, dtype=torch.long, device=device)


def _batch_loss(backbone: Backbone, videos, batch: list[TrainExample], settings) -> torch.Tensor:
    """CLaMR's loss of one batch: query ``i``'s positive is video ``i``, the rest negatives."""
    vectors = backbone.encode_batch([e.query for e in batch], [videos[e.video_id] for e in batch])
    return clamr_loss(
        settings.loss,
        vectors.query,
        vectors.query_mask,
        vectors.docs,
        vectors.doc_modalities,
        _query_types(batch, vectors.docs.device),
        settings.aggregation,
        settings.temperature,
    )


@torch.no_grad()
def _fixed_loss(backbone: Backbone, videos, batches: list[list[TrainExample]], settings) -> float:
    """Mean loss over fixed training batches, without dropout: comparable before and after."""
    backbone.peft.eval()
    try:
        losses = [float(_batch_loss(backbone, videos, b, settings)) for b in batches]
    finally:
        backbone.peft.train()
    return sum(losses) / len(losses)


def _save_checkpoint(backbone: Backbone, folder: Path, state: dict) -> Path:
    import json

    backbone.save_adapter(folder)
    (folder / "trainer_state.json").write_text(json.dumps(state, indent=2))
    older = sorted(folder.parent.glob("step-*"), key=lambda p: int(p.name.split("-")[1]))
    for stale in older[:-KEEP_CHECKPOINTS]:
        shutil.rmtree(stale, ignore_errors=True)
    return folder


def _evaluate(backbone: Backbone, videos, data: TrainingData, aggregation: str) -> dict:
    """Held-out metrics, over all held-out queries and per source (labels, synthetic)."""
    backbone.peft.eval()
    try:
        groups = {"all": data.heldout_relevance()}
        groups.update({s: data.heldout_relevance(s) for s in ("label", "synthetic")})
        groups["judged"] = data.judged  # the judged query set, graded (empty: left out)
        return evaluate_heldout(backbone.as_encoder(), videos, groups, aggregation)
    finally:
        backbone.peft.train()


def _prepare(settings: TrainSettings, accelerator: Accelerator) -> TrainSettings:
    settings = settings.resolved()
    if settings.device == "auto" and torch.cuda.is_available():
        settings = replace(settings, device=f"cuda:{accelerator.local_process_index}")
    return settings


def _plan(
    settings: TrainSettings, data: TrainingData, backbone: Backbone, accelerator: Accelerator
) -> tuple[list[list[list[TrainExample]]], list[tuple[int, list[TrainExample]]]]:
    """All epochs' batches, and this process's steps as (epoch, batch)."""
    train = [e for e in data.train if backbone.can_encode(data.videos[e.video_id])]
    epochs = training_batches(train, settings.batch_size, settings.epochs, settings.seed)
    shard = slice(accelerator.process_index, None, accelerator.num_processes)
    plan = [(epoch, batch) for epoch, batches in enumerate(epochs) for batch in batches[shard]]
    if settings.max_steps is not None:
        plan = plan[: settings.max_steps]
    if not plan:
        raise TrainError(
            f"nothing to train on in {settings.store}: {data.counts}. Label some search results "
            "(relevant or not) or allow synthetic queries (--synthetic N), on at least two "
            "videos with speech, screen text, image tags or a description."
        )
    return epochs, plan


def _measure(backbone, videos, data, probe, settings, outcome, stage, log) -> None:
    outcome.metrics[stage] = _evaluate(backbone, videos, data, settings.aggregation)
    outcome.metrics[stage]["train"] = {"loss": _fixed_loss(backbone, videos, probe, settings)}
    if log:
        log.write("metrics", stage=stage, metrics=outcome.metrics[stage])


def _train_steps(backbone, videos, plan, settings, accelerator, output, outcome, log, stop):
    """The optimisation itself; stops early (status "cancelled") when ``stop`` is set."""
    params = backbone.trainable_parameters()
    optimizer = make_optimizer(params, settings, backbone.device)
    warmup = math.ceil(len(plan) * settings.warmup_ratio)
    scheduler = get_linear_schedule_with_warmup(optimizer, warmup, len(plan))
    backbone.module, optimizer, scheduler = accelerator.prepare(backbone.peft, optimizer, scheduler)
    started = time.perf_counter()
    for step, (epoch, batch) in enumerate(plan, start=1):
        if stop.is_set():
            outcome.status = "cancelled"
            return
        loss = _batch_loss(backbone, videos, batch, settings)
        accelerator.backward(loss)
        accelerator.clip_grad_norm_(params, settings.max_grad_norm)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
        outcome.steps_done = step
        outcome.losses.append((step, float(loss.detach())))
        elapsed = time.perf_counter() - started
        if log:
            log.write(
                "step",
                step=step,
                total_steps=len(plan),
                epoch=epoch,
                loss=round(outcome.losses[-1][1], 6),
                lr=scheduler.get_last_lr()[0],
                elapsed_s=round(elapsed, 2),
                eta_s=round(elapsed / step * (len(plan) - step), 1),
            )
        epoch_ends = step == len(plan) or plan[step][0] != epoch
        due = step % settings.save_every == 0 if settings.save_every else epoch_ends
        if accelerator.is_main_process and due and step != len(plan):  # the last: the adapter
            state = {"step": step, "epoch": epoch, "loss": outcome.losses[-1][1]}
            folder = _save_checkpoint(backbone, output / "checkpoints" / f"step-{step}", state)
            if log:
                log.write("checkpoint", step=step, path=str(folder))


def run_training(
    settings: TrainSettings,
    output: Path,
    progress: ProgressWriter | None = None,
    stop: threading.Event | None = None,
) -> TrainOutcome:
    """Train as ``settings`` say, writing into ``output``; see the module docstring."""
    accelerator = Accelerator(cpu=settings.device == "cpu")
    settings = _prepare(settings, accelerator)
    main = accelerator.is_main_process
    log = progress if (progress is not None and main and progress.enabled) else None
    stop = stop or threading.Event()
    set_seed(settings.seed)
    store = VideoStore.open(settings.store)
    data = build_training_data(
        store, settings.synthetic, not settings.no_labels, settings.heldout, settings.seed
    )
    backbone = build_backbone(settings)
    videos = TrainingVideos(store, data.videos, backbone)
    epochs, plan = _plan(settings, data, backbone, accelerator)
    outcome = TrainOutcome("completed", settings, None, counts={**data.counts, "steps": len(plan)})
    outcome.total_steps = len(plan)
    if log:
        log.write(
            "start",
            total_steps=len(plan),
            counts=outcome.counts,
            settings=asdict(settings),
            skipped_labels=data.skipped_labels,
        )
    probe = epochs[0][:FIXED_LOSS_BATCHES]  # the same batches measured before and after
    if main:
        _measure(backbone, videos, data, probe, settings, outcome, "before", log)
    _train_steps(backbone, videos, plan, settings, accelerator, output, outcome, log, stop)
    accelerator.wait_for_everyone()
    if main:
        outcome.adapter = backbone.save_adapter(output / "adapter")
        if outcome.status == "completed":
            _measure(backbone, videos, data, probe, settings, outcome, "after", log)
    outcome.backbone = backbone
    return outcome
