"""Synthetic queries: one modality each, unambiguous, the same for the same seed."""

from __future__ import annotations

from backend.ingest.types import TextSpan, VisualTag
from backend.train.synthetic import synthetic_queries
from tests.helpers import make_video


def _videos():
    one = make_video("one", "the orange ferry leaves the harbour at noon every sunday")
    one.text_spans.append(TextSpan("HARBOUR FERRY TIMETABLE", 2.0, 4.0, (0, 0, 10, 10)))
    one.visual_tags.append(VisualTag(1.0, "container ship", 0.9))
    one.visual_tags.append(VisualTag(3.0, "lighthouse", 0.7))
    one.description = "a ferry crossing"
    two = make_video("two", "bake the bread for forty minutes until golden")
    two.visual_tags.append(VisualTag(1.0, "container ship", 0.8))  # in both: never a query
    return [one, two]


def test_queries_are_tagged_with_the_modality_they_come_from():
    queries = synthetic_queries(_videos(), limit=50, seed=0)
    assert {q.query_type for q in queries} == {"speech", "ocr", "description", "video"}
    texts = {q.video_id: [] for q in queries}
    for q in queries:
        texts[q.video_id].append(q.query)
    assert "HARBOUR FERRY TIMETABLE" in texts["one"]
    assert all("container ship" not in t for ts in texts.values() for t in ts)
    assert all(q.query.lower() != "sign" for q in queries)  # SIGN is on both: ambiguous
    speech = [q for q in queries if q.query_type == "speech" and q.video_id == "one"]
    words = "the orange ferry leaves the harbour at noon every sunday"
    assert speech and all(q.query in words and 2 <= len(q.query.split()) <= 6 for q in speech)


def test_the_same_seed_gives_the_same_queries_and_the_limit_is_kept():
    assert synthetic_queries(_videos(), 50, seed=1) == synthetic_queries(_videos(), 50, seed=1)
    assert len(synthetic_queries(_videos(), 3, seed=1)) == 3
    assert synthetic_queries(_videos(), 0, seed=1) == []
