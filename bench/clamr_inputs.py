"""Videos for the CLaMR GPU benchmarks: CLaMR's input drawn here, or the shared corpus decoded.

CLaMR's input per video is up to ten frames (at most 224x224 pixels once resized) and its ASR,
OCR and description text. ``synthetic_videos`` draws exactly that, deterministically and without
any file: ten 640x360 frames (the demo collection's size; the processor resizes them as it would
real ones), a two-minute transcript of 240 timed words, 24 on-screen words in four boxes and a
20-word description. The shared corpus (``../shared/data``, not on a GPU machine unless copied)
has frames but only the file name as text.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from backend.ingest.types import (
    Frame,
    IngestedVideo,
    Segment,
    TextSpan,
    Transcript,
    VideoProbe,
    Word,
)

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
_SENTENCE = (
    "the weather today brings rain over the city while a man in a red shirt speaks to the "
    "camera about cooking music sports and news then a train leaves platform nine for york "
    "and the lions beat the tigers three to two in the final minute of the cup"
)
_WORDS = _SENTENCE.split()


def _probe(name: str, width: int, height: int, path: Path | None = None) -> VideoProbe:
    path = path or Path(f"synthetic/{name}.mp4")
    size = path.stat().st_size if path.exists() else 0
    return VideoProbe(path, name, size, path.suffix[1:], None, None, width, height, 0, True, False)


def _text(rng: np.random.Generator, n: int) -> list[str]:
    return [_WORDS[i] for i in rng.integers(0, len(_WORDS), n)]


def synthetic_video(index: int, frames: int = 10, width: int = 640, height: int = 360):
    """One video of CLaMR's input size (see the module docstring), drawn from ``index``."""
    rng = np.random.default_rng(index)
    base = rng.integers(0, 255, (height // 8, width // 8, 3), dtype=np.uint8)
    images = [
        np.repeat(np.repeat(np.roll(base, 3 * i, axis=1), 8, 0), 8, 1)
        + rng.integers(0, 8, (height, width, 3), dtype=np.uint8)
        for i in range(frames)
    ]
    spoken = _text(rng, 240)
    words = tuple(Word(w, 0.5 * i, 0.5 * i + 0.4) for i, w in enumerate(spoken))
    segments = tuple(
        Segment(
            words[i].start_s, words[i + 19].end_s, " ".join(spoken[i : i + 20]), words[i : i + 20]
        )
        for i in range(0, 240, 20)
    )
    spans = [
        TextSpan(
            " ".join(_text(rng, 6)),
            3.0 * i,
            3.0 * i + 2.0,
            (40.0, 30.0 + 60 * i, 600.0, 80.0 + 60 * i),
        )
        for i in range(4)
    ]
    return IngestedVideo(
        probe=_probe(f"synthetic-{index:05d}", width, height),
        frames=[Frame(float(i), image, i == 0) for i, image in enumerate(images)],
        transcript=Transcript("en", 1.0, segments),
        text_spans=spans,
        description=" ".join(_text(rng, 20)),
    )


def synthetic_videos(count: int) -> list[IngestedVideo]:
    return [synthetic_video(i) for i in range(count)]


def decode(path: Path, every_s: float = 1.0, limit: int = 10) -> IngestedVideo | None:
    """Up to ``limit`` frames, one per ``every_s`` seconds, and the file name as description."""
    import av

    frames: list[Frame] = []
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                return None
            next_time = 0.0
            for decoded in container.decode(container.streams.video[0]):
                time_s = float(decoded.time or 0.0)
                if time_s + 1e-6 >= next_time:
                    frames.append(Frame(time_s, decoded.to_ndarray(format="rgb24"), not frames))
                    next_time = time_s + every_s
                if len(frames) == limit:
                    break
    except (av.error.FFmpegError, ValueError) as error:
        print(f"skipped {path.name}: {error}", file=sys.stderr)
        return None
    if not frames:
        return None
    height, width = frames[0].image.shape[:2]
    probe = _probe(path.stem, width, height, path)
    return IngestedVideo(probe, frames, description=path.stem.replace("_", " "))


def corpus_videos(data: Path = DATA) -> list[IngestedVideo]:
    """The corpus videos listed in ``corpus_files.txt`` that decode (up to 10 frames each)."""
    lines = (data / "corpus_files.txt").read_text().splitlines()
    decoded = (decode(data / line.strip()) for line in lines if line.strip())
    return [video for video in decoded if video is not None]


def dev_queries(data: Path = DATA) -> list[str]:
    path = data / "retrieval_dev.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line)["query"] for line in path.read_text().splitlines() if line.strip()]


def bench_videos(kind: str, count: int, data: Path = DATA) -> list[IngestedVideo]:
    """``synthetic`` (``count`` of them) or ``corpus`` (falls back to synthetic when absent)."""
    if kind == "corpus" and (data / "corpus_files.txt").is_file():
        return corpus_videos(data)
    if kind == "corpus":
        print(f"{data} not found: using {count} synthetic videos instead", file=sys.stderr)
    return synthetic_videos(count)
