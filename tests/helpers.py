"""Small builders shared by tests: hand-made ingest results and token vectors."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from backend.encoders.base import Modality, TokenVectors
from backend.ingest.types import (
    Frame,
    IngestedVideo,
    Segment,
    TextSpan,
    Transcript,
    VideoProbe,
    Word,
)


def fresh_processes(workers: int) -> ProcessPoolExecutor:
    """A pool of processes started fresh (spawned), never forked: a fork copies a parent's
    locks held by its other threads (LanceDB's runtime, onnxruntime's pools), and a child can
    wait on one for ever. A forked pool once hung CI for its whole 90 minutes."""
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))


def make_video(video_id: str, text: str = "hello world", n_frames: int = 1) -> IngestedVideo:
    probe = VideoProbe(
        path=Path(f"/videos/{video_id}.mp4"),
        video_id=video_id,
        size_bytes=1000,
        container="mp4",
        duration_s=10.0,
        fps=25.0,
        width=64,
        height=48,
        rotation=0,
        has_video=True,
        has_audio=True,
    )
    words = tuple(Word(w, float(i), float(i) + 0.5) for i, w in enumerate(text.split()))
    frames = [
        Frame(float(i), np.full((48, 64, 3), 40 * i % 255, np.uint8)) for i in range(n_frames)
    ]
    return IngestedVideo(
        probe=probe,
        frames=frames,
        transcript=Transcript("en", 0.9, (Segment(0.0, 5.0, text, words),)),
        text_spans=[TextSpan("SIGN", 1.0, 2.0, (1.0, 2.0, 30.0, 12.0))],
        description=f"video {video_id}",
    )


def random_tokens(seed: int, counts: dict[Modality, int], dim: int = 8) -> TokenVectors:
    rng = np.random.default_rng(seed)
    modalities = np.concatenate([np.full(n, int(m), np.int8) for m, n in counts.items()])
    n = len(modalities)
    vectors = rng.standard_normal((n, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return TokenVectors(
        vectors=vectors,
        modalities=modalities,
        labels=tuple(f"tok{seed}_{i}" for i in range(n)),
        times=np.arange(n, dtype=np.float32),
        boxes=np.tile(np.array([[0, 0, 10, 10]], np.float32), (n, 1)),
    )
