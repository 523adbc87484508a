"""Does the fast path rank real queries as well as exact search? nDCG@10 side by side.

``python -m backend bench quality --store STORE`` searches the dev queries
(``../shared/data/retrieval_dev.jsonl``) over a store that holds the corpus three ways:

- exact: every float32 token scored (``--exact``);
- fast: the two-stage search with the default settings, forced on however small the store is
  (a small store is otherwise searched exactly, which would make the check say nothing);
- fast, few candidates: the same with only ``2 * k`` videos re-scored, so the candidate stage,
  not only the index precision, is what is tested on a 48-video corpus.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from backend.config import SearchSettings
from backend.encoders.base import Encoder
from backend.eval.metrics import mean, per_query
from backend.eval.queries import default_corpus_root, read_queries, relevant_ids
from backend.search.searcher import Searcher
from backend.store.video_store import VideoStore

K = 10


def searchers(store: VideoStore, encoder: Encoder, base: SearchSettings) -> dict[str, Searcher]:
    fast = replace(base, exact=False, fast_min_tokens=0)
    return {
        "exact": Searcher(store, encoder, settings=replace(base, exact=True)),
        "fast (default settings)": Searcher(store, encoder, settings=fast),
        "fast, few candidates": Searcher(
            store, encoder, settings=replace(fast, n_candidates=1, rescore_tokens=0)
        ),
    }


def dev_quality(
    store: VideoStore,
    encoder: Encoder,
    queries_path: Path,
    corpus_root: Path | None = None,
    base: SearchSettings | None = None,
) -> dict[str, dict[str, float]]:
    """Mean metrics (``nDCG@10``, ``R@10``, ...) per way of searching, over the dev queries."""
    queries = read_queries(queries_path)
    indexed = set(store.video_ids())
    root = corpus_root or default_corpus_root(queries_path)
    relevant = {q: ids & indexed for q, ids in relevant_ids(queries, root).items()}
    texts = [q.query for q in queries]
    out = {}
    for name, searcher in searchers(store, encoder, base or SearchSettings()).items():
        results = searcher.search_many(texts, k=K)
        ranked = {q.qid: [(h.video_id, h.score) for h in hits] for q, hits in zip(queries, results)}
        values = per_query(relevant, ranked)
        out[name] = {**mean(list(values.values())), "queries": float(len(values))}
    return out


def format_quality(result: dict[str, dict[str, float]]) -> str:
    exact = result["exact"]["nDCG@10"]
    lines = [
        "| search | queries | nDCG@10 | R@10 | MRR | nDCG@10 - exact |",
        "|---|---|---|---|---|---|",
    ]
    for name, row in result.items():
        lines.append(
            f"| {name} | {int(row['queries'])} | {row['nDCG@10']:.4f} | {row['R@10']:.4f} "
            f"| {row['MRR']:.4f} | {row['nDCG@10'] - exact:+.4f} |"
        )
    return "\n".join(lines)
