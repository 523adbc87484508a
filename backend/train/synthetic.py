"""Modality-targeted synthetic queries drawn from the collection itself.

CLaMR trains on MultiVENT 2.0++, whose queries each target one modality (``video``, ``speech``,
``ocr``, ``description``: see ``shared/data/formats/multivent_synthetic_validation_queries.json``).
Without a language model to write such queries, a query here is a piece of one modality of one
video: an on-screen text span, a phrase of its transcript, a phrase of its description, or a
label of what its frames show. So a small collection with few labels still trains the model to
find a video by the modality a query is about.

A phrase whose words also occur in another video is dropped: its positive would be ambiguous,
and an in-batch "negative" that contains the query would teach the wrong thing. Everything is
drawn from ``random.Random(seed)``, so the same collection and seed give the same queries.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

from backend.encoders.base import Modality
from backend.encoders.search_text import normalise_text
from backend.ingest.types import IngestedVideo

#: CLaMR's query types and the modality each targets.
QUERY_TYPES: dict[str, Modality] = {
    "video": Modality.VIDEO,
    "speech": Modality.ASR,
    "ocr": Modality.OCR,
    "description": Modality.DESCRIPTION,
}
MIN_WORDS, MAX_WORDS = 2, 6  # phrase length drawn from speech and descriptions
PHRASES_PER_SOURCE = 4  # at most this many phrases per (video, query type)
_LETTERS = re.compile(r"[^\W\d_]{2,}")


@dataclass(frozen=True)
class SyntheticQuery:
    video_id: str
    query: str
    query_type: str  # a key of QUERY_TYPES


def _windows(words: Sequence[str], rng: random.Random, count: int) -> list[str]:
    """Up to ``count`` distinct phrases of MIN_WORDS..MAX_WORDS consecutive words."""
    if len(words) <= MAX_WORDS:
        return [" ".join(words)] if words else []
    phrases: set[str] = set()
    for _ in range(count * 4):
        length = rng.randint(MIN_WORDS, MAX_WORDS)
        start = rng.randrange(0, len(words) - length + 1)
        phrases.add(" ".join(words[start : start + length]))
        if len(phrases) == count:
            break
    return sorted(phrases)


def candidate_phrases(video: IngestedVideo, rng: random.Random) -> dict[str, list[str]]:
    """Phrases of each query type a video offers (before the uniqueness check)."""
    speech = [w for s in video.transcript.segments for w in s.text.split()]
    ocr = list(dict.fromkeys(" ".join(span.text.split()[:MAX_WORDS]) for span in video.text_spans))
    tags = list(dict.fromkeys(tag.label for tag in video.visual_tags))
    return {
        "speech": _windows(speech, rng, PHRASES_PER_SOURCE),
        "ocr": rng.sample(ocr, min(len(ocr), PHRASES_PER_SOURCE)),
        "description": _windows(video.description.split(), rng, PHRASES_PER_SOURCE),
        "video": rng.sample(tags, min(len(tags), PHRASES_PER_SOURCE)),
    }


def _searchable_text(video: IngestedVideo) -> str:
    parts = [video.transcript.text, video.description]
    parts += [span.text for span in video.text_spans]
    parts += [tag.label for tag in video.visual_tags]
    return " " + normalise_text(" ".join(parts)) + " "


def _meaningful(phrase: str) -> bool:
    """At least one word of two letters or more: not "V=", "677" or "-"."""
    return bool(_LETTERS.search(phrase))


def synthetic_queries(
    videos: Sequence[IngestedVideo], limit: int, seed: int
) -> list[SyntheticQuery]:
    """At most ``limit`` queries, spread over videos and query types in turn."""
    if limit <= 0:
        return []
    rng = random.Random(seed)
    ordered = sorted(videos, key=lambda v: v.probe.video_id)
    texts = {v.probe.video_id: _searchable_text(v) for v in ordered}
    pools: list[list[SyntheticQuery]] = []
    for video in ordered:
        vid = video.probe.video_id
        others = [t for other, t in texts.items() if other != vid]
        for query_type, phrases in candidate_phrases(video, rng).items():
            kept = []
            for phrase in phrases:
                key = " " + normalise_text(phrase) + " "
                if _meaningful(phrase) and not any(key in text for text in others):
                    kept.append(SyntheticQuery(vid, phrase, query_type))
            if kept:
                pools.append(kept)
    rng.shuffle(pools)
    out: list[SyntheticQuery] = []
    seen: set[str] = set()
    while pools and len(out) < limit:  # one from each (video, type) pool in turn
        for pool in list(pools):
            query = pool.pop(0)
            if query.query.lower() not in seen:
                seen.add(query.query.lower())
                out.append(query)
            if not pool:
                pools.remove(pool)
            if len(out) == limit:
                break
    return out
