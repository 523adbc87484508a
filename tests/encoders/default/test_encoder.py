"""The offline default encoder (all-MiniLM-L6-v2 token states) on real words."""

from __future__ import annotations

import math

import numpy as np
import pytest

from backend.encoders.base import Modality
from backend.encoders.default.encoder import DefaultEncoder, query_words
from backend.ingest.types import VisualTag
from tests.helpers import make_video


@pytest.fixture(scope="module")
def encoder() -> DefaultEncoder:
    return DefaultEncoder()


def test_vectors_are_unit_length_and_labelled(encoder):
    video = make_video("a", "she had your dark suit in greasy wash water")
    video.visual_tags.append(VisualTag(3.0, "sulphur-crested cockatoo", 0.8, (0, 0, 32, 24)))
    tokens = encoder.encode_video(video)
    assert tokens.dim == 384
    np.testing.assert_allclose(np.linalg.norm(tokens.vectors, axis=1), 1.0, atol=1e-5)
    by_modality = {Modality(m).key for m in tokens.modalities}
    assert by_modality == {"video", "asr", "ocr", "description"}
    asr = [
        (label, t)
        for label, t, m in zip(tokens.labels, tokens.times, tokens.modalities)
        if m == Modality.ASR
    ]
    assert ("greasy", 6.0) in asr  # the word's own start time (make_video: word i at i s)
    seen = [label for label, m in zip(tokens.labels, tokens.modalities) if m == Modality.VIDEO]
    assert set(seen) == {"sulphur-crested cockatoo @ 3.0s"}
    description_times = tokens.times[tokens.modalities == Modality.DESCRIPTION]
    assert all(math.isnan(t) for t in description_times)
    ocr_boxes = tokens.boxes[tokens.modalities == Modality.OCR]
    assert (ocr_boxes == np.array([1.0, 2.0, 30.0, 12.0], np.float32)).all()


def test_same_word_matches_itself_best(encoder):
    video = make_video("b", "the horizon seems extremely distant today")
    tokens = encoder.encode_video(video)
    query = encoder.encode_query("distant horizon")
    asr = tokens.select(tokens.modalities == Modality.ASR)
    best = (query.vectors @ asr.vectors.T).argmax(axis=1)
    assert [asr.labels[i] for i in best] == ["distant", "horizon"]


def test_numbers_meet_their_spelled_form(encoder):
    tokens = encoder.encode_video(make_video("c", "Bin blue at F2 now."))
    query = encoder.encode_query("bin blue at f two now")
    asr = tokens.select(tokens.modalities == Modality.ASR)
    sims = query.vectors @ asr.vectors.T
    assert "F2" in {asr.labels[i] for i in sims.argmax(axis=1)}
    assert sims.max(axis=1).mean() > 0.8


def test_deterministic_and_batch_equals_single(encoder):
    videos = [
        make_video("d", "one short line"),
        make_video("e", "a much longer line of speech " * 5),
    ]
    batch = encoder.encode_videos(videos)
    for video, together in zip(videos, batch):
        alone = encoder.encode_video(video)
        np.testing.assert_allclose(alone.vectors, together.vectors, atol=1e-5)
        assert alone.labels == together.labels
    queries = encoder.encode_queries(["red car", "a dog running on the beach at sunset"])
    np.testing.assert_allclose(
        encoder.encode_query("red car").vectors, queries[0].vectors, atol=1e-5
    )


def test_query_drops_stop_words_and_punctuation_unless_nothing_is_left(encoder):
    words = query_words("Training a parakeet to climb up a ladder.", True)
    assert {"a", "to"}.isdisjoint(words)
    assert {"Training", "parakeet", "climb", "ladder."} <= set(words)
    assert query_words("to be or not to be", True) == ["to", "be", "or", "not", "to", "be"]
    query = encoder.encode_query("Frame = 22")
    assert "=" not in query.labels
    assert len(encoder.encode_query("?!")) == 0
