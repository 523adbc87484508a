"""Ingest speed per stage, OCR accuracy and retrieval on the real corpus, old settings beside new,
in one run; plus search latency. Prints markdown tables (or JSON).

    python -m bench.corpus [--corpus ../shared/data/corpus] [--modes old new old-auto]
                           [--queries N]
                           [--new-ocr KEY=VALUE ...] [--keep DIR] [--json]

Each mode indexes the whole corpus into a fresh store (temporary, or under ``--keep``) with its
models already loaded (a first short video is indexed before the clock starts):

- **old**: today's path kept for comparison: every sampled frame read whole by OCR
  (``OcrSettings.incremental=False``), stages one after another, each model on every core
  (``IngestSettings.parallel_stages=False``), the frame classifier and OCR's models on
  onnxruntime in float32.
- **new**: the defaults: incremental OCR, ASR/OCR/vision side by side with one intra-op thread
  each, the next video read ahead while this one is finished. ``--new-ocr`` changes its
  ``OcrSettings`` (e.g. ``--new-ocr full_resolution_every=8 full_on_scene_changes=false
  coarse_side=256``: less CPU, small text found later).
- **old-auto** (only when asked): ``old`` with its models on the runtimes ``new`` uses. Its spans
  against ``old``'s are the noise floor of the span comparison: what reading the same frames
  the same way on another runtime changes.

Per stage it prints CPU seconds and wall seconds per minute of video. CPU is counted per thread
(``time.thread_time`` on the stage's thread, plus CTranslate2's own threads for ASR) when stages
overlap, and as process CPU time while the stage ran when they do not (exact then, library thread
pools included); "other" is the process's CPU time not inside any stage (torch's and LanceDB's
pools in parallel mode, model loading), so the CPU column adds up to the process's CPU time. A
stage's wall seconds are its own elapsed time; in parallel mode stages overlap, and the **all**
row's wall is the run's elapsed time. Then, for each mode: OCR word recall on
``../shared/data/ocr`` (pictures read whole; the counter frames also read in order as a video),
dev retrieval (R@1, nDCG@10 of ``retrieval_dev.jsonl``), and every OCR span of the old run
against each other mode's (same text at the same place, start and end within one sampling
interval: the sampling step, or neighbouring sampled frames where repeated frames were not
sampled); a lost span is moved (read at the same place at overlapping times, by one span over
several old ones where the old reading broke off) or read as other text. With
``--keep``, a mode left out of ``--modes`` whose store that folder holds is compared from it.
Timings depend on what else runs on the machine: the header gives the load average.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

from backend.bench.machine import machine_info, machine_line
from backend.collection import Collection
from backend.config import IngestSettings, OcrSettings, Settings
from backend.ingest.stage_timer import CPU_LEDGER
from backend.ingest.types import TextSpan
from bench.ocr_accuracy import compare_spans, counter_sequence_recall, read_references

STAGES = ("hash", "decode", "asr", "ocr", "vision", "encode", "store")
DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
DEFAULT_CORPUS = DATA / "corpus"
DEV_QUERIES = DATA / "retrieval_dev.jsonl"
MODES = ("old", "new", "old-auto")
#: Indexed before the clock starts, so that model loading is not counted as ingest.
WARM_UP = "grid_lipnet/bbaf2n.mpg"


def mode_settings(base: Settings, mode: str) -> Settings:
    """``new``: the settings as given; ``old``: the path the issue started from; ``old-auto``:
    that path with the models on the runtimes ``new`` picks (OpenVINO in bfloat16 where the CPU
    has it)."""
    if mode == "new":
        return base
    runtime = "auto" if mode == "old-auto" else "onnx"
    return replace(
        base,
        vision=replace(base.vision, runtime=runtime),
        ocr=replace(base.ocr, incremental=False, runtime=runtime),
        ingest=IngestSettings(parallel_stages=False),
    )


def ocr_overrides(pairs: list[str]) -> dict[str, object]:
    """``KEY=VALUE`` strings as typed ``OcrSettings`` fields.

    >>> ocr_overrides(["full_resolution_every=8", "full_on_scene_changes=false"])
    {'full_resolution_every': 8, 'full_on_scene_changes': False}
    """
    kinds = {f.name: type(getattr(OcrSettings(), f.name)) for f in dataclasses.fields(OcrSettings)}
    values: dict[str, object] = {}
    for pair in pairs:
        key, _, text = pair.partition("=")
        if key not in kinds:
            raise SystemExit(f"--new-ocr: no OcrSettings field {key!r}; fields: {sorted(kinds)}")
        kind = kinds[key]
        values[key] = text.lower() in ("1", "true", "on", "yes") if kind is bool else kind(text)
    return values


def ingest_run(collection: Collection, corpus: Path, parallel: bool) -> dict:
    """Index the corpus; seconds per stage (CPU and wall) and totals."""
    before, cpu_start, wall_start = CPU_LEDGER.snapshot(), time.process_time(), time.perf_counter()
    report = collection.index([corpus])
    wall = time.perf_counter() - wall_start
    process_cpu = time.process_time() - cpu_start
    times = CPU_LEDGER.snapshot().minus(before)
    done = [r for r in report.results if r.status == "indexed"]
    minutes = sum(r.duration_s or 0.0 for r in done) / 60
    stage_cpu = times.thread_cpu if parallel else times.process_cpu
    cpu = {s: stage_cpu.get(s, 0.0) for s in STAGES}
    cpu["other"] = process_cpu - sum(cpu.values())
    return {
        "videos_indexed": len(done),
        "videos_failed": report.count("failed"),
        "minutes_of_video": round(minutes, 3),
        "cpu_s": {s: round(v, 2) for s, v in cpu.items()},
        "wall_s": {s: round(times.wall.get(s, 0.0), 2) for s in STAGES},
        "process_cpu_s": round(process_cpu, 2),
        "elapsed_s": round(wall, 2),
        "cpu_s_per_video_minute": round(process_cpu / minutes, 2),
        "wall_s_per_video_minute": round(wall / minutes, 2),
    }


@dataclass(frozen=True)
class Reading:
    """One video's on-screen text as a mode read it, and the times of its sampled frames."""

    spans: list[TextSpan]
    frame_times: list[float]  # in time order (VideoStore.frames)


def readings_by_file(collection: Collection) -> dict[str, Reading]:
    return {
        r.file_name: Reading(
            r.ingested().text_spans, [f["time_s"] for f in collection.store.frames(r.video_id)]
        )
        for r in collection.videos()
    }


def ocr_accuracy(settings: Settings) -> dict:
    """Word recall on the OCR set (pictures read whole) and on the counter frames read as one
    video, with this mode's OCR settings and threads."""
    from backend.ingest.ocr import TextReader

    threads = settings.ingest.threads_per_stage if settings.ingest.parallel_stages else None
    reader = TextReader(settings.ocr, threads=threads)
    groups = read_references(reader, DATA, show=False)
    scored = [s for rows in groups.values() for s, _, _ in rows if s.reference]
    counter = [s for (folder, _), rows in groups.items() if "counter" in folder for s, _, _ in rows]
    start = time.process_time()
    sequence = counter_sequence_recall(reader, DATA)
    return {
        "recall": round(sum(s.matched for s in scored) / sum(s.reference for s in scored), 4),
        "counter_frames_recall": round(
            sum(s.matched for s in counter) / sum(s.reference for s in counter), 4
        ),
        "counter_as_video_recall": round(statistics.mean(sequence), 4),
        "counter_as_video_lowest": round(min(sequence), 4),
        "counter_as_video_cpu_s": round(time.process_time() - start, 2),
    }


def retrieval(collection: Collection) -> dict:
    report = collection.evaluate(DEV_QUERIES)
    rows = report.systems[0].rows["all"]
    return {"system": report.systems[0].name, "R@1": rows["R@1"], "nDCG@10": rows["nDCG@10"]}


def compare_runs(old: dict[str, Reading], new: dict[str, Reading], every_s: float):
    """Every span of the old reading against another: kept (same text and place, start and end
    within one sampling interval), or lost, and then moved (where the old reading broke off, or
    otherwise) or read as other text."""
    totals = dict.fromkeys(
        ("old_spans", "kept", "lost", "extra", "lost_words", "moved", "broken_off"), 0
    )
    lost, extra = [], []
    for name in sorted(old):
        spans = new[name].spans if name in new else []
        result = compare_spans(old[name].spans, spans, every_s, old[name].frame_times)
        moved = result.moved(spans, every_s)
        broken_off = result.broken_off(spans, every_s)
        totals["old_spans"] += len(old[name].spans)
        totals["kept"] += len(result.kept)
        totals["lost"] += len(result.lost)
        totals["extra"] += len(result.extra)
        totals["lost_words"] += len(result.words(result.lost))
        totals["moved"] += len(moved)
        totals["broken_off"] += len(broken_off)
        for span in result.lost:
            why = ""
            if span in broken_off:
                why = " (moved: the old reading broke off)"
            elif span in moved:
                why = " (moved)"
            lost.append(f"{name} {span.text!r} {span.start_s:.2f}-{span.end_s:.2f}{why}")
        extra += [f"{name} {s.text!r} {s.start_s:.2f}-{s.end_s:.2f}" for s in result.extra]
    return {**totals, "lost_spans": lost, "extra_spans": extra}


def span_summary(mode: str, c: dict, every_s: float) -> str:
    return (
        f"OCR spans, {mode} vs old (same text and place, start and end within one sampling "
        f"interval: {every_s:g} s or the next sampled frame): {c['kept']} of {c['old_spans']} "
        f"kept, {c['lost']} lost ({c['lost_words']} word-like): {c['moved']} moved (the same text "
        f"read at the same place at overlapping times; {c['broken_off']} of them where the old "
        f"reading broke off: one {mode} span over several old ones), "
        f"{c['lost'] - c['moved']} read as other text; {c['extra']} {mode} spans matched none"
    )


def stage_table(runs: dict[str, dict]) -> str:
    modes = list(runs)
    head = " | ".join(f"{m} CPU s/min | {m} wall s/min" for m in modes)
    lines = [f"| stage | {head} |", "|---|" + "---:|" * (2 * len(modes))]
    for stage in (*STAGES, "other"):
        cells = []
        for m in modes:
            minutes = runs[m]["minutes_of_video"]
            wall = runs[m]["wall_s"].get(stage)
            cells.append(f"{runs[m]['cpu_s'][stage] / minutes:.1f}")
            cells.append("" if wall is None else f"{wall / minutes:.1f}")
        lines.append(f"| {stage} | {' | '.join(cells)} |")
    cells = []
    for m in modes:
        cells += [f"**{runs[m]['cpu_s_per_video_minute']:.1f}**"]
        cells += [f"**{runs[m]['wall_s_per_video_minute']:.1f}**"]
    lines.append(f"| **all** | {' | '.join(cells)} |")
    return "\n".join(lines)


def bench_queries(collection: Collection, n: int) -> list[str]:
    queries = (
        [json.loads(line)["query"] for line in DEV_QUERIES.read_text().splitlines()]
        if DEV_QUERIES.is_file()
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


def run_mode(mode: str, base: Settings, corpus: Path, folder: Path) -> tuple[dict, Collection]:
    settings = mode_settings(base, mode).with_store(folder / f"{mode}-store")
    collection = Collection(settings)
    collection.indexer.ingestor.ingest(corpus / WARM_UP)  # load the models: not ingest time
    collection.encoder.encode_query("warm up")
    result = {"ingest": ingest_run(collection, corpus, settings.ingest.parallel_stages)}
    result["load_average"] = [round(x, 2) for x in os.getloadavg()]
    result["retrieval"] = retrieval(collection)
    result["ocr"] = ocr_accuracy(settings)
    return result, collection


def print_runs(runs: dict[str, dict]) -> None:
    """Each mode's ingest figures, then its OCR accuracy and retrieval."""
    first = next(iter(runs.values()))["ingest"]
    print(
        f"ingest: {first['videos_indexed']} videos, {first['minutes_of_video']:.2f} min of video, "
        f"{first['videos_failed']} failed; "
        + ", ".join(
            f"{m}: {r['ingest']['elapsed_s']:.0f} s wall, {r['ingest']['process_cpu_s']:.0f} CPU s "
            f"(load {r['load_average']})"
            for m, r in runs.items()
        )
    )
    print()
    print(stage_table({m: r["ingest"] for m, r in runs.items()}))
    print()
    print(
        "| mode | OCR set recall | counter frames | counter frames as video "
        "| dev R@1 | dev nDCG@10 |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for m, r in runs.items():
        o, q = r["ocr"], r["retrieval"]
        print(
            f"| {m} | {o['recall']:.1%} | {o['counter_frames_recall']:.1%} "
            f"| {o['counter_as_video_recall']:.1%} (lowest {o['counter_as_video_lowest']:.0%}) "
            f"| {q['R@1']:.3f} | {q['nDCG@10']:.3f} |"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.corpus", description=__doc__)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--modes", nargs="*", default=["old", "new"], choices=MODES)
    parser.add_argument("--queries", type=int, default=50, help="search latency queries (0: none)")
    parser.add_argument(
        "--new-ocr", nargs="*", default=[], metavar="KEY=VALUE", help="OcrSettings of 'new'"
    )
    parser.add_argument("--keep", type=Path, help="keep the stores in this folder")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    base = Settings.from_env()
    base = replace(base, ocr=replace(base.ocr, **ocr_overrides(args.new_ocr)))
    info = machine_info()
    out_settings = {"new_ocr": dataclasses.asdict(base.ocr)}
    out: dict = {
        "machine": info,
        "load_average_start": [round(x, 2) for x in os.getloadavg()],
        **out_settings,
    }
    with tempfile.TemporaryDirectory(prefix="bench-corpus-") as scratch:
        folder = args.keep or Path(scratch)
        runs, readings, collection = {}, {}, None
        for mode in args.modes:
            runs[mode], collection = run_mode(mode, base, args.corpus, folder)
            readings[mode] = readings_by_file(collection)
        for mode in set(MODES) - set(runs):  # a mode not run: its store kept by an earlier run
            if (folder / f"{mode}-store").is_dir():
                kept = Collection(mode_settings(base, mode).with_store(folder / f"{mode}-store"))
                readings[mode] = readings_by_file(kept)
        out["modes"] = runs
        if "old" in readings:
            out["spans_vs_old"] = {
                mode: compare_runs(readings["old"], readings[mode], base.frames.every_s)
                for mode in MODES
                if mode != "old" and mode in readings
            }
        if args.queries and collection is not None:
            out["search"], search_md = search_table(
                collection, bench_queries(collection, args.queries)
            )
    out["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    if args.json:
        json.dump(out, sys.stdout, indent=2)
        print()
        return 0
    print(f"machine: {machine_line(info)}; load average at start {out['load_average_start']}")
    knobs = ("full_resolution_every", "full_on_scene_changes", "coarse_side")
    print("new OCR: " + ", ".join(f"{k}={out['new_ocr'][k]}" for k in knobs))
    print()
    if runs:
        print_runs(runs)
    for mode, c in out.get("spans_vs_old", {}).items():
        print("\n" + span_summary(mode, c, base.frames.every_s))
        for line in c["lost_spans"]:
            print(f"- lost: {line}")
        for line in c["extra_spans"]:
            print(f"- {mode}: {line}")
    if "search" in out:
        print()
        print(search_md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
