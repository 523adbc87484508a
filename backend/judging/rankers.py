"""The systems whose top results are pooled: late interaction two ways, each modality alone,
BM25, and weighted reciprocal-rank fusion of the single-modality runs.

Pooling several unlike systems (TREC's practice) finds relevant videos any one of them misses,
so the judged set does not favour the system it will later evaluate.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from backend.encoders.base import Modality, comparable_modalities
from backend.eval.bm25 import Bm25Index
from backend.judging.fusion import RRF_K, weighted_rrf
from backend.search.searcher import QueryError, Searcher

#: The modalities a text query meets, each ranked alone (video tags, asr, ocr, description).
SINGLE_MODALITIES = tuple(m.key for m in comparable_modalities(Modality.PAD))
RANKERS = ("modality_max", "token_max", *SINGLE_MODALITIES, "bm25", "rrf")
FUSION_DEPTH = 100  # each single-modality run is fused this deep


@dataclass(frozen=True)
class Ranked:
    video_id: str
    moment_s: float | None = None  # the best moment, where the ranker knows one


@dataclass(frozen=True)
class RankerSettings:
    rrf_k: int = RRF_K
    rrf_weights: Mapping[str, float] | None = None  # per modality key; None: all 1.0


def run_rankers(
    text: str,
    searcher: Searcher,
    bm25: Bm25Index,
    depth: int,
    settings: RankerSettings = RankerSettings(),
) -> dict[str, list[Ranked]]:
    """Every ranker's top ``depth`` for one query (a ranker that finds nothing: empty)."""
    queries = searcher.encoder.encode_queries([text])
    if not queries or len(queries[0]) == 0:
        raise QueryError(f"the query {text!r} has no words to search for")
    query = queries[0]
    deep = max(depth, FUSION_DEPTH)
    runs: dict[str, list[Ranked]] = {}
    for mode in ("modality_max", "token_max"):
        hits = searcher.search_vectors(query, depth, mode)
        runs[mode] = [Ranked(h.video_id, h.moment_s) for h in hits]
    singles: dict[str, list[Ranked]] = {}
    for modality in SINGLE_MODALITIES:
        hits = searcher.search_vectors(query, deep, "modality_max", [modality])
        singles[modality] = [Ranked(h.video_id, h.moment_s) for h in hits]
        runs[modality] = singles[modality][:depth]
    runs["bm25"] = [Ranked(video_id) for video_id, _ in bm25.search(text, depth)]
    best: dict[str, tuple[int, float | None]] = {}  # the moment of its best single-run rank
    for run in singles.values():
        for rank, r in enumerate(run):
            if r.video_id not in best or rank < best[r.video_id][0]:
                best[r.video_id] = (rank, r.moment_s)
    fused = weighted_rrf(
        {m: [r.video_id for r in run] for m, run in singles.items()},
        settings.rrf_weights,
        settings.rrf_k,
    )
    runs["rrf"] = [Ranked(video_id, best[video_id][1]) for video_id, _ in fused[:depth]]
    return runs
