"""How well and how fast each OCR engine reads the shared OCR test images.

    python -m bench.ocr_accuracy                      # rapidocr, in the main environment
    .venv-easyocr/bin/python -m bench.ocr_accuracy --engine easyocr

Prints one markdown table per engine: per source folder of ``ocr/references.jsonl``, word
recall (and precision where the reference lists all the text), wall and CPU seconds per image,
then seconds per 1280x720 frame. CPU seconds are the process's, all threads: other programs on a
shared machine inflate wall time much more than CPU time. Lines are filtered exactly as ingest
filters them (``OcrSettings.min_score``, or ``--min-score``). The references come in four
granularities, each scored its own way:

- ``single word`` (scene-text crops): the whole reading, spaces and punctuation removed, must
  equal the word (the references drop spaces and apostrophes: SHAKESHACK, BALLYS).
- ``full image`` (pages, signs, frames): multiset of words, case-folded, punctuation removed.
- ``word list (unordered)`` (ICDAR2015 photos): each listed word against the words read;
  illegible regions were left out of the list, so precision would punish correct reads: n/a.
- ``word/line list`` (receipts, spaces removed in the labels): an entry counts as found when it
  appears inside one line read (spaces and punctuation removed); precision n/a.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from backend.config import OcrSettings
from backend.ingest.ocr import OcrEngineUnavailable, OcrLine, TextReader

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
#: A native 720p corpus frame with small burned-in text, and a counter frame scaled to 720p.
FRAME_720P_VIDEO = ("corpus/pyscenedetect/testvideo.mp4", 1.0)
FRAME_720P_IMAGE = "ocr/pyscenedetect_counter_frames/frame015.png"

_NOT_WORD = re.compile(r"[\W_]+")


def words(text: str) -> list[str]:
    """Words for scoring: case-folded, every non-letter/digit removed, empty ones dropped.

    >>> words("The (quick) [brown] fox, 12.5% of E-mail | PTS = 0.6s")
    ['the', 'quick', 'brown', 'fox', '125', 'of', 'email', 'pts', '06s']
    """
    cleaned = (_NOT_WORD.sub("", w.casefold()) for w in text.split())
    return [w for w in cleaned if w]


def squash(text: str) -> str:
    """Text with spaces and punctuation removed, for labels that were written without spaces."""
    return "".join(words(text))


def word_recall(reference: str, hypothesis: str) -> float:
    """Fraction of the reference's words (with repeats) found among the hypothesis's words.

    >>> word_recall("the lazy fox. The lazy dog", "The lazy fox")
    0.5
    """
    ref = Counter(words(reference))
    if not ref:
        return 1.0
    return sum((ref & Counter(words(hypothesis))).values()) / sum(ref.values())


@dataclass(frozen=True)
class Score:
    matched: int  # reference words found
    reference: int  # reference words
    hypothesis: int | None  # words read, where precision is meaningful


def score_entry(granularity: str, reference: str, lines: Sequence[OcrLine]) -> Score:
    """Score one image's reading against its reference, by the reference's granularity."""
    texts = [line.text for line in lines]
    if granularity == "single word":
        read = squash(" ".join(texts))
        return Score(int(read == squash(reference)), 1, 1 if read else 0)
    if granularity.startswith("word list"):
        ref = Counter(w for entry in reference.split(" | ") for w in words(entry))
        read = Counter(words(" ".join(texts)))
        return Score(sum((ref & read).values()), sum(ref.values()), None)
    if granularity.startswith("word/line list"):
        entries = [squash(e) for e in reference.split(" | ") if squash(e)]
        read_lines = [squash(t) for t in texts]
        found = sum(any(e in r for r in read_lines) for e in entries)
        return Score(found, len(entries), None)
    ref = Counter(words(reference))
    read = Counter(words(" ".join(texts)))
    return Score(sum((ref & read).values()), sum(ref.values()), sum(read.values()))


def load_rgb(path: Path) -> np.ndarray:
    """An image file as RGB; transparency is laid on white (test_la.png's text is in its alpha)."""
    with Image.open(path) as im:
        im = ImageOps.exif_transpose(im)
        if im.mode in ("LA", "RGBA", "PA") or "transparency" in im.info:
            white = Image.new("RGBA", im.size, (255, 255, 255, 255))
            im = Image.alpha_composite(white, im.convert("RGBA"))
        return np.asarray(im.convert("RGB"))


def frames_720p(data: Path) -> list[tuple[str, np.ndarray]]:
    """Two 1280x720 RGB frames: one decoded from a corpus video, one resized counter frame."""
    import cv2

    frames = []
    video, at_s = FRAME_720P_VIDEO
    cap = cv2.VideoCapture(str(data / video))
    cap.set(cv2.CAP_PROP_POS_MSEC, at_s * 1000)
    ok, bgr = cap.read()
    cap.release()
    if ok:
        frames.append((f"{video}@{at_s}s", np.ascontiguousarray(bgr[:, :, ::-1])))
    counter = load_rgb(data / FRAME_720P_IMAGE)
    resized = cv2.resize(counter, (1280, 720), interpolation=cv2.INTER_AREA)
    frames.append((f"{FRAME_720P_IMAGE} resized", resized))
    return frames


def _timed(reader: TextReader, image: np.ndarray) -> tuple[list[OcrLine], float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    lines = reader.read_image(image)
    return lines, time.perf_counter() - wall, time.process_time() - cpu


def _fmt(num: int, den: int | None) -> str:
    return "n/a" if not den else f"{num / den:.1%}"


Rows = dict[tuple[str, str], list[tuple[Score, float, float]]]


def read_references(reader: TextReader, data: Path, show: bool, only: Sequence[str] = ()) -> Rows:
    """Score and time the images of references.jsonl (those whose path contains one of ``only``,
    or all), grouped by (source folder, granularity)."""
    groups: Rows = defaultdict(list)
    for raw in (data / "ocr" / "references.jsonl").open():
        entry = json.loads(raw)
        if only and not any(part in entry["path"] for part in only):
            continue
        lines, wall, cpu = _timed(reader, load_rgb(data / entry["path"]))
        score = score_entry(entry["granularity"], entry["reference"], lines)
        groups[(entry["path"].split("/")[1], entry["granularity"])].append((score, wall, cpu))
        if show:
            print(f"{entry['path']}: {score.matched}/{score.reference}", [ln.text for ln in lines])
    return groups


def print_table(groups: Rows) -> None:
    print("| source | granularity | images | ref words | recall | precision | s/img | CPU s/img |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    total_matched = total_ref = images = 0
    for (folder, granularity), rows in groups.items():
        scored = [s for s, _, _ in rows if s.reference]  # no legible text: timing only
        matched = sum(s.matched for s in scored)
        ref = sum(s.reference for s in scored)
        hyps = [s.hypothesis for s in scored]
        hyp = sum(h for h in hyps if h is not None) if None not in hyps else None
        total_matched += matched
        total_ref += ref
        images += len(rows)
        wall = statistics.mean(w for _, w, _ in rows)
        cpu = statistics.mean(c for _, _, c in rows)
        print(
            f"| {folder} | {granularity} | {len(rows)} | {ref} | {_fmt(matched, ref)} "
            f"| {_fmt(matched, hyp)} | {wall:.2f} | {cpu:.2f} |"
        )
    print(f"| **all** | | {images} | {total_ref} | {_fmt(total_matched, total_ref)} | | | |")


def time_720p(reader: TextReader, data: Path, repeats: int) -> None:
    runs = []
    for name, frame in frames_720p(data):
        for _ in range(repeats):
            lines, wall, cpu = _timed(reader, frame)
            runs.append((wall, cpu))
        print(f"\n720p `{name}` reads: {[ln.text for ln in lines]}")
    walls, cpus = [w for w, _ in runs], [c for _, c in runs]
    print(
        f"\n**1280x720 frame**: {statistics.median(walls):.2f} s wall (median of {len(runs)}, "
        f"min {min(walls):.2f}), {statistics.median(cpus):.2f} CPU s"
    )


def bench_engine(args: argparse.Namespace, engine: str) -> None:
    settings = OcrSettings(engine=engine)  # type: ignore[arg-type]
    if args.min_score is not None:
        settings = replace(settings, min_score=args.min_score)
    reader = TextReader(settings)
    start = time.perf_counter()
    reader.read_image(np.full((64, 64, 3), 255, np.uint8))  # load + warm up, not timed below
    load_s = time.perf_counter() - start
    groups = read_references(reader, args.data, args.show, args.only)
    print(f"\n### {engine} (min_score {reader.settings.min_score}, load+warm-up {load_s:.1f} s)\n")
    print_table(groups)
    if args.repeats:
        time_720p(reader, args.data, args.repeats)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--engine", nargs="+", default=["rapidocr"], choices=["rapidocr", "easyocr"]
    )
    parser.add_argument("--data", type=Path, default=DATA, help="the shared data folder")
    parser.add_argument("--repeats", type=int, default=3, help="runs per 720p frame (0: skip)")
    parser.add_argument("--min-score", type=float, help="override OcrSettings.min_score")
    parser.add_argument("--only", nargs="*", default=(), help="paths containing any of these")
    parser.add_argument("--show", action="store_true", help="print what was read per image")
    args = parser.parse_args(argv)
    failed = 0
    for engine in args.engine:
        try:
            bench_engine(args, engine)
        except OcrEngineUnavailable as e:
            print(f"\n### {engine}: not available here\n\n{e}", file=sys.stderr)
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
