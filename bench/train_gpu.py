"""CLaMR fine-tuning on a GPU at the paper's settings: LoRA steps in bf16 and in 4-bit NF4.

    python -m bench.train_gpu --random-full-size --checkpointing   # Qwen2.5-VL-3B's shapes
    python -m bench.train_gpu                                      # tiny random ColQwen2.5
    python -m bench.train_gpu --model Qwen/Qwen2.5-VL-3B-Instruct --steps 20 --checkpointing

Each precision runs ``backend.train``'s CLaMR path (``ClamrBackbone``: LoRA r = alpha = 128,
dropout 0.1 on CLaMR's target modules, lr 1e-5, CLaMR's contrastive loss with modality_max at
temperature 0.02; AdamW in bf16, paged 8-bit AdamW in 4-bit) for ``--steps`` steps on batches of
four videos (``--input``: CLaMR-sized synthetic videos, or the shared corpus; a query is a piece
of the video's description). Then it saves the adapter, loads it back through the CLaMR encoder
as search would, and compares: the largest vector difference, and whether the trained model and
the reloaded adapter rank the same queries over the same videos identically (modality_max, as
search ranks). One JSON line per precision: seconds per step (median after the first), peak GPU
memory, first and last loss, LoRA parameters. Refuses to run without CUDA.
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

from backend.bench.machine import machine_info, machine_line
from backend.config import EncoderSettings
from backend.encoders import build_encoder
from backend.encoders.base import Encoder, Modality, TokenVectors
from backend.encoders.clamr.tiny import save_tiny_checkpoint
from backend.ingest.types import IngestedVideo
from backend.search.maxsim import maxsim_per_modality, modality_max
from backend.train.losses import clamr_loss
from backend.train.settings import TrainSettings
from bench.clamr_inputs import DATA, bench_videos

BATCH = 4
RANKED_VIDEOS = 16


def _query(video: IngestedVideo) -> str:
    words = video.description.split()
    return " ".join(words[: max(1, len(words) // 2 + 1)])


def _pack(tokens: list[TokenVectors]):
    vectors = torch.from_numpy(np.concatenate([t.vectors for t in tokens]))
    owner = torch.from_numpy(np.repeat(np.arange(len(tokens)), [len(t) for t in tokens]))
    modality = torch.from_numpy(np.concatenate([t.modalities for t in tokens]).astype(np.int64))
    return vectors, owner, modality


def rankings(encoder: Encoder, videos: list[IngestedVideo], queries: list[str]):
    """Per query, the videos' modality_max scores (as search ranks them) and their order."""
    vectors, owner, modality = _pack(encoder.encode_videos(videos))
    out = []
    for query in encoder.encode_queries(queries):
        per_modality = maxsim_per_modality(
            torch.from_numpy(query.vectors), vectors, owner, modality, len(videos), len(Modality)
        )
        scores = modality_max(per_modality[:, 1:]).numpy()  # column 0: PAD, never scored
        out.append((scores, np.argsort(-scores, kind="stable")))
    return out


def compare(trained: Encoder, reloaded: Encoder, videos, queries) -> dict:
    sample = videos[:2]
    vector_diff = max(
        float(np.abs(a.vectors - b.vectors).max())
        for a, b in zip(trained.encode_videos(sample), reloaded.encode_videos(sample))
    )
    ranked_a, ranked_b = rankings(trained, videos, queries), rankings(reloaded, videos, queries)
    return {
        "reload_max_abs_diff": vector_diff,
        "reload_max_score_diff": max(
            float(np.abs(a[0] - b[0]).max()) for a, b in zip(ranked_a, ranked_b)
        ),
        "same_ranking": all(np.array_equal(a[1], b[1]) for a, b in zip(ranked_a, ranked_b)),
        "same_top1": all(a[1][0] == b[1][0] for a, b in zip(ranked_a, ranked_b)),
        "ranked": f"{len(queries)} queries x {len(videos)} videos",
    }


def run(settings: TrainSettings, videos: list[IngestedVideo], steps: int, folder: Path) -> dict:
    from backend.train.backbones.clamr import ClamrBackbone
    from backend.train.optimizers import make_optimizer

    torch.manual_seed(0)
    start = time.perf_counter()
    backbone = ClamrBackbone(settings)
    load_s = time.perf_counter() - start
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
    backbone.peft.eval()
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
    ranked = videos[:RANKED_VIDEOS]
    result = {
        "precision": "4-bit NF4 + paged AdamW 8-bit" if settings.load_in_4bit else "bf16 + AdamW",
        "steps": steps,
        "batch": BATCH,
        "gradient_checkpointing": settings.gradient_checkpointing,
        "load_s": round(load_s, 1),
        "s_per_step": round(float(np.median(times[1:] or times)), 3),
        "first_loss": round(losses[0], 4),
        "last_loss": round(losses[-1], 4),
        "peak_gpu_mib": round(peak, 1),
        "trainable_params": sum(p.numel() for p in backbone.trainable_parameters()),
    }
    result.update(compare(trained, reloaded, ranked, [_query(v) for v in ranked]))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--input", choices=["synthetic", "corpus"], default="synthetic")
    parser.add_argument("--videos", type=int, default=24, help="synthetic videos")
    parser.add_argument("--model", help="base model name or folder (default: tiny random CLaMR)")
    parser.add_argument("--random-full-size", action="store_true", help="Qwen2.5-VL-3B's shapes")
    parser.add_argument("--full-size-dir", type=Path, help="keep the random 3B checkpoint here")
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--checkpointing", action="store_true", help="gradient checkpointing")
    parser.add_argument("--precision", action="append", choices=["bf16", "4bit"])
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        print(
            "bench.train_gpu needs a CUDA GPU (bf16 training, bitsandbytes 4-bit and paged "
            "8-bit AdamW); none found. On a CPU, tests/train runs the same path in float32.",
            file=sys.stderr,
        )
        return 2
    videos = [v for v in bench_videos(args.input, args.videos, args.data) if v.description]
    print(machine_line(machine_info("cuda")))
    print(f"{len(videos)} {args.input} videos", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        if args.random_full_size:
            from backend.encoders.clamr.full_size import save_random_full_size

            model = str(save_random_full_size(args.full_size_dir or Path(tmp) / "random-3b"))
        else:
            model = args.model or str(save_tiny_checkpoint(Path(tmp) / "tiny-clamr"))
        for name in args.precision or ["bf16", "4bit"]:
            four_bit = name == "4bit"
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
