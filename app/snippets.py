"""Readable evidence for a result card: the sentence, screen text or tag each match came from.

Matches carry a word and a time; the stored ingest results (transcript, text spans, tags,
description) give the context around it. Pure functions over plain data.
"""

from __future__ import annotations

from backend.collection import IngestedVideo, TokenMatch

MAX_SNIPPET_WORDS = 24
STRONG = 0.5  # a match at least this similar is highlighted (the strongest always is)
PER_MODALITY = 2


def _window(text: str, around: set[str], limit: int = MAX_SNIPPET_WORDS) -> str:
    """``text`` cut to ``limit`` words centred on the first word in ``around``."""
    words = text.split()
    if len(words) <= limit:
        return " ".join(words)
    hit = next((i for i, w in enumerate(words) if w in around), 0)
    start = max(0, min(hit - limit // 2, len(words) - limit))
    cut = " ".join(words[start : start + limit])
    return ("… " if start else "") + cut + (" …" if start + limit < len(words) else "")


def _context(modality: str, video: IngestedVideo, time_s: float | None, words: set[str]) -> str:
    if modality == "asr" and time_s is not None:
        for segment in video.transcript.segments:
            if segment.start_s - 0.05 <= time_s <= segment.end_s + 0.05:
                return _window(segment.text, words)
    if modality == "ocr" and time_s is not None:
        spans = [s.text for s in video.text_spans if abs(s.start_s - time_s) < 1e-3]
        shown = [t for t in spans if set(t.split()) & words] or spans
        if shown:
            return " / ".join(dict.fromkeys(shown))
    if modality == "description":
        return _window(video.description, words)
    return " ".join(sorted(words))


def snippets(modality: str, matches: list[TokenMatch], video: IngestedVideo | None) -> list[dict]:
    """Up to two pieces of evidence for one modality, strongest first:
    ``{"time_s", "text", "matched": [words], "similarity"}``."""
    if not matches:
        return []
    strongest = max(m.similarity for m in matches)
    by_time: dict[float | None, list[TokenMatch]] = {}
    for match in sorted(matches, key=lambda m: -m.similarity):
        if match.similarity >= STRONG or match.similarity == strongest:
            by_time.setdefault(match.time_s, []).append(match)
    out: dict[str, dict] = {}  # by text: two matches in one sentence make one snippet
    for time_s, group in by_time.items():
        labels = {m.label.split(" @ ")[0] for m in group}
        words = {w for label in labels for w in label.split()}
        text = _context(modality, video, time_s, words) if video else " ".join(sorted(labels))
        similarity = round(max(m.similarity for m in group), 4)
        if text in out:
            out[text]["matched"] = sorted(set(out[text]["matched"]) | words)
            continue
        out[text] = {
            "time_s": time_s,
            "text": text,
            "matched": sorted(words),
            "similarity": similarity,
        }
    return list(out.values())[:PER_MODALITY]
