"""Generate the demo collection: six short clips with speech, on-screen text and drawn objects.

    python -m assets.make_demo [--out assets/demo]

Everything is made here (speech by espeak-ng, frames by Pillow, H.264 + AAC by PyAV), so the
clips carry the project's own licence and no third-party media. The output is deterministic:
the same script with the same espeak-ng, fonts and PyAV build writes byte-identical files.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
import wave
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

from assets.demo_spec import FPS, HEIGHT, WIDTH, DemoVideo, QueryType
from assets.demo_videos import DEMO_VIDEOS

DEFAULT_OUT = Path(__file__).resolve().parent / "demo"
QUERIES_FILE = "queries.jsonl"
SAMPLE_RATE = 22_050  # espeak-ng's native rate; resampling it would only add bytes
_AUDIO_CHUNK = 1024  # samples per AAC frame
_EVIDENCE_KIND: dict[QueryType, str] = {"speech": "spoken", "ocr": "on screen", "visual": "drawn"}


@dataclass(frozen=True)
class Made:
    """What was written for one clip, for the summary printed at the end."""

    path: Path
    seconds: float
    spoken_seconds: list[float]


def speak(words: str, voice: str, speed: int) -> np.ndarray:
    """Synthesise `words` with espeak-ng; mono int16 samples at SAMPLE_RATE."""
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        raise RuntimeError(
            "espeak-ng not found on PATH: the demo speech is synthesised with it "
            "(Debian/Ubuntu: apt-get install espeak-ng)"
        )
    with tempfile.TemporaryDirectory() as tmp:
        wav_path = Path(tmp) / "line.wav"
        # -g 2 adds a short gap between words, which helps Whisper tiny.en hear them apart.
        cmd = [espeak, "-v", voice, "-s", str(speed), "-g", "2", "-w", str(wav_path), words]
        subprocess.run(cmd, check=True, capture_output=True)
        with wave.open(str(wav_path), "rb") as wav:
            if wav.getframerate() != SAMPLE_RATE or wav.getnchannels() != 1:
                raise RuntimeError(
                    f"espeak-ng wrote {wav.getframerate()} Hz x {wav.getnchannels()} channels, "
                    f"expected {SAMPLE_RATE} Hz mono: check the espeak-ng install"
                )
            return np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)


def soundtrack(video: DemoVideo) -> tuple[np.ndarray, list[float]]:
    """The clip's whole audio track (silence with each cue placed at its start time).

    Returns the samples and the length of each spoken line in seconds. A line that would run
    into the next one, or past the end of the clip, is a mistake in the spec and fails loudly.
    """
    track = np.zeros(round(video.seconds * SAMPLE_RATE), dtype=np.int16)
    lengths = []
    ends = [cue.start for cue in video.cues[1:]] + [video.seconds]
    for cue, limit in zip(video.cues, ends, strict=True):
        samples = speak(cue.words, video.voice, video.speed)
        start = round(cue.start * SAMPLE_RATE)
        if start + len(samples) > round(limit * SAMPLE_RATE):
            raise ValueError(
                f"{video.name}: the line {cue.words!r} lasts {len(samples) / SAMPLE_RATE:.2f} s "
                f"from {cue.start} s, past {limit} s; move the next cue or lengthen the scene"
            )
        track[start : start + len(samples)] = samples
        lengths.append(len(samples) / SAMPLE_RATE)
    return track, lengths


def render_frame(video: DemoVideo, index: int) -> Image.Image:
    """Frame `index` of the clip, drawn from scratch by the scene showing at that time."""
    scene, local_t = video.scene_at(index / FPS)
    img = Image.new("RGB", (WIDTH, HEIGHT))
    scene.draw(img, local_t)
    return img


def encode(video: DemoVideo, audio: np.ndarray, path: Path) -> None:
    """Write the clip as an mp4 (H.264 + AAC) with its container metadata.

    `bitexact` keeps library version strings out of the file, and video and audio are written
    interleaved in time order so players can stream it.
    """
    options = {"movflags": "+faststart", "fflags": "+bitexact"}
    with av.open(str(path), mode="w", format="mp4", options=options) as container:
        container.metadata.update(video.metadata)
        vstream = container.add_stream(
            "libx264", rate=FPS, options={"crf": "30", "preset": "slow", "tune": "animation"}
        )
        vstream.width, vstream.height, vstream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        astream = container.add_stream("aac", rate=SAMPLE_RATE, layout="mono")
        astream.bit_rate = 48_000
        n_frames = round(video.seconds * FPS)
        audio_pos = 0
        for index in range(n_frames):
            frame = av.VideoFrame.from_image(render_frame(video, index))
            frame.pts, frame.time_base = index, Fraction(1, FPS)
            container.mux(vstream.encode(frame))
            until = min(len(audio), round((index + 1) / FPS * SAMPLE_RATE))
            while audio_pos < until:
                chunk = audio[audio_pos : audio_pos + _AUDIO_CHUNK]
                aframe = av.AudioFrame.from_ndarray(chunk[None, :], format="s16", layout="mono")
                aframe.sample_rate = SAMPLE_RATE
                aframe.pts, aframe.time_base = audio_pos, Fraction(1, SAMPLE_RATE)
                container.mux(astream.encode(aframe))
                audio_pos += len(chunk)
        container.mux(vstream.encode(None))
        container.mux(astream.encode(None))


def query_rows(videos: list[DemoVideo]) -> list[dict]:
    """Queries in the format of the shared retrieval_dev.jsonl, paths relative to the output."""
    rows = []
    for video in videos:
        for query in video.queries:
            if not 0 <= query.timestamp_s < video.seconds:
                raise ValueError(f"{video.name}: {query.qid} points past the end of the clip")
            rows.append(
                {
                    "qid": query.qid,
                    "query": query.text,
                    "relevant": [video.name],
                    "query_type": query.query_type,
                    "timestamp_s": query.timestamp_s,
                    "origin": f"generated: assets/make_demo.py "
                    f"({_EVIDENCE_KIND[query.query_type]}: {query.evidence!r})",
                }
            )
    return rows


def make_demo(out: Path, videos: list[DemoVideo] = DEMO_VIDEOS) -> list[Made]:
    """Write every clip and queries.jsonl into `out` (created if missing); returns a summary."""
    out.mkdir(parents=True, exist_ok=True)
    made = []
    for video in videos:
        audio, lengths = soundtrack(video)
        path = out / video.name
        encode(video, audio, path)
        made.append(Made(path, video.seconds, lengths))
    lines = [json.dumps(row, ensure_ascii=False) for row in query_rows(videos)]
    (out / QUERIES_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return made


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    args = parser.parse_args(argv)
    total = 0
    for item in make_demo(args.out):
        size = item.path.stat().st_size
        total += size
        spoken = ", ".join(f"{s:.1f}" for s in item.spoken_seconds)
        print(
            f"{item.path.name:28s} {item.seconds:5.1f} s {size / 1024:7.0f} KiB  lines: {spoken} s"
        )
    print(f"{'total':28s} {'':7s} {total / 1024:7.0f} KiB -> {args.out}")


if __name__ == "__main__":
    main()
