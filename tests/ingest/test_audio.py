"""load_audio on real files: format, length, alignment with frames, and broken audio tracks."""

from __future__ import annotations

import random
from pathlib import Path

import av
import numpy as np
import pytest
from faster_whisper.audio import decode_audio

from backend.config import FrameSettings
from backend.ingest.audio import load_audio
from backend.ingest.errors import IngestError
from backend.ingest.frames import sample_frames
from backend.ingest.probe import probe_video

RATE = 16000


def test_every_corpus_file_gives_audio_none_or_says_why_not(
    shared_data: Path, corpus_file: str
) -> None:
    try:
        probe = probe_video(shared_data / corpus_file)
        audio = load_audio(probe)
    except IngestError as error:
        assert error.reason.strip()
        return
    if not probe.has_audio:
        assert audio is None
        return
    assert audio is not None
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert 0 < audio.size / RATE <= probe.duration_s + 0.1


def test_file_without_audio_gives_none(shared_data: Path) -> None:
    assert load_audio(probe_video(shared_data / "corpus/pyscenedetect/counter.mp4")) is None


def test_same_samples_as_faster_whisper(shared_data: Path) -> None:
    path = shared_data / "asr/whisper/jfk.flac"
    audio = load_audio(probe_video(path))
    reference = decode_audio(str(path), sampling_rate=RATE)
    assert audio is not None and audio.size == reference.size == 11 * RATE
    assert np.corrcoef(audio, reference)[0, 1] > 0.999


def test_other_sample_rate(shared_data: Path) -> None:
    audio = load_audio(probe_video(shared_data / "asr/whisper/jfk.flac"), sample_rate=8000)
    assert audio is not None and audio.size == 11 * 8000


def test_stereo_mp3_in_video_decodes(shared_data: Path) -> None:
    # moviepy's test of an audio track "some decoders fail on": PyAV (FFmpeg's mp3float) reads it.
    probe = probe_video(shared_data / "corpus/moviepy/video_with_failing_audio.mp4")
    audio = load_audio(probe)
    assert audio is not None
    assert audio.size / RATE == pytest.approx(11.23, abs=0.05)
    assert np.abs(audio).max() > 0.05  # sound, not silence


def test_late_audio_is_aligned_to_the_file_clock(shared_data: Path) -> None:
    # The Opus track of no_duration.webm starts 15 ms after the video: 240 samples (at 16 kHz)
    # are put in front of what the decoder gives, so sample i plays at i / 16000 s.
    path = shared_data / "corpus/moviepy/no_duration.webm"
    audio = load_audio(probe_video(path))
    decoded = decode_audio(str(path), sampling_rate=RATE)
    assert audio is not None
    assert audio.size - decoded.size == 240
    assert not audio[:240].any()


def _with_broken_audio(source: Path, target: Path) -> None:
    """Remux ``source`` keeping its video and replacing every audio packet's bytes with noise."""
    noise = random.Random(0)
    with av.open(str(source)) as src, av.open(str(target), "w") as out:
        video_in, audio_in = src.streams.video[0], src.streams.audio[0]
        video_out = out.add_stream_from_template(video_in)
        audio_out = out.add_stream_from_template(audio_in)
        for packet in src.demux(video_in, audio_in):
            if packet.dts is None:
                continue  # the demuxer's end-of-stream marker
            if packet.stream is video_in:
                packet.stream = video_out
            else:
                broken = av.Packet(noise.randbytes(packet.size))
                broken.pts, broken.dts = packet.pts, packet.dts
                broken.time_base = packet.time_base
                broken.stream = audio_out
                packet = broken
            out.mux(packet)


def test_undecodable_audio_track_says_so_and_video_still_works(
    shared_data: Path, tmp_path: Path
) -> None:
    path = tmp_path / "broken_audio.mkv"
    _with_broken_audio(shared_data / "corpus/grid_lipnet/bbaf2n.mpg", path)
    probe = probe_video(path)
    assert probe.has_audio
    with pytest.raises(IngestError) as caught:
        load_audio(probe)
    assert caught.value.path == path
    assert "audio track" in caught.value.reason
    assert caught.value.__cause__ is not None
    assert sample_frames(probe, FrameSettings())  # the pictures are unharmed


def test_audio_broken_half_way_keeps_the_first_half(shared_data: Path, tmp_path: Path) -> None:
    data = bytearray((shared_data / "asr/negatives/laugh1.mp3").read_bytes())  # 4.3 s
    half = len(data) // 2
    data[half:] = random.Random(0).randbytes(len(data) - half)
    path = tmp_path / "laugh_damaged.mp3"
    path.write_bytes(bytes(data))
    warnings: list[str] = []
    audio = load_audio(probe_video(path), warnings=warnings)
    assert audio is not None and 1.0 < audio.size / RATE < 3.5
    assert len(warnings) == 1 and path.name in warnings[0]
