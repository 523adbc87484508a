"""How long an explanation takes to render: the Explain tab's work for one result.

    python -m bench.explain_speed --store DIR [--queries N] [--top 3] [--json]

For N queries (the dev queries, then phrases from the indexed transcripts and screen text, as
``bench.corpus`` picks them), each of the top results is explained exactly as the Explain tab
does it (:func:`backend.explain.explain_hit` with the tab's column limit): the query encoded,
the video's tokens read, every modality's similarity map, heatmap and matched frame drawn.
Prints the median, 95th percentile and maximum in milliseconds, after one warm-up explanation
(model loading is not what a user waits for on the second click). The target in the app's
issue is under a second for a normal video.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from app.tabs.explain import MAX_COLUMNS
from backend.collection import Collection
from backend.config import Settings
from backend.explain import explain_hit
from bench.corpus import bench_queries, median_and_p95


def explain_timings(collection: Collection, queries: list[str], top: int) -> list[dict]:
    """One row per (query, result): milliseconds, and how many tokens the video has."""
    sizes = {v.video_id: v.n_tokens for v in collection.videos()}
    rows = []
    for query in queries:
        for hit in collection.search(query, k=top):
            start = time.perf_counter()
            explain_hit(collection, query, hit.video_id, max_columns=MAX_COLUMNS)
            elapsed = (time.perf_counter() - start) * 1000
            rows.append(
                {"query": query, "video": hit.path, "tokens": sizes[hit.video_id], "ms": elapsed}
            )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.explain_speed", description=__doc__)
    parser.add_argument("--store", required=True, help="an indexed store")
    parser.add_argument("--queries", type=int, default=20)
    parser.add_argument("--top", type=int, default=3, help="results explained per query")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    collection = Collection(Settings.from_env().with_store(args.store))
    queries = bench_queries(collection, args.queries)
    first = collection.search(queries[0], k=1)
    if not first:
        raise SystemExit("the store has nothing to explain")
    explain_hit(collection, queries[0], first[0].video_id, max_columns=MAX_COLUMNS)  # warm-up
    rows = explain_timings(collection, queries, args.top)
    timings = [row["ms"] for row in rows]
    p50, p95 = median_and_p95(timings)
    slowest = max(rows, key=lambda row: row["ms"])
    summary = {
        "explanations": len(rows),
        "p50_ms": round(p50, 1),
        "p95_ms": round(p95, 1),
        "max_ms": round(slowest["ms"], 1),
        "max_tokens": max(row["tokens"] for row in rows),
        "slowest": slowest["video"],
    }
    if args.json:
        json.dump(summary, sys.stdout, indent=2)
        print()
        return 0
    print(
        f"explain: {len(rows)} explanations ({len(queries)} queries x top {args.top}), "
        f"videos of up to {summary['max_tokens']} tokens\n\n"
        "| p50 ms | p95 ms | max ms | slowest video |\n|---|---|---|---|\n"
        f"| {p50:.1f} | {p95:.1f} | {slowest['ms']:.1f} | {slowest['video']} |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
