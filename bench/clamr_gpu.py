"""CLaMR encoder throughput on a GPU: the corpus encoded in bf16 and in 4-bit NF4.

    python -m bench.clamr_gpu                       # tiny random CLaMR (architecture, no weights)
    python -m bench.clamr_gpu --model Qwen/Qwen2.5-VL-3B-Instruct --adapter meetdavidwan/clamr

Frames are decoded simply (one per second, at most ten, PyAV); each video's text is its file name
as description, with no ASR or OCR, so the numbers measure the encoder, not ingest. Prints videos/s,
tokens/s (real tokens, padding excluded) and peak GPU memory per precision. Refuses to run
without CUDA: 4-bit needs bitsandbytes on a GPU, and CPU timings would say nothing about one.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import tempfile
import time
from pathlib import Path

import av
import torch

from backend.config import EncoderSettings
from backend.encoders.clamr.loading import build_encoder
from backend.encoders.clamr.tiny import save_tiny_checkpoint
from backend.ingest.types import Frame, IngestedVideo, VideoProbe

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def corpus_videos(data: Path) -> list[IngestedVideo]:
    """The corpus videos listed in ``corpus_files.txt`` that decode (up to 10 frames each)."""
    lines = (data / "corpus_files.txt").read_text().splitlines()
    decoded = (decode(data / line.strip()) for line in lines if line.strip())
    return [video for video in decoded if video is not None]


def decode(path: Path, every_s: float = 1.0, limit: int = 10) -> IngestedVideo | None:
    frames: list[Frame] = []
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                return None
            next_time = 0.0
            for decoded in container.decode(container.streams.video[0]):
                time_s = float(decoded.time or 0.0)
                if time_s + 1e-6 >= next_time:
                    frames.append(Frame(time_s, decoded.to_ndarray(format="rgb24"), not frames))
                    next_time = time_s + every_s
                if len(frames) == limit:
                    break
    except (av.error.FFmpegError, ValueError) as error:
        print(f"skipped {path.name}: {error}", file=sys.stderr)
        return None
    if not frames:
        return None
    height, width = frames[0].image.shape[:2]
    probe = VideoProbe(
        path,
        path.stem,
        path.stat().st_size,
        path.suffix[1:],
        None,
        None,
        width,
        height,
        0,
        True,
        False,
    )
    return IngestedVideo(probe, frames, description=path.stem.replace("_", " "))


def run(settings: EncoderSettings, videos: list[IngestedVideo], queries: list[str]) -> dict:
    encoder = build_encoder(settings)
    encoder.encode_videos(videos[:2])  # load and warm up
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    encoded = encoder.encode_videos(videos)
    torch.cuda.synchronize()
    video_s = time.perf_counter() - start
    tokens = sum(len(encoder.processor.encode_document(v)) for v in videos)
    start = time.perf_counter()
    encoder.encode_queries(queries)
    torch.cuda.synchronize()
    query_s = time.perf_counter() - start
    return {
        "precision": "4-bit NF4" if settings.load_in_4bit else "bf16",
        "videos": len(videos),
        "videos_per_s": round(len(videos) / video_s, 2),
        "tokens_per_s": round(tokens / video_s),
        "kept_tokens_per_video": round(sum(len(e) for e in encoded) / len(videos), 1),
        "queries_per_s": round(len(queries) / query_s, 1),
        "peak_gpu_mib": round(torch.cuda.max_memory_allocated() / 2**20, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--model", help="base model name or folder (default: tiny random CLaMR)")
    parser.add_argument("--adapter", default=None, help="LoRA adapter name or folder")
    parser.add_argument("--batch-size", type=int, default=8)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print(
            "bench.clamr_gpu needs a CUDA GPU (bf16 and bitsandbytes 4-bit); none found.",
            file=sys.stderr,
        )
        return 2
    videos = corpus_videos(args.data)
    queries = [
        json.loads(line)["query"]
        for line in (args.data / "retrieval_dev.jsonl").read_text().splitlines()
        if line.strip()
    ]
    print(
        f"{len(videos)} videos decoded, {len(queries)} queries; GPU: {torch.cuda.get_device_name()}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        model = args.model or str(save_tiny_checkpoint(Path(tmp) / "tiny-clamr"))
        adapter = args.adapter if args.model else "none"
        for four_bit in (False, True):
            settings = EncoderSettings(
                name="clamr",
                model=model,
                adapter=adapter,
                device="cuda",
                load_in_4bit=four_bit,
                batch_size=args.batch_size,
            )
            print(json.dumps(run(settings, videos, queries)))
            gc.collect()  # free the previous precision's model before measuring the next
            torch.cuda.empty_cache()
    return 0


if __name__ == "__main__":
    sys.exit(main())
