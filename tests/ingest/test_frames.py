"""sample_frames on real videos: timing, scene changes, duplicates, rotation, damage."""

from __future__ import annotations

import logging
import struct
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from backend.config import FrameSettings
from backend.ingest.errors import IngestError
from backend.ingest.frames import sample_frames
from backend.ingest.probe import probe_video
from backend.ingest.types import Frame

DEFAULT = FrameSettings()
EVERY_FRAME_KEPT = FrameSettings(near_duplicate_diff=0.0)  # timing only, no duplicate dropping


def _frames(shared_data: Path, name: str, settings: FrameSettings = DEFAULT) -> list[Frame]:
    return sample_frames(probe_video(shared_data / name), settings)


def test_every_corpus_video_yields_frames_or_says_why_not(
    shared_data: Path, corpus_file: str
) -> None:
    coarse = FrameSettings(every_s=5.0)  # decoding dominates; fewer kept frames keep it quick
    try:
        probe = probe_video(shared_data / corpus_file)
        frames = sample_frames(probe, coarse)
    except IngestError as error:
        assert error.reason.strip()
        return
    assert probe.has_video and frames
    times = [frame.time_s for frame in frames]
    assert times == sorted(times)
    assert times[0] < 0.1  # counted from the start, even when the stream starts late
    assert times[-1] <= probe.duration_s + 0.1
    for frame in frames:
        assert frame.image.dtype == np.uint8
        assert frame.image.shape == (probe.height, probe.width, 3)
        assert frame.image.flags.c_contiguous


def test_counter_one_frame_per_second(shared_data: Path) -> None:
    # 30 frames at 10 fps; the background changes colour each second.
    frames = _frames(shared_data, "corpus/pyscenedetect/counter.mp4")
    assert [round(frame.time_s, 2) for frame in frames] == [0.0, 1.0, 2.0]
    assert frames[0].image.shape == (1080, 1920, 3)


def test_counter_every_half_second(shared_data: Path) -> None:
    settings = replace(EVERY_FRAME_KEPT, every_s=0.5)
    frames = _frames(shared_data, "corpus/pyscenedetect/counter.mp4", settings)
    assert [round(frame.time_s, 2) for frame in frames] == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5]


def test_delayed_start_counts_from_zero(shared_data: Path) -> None:
    # The only stream starts at 1.075 s; times must still start at 0, on the file's clock.
    frames = _frames(shared_data, "corpus/pyscenedetect/delayed_start.mp4", EVERY_FRAME_KEPT)
    assert frames[0].time_s == pytest.approx(0.0, abs=1e-3)
    assert frames[-1].time_s < 0.96


def test_variable_frame_rate_times_follow_timestamps(shared_data: Path) -> None:
    # Every third frame of the GoldenEye clip was dropped: nominal-rate counting would drift.
    settings = replace(EVERY_FRAME_KEPT, every_s=2.0)
    frames = _frames(shared_data, "corpus/pyscenedetect/goldeneye-vfr-drop3.mp4", settings)
    timed = [frame.time_s for frame in frames if not frame.is_scene_change]
    assert timed == pytest.approx([0.0, 2.0, 4.0, 6.0, 8.0], abs=0.07)


def test_scene_changes_match_pyscenedetect(shared_data: Path) -> None:
    # scenedetect.detect(goldeneye, ContentDetector()) (0.7.2, its own PyAV backend) cuts at
    # 3.75 s and 8.76 s; feeding it our single decode must find the same cuts.
    settings = replace(DEFAULT, every_s=100.0)
    frames = _frames(shared_data, "corpus/pyscenedetect/goldeneye-vfr-drop3.mp4", settings)
    cuts = [frame.time_s for frame in frames if frame.is_scene_change]
    assert cuts == pytest.approx([3.75, 8.76], abs=0.05)
    assert not frames[0].is_scene_change


def test_static_video_yields_few_frames(shared_data: Path) -> None:
    name = "corpus/moviepy/no_duration.webm"  # 5 s of a nearly unchanging picture
    assert len(_frames(shared_data, name, EVERY_FRAME_KEPT)) == 5
    assert len(_frames(shared_data, name)) <= 2


def test_cap_spreads_frames_over_the_whole_video(shared_data: Path) -> None:
    probe = probe_video(shared_data / "corpus/moviepy/doc_medias_result.mp4")  # 10 s
    settings = FrameSettings(every_s=0.2, near_duplicate_diff=0.0, max_frames=4)
    for known_length in (probe, replace(probe, duration_s=None)):
        frames = sample_frames(known_length, settings)
        assert 2 <= len(frames) <= 4
        assert frames[0].time_s == 0.0
        assert frames[-1].time_s > 7.0


def test_rotation_is_applied(shared_data: Path) -> None:
    # issue-134-rotate.mp4 is goldeneye with a 90 degree display matrix: the displayed picture,
    # turned back a quarter counter-clockwise, is the unrotated film.
    settings = replace(DEFAULT, every_s=100.0)
    turned = _frames(shared_data, "corpus/pyscenedetect/issue-134-rotate.mp4", settings)[0]
    plain = _frames(shared_data, "corpus/pyscenedetect/goldeneye-vfr-drop3.mp4", settings)[0]
    assert plain.image.shape == (544, 1280, 3)
    assert turned.image.shape == (1280, 544, 3)
    back = np.rot90(turned.image, k=1).astype(np.int16)
    assert np.abs(back - plain.image).mean() < 3.0
    assert np.abs(np.rot90(turned.image, k=-1).astype(np.int16) - plain.image).mean() > 20.0


def test_upside_down_video_is_turned(shared_data: Path) -> None:
    frames = _frames(shared_data, "corpus/moviepy/fire2.mp4", replace(DEFAULT, every_s=100.0))
    assert frames[0].image.shape == (720, 1280, 3)


def test_non_square_pixels_are_stretched(shared_data: Path) -> None:
    # 298x224 stored, pixels 1792:1341 wide: shown 16:9, as 398x224.
    frames = _frames(shared_data, "corpus/msrvtt/video7020.mp4", replace(DEFAULT, every_s=100.0))
    assert frames[0].image.shape == (224, 398, 3)


def test_alpha_video_becomes_rgb(shared_data: Path) -> None:
    frames = _frames(shared_data, "corpus/moviepy/transparent.webm")
    assert frames[0].image.shape == (200, 200, 3)
    assert frames[0].image.dtype == np.uint8


def test_audio_only_file_has_no_frames(shared_data: Path) -> None:
    assert _frames(shared_data, "asr/whisper/jfk.flac") == []


def _mdat(data: bytes) -> tuple[int, int]:
    """(start, end) of the media data box of an MP4: where the coded pictures are."""
    offset = 0
    while offset < len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if kind == b"mdat":
            return offset + 8, offset + size
        offset += size
    raise AssertionError("no mdat box")


def _damaged_counter(shared_data: Path, tmp_path: Path, from_fraction: float) -> Path:
    """counter.mp4 with its coded pictures overwritten by noise from ``from_fraction`` on."""
    data = bytearray((shared_data / "corpus/pyscenedetect/counter.mp4").read_bytes())
    start, end = _mdat(data)
    cut = start + int((end - start) * from_fraction)
    data[cut:end] = np.random.default_rng(0).bytes(end - cut)
    path = tmp_path / f"counter_damaged_{int(from_fraction * 100)}.mp4"
    path.write_bytes(bytes(data))
    return path


def test_corrupt_tail_keeps_what_decoded(
    shared_data: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = _damaged_counter(shared_data, tmp_path, from_fraction=0.5)
    warnings: list[str] = []
    with caplog.at_level(logging.WARNING):
        frames = sample_frames(probe_video(path), DEFAULT, warnings)
    assert frames and frames[0].time_s == 0.0
    assert frames[-1].time_s < 2.0
    assert len(warnings) == 1 and path.name in warnings[0]
    assert path.name in caplog.text


def test_undecodable_video_says_so(shared_data: Path, tmp_path: Path) -> None:
    path = _damaged_counter(shared_data, tmp_path, from_fraction=0.0)
    with pytest.raises(IngestError) as caught:
        sample_frames(probe_video(path), DEFAULT)
    assert caught.value.path == path
    assert "no picture could be decoded" in caught.value.reason
    assert caught.value.__cause__ is not None
