"""A tiny random CLaMR and two real videos from ../shared/data, decoded here with PyAV.

The videos are built by hand (frames from the file, a short known transcript, screen text and a
description) so the encoder tests do not depend on the ingest stage.
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from backend.encoders.clamr.frames import PatchGeometry
from backend.encoders.clamr.processing_clamr import ClamrProcessor
from backend.encoders.clamr.tiny import build_tiny_model, build_tiny_tokenizer
from backend.ingest.types import (
    Frame,
    IngestedVideo,
    Segment,
    TextSpan,
    Transcript,
    VideoProbe,
    Word,
)


def decode_frames(path: Path, every_s: float, limit: int) -> list[Frame]:
    """One RGB frame every ``every_s`` seconds (the first frame marked as a scene change)."""
    frames: list[Frame] = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        next_time = 0.0
        for decoded in container.decode(stream):
            time = float(decoded.time or 0.0)
            if time + 1e-6 < next_time:
                continue
            image = decoded.to_ndarray(format="rgb24")
            frames.append(Frame(time_s=time, image=image, is_scene_change=not frames))
            next_time = time + every_s
            if len(frames) == limit:
                break
    return frames


def _probe(path: Path, frames: list[Frame], duration: float, has_audio: bool) -> VideoProbe:
    height, width = frames[0].image.shape[:2]
    return VideoProbe(
        path=path,
        video_id=path.stem,
        size_bytes=path.stat().st_size,
        container=path.suffix.lstrip("."),
        duration_s=duration,
        fps=None,
        width=width,
        height=height,
        rotation=0,
        has_video=True,
        has_audio=has_audio,
    )


@pytest.fixture(scope="session")
def grid_video(shared_data: Path) -> IngestedVideo:
    """A GRID speaking face; its sentence is known from the file name ("bin blue at f two now")."""
    path = shared_data / "corpus" / "grid_lipnet" / "bbaf2n.mpg"
    frames = decode_frames(path, every_s=0.5, limit=5)
    spoken = [("bin", 0.5), ("blue", 0.8), ("at", 1.1), ("f", 1.3), ("two", 1.6), ("now", 2.0)]
    words = tuple(Word(w, t, t + 0.25) for w, t in spoken)
    transcript = Transcript("en", 1.0, (Segment(0.5, 2.3, "bin blue at f two now", words),))
    return IngestedVideo(
        probe=_probe(path, frames, 2.98, True),
        frames=frames,
        transcript=transcript,
        description="A man speaks a short command sentence to the camera.",
    )


@pytest.fixture(scope="session")
def counter_video(shared_data: Path) -> IngestedVideo:
    """PySceneDetect's counter: frame N shows "Frame = N" at (N-1)*0.1 s; no sound."""
    path = shared_data / "corpus" / "pyscenedetect" / "counter.mp4"
    frames = decode_frames(path, every_s=0.7, limit=4)
    spans = [
        TextSpan("Frame = 1", 0.0, 0.05, (700.0, 400.0, 1200.0, 520.0)),
        TextSpan("Frame = 22", 2.1, 2.15, (700.0, 400.0, 1220.0, 520.0)),
        TextSpan("PTS = 2.1s", 2.1, 2.15, (700.0, 560.0, 1180.0, 660.0)),
    ]
    return IngestedVideo(
        probe=_probe(path, frames, 3.0, False),
        frames=frames,
        text_spans=spans,
        description="",  # falls back to nothing: the probe has no title either
    )


@pytest.fixture(scope="session")
def tokenizer():
    return build_tiny_tokenizer()


@pytest.fixture(scope="session")
def model(tokenizer):
    return build_tiny_model(tokenizer, seed=0)


@pytest.fixture(scope="session")
def processor(tokenizer) -> ClamrProcessor:
    return ClamrProcessor(tokenizer, PatchGeometry())


@pytest.fixture
def unit_norms():
    def check(vectors: np.ndarray) -> None:
        assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)

    return check
