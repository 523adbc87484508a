"""``python -m backend bench search``: our search in each setting against brute force, one run.

A synthetic store (:mod:`backend.bench.synthetic`) is written once per size into the work folder
(kept with ``--workdir``, so later runs reuse it and its indexes). Then, on the same queries:

- exact MaxSim (our ``--exact`` path) gives the reference top-10 and its own latency;
- each setting of the two-stage search (index precision, pooling) gives latency (end to end:
  candidates, exact re-score, matches and moment of the 10 hits), recall@10 against the exact
  top-10, index bytes per video and the time to build its index (also per million tokens);
- torch einsum, maxsim-cpu and LanceDB's flat multivector search give latency (and recall).

Latency of one query is the median of ``--repeat`` runs (the CPU is shared: one slow run should
not decide), and a table shows p50 and p95 over the queries. Every figure depends on the CPU
(a kernel fast on one is 45x slower on another), so the result names the machine
(:mod:`backend.bench.machine`) and the kernels this process measured and chose
(:mod:`backend.search.kernels`).
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from backend.bench import baselines
from backend.bench.machine import machine_info, machine_line
from backend.bench.synthetic import SyntheticCollection, SyntheticSpec, write_store
from backend.config import SearchSettings
from backend.encoders.base import TokenVectors
from backend.search import kernels
from backend.search.fast_path import index_root
from backend.search.searcher import Searcher
from backend.store.video_store import StoreError, VideoStore

#: name -> how the two-stage search is set up (on top of the default SearchSettings).
SETTINGS: dict[str, dict] = {
    "float32": {"precision": "float32"},
    "float16": {"precision": "float16"},
    "int8": {"precision": "int8"},
    "binary": {"precision": "binary"},
    "float16-pool0.9": {"precision": "float16", "pool_threshold": 0.9},
    "int8-pool0.9": {"precision": "int8", "pool_threshold": 0.9},
}


@dataclass(frozen=True)
class BenchConfig:
    n_videos: int
    tokens_per_video: int = 256
    dim: int = 128
    queries: int = 50
    repeat: int = 3
    k: int = 10
    settings: tuple[str, ...] = tuple(SETTINGS)
    nprobe: int | None = None  # None: the SearchSettings default
    n_candidates: int | None = None
    baselines: bool = True
    lancedb_queries: int = 5  # LanceDB's flat scan takes seconds a query
    workdir: str | None = None
    seed: int = 0


@dataclass
class Row:
    name: str
    p50_ms: float
    p95_ms: float
    recall_at_10: float | None
    bytes_per_video: float | None
    queries: int
    build_s: float | None = None
    note: str = ""
    extra: dict = field(default_factory=dict)


def _latencies(run: Callable[[int], object], queries: int, repeat: int) -> list[float]:
    """Median of ``repeat`` timings for each query, in milliseconds (one warm-up first)."""
    run(0)
    out = []
    for number in range(queries):
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            run(number)
            times.append((time.perf_counter() - start) * 1000)
        out.append(statistics.median(times))
    return out


def _row(name, latencies, recall, bytes_per_video, **extra) -> Row:
    return Row(
        name,
        float(np.percentile(latencies, 50)),
        float(np.percentile(latencies, 95)),
        recall,
        bytes_per_video,
        len(latencies),
        **extra,
    )


def _note(settings: SearchSettings, kept: float) -> str:
    default = SearchSettings()
    notes = []
    if (settings.precision, settings.pool_threshold) == (default.precision, default.pool_threshold):
        notes.append("**default**")
    if settings.pool_threshold:
        notes.append(f"tokens kept {kept:.0%}")
    return ", ".join(notes)


def _recall(found: list[list[str]], exact: list[list[str]]) -> float:
    return float(np.mean([len(set(f) & set(e)) / len(e) for f, e in zip(found, exact)]))


def _open_store(collection: SyntheticCollection, uri: Path) -> tuple[VideoStore, bool]:
    """The synthetic store at ``uri``, written unless a complete one is there already."""
    try:
        store = VideoStore.open(uri)
        if len(store.video_ids()) == collection.spec.n_videos:
            return store, False
    except StoreError:
        pass
    shutil.rmtree(uri, ignore_errors=True)
    return write_store(collection, uri), True


def _folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def run_bench(config: BenchConfig, log: Callable[[str], None] = print) -> dict:
    spec = SyntheticSpec(config.n_videos, config.tokens_per_video, config.dim, seed=config.seed)
    collection = SyntheticCollection(spec)
    temporary = None if config.workdir else tempfile.mkdtemp(prefix="search-bench-")
    workdir = Path(config.workdir or temporary)
    name = f"store-{spec.n_videos}x{spec.tokens_per_video}x{spec.dim}-s{spec.seed}"
    try:
        start = time.perf_counter()
        store, written = _open_store(collection, workdir / name)
        log(f"store {'written' if written else 'reused'} in {time.perf_counter() - start:.1f} s")
        return _measure(config, collection, store)
    finally:
        if temporary:
            shutil.rmtree(temporary, ignore_errors=True)


def _measure(config: BenchConfig, collection: SyntheticCollection, store: VideoStore) -> dict:
    k, n = config.k, config.n_videos
    queries: list[TokenVectors] = [collection.query(i)[1] for i in range(config.queries)]
    load_before = os.getloadavg()
    rows: list[Row] = []
    exact_searcher = Searcher(store, encoder=None, settings=SearchSettings(exact=True))
    exact_hits = [exact_searcher.search_vectors(q, k) for q in queries]
    exact = [[h.video_id for h in hits] for hits in exact_hits]
    exact_scores = [{h.video_id: h.score for h in hits} for hits in exact_hits]
    latencies = _latencies(lambda i: exact_searcher.search_vectors(queries[i], k), len(queries), 1)
    vectors_bytes = config.tokens_per_video * config.dim * 4
    rows.append(_row("exact MaxSim (ours, --exact)", latencies, 1.0, vectors_bytes))
    exact_searcher._cache = None  # free the float32 matrix before the next ones load

    base = SearchSettings(fast_min_tokens=0)
    if config.nprobe:
        base = replace(base, nprobe=config.nprobe)
    if config.n_candidates:
        base = replace(base, n_candidates=config.n_candidates)
    for name in config.settings:
        settings = replace(base, **SETTINGS[name])
        searcher = Searcher(store, encoder=None, settings=settings)
        fresh = not (index_root(store, settings) / "index.json").exists()
        start = time.perf_counter()
        searcher.fast_search()
        build = time.perf_counter() - start
        found_hits = [searcher.search_vectors(q, k) for q in queries]
        found = [[h.video_id for h in hits] for hits in found_hits]
        error = max(
            (
                abs(h.score - scores[h.video_id])
                for hits, scores in zip(found_hits, exact_scores)
                for h in hits
                if h.video_id in scores
            ),
            default=0.0,
        )
        latencies = _latencies(
            lambda i, s=searcher: s.search_vectors(queries[i], k), len(queries), config.repeat
        )
        view = searcher.fast_search().index.view
        sizes = view.disk_bytes()
        tokens = sum(p.n_tokens for p in view.parts)
        rows.append(
            _row(
                f"two-stage, {name}",
                latencies,
                _recall(found, exact),
                sum(sizes.values()) / n,
                build_s=build if fresh else None,
                note=_note(settings, tokens / (n * config.tokens_per_video)),
                extra={
                    "vector_bytes_per_video": (sizes["vectors"] + sizes.get("scale", 0)) / n,
                    "max_score_error": error,
                },
            )
        )
    if config.baselines:
        rows.extend(_baselines(config, store, queries, exact))
    return {
        "config": asdict(config),
        "search_settings": asdict(base),
        "machine": machine_info(),
        "kernels": kernels.measurements(),
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "cpu_count": os.cpu_count(),
        "lancedb_tokens_bytes_per_video": _folder_bytes(
            Path(store.uri) / f"{store.tokens_table}.lance"
        )
        / n,
        "rows": [asdict(r) for r in rows],
    }


def _baselines(config, store, queries, exact) -> list[Row]:
    k = config.k
    ids = store.video_ids()
    dense = baselines.dense_tokens(store, ids, config.tokens_per_video)
    vectors_bytes = config.tokens_per_video * config.dim * 4
    rows = []
    rankers = [("torch einsum (plain MaxSim)", baselines.einsum_ranker(dense, ids, k))]
    maxsim_cpu = baselines.maxsim_cpu_ranker(dense, ids, k)
    if maxsim_cpu is not None:
        rankers.append(("maxsim-cpu (plain MaxSim)", maxsim_cpu))
    for name, ranker in rankers:
        found = [ranker(q.vectors) for q in queries]
        latencies = _latencies(lambda i, r=ranker: r(queries[i].vectors), len(queries), 1)
        rows.append(_row(name, latencies, _recall(found, exact), vectors_bytes))
    if maxsim_cpu is None:
        rows.append(
            Row(
                "maxsim-cpu",
                float("nan"),
                float("nan"),
                None,
                None,
                0,
                note="not installed: pip install maxsim-cpu",
            )
        )
    del dense
    lance = baselines.lancedb_flat_ranker(store, k)
    n_lance = min(config.lancedb_queries, len(queries))
    if n_lance:
        found = [lance(q.vectors) for q in queries[:n_lance]]
        latencies = _latencies(lambda i: lance(queries[i].vectors), n_lance, 1)
        lance_bytes = _folder_bytes(Path(store.uri) / f"{store.tokens_table}.lance") / len(ids)
        rows.append(
            _row(
                "LanceDB flat multivector",
                latencies,
                _recall(found, exact[:n_lance]),
                lance_bytes,
                note=f"{n_lance} queries (seconds each)",
            )
        )
    return rows


def format_table(result: dict) -> str:
    config = result["config"]
    rows = result["rows"]
    einsum = next((r for r in rows if r["name"].startswith("torch einsum")), None)
    million_tokens = config["n_videos"] * config["tokens_per_video"] / 1e6
    lines = [
        f"{config['n_videos']} videos x {config['tokens_per_video']} tokens x {config['dim']} "
        f"dims, {config['queries']} queries (median of {config['repeat']} runs each for the "
        f"two-stage rows), k={config['k']}; load average {result['load_average_before'][0]:.1f}"
        f" -> {result['load_average_after'][0]:.1f}",
        f"Machine: {machine_line(result['machine'])}; kernels: {_kernel_line(result['kernels'])}",
        "",
        "| search | p50 ms | p95 ms | x faster than einsum (p50) | recall@10 vs exact "
        "| max score error | bytes/video (vectors) | index build s | build s per M tokens "
        "| note |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        speedup = (
            f"{einsum['p50_ms'] / r['p50_ms']:.1f}"
            if einsum and r["p50_ms"] == r["p50_ms"] and r["p50_ms"] > 0
            else "-"
        )
        recall = "-" if r["recall_at_10"] is None else f"{r['recall_at_10']:.3f}"
        size = "-" if r["bytes_per_video"] is None else f"{r['bytes_per_video']:,.0f}"
        if "vector_bytes_per_video" in r["extra"]:
            size += f" ({r['extra']['vector_bytes_per_video']:,.0f})"
        error = r["extra"].get("max_score_error")
        error = "-" if error is None else f"{error:.1e}"
        build = "-" if r["build_s"] is None else f"{r['build_s']:.1f}"
        per_million = "-" if r["build_s"] is None else f"{r['build_s'] / million_tokens:.1f}"
        p50 = "-" if r["p50_ms"] != r["p50_ms"] else f"{r['p50_ms']:.1f}"
        p95 = "-" if r["p95_ms"] != r["p95_ms"] else f"{r['p95_ms']:.1f}"
        lines.append(
            f"| {r['name']} | {p50} | {p95} | {speedup} | {recall} | {error} | {size} | {build} "
            f"| {per_million} | {r['note']} |"
        )
    lines.append("")
    lines.append(
        f"LanceDB tokens table (float32 source of truth): "
        f"{result['lancedb_tokens_bytes_per_video']:,.0f} bytes/video on disk"
    )
    return "\n".join(lines)


def _kernel_line(measured: dict[str, dict]) -> str:
    """``k-means assignment (...): float32-numpy, ...`` (what this process measured and chose);
    a reused index measures none."""
    return "; ".join(f"{use}: {m['chosen']}" for use, m in measured.items()) or "none measured"
