"""Ingest speed per stage and search latency on a real corpus; prints markdown tables.

    python -m bench.corpus [--corpus ../shared/data/corpus] [--store DIR] [--queries N] [--json]

Ingest is measured on a fresh store (a temporary one unless --store is given) as seconds of
processing per minute of video, per stage. Search latency is end to end (query encoding plus
exact MaxSim plus matches and moment) over N queries: the dev queries, then phrases taken from
the indexed transcripts and screen text.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from backend.collection import Collection
from backend.config import Settings

STAGES = ("hash", "decode", "asr", "ocr", "vision", "encode", "store")
DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "data" / "corpus"


def ingest_table(collection: Collection, corpus: Path) -> tuple[dict, str]:
    report = collection.index([corpus])
    done = [r for r in report.results if r.status == "indexed"]
    minutes = sum(r.duration_s or 0.0 for r in done) / 60
    per_stage = {s: sum(r.stage_seconds.get(s, 0.0) for r in done) for s in STAGES}
    total = sum(per_stage.values())
    rows = [
        "| stage | seconds | seconds per minute of video |",
        "|---|---|---|",
        *(f"| {s} | {v:.1f} | {v / minutes:.1f} |" for s, v in per_stage.items()),
        f"| **all** | {total:.1f} | {total / minutes:.1f} |",
    ]
    summary = {
        "videos_indexed": len(done),
        "videos_failed": report.count("failed"),
        "minutes_of_video": round(minutes, 2),
        "seconds_per_stage": {s: round(v, 2) for s, v in per_stage.items()},
        "seconds_per_video_minute": round(total / minutes, 2) if minutes else None,
        "wall_seconds": round(report.seconds, 1),
    }
    header = (
        f"ingest: {len(done)} videos, {minutes:.2f} min of video, "
        f"{report.count('failed')} failed, wall {report.seconds:.1f} s"
    )
    return summary, header + "\n\n" + "\n".join(rows)


def bench_queries(collection: Collection, n: int) -> list[str]:
    dev = DEFAULT_CORPUS.parent / "retrieval_dev.jsonl"
    queries = (
        [json.loads(line)["query"] for line in dev.read_text().splitlines()]
        if dev.is_file()
        else []
    )
    for record in collection.videos():
        video = record.ingested()
        for text in [s.text for s in video.transcript.segments] + [
            s.text for s in video.text_spans
        ]:
            words = text.split()
            if len(words) >= 2:
                queries.append(" ".join(words[:6]))
    if not queries:
        raise SystemExit("nothing indexed to query")
    return [queries[i % len(queries)] for i in range(n)]


def median_and_p95(timings: list[float]) -> tuple[float, float]:
    """The median and the 95th percentile (nearest rank) of some timings."""
    ordered = sorted(timings)
    return statistics.median(ordered), ordered[
        min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))
    ]


def search_table(collection: Collection, queries: list[str]) -> tuple[dict, str]:
    collection.search(queries[0])  # warm: loads the model and packs the tokens once
    timings = []
    for query in queries:
        start = time.perf_counter()
        collection.search(query, k=10)
        timings.append((time.perf_counter() - start) * 1000)
    p50, p95 = median_and_p95(timings)
    summary = {"queries": len(queries), "p50_ms": round(p50, 1), "p95_ms": round(p95, 1)}
    table = (
        f"search: {len(queries)} queries over {len(collection.videos())} videos "
        f"(exact MaxSim, k=10)\n\n| p50 ms | p95 ms |\n|---|---|\n| {p50:.1f} | {p95:.1f} |"
    )
    return summary, table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.corpus", description=__doc__)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--store", help="store to fill (default: a fresh temporary one)")
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-store-") as scratch:
        collection = Collection(Settings.from_env().with_store(args.store or scratch))
        ingest, ingest_md = ingest_table(collection, args.corpus)
        search, search_md = search_table(collection, bench_queries(collection, args.queries))
    if args.json:
        json.dump({"ingest": ingest, "search": search}, sys.stdout, indent=2)
        print()
    else:
        print(ingest_md, "", search_md, sep="\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
