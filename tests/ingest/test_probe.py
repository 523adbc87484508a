"""probe_video and content_id on the real corpus, and the files ingest must refuse politely."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import av
import pytest

from backend.ingest.errors import IngestError
from backend.ingest.probe import content_id, probe_video


def test_every_corpus_file_probes_or_says_why_not(shared_data: Path, corpus_file: str) -> None:
    path = shared_data / corpus_file
    try:
        probe = probe_video(path)
    except IngestError as error:
        assert error.reason.strip()
        assert error.path == path
        return
    assert re.fullmatch(r"[0-9a-f]{32}", probe.video_id)
    assert probe.size_bytes == path.stat().st_size
    assert probe.container
    assert probe.has_video or probe.has_audio
    assert probe.duration_s is not None and probe.duration_s > 0
    if probe.has_video:
        assert probe.width > 0 and probe.height > 0
        assert probe.fps is not None and probe.fps > 0
        assert probe.rotation in (0, 90, 180, 270)


def test_counter_is_three_seconds_at_ten_fps(shared_data: Path) -> None:
    probe = probe_video(shared_data / "corpus/pyscenedetect/counter.mp4")
    assert probe.duration_s == pytest.approx(3.0, abs=0.05)
    assert probe.fps == pytest.approx(10.0)
    assert (probe.width, probe.height, probe.rotation) == (1920, 1080, 0)
    assert probe.has_video and not probe.has_audio
    assert probe.container.startswith("mov,mp4")


def test_rotation_metadata_gives_displayed_size(shared_data: Path) -> None:
    path = shared_data / "corpus/pyscenedetect/issue-134-rotate.mp4"
    with av.open(str(path)) as container:
        coded = container.streams.video[0].codec_context
        coded_size = (coded.width, coded.height)
    probe = probe_video(path)
    assert coded_size == (1280, 544)
    assert probe.rotation == 90  # display matrix says: turn a quarter clockwise
    assert (probe.width, probe.height) == (544, 1280)


def test_upside_down_phone_video(shared_data: Path) -> None:
    probe = probe_video(shared_data / "corpus/moviepy/fire2.mp4")
    assert probe.rotation == 180
    assert (probe.width, probe.height) == (1280, 720)


def test_non_square_pixels_give_displayed_width(shared_data: Path) -> None:
    # 704x576 stored with 16:11 pixels: shown as 1024x576 (16:9).
    probe = probe_video(shared_data / "corpus/pyscenedetect/issue-195-aspect-ratio.mp4")
    assert (probe.width, probe.height) == (1024, 576)


@pytest.mark.parametrize(
    ("name", "expected_s"),
    [("corpus/moviepy/no_duration.webm", 4.94), ("corpus/imageio/test.webm", 3.14)],
)
def test_duration_found_when_the_header_has_none(
    shared_data: Path, name: str, expected_s: float
) -> None:
    path = shared_data / name
    with av.open(str(path)) as container:
        assert container.duration is None  # the premise: the container does not say
    assert probe_video(path).duration_s == pytest.approx(expected_s, abs=0.1)


def test_delayed_start_duration_counts_from_first_frame(shared_data: Path) -> None:
    probe = probe_video(shared_data / "corpus/pyscenedetect/delayed_start.mp4")
    assert probe.duration_s == pytest.approx(0.96, abs=0.05)


def test_title_tag_is_read(shared_data: Path) -> None:
    probe = probe_video(shared_data / "corpus/moviepy/doc_medias_long_examples_example.mp4")
    assert probe.title is not None and probe.title.startswith("1024 x 768 25 fps")
    assert probe.comment is None


def test_audio_only_file_is_accepted(shared_data: Path) -> None:
    probe = probe_video(shared_data / "asr/whisper/jfk.flac")
    assert probe.has_audio and not probe.has_video
    assert (probe.width, probe.height, probe.fps) == (0, 0, None)
    assert probe.duration_s == pytest.approx(11.0, abs=0.1)


def test_same_bytes_same_id_anywhere(shared_data: Path, tmp_path: Path) -> None:
    original = shared_data / "corpus/pyscenedetect/counter.mp4"
    copy = tmp_path / "somewhere" / "renamed.mp4"
    copy.parent.mkdir()
    shutil.copyfile(original, copy)
    assert content_id(copy) == content_id(original)
    assert probe_video(copy).video_id == probe_video(original).video_id

    changed = tmp_path / "changed.mp4"
    data = bytearray(original.read_bytes())
    data[-1] ^= 0xFF
    changed.write_bytes(bytes(data))
    assert content_id(changed) != content_id(original)


def _refused(path: Path) -> IngestError:
    with pytest.raises(IngestError) as caught:
        probe_video(path)
    error = caught.value
    assert error.path == path
    assert str(path) in str(error)
    assert error.reason.strip()
    return error


def test_missing_file(tmp_path: Path) -> None:
    error = _refused(tmp_path / "nowhere.mp4")
    assert "not found" in error.reason


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.mp4"
    path.touch()
    assert "empty" in _refused(path).reason


def test_folder(shared_data: Path) -> None:
    assert "not a file" in _refused(shared_data / "corpus").reason


@pytest.mark.parametrize("name", ["notes.txt", "notes.mp4", "page.html"])
def test_text_file_is_not_media(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text("This is a shopping list, not a film.\nmilk\neggs\n" * 20)
    error = _refused(path)
    assert "not a video or audio file" in error.reason
    if name.endswith(".txt"):
        assert "text file" in error.reason  # ffmpeg opens it (as "ANSI art"); we refuse
    else:
        assert isinstance(error.__cause__, av.FFmpegError)  # the developer's story is kept


def test_text_that_ffmpeg_would_show_as_ansi_art(shared_data: Path) -> None:
    # ffmpeg's "tty" demuxer opens long enough .txt files as a video of the text.
    assert (
        "text file" in _refused(shared_data / "corpus/pyscenedetect/counter_description.txt").reason
    )


def test_subtitles_only(shared_data: Path) -> None:
    assert (
        "no video or audio stream" in _refused(shared_data / "corpus/moviepy/subtitles.srt").reason
    )


def test_still_image(shared_data: Path) -> None:
    path = shared_data / "ocr/pyscenedetect_counter_frames/frame001.png"
    assert "still image" in _refused(path).reason


def test_truncated_download(shared_data: Path, tmp_path: Path) -> None:
    # counter.mp4 keeps its index (moov) at the end: half the file cannot be opened at all.
    data = (shared_data / "corpus/pyscenedetect/counter.mp4").read_bytes()
    path = tmp_path / "half.mp4"
    path.write_bytes(data[: len(data) // 2])
    assert "incomplete" in _refused(path).reason
