"""Inputs prepared by worker threads, batched by length: the same vectors, in the input order."""

from __future__ import annotations

import numpy as np
import pytest

from backend.encoders.clamr.encoder import ClamrEncoder
from backend.encoders.clamr.pipeline import PipelineSettings, prepared_batches
from backend.encoders.clamr.processing_clamr import ClamrBatch, EncodedSequence

QUERIES = ["bin blue at f two now", "Frame = 22", "a man speaking", "x", "the quick brown fox"]


def test_threads_and_length_batches_give_the_inline_vectors_in_order(
    model, processor, grid_video, counter_video
):
    videos = [grid_video, counter_video, grid_video, counter_video, grid_video]
    inline = ClamrEncoder.from_model(model, processor, batch_size=1)
    piped = ClamrEncoder.from_model(
        model, processor, batch_size=2, pipeline=PipelineSettings(workers=2, sort_window=2)
    )
    for a, b in zip(inline.encode_videos(videos), piped.encode_videos(videos), strict=True):
        assert a.labels == b.labels
        assert np.abs(a.vectors - b.vectors).max() < 1e-5
    for a, b in zip(inline.encode_queries(QUERIES), piped.encode_queries(QUERIES), strict=True):
        assert a.labels == b.labels
        assert np.abs(a.vectors - b.vectors).max() < 1e-5


def _fake(length: int) -> EncodedSequence:
    return EncodedSequence(
        ids=np.zeros(length, np.int64),
        modalities=np.zeros(length, np.int8),
        labels=("x",) * length,
        times=np.zeros(length, np.float32),
        boxes=np.zeros((length, 4), np.float32),
    )


def test_batches_are_sorted_by_length_within_windows_and_cover_every_item():
    lengths = [9, 1, 7, 3, 8, 2, 6, 4, 5]
    settings = PipelineSettings(workers=3, sort_window=2, ahead=1)
    batches = list(prepared_batches(lengths, _fake, lambda s: ClamrBatch({}, list(s)), 2, settings))
    positions = [p for b in batches for p in b.positions]
    assert sorted(positions) == list(range(len(lengths)))
    for batch in batches:
        assert [len(s) for s in batch.batch.sequences] == [lengths[p] for p in batch.positions]
    # the first batch starts at once; the next window (4 items) comes out shortest first
    assert sorted(batches[0].positions) == [0, 1]
    second_window = [lengths[p] for b in batches[1:3] for p in b.positions]
    assert second_window == sorted(lengths[2:6])


def test_an_error_in_a_worker_reaches_the_caller():
    def encode(item: int) -> EncodedSequence:
        if item == 3:
            raise ValueError("video 3 is broken")
        return _fake(2)

    settings = PipelineSettings(workers=2)
    with pytest.raises(ValueError, match="video 3"):
        list(prepared_batches(range(6), encode, lambda s: ClamrBatch({}, list(s)), 2, settings))
