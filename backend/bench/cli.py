"""``python -m backend bench search ...``: the command-line face of the benchmarks."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from backend.bench.search_bench import SETTINGS, BenchConfig, format_table, run_bench

DEV_QUERIES = Path(__file__).resolve().parents[3] / "shared" / "data" / "retrieval_dev.jsonl"


def add_parser(sub: argparse._SubParsersAction) -> None:
    bench = sub.add_parser("bench", help="benchmarks (search at scale)")
    kinds = bench.add_subparsers(dest="bench", required=True)
    search = kinds.add_parser(
        "search", help="two-stage search vs brute force on a synthetic collection"
    )
    search.add_argument("--videos", type=int, default=1000, help="videos in the collection")
    search.add_argument("--tokens", type=int, default=256, help="tokens per video")
    search.add_argument("--dim", type=int, default=128, help="vector dimension")
    search.add_argument("--queries", type=int, default=50)
    search.add_argument("--repeat", type=int, default=3, help="timings per query (median)")
    search.add_argument(
        "--setting",
        action="append",
        choices=list(SETTINGS),
        help="two-stage settings to measure (repeatable; default: all)",
    )
    search.add_argument("--nprobe", type=int, help="centroids probed per query token")
    search.add_argument("--candidates", type=int, help="videos re-scored exactly")
    search.add_argument("--no-baselines", action="store_true", help="skip einsum etc.")
    search.add_argument(
        "--lancedb-queries", type=int, default=5, help="queries for LanceDB's slow flat scan"
    )
    search.add_argument(
        "--workdir", help="keep the synthetic store (and its indexes) here for later runs"
    )
    search.add_argument(
        "--device",
        help="also exact search with every token resident there (e.g. cuda), beside plain torch",
    )
    search.add_argument(
        "--device-only", action="store_true", help="with --device: skip the CPU rows"
    )
    search.add_argument("--json", action="store_true")
    search.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    search.set_defaults(run=cmd_bench_search)

    quality = kinds.add_parser(
        "quality", help="nDCG@10 of the fast path against exact search, on the dev queries"
    )
    quality.add_argument("--store", required=True, help="a store holding the indexed corpus")
    quality.add_argument("--queries", type=Path, default=DEV_QUERIES, help="queries (JSONL)")
    quality.add_argument("--corpus", type=Path, help="folder the relevant paths are under")
    quality.add_argument("--json", action="store_true")
    quality.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    quality.set_defaults(run=cmd_bench_quality)


def cmd_bench_search(args: argparse.Namespace) -> int:
    config = BenchConfig(
        n_videos=args.videos,
        tokens_per_video=args.tokens,
        dim=args.dim,
        queries=args.queries,
        repeat=args.repeat,
        settings=tuple(args.setting or SETTINGS),
        nprobe=args.nprobe,
        n_candidates=args.candidates,
        baselines=not args.no_baselines,
        lancedb_queries=args.lancedb_queries,
        workdir=args.workdir,
    )
    log = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    result = {} if (args.device and args.device_only) else run_bench(config, log=log)
    if args.device:  # the GPU rows: backend.bench.gpu_search
        from backend.bench.gpu_search import GpuBenchConfig, format_gpu_table, run_gpu_bench

        gpu = GpuBenchConfig(
            n_videos=args.videos,
            tokens_per_video=args.tokens,
            dim=args.dim,
            queries=args.queries,
            repeat=args.repeat,
            device=args.device,
            baseline=not args.no_baselines,
        )
        result = {**result, "device": run_gpu_bench(gpu, log=log)}
    if args.json:
        json.dump(result, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        tables = [format_table(result)] if "rows" in result else []
        if "device" in result:
            tables.append(format_gpu_table(result["device"]))
        print("\n\n".join(tables))
    return 0


def cmd_bench_quality(args: argparse.Namespace) -> int:
    from backend.bench.quality import dev_quality, format_quality
    from backend.collection import Collection
    from backend.config import Settings

    collection = Collection(Settings.from_env().with_store(args.store))
    result = dev_quality(collection.store, collection.encoder, args.queries, args.corpus)
    if args.json:
        json.dump(result, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(format_quality(result))
    return 0
