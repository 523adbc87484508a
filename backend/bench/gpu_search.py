"""The GPU rows of ``bench search``: exact search with every token resident on a device.

    python -m backend.bench.gpu_search --videos 100000 --device cuda     # needs only torch
    python -m backend bench search --videos 10000 --device cuda          # beside the CPU rows

Rows, on the same synthetic tokens and queries: plain torch (float16 tokens as a dense
``(V, T, D)`` tensor; ``q @ docs.T``, reshape, amax per modality, mean, best modality, top-k:
what most late-interaction code does on a GPU) and ours (:mod:`backend.search.resident`) in
float16 and int8, with the fused kernel when Triton is there and the torch path beside it. Our
latency is end to end: the top 10 with every modality's score, then each hit's matches (every
query token's best token per modality) and its moment, as the searcher returns them. Recall@10
and the largest score error are against float32 exact scores of the same tokens.

The tokens are drawn on the device the way :mod:`backend.bench.synthetic` draws them (unit
vectors around Zipf-popular topics, runs of near-identical neighbours; a query copies noisy
tokens of one modality of a target video, plus popular-topic tokens), in one fixed layout per
video (96 frame, 96 speech, 32 screen-text and 32 description tokens out of 256), so that plain
torch can reshape; the data is drawn again, chunk by chunk, for each row, never kept in float32.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from backend.search.moments import best_moment
from backend.search.resident import ResidentIndex

#: Modality ids (backend.encoders.base.Modality) and their share of a video's tokens.
LAYOUT = ((1, 0.375), (2, 0.375), (3, 0.125), (4, 0.125))
N_MODALITY_IDS = 5


@dataclass(frozen=True)
class GpuBenchConfig:
    n_videos: int
    tokens_per_video: int = 256
    dim: int = 128
    queries: int = 50
    query_tokens: int = 32
    repeat: int = 5
    k: int = 10
    device: str = "cuda"
    precisions: tuple[str, ...] = ("float16", "int8")
    baseline: bool = True
    chunk_videos: int = 16_384  # videos drawn at once (2 GiB of float32 at 256 x 128)
    n_topics: int = 4096
    seed: int = 0


@dataclass
class GpuRow:
    name: str
    p50_ms: float
    p95_ms: float
    recall_at_10: float | None
    max_score_error: float | None
    bytes_per_video: float
    build_s: float
    note: str = ""
    extra: dict = field(default_factory=dict)


def modality_ids(tokens: int) -> list[int]:
    """The fixed layout: each modality's run of a video's ``tokens``."""
    counts = [int(tokens * share) for _, share in LAYOUT]
    counts[0] += tokens - sum(counts)
    return [m for (m, _), n in zip(LAYOUT, counts) for _ in range(n)]


class Synthetic:
    """Deterministic synthetic tokens, drawn chunk by chunk on the device."""

    def __init__(self, config: GpuBenchConfig) -> None:
        self.config = config
        self.device = torch.device(config.device)
        g = torch.Generator(device="cpu").manual_seed(config.seed)
        topics = torch.randn(config.n_topics, config.dim, generator=g)
        self.topics = torch.nn.functional.normalize(topics, dim=1).to(self.device)
        p = 1.0 / torch.arange(1, config.n_topics + 1, dtype=torch.float64) ** 0.7
        self.topic_p = (p / p.sum()).float().to(self.device)
        self.modality = torch.tensor(modality_ids(config.tokens_per_video), device=self.device)

    def chunk(self, first: int, count: int) -> torch.Tensor:
        """``(count, T, D)`` float32 unit vectors of videos ``first`` ... ``first + count - 1``."""
        c = self.config
        g = torch.Generator(device=self.device).manual_seed(c.seed * 1_000_003 + first)
        chosen = torch.multinomial(self.topic_p.expand(count, -1), 32, generator=g)  # (V, 32)
        runs = max(1, round(c.tokens_per_video / 2.5))
        run_topic = torch.randint(0, 32, (count, runs), generator=g, device=self.device)
        anchors = self.topics[torch.gather(chosen, 1, run_topic)]  # (V, R, D)
        noise = torch.randn(anchors.shape, generator=g, device=self.device)
        anchors = torch.nn.functional.normalize(anchors + noise * (0.9 / math.sqrt(c.dim)), dim=2)
        run_of = (torch.arange(c.tokens_per_video, device=self.device) * runs) // c.tokens_per_video
        tokens = anchors[:, run_of]  # (V, T, D): runs of neighbours
        noise = torch.randn(tokens.shape, generator=g, device=self.device)
        return torch.nn.functional.normalize(tokens + noise * (0.25 / math.sqrt(c.dim)), dim=2)

    def chunks(self) -> Iterator[tuple[int, torch.Tensor]]:
        c = self.config
        for first in range(0, c.n_videos, c.chunk_videos):
            yield first, self.chunk(first, min(c.chunk_videos, c.n_videos - first))

    def queries(self) -> list[torch.Tensor]:
        """Noisy copies of 3/4 of one modality's tokens of a target video, 1/4 popular topics.
        Targets are drawn first; then each chunk holding one is drawn once."""
        c = self.config
        g = torch.Generator(device="cpu").manual_seed(c.seed + 17)
        targets = torch.randint(c.n_videos, (c.queries,), generator=g).tolist()
        modalities = [LAYOUT[i][0] for i in torch.randint(len(LAYOUT), (c.queries,), generator=g)]
        copied: dict[int, torch.Tensor] = {}
        for first in sorted({t - t % c.chunk_videos for t in targets}):
            tokens = self.chunk(first, min(c.chunk_videos, c.n_videos - first))
            for t in targets:
                if first <= t < first + c.chunk_videos:
                    copied[t] = tokens[t - first].clone()
            del tokens
        n_generic = round(c.query_tokens / 4)
        out = []
        for target, modality in zip(targets, modalities):
            own = torch.nonzero(self.modality == modality).squeeze(1).cpu()
            pick = own[torch.randint(len(own), (c.query_tokens - n_generic,), generator=g)]
            generic = self.topics[torch.randint(64, (n_generic,), generator=g).to(self.device)]
            base = torch.cat([copied[target][pick.to(self.device)], generic])
            noise = torch.randn(base.shape, generator=g).to(self.device) * (0.5 / math.sqrt(c.dim))
            out.append(torch.nn.functional.normalize(base + noise, dim=1))
        return out


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _latencies(run: Callable[[int], object], n: int, repeat: int, device) -> list[float]:
    run(0)  # warm-up
    _sync(device)
    out = []
    for number in range(n):
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            run(number)
            _sync(device)
            times.append((time.perf_counter() - start) * 1000)
        out.append(statistics.median(times))
    return out


def exact_reference(data: Synthetic, queries: list[torch.Tensor], k: int):
    """Float32 modality_max scores: each query's top ``k`` (ids, scores), drawn chunk by chunk."""
    best: list[tuple[torch.Tensor, torch.Tensor]] = [
        (torch.empty(0, device=data.device), torch.empty(0, dtype=torch.long, device=data.device))
        for _ in queries
    ]
    for first, tokens in data.chunks():
        for i, q in enumerate(queries):
            scores = _plain_scores(tokens, data.modality, q)
            values = torch.cat([best[i][0], scores])
            ids = torch.cat([best[i][1], torch.arange(len(scores), device=data.device) + first])
            top = torch.topk(values, min(k, len(values)))
            best[i] = (top.values, ids[top.indices])
    return [(ids.cpu().numpy(), values.cpu().numpy()) for values, ids in best]


def _plain_scores(tokens: torch.Tensor, modality: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Plain torch modality_max over a dense ``(V, T, D)`` block: reshape and amax per run."""
    sims = (tokens.reshape(-1, tokens.shape[2]) @ q.to(tokens.dtype).T).view(
        tokens.shape[0], tokens.shape[1], -1
    )  # (V, T, Q)
    per_modality = []
    for m, _ in LAYOUT:
        where = torch.nonzero(modality == m).squeeze(1)
        run = sims[:, int(where[0]) : int(where[-1]) + 1]
        per_modality.append(run.amax(dim=1).float().mean(dim=1))
    return torch.stack(per_modality, 1).amax(dim=1)


def _row(name, latencies, found, reference, bytes_per_video, build_s, note="", **extra) -> GpuRow:
    recall = error = None
    if reference:
        recall = float(
            np.mean(
                [
                    len(set(f[0].tolist()) & set(r[0].tolist())) / len(r[0])
                    for f, r in zip(found, reference)
                ]
            )
        )
        error = float(
            max(
                abs(float(score) - float(dict(zip(r[0].tolist(), r[1].tolist()))[int(v)]))
                for f, r in zip(found, reference)
                for v, score in zip(*f)
                if int(v) in set(r[0].tolist())
            )
        )
    return GpuRow(
        name,
        float(np.percentile(latencies, 50)),
        float(np.percentile(latencies, 95)),
        recall,
        error,
        bytes_per_video,
        build_s,
        note,
        extra,
    )


def _matches_and_moment(index: ResidentIndex, hits, q: np.ndarray, window_s: float = 2.0):
    """What the searcher adds to each hit: per modality, every query token's best token (its
    position and similarity), and the moment of the best modality that has times."""
    out = []
    for video, row in zip(hits.videos.tolist(), hits.per_modality):
        tokens = index.tokens_of(video)
        matches = {}
        for modality, vectors in tokens.items():
            sims = q @ vectors.T
            best = sims.argmax(axis=1)
            matches[modality] = (best, sims[np.arange(len(best)), best])
        present = [m for m in tokens if not math.isnan(row[m])]
        top = max(present, key=lambda m: row[m]) if present else None
        moment = None
        if top is not None:
            times = np.arange(len(tokens[top]), dtype=np.float32) * 0.5  # synthetic times
            moment = best_moment(q @ tokens[top].T, times, window_s)
        out.append((matches, moment))
    return out


def run_gpu_bench(config: GpuBenchConfig, log: Callable[[str], None] = print) -> dict:
    device = torch.device(config.device)
    data = Synthetic(config)
    queries = data.queries()
    start = time.perf_counter()
    reference = exact_reference(data, queries, config.k)
    log(f"float32 reference drawn and scored in {time.perf_counter() - start:.1f} s")
    rows: list[GpuRow] = []
    if config.baseline:
        rows += _baseline_row(config, data, queries, reference, log)
    for precision in config.precisions:
        kernels = ["auto", "torch"] if device.type == "cuda" else ["torch"]
        for kernel in kernels:
            try:
                row = _ours_row(config, data, queries, reference, precision, kernel, log)
            except (RuntimeError, torch.cuda.OutOfMemoryError) as error:  # one row, not the run
                log(f"ours, {precision}, kernel {kernel}: failed: {error}")
                row = None
            if row is not None:
                rows.append(row)
    from backend.bench.machine import machine_info

    return {
        "config": asdict(config),
        "machine": machine_info(config.device),
        "rows": [asdict(r) for r in rows],
    }


def _free(device: torch.device) -> int:
    return torch.cuda.mem_get_info(device)[0] if device.type == "cuda" else 1 << 62


def _baseline_row(config, data, queries, reference, log) -> list[GpuRow]:
    device, n, t, d = data.device, config.n_videos, config.tokens_per_video, config.dim
    need = n * t * d * 2
    if need > 0.8 * _free(device):
        log(f"plain torch skipped: {need / 2**30:.1f} GiB of float16 tokens do not fit")
        return []
    start = time.perf_counter()
    dense = torch.empty((n, t, d), dtype=torch.float16, device=device)
    for first, tokens in data.chunks():
        dense[first : first + len(tokens)] = tokens.half()
    build = time.perf_counter() - start

    def search(i: int):
        top = torch.topk(_plain_scores(dense, data.modality, queries[i]), config.k)
        return top.indices.cpu().numpy(), top.values.cpu().numpy()

    found = [search(i) for i in range(len(queries))]
    latencies = _latencies(search, len(queries), config.repeat, device)
    dense = None  # frees it (the closure holds the same cell)
    if device.type == "cuda":
        torch.cuda.empty_cache()
    row = _row("plain torch (float16, dense)", latencies, found, reference, t * d * 2, build)
    log(f"{row.name}: p50 {row.p50_ms:.2f} ms")
    return [row]


def _ours_row(config, data, queries, reference, precision, kernel, log) -> GpuRow | None:
    device, t, d = data.device, config.tokens_per_video, config.dim
    per_token = d * (2 if precision == "float16" else 1) + (4 if precision == "int8" else 0)
    if config.n_videos * t * per_token > 0.85 * _free(device):
        log(f"ours, {precision}: skipped, the tokens do not fit in GPU memory")
        return None
    start = time.perf_counter()
    index = ResidentIndex(N_MODALITY_IDS, device, precision, kernel)  # type: ignore[arg-type]
    drawn: list[torch.Tensor] = []

    def add(parts: list[torch.Tensor]) -> None:  # index chunks of 4 drawn ones: fewer launches
        tokens = torch.cat(parts) if len(parts) > 1 else parts[0]
        video = torch.arange(len(tokens), device=device).repeat_interleave(t)
        index.add_chunk(
            tokens.reshape(-1, d), video, data.modality.repeat(len(tokens)), len(tokens)
        )

    for _, tokens in data.chunks():
        drawn.append(tokens)
        if len(drawn) == 4:
            add(drawn)
            drawn = []
    if drawn:
        add(drawn)
    build = time.perf_counter() - start
    host_queries = [q.float().cpu().numpy() for q in queries]

    def search(i: int):
        hits = index.search(queries[i], config.k)
        _matches_and_moment(index, hits, host_queries[i])
        return hits.videos, hits.scores

    found = [search(i) for i in range(len(queries))]
    latencies = _latencies(search, len(queries), config.repeat, device)
    only_top = _latencies(
        lambda i: index.search(queries[i], config.k), len(queries), config.repeat, device
    )
    fused = index.uses_triton()
    name = f"ours, resident {precision}" + (" (fused Triton kernel)" if fused else " (torch)")
    row = _row(
        name,
        latencies,
        found,
        reference,
        index.nbytes / config.n_videos,
        build,
        note="end to end: top 10, matches, moment",
        top_k_only_p50_ms=float(np.percentile(only_top, 50)),
    )
    log(f"{row.name}: p50 {row.p50_ms:.2f} ms (top-k alone {row.extra['top_k_only_p50_ms']:.2f})")
    index = None  # frees it (the closures hold the same cell)
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return row


def format_gpu_table(result: dict) -> str:
    from backend.bench.machine import machine_line

    c = result["config"]
    rows = result["rows"]
    plain = next((r for r in rows if r["name"].startswith("plain torch")), None)
    lines = [
        f"{c['n_videos']:,} videos x {c['tokens_per_video']} tokens x {c['dim']} dims on "
        f"{c['device']}, {c['queries']} queries of {c['query_tokens']} tokens, k={c['k']} "
        f"(median of {c['repeat']} runs each); {machine_line(result['machine'])}",
        "",
        "| search | p50 ms | p95 ms | x plain torch (p50) | recall@10 vs float32 exact "
        "| max score error | bytes/video | build s | note |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        speed = f"{plain['p50_ms'] / r['p50_ms']:.1f}" if plain else "-"
        recall = "-" if r["recall_at_10"] is None else f"{r['recall_at_10']:.3f}"
        error = "-" if r["max_score_error"] is None else f"{r['max_score_error']:.1e}"
        note = r["note"]
        if "top_k_only_p50_ms" in r["extra"]:
            note += f" (top 10 alone: p50 {r['extra']['top_k_only_p50_ms']:.2f} ms)"
        lines.append(
            f"| {r['name']} | {r['p50_ms']:.2f} | {r['p95_ms']:.2f} | {speed} | {recall} | "
            f"{error} | {r['bytes_per_video']:,.0f} | {r['build_s']:.1f} | {note} |"
        )
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--videos", type=int, default=10_000)
    parser.add_argument("--tokens", type=int, default=256)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--device", default="cuda")
    parser.add_argument(
        "--precision", action="append", choices=["float16", "int8"], help="repeatable"
    )
    parser.add_argument("--no-baselines", action="store_true", help="skip plain torch")
    parser.add_argument("--json", action="store_true")


def config_from(args: argparse.Namespace) -> GpuBenchConfig:
    return GpuBenchConfig(
        n_videos=args.videos,
        tokens_per_video=args.tokens,
        dim=args.dim,
        queries=args.queries,
        repeat=args.repeat,
        device=args.device,
        precisions=tuple(args.precision or ("float16", "int8")),
        baseline=not args.no_baselines,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m backend.bench.gpu_search", description=__doc__.split("\n\n")[0]
    )
    add_arguments(parser)
    args = parser.parse_args(argv)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("no CUDA device: give --device cpu to try the rows on the CPU", file=sys.stderr)
        return 2
    result = run_gpu_bench(config_from(args), log=lambda s: print(s, file=sys.stderr, flush=True))
    print(json.dumps(result, indent=2) if args.json else format_gpu_table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
