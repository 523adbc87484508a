"""Batches for in-batch negatives: distinct videos, distinct queries, hard negatives pulled in.

CLaMR's losses score every query of a batch against every video of the batch and take the
diagonal as the positives (``(B, B)`` scores). That is only right when no two examples of a
batch share a video (the copy would be a "negative" equal to the positive) or a query (one
query's positive would be the other's negative). A query's hard negatives (videos a person
marked not relevant) become in-batch negatives by bringing an example *of that video* into the
same batch, so the loss needs no special case for them.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from backend.train.data import TrainExample


class _Batch:
    """A batch being filled: its examples, and the videos and queries it already holds."""

    def __init__(self) -> None:
        self.examples: list[TrainExample] = []
        self.videos: set[str] = set()
        self.queries: set[str] = set()

    def fits(self, example: TrainExample) -> bool:
        return example.video_id not in self.videos and example.key not in self.queries

    def take(self, example: TrainExample, pool: list[TrainExample]) -> None:
        self.examples.append(example)
        self.videos.add(example.video_id)
        self.queries.add(example.key)
        if example in pool:
            pool.remove(example)


def epoch_batches(
    examples: Sequence[TrainExample], batch_size: int, rng: random.Random
) -> list[list[TrainExample]]:
    """One epoch's batches; every example appears once (partners may repeat one). A batch of
    one would teach nothing (no negative): it borrows a partner, or is dropped if none fits."""
    pool = list(examples)
    rng.shuffle(pool)
    by_video: dict[str, list[TrainExample]] = {}
    for example in examples:
        by_video.setdefault(example.video_id, []).append(example)
    batches = []
    while pool:
        batch = _Batch()
        for example in list(pool):
            if len(batch.examples) == batch_size:
                break
            if not batch.fits(example):
                continue
            batch.take(example, pool)
            for negative in example.hard_negatives:
                if len(batch.examples) == batch_size:
                    break
                partners = [p for p in pool if p.video_id == negative and batch.fits(p)]
                partners = partners or [p for p in by_video.get(negative, []) if batch.fits(p)]
                if partners:
                    batch.take(partners[0], pool)
        if len(batch.examples) == 1:  # the last of one video: borrow a partner
            partners = [p for _, group in sorted(by_video.items()) for p in group if batch.fits(p)]
            if partners:
                batch.take(rng.choice(partners), pool)
        if len(batch.examples) > 1:
            batches.append(batch.examples)
    return batches


def training_batches(
    examples: Sequence[TrainExample], batch_size: int, epochs: int, seed: int
) -> list[list[list[TrainExample]]]:
    """All epochs' batches, fixed up front (so the step count and the ETA are known)."""
    return [
        epoch_batches(examples, batch_size, random.Random(seed * 1000 + epoch))
        for epoch in range(epochs)
    ]
