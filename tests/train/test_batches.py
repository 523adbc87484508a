"""Batches: no video or query twice in a batch; hard negatives brought into the batch."""

from __future__ import annotations

import random

from backend.train.batches import epoch_batches, training_batches
from backend.train.data import TrainExample


def _examples():
    examples = [
        TrainExample(f"query {v} {i}", f"v{v}", "speech", "synthetic")
        for v in range(6)
        for i in range(3)
    ]
    examples.append(TrainExample("bin blue", "v0", "speech", "label", hard_negatives=("v5",)))
    examples.append(TrainExample("shared", "v1", "", "label"))
    examples.append(TrainExample("Shared", "v2", "", "label"))  # same query, other positive
    return examples


def test_batches_hold_distinct_videos_and_queries_and_every_example():
    batches = epoch_batches(_examples(), 4, random.Random(0))
    for batch in batches:
        assert len({e.video_id for e in batch}) == len(batch) > 1
        assert len({e.key for e in batch}) == len(batch)
    seen = {e for batch in batches for e in batch}
    assert seen == set(_examples())


def test_a_hard_negative_joins_its_querys_batch():
    for seed in range(5):
        batch = next(
            b
            for b in epoch_batches(_examples(), 4, random.Random(seed))
            if any(e.query == "bin blue" for e in b)
        )
        assert "v5" in {e.video_id for e in batch}


def test_epochs_are_fixed_by_the_seed():
    assert training_batches(_examples(), 4, 2, 7) == training_batches(_examples(), 4, 2, 7)
    first, second = training_batches(_examples(), 4, 2, 7)
    assert first != second
