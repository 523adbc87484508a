"""The classic baseline: BM25 over the same speech, screen text and description the encoder saw.

Text goes through the encoder side's normalisation (numbers spelled out), so both systems see
the same words.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import bm25s

from backend.encoders.search_text import normalise_text
from backend.store.records import VideoRecord

logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs every index build at DEBUG


def video_text(record: VideoRecord) -> str:
    """ASR + OCR + description of a stored video, as one text."""
    video = record.ingested()
    parts = [video.transcript.text, *(span.text for span in video.text_spans), video.description]
    return " ".join(p for p in parts if p)


class Bm25Index:
    def __init__(self, records: Sequence[VideoRecord]) -> None:
        self.video_ids = [r.video_id for r in records]
        self._retriever = bm25s.BM25()
        corpus = [normalise_text(video_text(r)) for r in records]
        if corpus:
            tokens = bm25s.tokenize(corpus, stopwords="en", show_progress=False)
            self._retriever.index(tokens, show_progress=False)

    def search(self, text: str, k: int) -> list[tuple[str, float]]:
        """Up to ``k`` (video id, score) pairs with a positive score, best first."""
        if not self.video_ids:
            return []
        tokens = bm25s.tokenize([normalise_text(text)], stopwords="en", show_progress=False)
        if not tokens.ids or not tokens.ids[0]:
            return []
        k = min(k, len(self.video_ids))
        docs, scores = self._retriever.retrieve(tokens, k=k, show_progress=False)
        return [
            (self.video_ids[int(d)], float(s)) for d, s in zip(docs[0], scores[0]) if float(s) > 0
        ]
