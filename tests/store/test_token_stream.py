"""Streaming the token table: every row once, in batches; complete videos only counted."""

from __future__ import annotations

from backend.encoders.base import Modality
from backend.store.token_stream import complete_videos, token_batches
from backend.store.video_store import VideoStore
from tests.helpers import make_video, random_tokens

COUNTS = {Modality.ASR: 4, Modality.VIDEO: 2}


def filled_store(tmp_path) -> VideoStore:
    store = VideoStore.open(tmp_path / "s", "enc", 8)
    for i in range(5):
        store.add_video(make_video(f"v{i}"), random_tokens(i, COUNTS))
    # A crash between the token write and the video row: tokens nobody points to.
    from backend.store.rows import token_table

    store.table(store.tokens_table).add(token_table("half", random_tokens(9, COUNTS), 8))
    return store


def test_batches_cover_every_row_once(tmp_path):
    store = filled_store(tmp_path)
    batches = list(token_batches(store, batch_rows=3))
    assert len(batches) >= 4
    rows = [
        (v, m)
        for b in batches
        for v, m in zip(b["video_id"].to_pylist(), b["modality"].to_pylist())
    ]
    assert len(rows) == len(set(rows)) == 12  # 6 videos (one orphan) x 2 modalities
    assert batches[0].schema.names == [
        "video_id",
        "modality",
        "vectors",
        "labels",
        "times",
        "boxes",
    ]


def test_batches_of_some_videos(tmp_path):
    store = filled_store(tmp_path)
    some = list(token_batches(store, ["v1", "v3"]))
    assert sorted({v for b in some for v in b["video_id"].to_pylist()}) == ["v1", "v3"]
    assert list(token_batches(store, [])) == []


def test_complete_videos_leave_out_half_written_ones(tmp_path):
    videos = complete_videos(filled_store(tmp_path))
    assert sorted(videos["video_id"].to_pylist()) == [f"v{i}" for i in range(5)]
    assert set(videos["n_tokens"].to_pylist()) == {6}
    assert videos["path"].to_pylist()[0].endswith(".mp4")
