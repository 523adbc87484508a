"""Search by picture on the real corpus: near-duplicate retrieval, image + text, latency, cost.

    python -m bench.image_queries --store DIR [--corpus ../shared/data/corpus] [--per-video 3]
        [--seed 0] [--json FILE]

The store is the corpus indexed once (``python -m bench.corpus --store DIR`` or ``python -m
backend index ../shared/data/corpus --store DIR``); an empty or missing store is indexed here
first, and a store indexed before search by picture gains its picture tokens
(``python -m backend add-images``) before anything is measured.

**Near duplicates.** For every corpus video, ``--per-video`` times drawn at random (seeded) over
its duration; the frame shown at each time is decoded from the original file (a time whose
picture is one flat colour is drawn again, up to 20 times: such a picture has nothing to search
by) and altered: cropped (a random 75 % x 75 % window), rescaled (to a third of its size),
re-encoded as JPEG quality 15, brightness changed (x1.4 or x0.6), and all four together. Each
picture searches the store alone (``search_image``, no text); the rank of its own video gives
R@1, R@5 and MRR per alteration.

**Image + text** on the dev visual queries. No independent picture of "a parakeet climbing a
ladder" exists in the shared data, so two honest bounds are reported beside text alone: with a
frame of the relevant video itself (an oracle: the upper bound, it is a near duplicate), and with
an unrelated picture (a street photo from ``../shared/data/ocr``: what a wrong picture costs).

**Latency**: end to end through ``Collection`` (encoding, exact MaxSim, matches, moment), text,
picture and picture + text queries in one table. **Cost**: the vision model's forward pass with
and without the appearance output, and the picture tokens' share of the store.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance

from backend.bench.machine import machine_info, machine_line
from backend.collection import Collection, QueryError
from backend.config import Settings

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
DEFAULT_CORPUS = SHARED / "corpus"
UNRELATED_PICTURE = SHARED / "ocr" / "easyocr_examples" / "example.png"
ALTERATIONS = ("original", "crop", "rescale", "jpeg", "brightness", "all four")
REQUIRED = ("crop", "rescale", "jpeg", "brightness")  # the overall figure
FLAT_STD = 6.0  # as the tagger: a picture this uniform has no region worth a feature


# ----------------------------------------------------------------------------- pictures
def frames_at(path: Path, times: list[float]) -> dict[float, np.ndarray]:
    """The picture shown at each time (the first frame at or after it), as displayed."""
    from backend.ingest.probe import (
        Decoding,
        display_size,
        frame_time_s,
        open_media,
        origin_s,
        pixel_aspect,
        probe_video,
        video_stream,
    )

    rotation = probe_video(path).rotation
    wanted = sorted(times)
    found: dict[float, np.ndarray] = {}
    with open_media(path) as container:
        stream = video_stream(container)
        if stream is None:
            return found
        aspect, origin, last = pixel_aspect(stream), origin_s(container), None
        for frame in Decoding(container, stream):
            time_s = frame_time_s(frame, origin)
            width, height = display_size(frame.width, frame.height, aspect, 0)
            last = frame.reformat(width=width, height=height, format="rgb24").to_ndarray()
            if rotation:
                last = np.ascontiguousarray(np.rot90(last, k=-(rotation // 90)))
            while wanted and time_s is not None and time_s + 1e-6 >= wanted[0]:
                found[wanted.pop(0)] = last
            if not wanted:
                break
    for time_s in wanted:  # past the last frame: the last picture stays on screen
        if last is not None:
            found[time_s] = last
    return found


def alter(image: np.ndarray, kind: str, rng: np.random.Generator) -> np.ndarray:
    """One of the alterations above, seeded by ``rng``."""
    picture = Image.fromarray(image)
    kinds = ("crop", "rescale", "brightness", "jpeg") if kind == "all four" else (kind,)
    for step in kinds:
        width, height = picture.size
        if step == "crop":
            w, h = max(1, round(width * 0.75)), max(1, round(height * 0.75))
            x, y = int(rng.integers(0, width - w + 1)), int(rng.integers(0, height - h + 1))
            picture = picture.crop((x, y, x + w, y + h))
        elif step == "rescale":
            size = (max(16, round(width / 3)), max(16, round(height / 3)))
            picture = picture.resize(size, Image.Resampling.BILINEAR)
        elif step == "brightness":
            picture = ImageEnhance.Brightness(picture).enhance(1.4 if rng.random() < 0.5 else 0.6)
        elif step == "jpeg":
            buffer = io.BytesIO()
            picture.save(buffer, "JPEG", quality=15)
            picture = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    return np.asarray(picture.convert("RGB"))


def query_frames(
    collection: Collection, corpus: Path, per_video: int, rng: np.random.Generator
) -> tuple[list[tuple[str, float, np.ndarray]], list[str]]:
    """(video id, time, picture) per query, and the videos with no picture to search by."""
    queries, unsearchable = [], []
    for record in collection.videos():
        path = Path(record.path)
        duration = record.duration_s or 0.0
        if not record.has_video or not path.is_file():
            unsearchable.append(record.file_name)
            continue
        chosen: list[tuple[float, np.ndarray]] = []
        for _ in range(20):
            times = [float(t) for t in rng.uniform(0, max(duration, 1e-3), per_video)]
            for time_s, image in frames_at(path, times).items():
                if len(chosen) < per_video and float(image.std()) >= FLAT_STD:
                    chosen.append((time_s, image))
            if len(chosen) >= per_video:
                break
        if not chosen:
            unsearchable.append(record.file_name)
        queries += [(record.video_id, t, image) for t, image in chosen]
    return queries, unsearchable


# ----------------------------------------------------------------------------- measures
def rank_of(hits, video_id: str) -> int | None:
    return next((h.rank for h in hits if h.video_id == video_id), None)


def metrics(ranks: list[int | None]) -> dict[str, float]:
    """R@1, R@5 and MRR of the relevant video's ranks (None: not returned).

    >>> metrics([1, 2, None, 1])
    {'queries': 4, 'R@1': 0.5, 'R@5': 0.75, 'MRR': 0.625}
    """
    n = max(1, len(ranks))
    return {
        "queries": len(ranks),
        "R@1": round(sum(r == 1 for r in ranks) / n, 4),
        "R@5": round(sum(r is not None and r <= 5 for r in ranks) / n, 4),
        "MRR": round(sum(1 / r for r in ranks if r) / n, 4),
    }


def near_duplicates(collection, queries, rng, k: int) -> tuple[dict, list[dict]]:
    names = {r.video_id: r.file_name for r in collection.videos()}
    table, misses = {}, []
    for kind in ALTERATIONS:
        ranks = []
        for video_id, time_s, image in queries:
            picture = alter(image, kind, rng) if kind != "original" else image
            try:
                hits = collection.search_image(picture, "", k)
            except QueryError:  # the alteration left a flat picture: nothing to search by
                hits = []
            rank = rank_of(hits, video_id)
            ranks.append(rank)
            if rank != 1:
                top = names.get(hits[0].video_id, hits[0].video_id) if hits else None
                misses.append(
                    {
                        "alteration": kind,
                        "video": names[video_id],
                        "time_s": round(time_s, 2),
                        "rank": rank,
                        "top": top,
                    }
                )
        table[kind] = metrics(ranks)
    overall = [m for m in misses if m["alteration"] in REQUIRED]
    n = len(queries) * len(REQUIRED)
    table["overall (crop, rescale, jpeg, brightness)"] = {
        "queries": n,
        "R@1": round(1 - len(overall) / max(1, n), 4),
        "MRR": round(statistics.mean(table[a]["MRR"] for a in REQUIRED), 4),
    }
    return table, misses


def image_and_text(collection, corpus: Path, rng, k: int) -> list[dict]:
    """Rank of the relevant video per dev visual query: text, oracle frame + text, unrelated
    picture + text, oracle frame alone."""
    from backend.ingest.picture import read_picture

    by_path = {Path(r.path).resolve(): r.video_id for r in collection.videos()}
    unrelated = read_picture(UNRELATED_PICTURE)
    rows = []
    for line in (corpus.parent / "retrieval_dev.jsonl").read_text().splitlines():
        query = json.loads(line)
        if query.get("query_type") != "visual":
            continue
        relevant = by_path[(corpus / query["relevant"][0]).resolve()]
        record = collection.video(relevant)
        time_s = float(rng.uniform(0, record.duration_s or 1.0))
        oracle = next(iter(frames_at(Path(record.path), [time_s]).values()))
        rows.append(
            {
                "qid": query["qid"],
                "query": query["query"],
                "text": rank_of(collection.search(query["query"], k), relevant),
                "oracle frame + text": rank_of(
                    collection.search_image(oracle, query["query"], k), relevant
                ),
                "unrelated picture + text": rank_of(
                    collection.search_image(unrelated, query["query"], k), relevant
                ),
                "oracle frame alone": rank_of(collection.search_image(oracle, "", k), relevant),
            }
        )
    return rows


def latency(collection, queries, texts: list[str], n: int) -> dict[str, dict[str, float]]:
    def timed(run) -> float:
        start = time.perf_counter()
        run()
        return (time.perf_counter() - start) * 1000

    pictures = [image for _, _, image in queries[:n]]
    encoder = collection.encoder
    pairs = list(zip(pictures, texts * n, strict=False))
    kinds = {
        "text": (
            [lambda t=t: collection.search(t, 10) for t in texts[:n]],
            [lambda t=t: encoder.encode_query(t) for t in texts[:n]],
        ),
        "picture": (
            [lambda p=p: collection.search_image(p, "", 10) for p in pictures],
            [lambda p=p: encoder.encode_image_query(p) for p in pictures],
        ),
        "picture + text": (
            [lambda p=p, t=t: collection.search_image(p, t, 10) for p, t in pairs],
            [lambda p=p, t=t: encoder.encode_image_query(p, t) for p, t in pairs],
        ),
    }
    out = {}
    for name, (runs, encodings) in kinds.items():
        runs[0]()  # warm: models loaded, matrices packed
        ms = sorted(timed(run) for run in runs)
        encode = sorted(timed(run) for run in encodings)
        out[name] = {
            "queries": len(ms),
            "p50_ms": round(statistics.median(ms), 1),
            "p95_ms": round(ms[min(len(ms) - 1, int(0.95 * len(ms)))], 1),
            "of which encoding, p50_ms": round(statistics.median(encode), 1),
        }
    return out


def forward_cost(corpus: Path, repeats: int = 5) -> dict[str, float]:
    """ms per crop of EfficientNet-Lite0 on onnxruntime: probabilities only (the graph before
    search by picture) against probabilities + appearance features (one pass), same crops."""
    import onnxruntime as ort
    import torch

    from backend.ingest.vision.classifier import weights_path
    from backend.ingest.vision.network import build_model, export_onnx
    from backend.ingest.vision.regions import crop_batch, tile_boxes, whole_frame_box

    class ProbabilitiesOnly(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, pixels):
            x = pixels.permute(0, 3, 1, 2).float() / 127.5 - 1.0
            return torch.softmax(self.inner.network(x), dim=-1)

    buffer = io.BytesIO()
    sample = torch.zeros((2, 224, 224, 3), dtype=torch.uint8)
    with torch.inference_mode():
        torch.onnx.export(
            ProbabilitiesOnly(build_model(weights_path())),
            (sample,),
            buffer,
            dynamo=False,
            input_names=["pixels"],
            dynamic_axes={"pixels": {0: "n"}},
            opset_version=17,
        )
    image = next(iter(frames_at(corpus / "imageio" / "cockatoo.mp4", [3.0]).values()))
    h, w = image.shape[:2]
    crops = crop_batch(image, [whole_frame_box(w, h), *tile_boxes(w, h)])
    out = {}
    for name, graph in (
        ("probabilities only", buffer.getvalue()),
        ("with features", export_onnx(build_model(weights_path()))),
    ):
        session = ort.InferenceSession(graph, providers=["CPUExecutionProvider"])
        session.run(None, {"pixels": crops})
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            session.run(None, {"pixels": crops})
            times.append((time.perf_counter() - start) * 1000 / len(crops))
        out[name] = round(statistics.median(times), 2)
    out["crops"] = len(crops)
    return out


def store_share(collection) -> dict[str, float]:
    rows = collection.store.token_rows()
    counts = rows["vectors"].combine_chunks().value_lengths().to_numpy()
    modality = rows["modality"].to_numpy()
    picture = int(counts[modality == 5].sum())
    minutes = sum(r.duration_s or 0 for r in collection.videos()) / 60
    return {
        "picture tokens": picture,
        "all tokens": int(counts.sum()),
        "picture tokens per minute of video": round(picture / max(minutes, 1e-9), 1),
        "float32 MB per minute of video": round(
            picture * collection.store.dim * 4 / 1e6 / minutes, 2
        ),
    }


# ----------------------------------------------------------------------------- main
def table(rows: dict[str, dict], first: str) -> str:
    keys = list(next(iter(rows.values())))
    lines = [f"| {first} | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
    for name, row in rows.items():
        lines.append(f"| {name} | " + " | ".join(str(row.get(k, "")) for k in keys) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store", required=True)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--per-video", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write every figure here")
    parser.add_argument(
        "--skip-near-duplicates",
        action="store_true",
        help="only image + text, latency and cost (one picture per video for latency)",
    )
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    info = machine_info()
    report: dict = {"machine": info, "load_before": os.getloadavg()}
    print(f"machine: {machine_line(info)}; load average {os.getloadavg()[0]:.1f}")
    collection = Collection(Settings.from_env().with_store(args.store))
    if not collection.video_ids():
        start = time.perf_counter()
        collection.index([args.corpus])
        report["indexed_s"] = round(time.perf_counter() - start, 1)
    if not collection.searcher.has_image_tokens():  # indexed before search by picture
        added = collection.add_pictures()
        report["add_pictures"] = {"version": added.version, "seconds": round(added.seconds, 1)}
    k = len(collection.video_ids())
    per_video = 1 if args.skip_near_duplicates else args.per_video
    queries, unsearchable = query_frames(collection, args.corpus, per_video, rng)
    if not args.skip_near_duplicates:
        near, misses = near_duplicates(collection, queries, rng, k)
        report.update(near_duplicates=near, misses=misses, unsearchable=unsearchable)
        print(
            f"\n## Near duplicates ({len(queries)} pictures from {k - len(unsearchable)} videos;"
            f" no picture to search by: {', '.join(unsearchable) or 'none'})\n"
        )
        print(table(near, "alteration"))
        for miss in misses:
            print(f"  miss: {miss}")
    rows = image_and_text(collection, args.corpus, rng, k)
    report["image_and_text"] = rows
    print("\n## Dev visual queries: rank of the relevant video\n")
    print(table({r["qid"]: {c: r[c] for c in list(r)[2:]} for r in rows}, "query"))
    texts = [
        json.loads(line)["query"]
        for line in (args.corpus.parent / "retrieval_dev.jsonl").read_text().splitlines()
    ]
    texts = (texts * 4)[:30]
    report["latency"] = latency(collection, queries, texts, 30)
    print("\n## Search latency, end to end\n")
    print(table(report["latency"], "query"))
    report["forward_ms_per_crop"] = forward_cost(args.corpus)
    report["store"] = store_share(collection)
    print("\n## Cost\n")
    print(table({"vision forward, ms per crop": report["forward_ms_per_crop"]}, "what"))
    print(table({"store": report["store"]}, "what"))
    report["load_after"] = os.getloadavg()
    print(f"\nload average at the end {os.getloadavg()[0]:.1f}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
