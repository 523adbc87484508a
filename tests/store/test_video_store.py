"""The LanceDB store: atomic videos, encoder identity, orphans, failures, thumbnails."""

from __future__ import annotations

import numpy as np
import pytest

from backend.encoders.base import Modality
from backend.store.rows import token_table
from backend.store.video_store import StoreError, VideoStore
from tests.helpers import make_video, random_tokens

COUNTS = {Modality.ASR: 5, Modality.OCR: 3, Modality.VIDEO: 2}


def test_add_reopen_and_read_back(tmp_path):
    store = VideoStore.open(tmp_path / "s", "enc:a", 8)
    video, tokens = make_video("v1", "red fox", n_frames=2), random_tokens(1, COUNTS)
    record = store.add_video(video, tokens)
    assert record.modalities == ("video", "asr", "ocr")

    again = VideoStore.open(tmp_path / "s", "enc:a", 8)
    assert again.video_ids() == ["v1"]
    stored = again.video("v1")
    assert stored.n_tokens == 10
    assert stored.ingested().transcript.text == "red fox"
    assert stored.ingested().text_spans[0].box == (1.0, 2.0, 30.0, 12.0)
    rows = again.token_rows(["v1"]).to_pylist()
    asr = next(r for r in rows if r["modality"] == int(Modality.ASR))
    mask = tokens.modalities == int(Modality.ASR)
    np.testing.assert_allclose(np.array(asr["vectors"]), tokens.vectors[mask])
    assert asr["labels"] == [label for label, m in zip(tokens.labels, mask) if m]
    frames = again.frames("v1")
    assert [f["time_s"] for f in frames] == [0.0, 1.0]
    assert frames[0]["jpeg"][:2] == b"\xff\xd8"  # JPEG magic


def test_another_encoder_is_refused_with_a_clear_message(tmp_path):
    VideoStore.open(tmp_path / "s", "enc:a", 8)
    with pytest.raises(StoreError, match="built by encoder 'enc:a'"):
        VideoStore.open(tmp_path / "s", "enc:b", 8)
    with pytest.raises(StoreError, match="dim 8"):
        VideoStore.open(tmp_path / "s", "enc:a", 16)


def test_opening_a_missing_store_for_reading_says_so(tmp_path):
    with pytest.raises(StoreError, match="no store at"):
        VideoStore.open(tmp_path / "nothing")


def test_half_written_video_is_invisible_and_cleaned(tmp_path):
    store = VideoStore.open(tmp_path / "s", "enc:a", 8)
    store.add_video(make_video("done"), random_tokens(1, COUNTS))
    # What a crash between the token write and the video row leaves behind:
    half = make_video("half", n_frames=1)
    store.table("tokens").add(token_table("half", random_tokens(2, COUNTS), store.dim))
    assert store.video_ids() == ["done"]
    assert store.remove_orphans() == 1
    assert set(store.table("tokens").to_arrow()["video_id"].to_pylist()) == {"done"}
    store.add_video(half, random_tokens(2, COUNTS))
    assert sorted(store.video_ids()) == ["done", "half"]


def test_rewriting_a_video_replaces_its_rows(tmp_path):
    store = VideoStore.open(tmp_path / "s", "enc:a", 8)
    store.add_video(make_video("v"), random_tokens(1, COUNTS))
    store.table("videos").delete("video_id = 'v'")  # as if the row write had failed
    store.add_video(make_video("v"), random_tokens(1, COUNTS))
    assert store.table("tokens").count_rows() == len(COUNTS)


def test_delete_video_removes_everything(tmp_path):
    store = VideoStore.open(tmp_path / "s", "enc:a", 8)
    store.add_video(make_video("a", n_frames=2), random_tokens(1, COUNTS))
    store.add_video(make_video("b"), random_tokens(2, COUNTS))
    assert store.delete_video("a")
    assert not store.delete_video("a")
    assert store.video_ids() == ["b"]
    assert set(store.table("frames").to_arrow()["video_id"].to_pylist()) == {"b"}


def test_failures_are_recorded_and_cleared_on_success(tmp_path):
    store = VideoStore.open(tmp_path / "s", "enc:a", 8)
    video = make_video("v")
    store.record_failure(video.probe.path, None, "broken stream")
    store.record_failure(video.probe.path, None, "still broken")  # one row per path
    assert [f["reason"] for f in store.failures()] == ["still broken"]
    store.add_video(video, random_tokens(1, COUNTS))
    assert store.failures() == []


def test_ids_with_quotes_are_safe(tmp_path):
    store = VideoStore.open(tmp_path / "s", "enc:a", 8)
    store.add_video(make_video("it's"), random_tokens(1, COUNTS))
    assert store.has_video("it's")
    assert store.delete_video("it's")


def test_what_another_connection_writes_is_read_at_once(tmp_path):
    reader = VideoStore.open(tmp_path / "s", "enc:a", 8)
    handle = reader.table("videos")  # a handle kept open, as a long-lived reader would
    VideoStore.open(tmp_path / "s", "enc:a", 8).add_video(make_video("v"), random_tokens(1, COUNTS))
    assert reader.video_ids() == ["v"]
    assert handle.count_rows() == 1  # LanceDB reads with strong consistency here


def test_kept_reads_follow_another_connections_writes(tmp_path):
    """Records, versions and meta are read through kept handles and a record cache (the reads
    of every search); each follows what another connection commits, at the next read."""
    reader = VideoStore.open(tmp_path / "s", "enc:a", 8)
    writer = VideoStore.open(tmp_path / "s", "enc:a", 8)
    writer.add_video(make_video("v", "first words"), random_tokens(1, COUNTS))
    assert reader.videos(["v"])[0].ingested().transcript.text == "first words"
    before = reader.versions()

    writer.add_video(make_video("v", "second words"), random_tokens(2, COUNTS))  # replaced
    assert reader.videos(["v"])[0].ingested().transcript.text == "second words"
    assert reader.versions() != before and reader.has_video("v")

    writer.add_video(make_video("w", "third"), random_tokens(3, COUNTS))
    assert [r.video_id for r in reader.videos(["w", "v", "w", "gone"])] == ["v", "w"]
    writer.delete_video("v")
    assert [r.video_id for r in reader.videos(["v", "w"])] == ["w"]
    assert not reader.has_video("v")

    writer.set_meta({"note": "from the other connection"})
    assert not reader.refresh()  # the active version did not change ...
    assert reader.meta["note"] == "from the other connection"  # ... but meta was read again
