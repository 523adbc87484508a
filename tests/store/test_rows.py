"""A video's rows built away from the store, then committed: the same rows as add_video, and a
commit never doubles a video."""

from __future__ import annotations

import numpy as np

from backend.encoders.base import Modality
from backend.store.rows import prepare_video
from backend.store.video_store import VideoStore
from tests.helpers import make_video, random_tokens

COUNTS = {Modality.ASR: 5, Modality.OCR: 3, Modality.VIDEO: 2}


def token_rows(store: VideoStore) -> list[dict]:
    rows = store.table(store.tokens_table).to_arrow().to_pylist()
    return sorted(rows, key=lambda r: (r["video_id"], r["modality"]))


def test_a_batch_commit_writes_what_add_video_writes(tmp_path):
    one_by_one = VideoStore.open(tmp_path / "a", "enc", 8)
    batched = VideoStore.open(tmp_path / "b", "enc", 8)
    videos = [(make_video(f"v{i}", n_frames=2), random_tokens(i, COUNTS)) for i in range(3)]
    for video, tokens in videos:
        one_by_one.add_video(video, tokens)
    records = batched.commit([prepare_video(v, t, 8) for v, t in videos])
    assert [r.video_id for r in records] == ["v0", "v1", "v2"]
    assert sorted(batched.video_ids()) == sorted(one_by_one.video_ids())
    a, b = token_rows(one_by_one), token_rows(batched)
    assert [(r["video_id"], r["labels"]) for r in a] == [(r["video_id"], r["labels"]) for r in b]
    np.testing.assert_array_equal(
        np.array([x for r in a for x in r["vectors"]]),
        np.array([x for r in b for x in r["vectors"]]),
    )
    assert len(batched.frames("v1")) == 2


def test_committing_a_video_again_replaces_it(tmp_path):
    store = VideoStore.open(tmp_path / "s", "enc", 8)
    prepared = prepare_video(make_video("v1", n_frames=1), random_tokens(1, COUNTS), 8)
    store.commit([prepared])
    store.commit([prepared, prepared])  # a retried worker, a duplicate in one batch
    assert store.video_ids() == ["v1"]
    assert len(token_rows(store)) == 3  # one row per modality, once
    assert len(store.frames("v1")) == 1


def test_a_commit_unless_present_keeps_the_first_copy(tmp_path):
    store = VideoStore.open(tmp_path / "s", "enc", 8)
    first = store.add_video_if_absent(make_video("v1", "first"), random_tokens(1, COUNTS))
    second = store.add_video_if_absent(make_video("v1", "second"), random_tokens(2, COUNTS))
    assert first is not None and second is None
    assert store.video("v1").ingested().transcript.text == "first"
    assert len(token_rows(store)) == 3


def test_a_commit_clears_the_failure_of_that_file(tmp_path):
    store = VideoStore.open(tmp_path / "s", "enc", 8)
    video = make_video("v1")
    store.record_failure(video.probe.path, "v1", "decoder crashed")
    store.commit([prepare_video(video, random_tokens(1, COUNTS), 8)])
    assert store.failures() == []
    store.record_failure(video.probe.path, "v1", "a late report from another writer")
    assert store.failures() == []  # an indexed video is not a failure
