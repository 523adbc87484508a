"""CLaMR fine-tuning on a GPU: a few LoRA steps in bf16, then in 4-bit NF4 with paged 8-bit AdamW.

    python -m bench.train_gpu                      # tiny random ColQwen2.5 (the training path)
    python -m bench.train_gpu --model Qwen/Qwen2.5-VL-3B-Instruct --steps 20 --checkpointing

Each precision runs the training path of ``backend.train`` (``ClamrBackbone``: LoRA r = alpha =
128 on CLaMR's target modules, CLaMR's contrastive loss with modality_max) for ``--steps`` steps
on batches of four corpus videos (frames decoded with PyAV, one a second, at most ten; the file
name as description; the query a piece of it), saves the adapter, loads it back through the
CLaMR encoder and compares vectors. Prints one JSON line per precision: seconds per step, peak GPU
memory, first and last loss, and the largest difference between the trained model's vectors and
the reloaded adapter's. Refuses to run without CUDA: bf16 timings, 4-bit weights and paged
optimizers all need a GPU, and CPU numbers would say nothing about one.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from backend.config import EncoderSettings
from backend.encoders import build_encoder
from backend.encoders.base import Modality
from backend.encoders.clamr.tiny import save_tiny_checkpoint
from backend.ingest.types import IngestedVideo
from backend.train.losses import clamr_loss
from backend.train.settings import TrainSettings
from bench.clamr_gpu import DATA, corpus_videos

BATCH = 4


def _query(video: IngestedVideo) -> str:
    words = video.description.split()
    return " ".join(words[: max(1, len(words) // 2 + 1)])


def run(settings: TrainSettings, videos: list[IngestedVideo], steps: int, folder: Path) -> dict:
    from backend.train.backbones.clamr import ClamrBackbone
    from backend.train.loop import make_optimizer

    torch.manual_seed(0)
    backbone = ClamrBackbone(settings)
    optimizer = make_optimizer(backbone.trainable_parameters(), settings, backbone.device)
    types = torch.full((BATCH,), int(Modality.DESCRIPTION), device=backbone.device)
    losses, times = [], []
    torch.cuda.reset_peak_memory_stats()
    for step in range(steps):
        batch = [videos[(step * BATCH + i) % len(videos)] for i in range(BATCH)]
        torch.cuda.synchronize()
        start = time.perf_counter()
        vectors = backbone.encode_batch([_query(v) for v in batch], batch)
        loss = clamr_loss(
            settings.loss,
            vectors.query,
            vectors.query_mask,
            vectors.docs,
            vectors.doc_modalities,
            types,
            settings.aggregation,
            settings.temperature,
        )
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
        losses.append(float(loss.detach()))
    peak = torch.cuda.max_memory_allocated() / 2**20
    adapter = backbone.save_adapter(folder / ("adapter-4bit" if settings.load_in_4bit else "bf16"))
    trained = backbone.as_encoder()
    reloaded = build_encoder(
        EncoderSettings(
            name="clamr",
            model=settings.model,
            adapter=str(adapter),
            device="cuda",
            load_in_4bit=settings.load_in_4bit,
        )
    )
    sample = videos[:2]
    diffs = [
        float(np.abs(a.vectors - b.vectors).max())
        for a, b in zip(trained.encode_videos(sample), reloaded.encode_videos(sample))
    ]
    return {
        "precision": "4-bit NF4 + paged AdamW 8-bit" if settings.load_in_4bit else "bf16 + AdamW",
        "steps": steps,
        "s_per_step": round(float(np.median(times[1:] or times)), 3),
        "first_loss": round(losses[0], 4),
        "last_loss": round(losses[-1], 4),
        "peak_gpu_mib": round(peak, 1),
        "trainable_params": sum(p.numel() for p in backbone.trainable_parameters()),
        "reload_max_abs_diff": max(diffs),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--model", help="base model name or folder (default: tiny random CLaMR)")
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--checkpointing", action="store_true", help="gradient checkpointing")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print(
            "bench.train_gpu needs a CUDA GPU (bf16 training, bitsandbytes 4-bit and paged "
            "8-bit AdamW); none found. On a CPU, tests/train runs the same path in float32.",
            file=sys.stderr,
        )
        return 2
    videos = [v for v in corpus_videos(args.data) if v.description]
    print(f"{len(videos)} videos decoded; GPU: {torch.cuda.get_device_name()}")
    with tempfile.TemporaryDirectory() as tmp:
        model = args.model or str(save_tiny_checkpoint(Path(tmp) / "tiny-clamr"))
        for four_bit in (False, True):
            settings = TrainSettings(
                encoder="clamr",
                model=model,
                adapter="none",  # a fresh LoRA, as the paper trains it
                device="cuda",
                load_in_4bit=four_bit,
                optimizer="paged_adamw_8bit" if four_bit else "adamw",
                gradient_checkpointing=args.checkpointing,
            ).resolved()
            print(json.dumps(run(settings, videos, args.steps, Path(tmp))), flush=True)
            gc.collect()
            torch.cuda.empty_cache()
    return 0


if __name__ == "__main__":
    sys.exit(main())
