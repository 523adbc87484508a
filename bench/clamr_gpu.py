"""CLaMR encoder throughput on a GPU, per precision and batch size, with the share of peak FLOP/s.

    python -m bench.clamr_gpu --random-full-size          # Qwen2.5-VL-3B's shapes, random weights
    python -m bench.clamr_gpu                             # tiny random CLaMR (plumbing only)
    python -m bench.clamr_gpu --model Qwen/Qwen2.5-VL-3B-Instruct --adapter meetdavidwan/clamr

Input (``--input``): ``synthetic`` is CLaMR's input size (ten frames, ASR, OCR and description
text; :mod:`bench.clamr_inputs`), ``corpus`` the shared corpus's frames with file names as text.
For each precision (bf16, 4-bit NF4) and batch size it prints one JSON line:

- ``preprocess_s``: building every document on one CPU thread (resize, patches, tokens), and
  ``preprocess_pipelined_s`` with the encoder's worker threads (what overlaps the model);
- ``model_s``: the forward passes alone on batches already on the GPU (sorted by length), with
  ``tokens_per_s``, the FLOPs counted from the config (:mod:`backend.encoders.clamr.flops`) and
  ``peak_share``: that FLOP/s over the GPU's dense bf16 peak (:mod:`bench.gpu_peaks`);
- ``end_to_end_s`` / ``videos_per_s``: ``encode_videos`` as the indexer calls it (pipeline,
  length batches, vectors back on the CPU), and ``peak_gpu_mib``;
- with ``--compare-stock``, the same end to end with transformers' own vision attention and no
  pipeline (the path before this benchmark's changes), at the first batch size.

Refuses to run without CUDA: 4-bit needs bitsandbytes on a GPU, and CPU timings would say
nothing about one.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

from backend.bench.machine import machine_info, machine_line
from backend.config import EncoderSettings
from backend.encoders.clamr.encoder import ClamrEncoder
from backend.encoders.clamr.flops import sequence_flops
from backend.encoders.clamr.loading import build_encoder
from backend.encoders.clamr.pipeline import PipelineSettings, prepared_batches
from backend.encoders.clamr.processing_clamr import EncodedSequence
from backend.encoders.clamr.tiny import save_tiny_checkpoint
from backend.encoders.clamr.vision_attention import set_batched_windows
from backend.ingest.types import IngestedVideo
from bench.clamr_inputs import DATA, bench_videos, dev_queries
from bench.gpu_peaks import peak_bf16_tflops

PRECISIONS = {"bf16": False, "4bit": True}


def _synced() -> float:
    torch.cuda.synchronize()
    return time.perf_counter()


def preprocess_times(encoder: ClamrEncoder, videos: list[IngestedVideo], batch: int):
    """Every document built on one thread, then by the encoder's worker threads."""
    processor = encoder.processor
    start = time.perf_counter()
    sequences = [processor.encode_document(v) for v in videos]
    single = time.perf_counter() - start
    settings = PipelineSettings.for_device(torch.device("cuda"))
    start = time.perf_counter()
    for _ in prepared_batches(
        videos, processor.encode_document, processor.collate, batch, settings
    ):
        pass
    times = {
        "preprocess_s": round(single, 3),
        "preprocess_pipelined_s": round(time.perf_counter() - start, 3),
        "preprocess_workers": settings.workers,
        "tokens": sum(len(s) for s in sequences),
    }
    return times, sequences


def model_time(encoder: ClamrEncoder, sequences: list[EncodedSequence], batch: int) -> dict:
    """Forward passes alone, inputs already on the GPU (batched by length, as the encoder does)."""
    model, processor = encoder.model, encoder.processor
    sequences = sorted(sequences, key=len)
    batches = [
        {k: v.cuda() for k, v in processor.collate(sequences[i : i + batch]).inputs.items()}
        for i in range(0, len(sequences), batch)
    ]
    with torch.inference_mode():
        model(**batches[0])  # warm-up at this shape
        start = _synced()
        for inputs in batches:
            model(**inputs)
        seconds = _synced() - start
    flops = sum(sequence_flops(model.config, s) for s in sequences)
    padded = sum(int(b["input_ids"].numel()) for b in batches)
    real = sum(len(s) for s in sequences)
    return {
        "model_s": round(seconds, 3),
        "tokens_per_s": round(real / seconds),
        "padding_share": round(1 - real / padded, 3),
        "tflops_per_s": round(flops / seconds / 1e12, 2),
        "gflops_per_video": round(flops / len(sequences) / 1e9, 1),
    }


def end_to_end(encoder: ClamrEncoder, videos: list[IngestedVideo]) -> dict:
    encoder.encode_videos(videos[: max(2, encoder._batch_size)])  # warm-up: shapes, allocator
    torch.cuda.reset_peak_memory_stats()
    start = _synced()
    encoded = encoder.encode_videos(videos)
    seconds = _synced() - start
    return {
        "end_to_end_s": round(seconds, 3),
        "videos_per_s": round(len(videos) / seconds, 2),
        "kept_tokens_per_video": round(sum(len(e) for e in encoded) / len(videos), 1),
        "peak_gpu_mib": round(torch.cuda.max_memory_allocated() / 2**20, 1),
    }


def run_precision(
    model: str, adapter: str, four_bit: bool, videos, queries, batches, compare_stock
) -> list[dict]:
    settings = EncoderSettings(
        name="clamr", model=model, adapter=adapter, device="cuda", load_in_4bit=four_bit
    )
    start = time.perf_counter()
    loaded = build_encoder(settings)
    loaded.model  # noqa: B018  (loads now, so the load is not timed as encoding)
    load_s = time.perf_counter() - start
    peak = peak_bf16_tflops(torch.cuda.get_device_name())
    rows, sequences = [], None
    for number, batch in enumerate(batches):
        encoder = ClamrEncoder.from_model(loaded.model, loaded.processor, batch_size=batch)
        row = {"precision": "4-bit NF4" if four_bit else "bf16", "batch": batch}
        row["load_s"] = round(load_s, 1)
        if sequences is None:  # the same documents for every batch size
            preprocess, sequences = preprocess_times(encoder, videos, batch)
        row.update(preprocess)
        row.update(model_time(encoder, sequences, batch))
        row.update(end_to_end(encoder, videos))
        row["peak_share"] = round(row["tflops_per_s"] / peak, 4) if peak else None
        if queries:
            start = _synced()
            encoder.encode_queries(queries)
            row["queries_per_s"] = round(len(queries) / (_synced() - start), 1)
        if compare_stock and number == 0:
            set_batched_windows(loaded.model, False)
            stock = ClamrEncoder.from_model(
                loaded.model, loaded.processor, batch_size=batch, pipeline=PipelineSettings()
            )
            before = end_to_end(stock, videos)
            row["stock_videos_per_s"] = before["videos_per_s"]  # per-window attention, inline
            set_batched_windows(loaded.model, True)
        rows.append(row)
        print(json.dumps(row), flush=True)
    del loaded, encoder
    gc.collect()
    torch.cuda.empty_cache()
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--input", choices=["synthetic", "corpus"], default="synthetic")
    parser.add_argument("--videos", type=int, default=64, help="synthetic videos")
    parser.add_argument("--model", help="base model name or folder (default: tiny random CLaMR)")
    parser.add_argument("--adapter", default=None, help="LoRA adapter name or folder")
    parser.add_argument(
        "--random-full-size",
        action="store_true",
        help="Qwen2.5-VL-3B's architecture with random weights (written once to --full-size-dir)",
    )
    parser.add_argument("--full-size-dir", type=Path, help="keep the random 3B checkpoint here")
    parser.add_argument("--batch-size", type=int, action="append", help="repeatable (1 8 16 32)")
    parser.add_argument("--precision", action="append", choices=list(PRECISIONS))
    parser.add_argument("--compare-stock", action="store_true")
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        print(
            "bench.clamr_gpu needs a CUDA GPU (bf16 and bitsandbytes 4-bit); none found.",
            file=sys.stderr,
        )
        return 2
    videos = bench_videos(args.input, args.videos, args.data)
    queries = dev_queries(args.data) or [v.description for v in videos[:16]]
    print(machine_line(machine_info("cuda")))
    print(f"{len(videos)} {args.input} videos, {len(queries)} queries", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        if args.random_full_size:
            from backend.encoders.clamr.full_size import save_random_full_size

            start = time.perf_counter()
            model = str(save_random_full_size(args.full_size_dir or Path(tmp) / "random-3b"))
            print(f"random Qwen2.5-VL-3B checkpoint ready in {time.perf_counter() - start:.0f} s")
            adapter = "none"
        else:
            model = args.model or str(save_tiny_checkpoint(Path(tmp) / "tiny-clamr"))
            adapter = args.adapter if args.model else "none"
        for name in args.precision or list(PRECISIONS):
            run_precision(
                model,
                adapter,
                PRECISIONS[name],
                videos,
                queries,
                args.batch_size or [8, 16, 32],
                args.compare_stock,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
