"""The load benchmark's uploads are new videos: same picture and sound, different bytes."""

from __future__ import annotations

from pathlib import Path

import av

from backend.ingest.probe import content_id
from bench.load import DEMO, demo_queries, distinct_copy


def test_each_copy_is_the_same_video_with_new_bytes(tmp_path: Path) -> None:
    source = DEMO / "gardening_tip.mp4"
    first = distinct_copy(source, tmp_path / "a.mp4", "load test 1")
    second = distinct_copy(source, tmp_path / "b.mp4", "load test 2")
    ids = {content_id(path) for path in (source, first, second)}
    assert len(ids) == 3  # three videos to the indexer
    with av.open(str(source)) as original, av.open(str(second)) as copy:
        assert copy.metadata["title"] == "load test 2"
        assert copy.duration == original.duration
        assert [s.type for s in copy.streams] == [s.type for s in original.streams]
        frames = sum(1 for _ in copy.decode(video=0))
    assert frames > 0


def test_the_queries_are_the_demo_collections() -> None:
    queries = demo_queries()
    assert len(queries) >= 6 and all(isinstance(q, str) and q for q in queries)
