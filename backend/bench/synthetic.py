"""A synthetic collection whose tokens behave like real late-interaction embeddings.

Uniform random vectors make every approximate search fail and teach nothing, so tokens are drawn
the way trained encoders place them: unit vectors around a few thousand topic centroids, each
video using a few dozen topics (popular topics shared by many videos, as common words are), in
runs of near-identical neighbours (consecutive frames of one shot, the pieces of one word). A
query is a noisy copy of some tokens of one modality of a target video, so exact MaxSim has a
clear answer, plus a few tokens of popular topics that match many videos.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import numpy as np

from backend.encoders.base import DOCUMENT_MODALITIES, Modality, TokenVectors
from backend.ingest.types import IngestedVideo, VideoProbe
from backend.store.rows import prepare_video
from backend.store.video_store import VideoStore

#: Share of a video's tokens per modality (video frames and speech dominate, as in CLaMR's data).
MODALITY_SHARE = {
    Modality.VIDEO: 0.375,
    Modality.ASR: 0.375,
    Modality.OCR: 0.125,
    Modality.DESCRIPTION: 0.125,
}


@dataclass(frozen=True)
class SyntheticSpec:
    n_videos: int
    tokens_per_video: int = 256
    dim: int = 128
    n_topics: int = 4096  # topic centroids in the whole collection
    topics_per_video: int = 32
    topic_noise: float = 0.9  # norm of a run's offset from its topic (cos ~ 0.75)
    token_noise: float = 0.25  # norm of a token's offset from its run (cos ~ 0.97)
    mean_run: float = 2.5  # mean length of a run of near-identical neighbours
    query_tokens: int = 16
    query_noise: float = 0.5  # norm of a query token's offset from the token it copies
    generic_query_share: float = 0.25  # query tokens drawn from popular topics instead
    no_ocr_share: float = 0.3  # videos without screen text
    seed: int = 0


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def _offset(rng: np.random.Generator, shape: tuple[int, ...], norm: float) -> np.ndarray:
    """Gaussian offsets whose expected norm is ``norm`` in ``shape[-1]`` dimensions."""
    return rng.standard_normal(shape, dtype=np.float32) * np.float32(norm / np.sqrt(shape[-1]))


class SyntheticCollection:
    """Deterministic videos and queries for one :class:`SyntheticSpec`."""

    def __init__(self, spec: SyntheticSpec) -> None:
        self.spec = spec
        rng = np.random.default_rng(spec.seed)
        self.topics = _unit(rng.standard_normal((spec.n_topics, spec.dim), dtype=np.float32))
        popularity = 1.0 / np.arange(1, spec.n_topics + 1) ** 0.7  # Zipf-like
        self.topic_p = popularity / popularity.sum()

    def video_id(self, index: int) -> str:
        return f"synthetic-{index:07d}"

    def _counts(self, rng: np.random.Generator) -> dict[Modality, int]:
        shares = dict(MODALITY_SHARE)
        if rng.random() < self.spec.no_ocr_share:
            shares.pop(Modality.OCR)
        total = sum(shares.values())
        counts = {m: int(self.spec.tokens_per_video * s / total) for m, s in shares.items()}
        counts[Modality.VIDEO] += self.spec.tokens_per_video - sum(counts.values())
        return counts

    def video(self, index: int) -> TokenVectors:
        spec = self.spec
        rng = np.random.default_rng([spec.seed, index])
        topics = rng.choice(spec.n_topics, spec.topics_per_video, replace=False, p=self.topic_p)
        parts = []
        for modality, n in self._counts(rng).items():
            runs = max(1, round(n / spec.mean_run))
            run_of_token = np.sort(rng.integers(0, runs, n))
            run_of_token[: min(runs, n)] = np.arange(min(runs, n))  # every run has a token
            run_of_token.sort()
            centres = self.topics[rng.choice(topics, runs)]
            anchors = _unit(centres + _offset(rng, centres.shape, spec.topic_noise))
            vectors = _unit(anchors[run_of_token] + _offset(rng, (n, spec.dim), spec.token_noise))
            parts.append((modality, vectors, run_of_token))
        n_total = sum(len(p[1]) for p in parts)
        return TokenVectors(
            vectors=np.concatenate([p[1] for p in parts]),
            modalities=np.concatenate([np.full(len(p[1]), int(p[0]), np.int8) for p in parts]),
            labels=tuple(f"{Modality(m).key}:{r}" for m, _, runs in parts for r in runs),
            times=np.concatenate([runs.astype(np.float32) for _, _, runs in parts]),
            boxes=np.full((n_total, 4), np.nan, np.float32),
        )

    def videos(self, start: int = 0, stop: int | None = None) -> Iterator[TokenVectors]:
        for index in range(start, self.spec.n_videos if stop is None else stop):
            yield self.video(index)

    def query(self, number: int) -> tuple[int, TokenVectors]:
        """The ``number``-th query and the index of the video it was drawn from."""
        spec = self.spec
        rng = np.random.default_rng([spec.seed, 1_000_003, number])
        target = int(rng.integers(spec.n_videos))
        tokens = self.video(target)
        present = [m for m in DOCUMENT_MODALITIES if (tokens.modalities == int(m)).any()]
        modality = present[int(rng.integers(len(present)))]
        own = np.flatnonzero(tokens.modalities == int(modality))
        n_generic = round(spec.query_tokens * spec.generic_query_share)
        n_copied = spec.query_tokens - n_generic
        copied = tokens.vectors[rng.choice(own, n_copied, replace=n_copied > len(own))]
        generic = self.topics[rng.choice(64, n_generic)]  # the most popular topics
        base = np.concatenate([copied, generic])
        vectors = _unit(base + _offset(rng, base.shape, spec.query_noise))
        q = len(vectors)
        return target, TokenVectors(
            vectors=vectors,
            modalities=np.zeros(q, np.int8),
            labels=tuple(f"q{i}" for i in range(q)),
            times=np.full(q, np.nan, np.float32),
            boxes=np.full((q, 4), np.nan, np.float32),
        )


def synthetic_video(video_id: str) -> IngestedVideo:
    """A placeholder video row for a synthetic token set (no file, no frames)."""
    probe = VideoProbe(
        path=Path(f"synthetic/{video_id}.mp4"),
        video_id=video_id,
        size_bytes=0,
        container="synthetic",
        duration_s=60.0,
        fps=None,
        width=0,
        height=0,
        rotation=0,
        has_video=True,
        has_audio=True,
    )
    return IngestedVideo(probe=probe, description=video_id)


def write_store(
    collection: SyntheticCollection, uri: str | Path, batch_videos: int = 1000
) -> VideoStore:
    """A real store holding the collection, written ``batch_videos`` videos per commit."""
    spec = collection.spec
    store = VideoStore.open(uri, f"synthetic:{spec.seed}", spec.dim)
    for start in range(0, spec.n_videos, batch_videos):
        stop = min(spec.n_videos, start + batch_videos)
        prepared = [
            prepare_video(synthetic_video(collection.video_id(i)), tokens, spec.dim)
            for i, tokens in zip(range(start, stop), collection.videos(start, stop))
        ]
        store.commit(prepared)
    with warnings.catch_warnings():  # nobody else has seen this store yet
        warnings.filterwarnings("ignore", message=".*removes every version.*")
        # compact, and drop the versions in between
        store.optimize(("videos", store.tokens_table), cleanup_older_than=timedelta(0))
    return store
