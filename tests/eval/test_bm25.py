"""The BM25 baseline over stored ASR + OCR + description text."""

from __future__ import annotations

from backend.encoders.base import Modality
from backend.eval.bm25 import Bm25Index, video_text
from backend.store.video_store import VideoStore
from tests.helpers import make_video, random_tokens


def test_finds_spoken_and_written_words_with_numbers_normalised(tmp_path):
    store = VideoStore.open(tmp_path / "s", "x", 8)
    store.add_video(make_video("fox", "the quick brown fox"), random_tokens(1, {Modality.ASR: 2}))
    store.add_video(make_video("grid", "Bin blue at F2 now."), random_tokens(2, {Modality.ASR: 2}))
    records = store.videos()
    assert "SIGN" in video_text(records[0])  # the OCR span of make_video
    index = Bm25Index(records)
    assert index.search("brown fox", 5)[0][0] == "fox"
    assert index.search("blue f two", 5)[0][0] == "grid"
    assert index.search("zebra", 5) == []
    assert Bm25Index([]).search("anything", 5) == []
