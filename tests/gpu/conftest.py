"""The GPU suite: what runs on the CPU, run on CUDA (``python -m pytest -m gpu tests/gpu``).

Without a CUDA device only ``test_device.py`` is collected, and it skips with one line saying
so; the other modules are not even imported. Tests that also need the
store (LanceDB) or the ingest stack (PyAV, faster-whisper, RapidOCR) skip by themselves, naming
what is missing, so the suite runs on a bare GPU machine with only torch, transformers 4.57,
peft and bitsandbytes, and in full on one set up with ``requirements.txt``.

Fixtures: a tiny random CLaMR checkpoint, and the demo collection's six videos built from their
own specification (``assets/demo_videos.py``: frames drawn by the same code that made the files,
speech and screen text as written there), so no video decoder is needed.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from assets.demo_spec import FPS, HEIGHT, WIDTH
from assets.demo_videos import DEMO_VIDEOS
from backend.encoders.clamr.tiny import save_tiny_checkpoint
from backend.ingest.types import (
    Frame,
    IngestedVideo,
    Segment,
    TextSpan,
    Transcript,
    VideoProbe,
)

NO_CUDA = "no CUDA device: the gpu suite needs one (python -m pytest -m gpu tests/gpu)"
DEVICE_CHECK = "test_device.py"


def pytest_ignore_collect(collection_path: Path, config) -> bool | None:
    """Without CUDA, every module but the device check stays uncollected."""
    name = collection_path.name
    if name.startswith("test_") and name != DEVICE_CHECK and not torch.cuda.is_available():
        return True
    return None


REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "assets" / "demo"


def missing(*modules: str) -> list[str]:
    return [m for m in modules if importlib.util.find_spec(m) is None]


def needs(*modules: str) -> None:
    """Skip the calling test unless every module imports, naming the ones that do not."""
    absent = missing(*modules)
    if absent:
        pytest.skip(f"needs {', '.join(absent)} (pip install -r requirements.txt)")


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> Path:
    return save_tiny_checkpoint(tmp_path_factory.mktemp("gpu") / "tiny-clamr")


def _frame(video, time_s: float) -> np.ndarray:
    """The clip's picture at ``time_s``, drawn by the code that made the file."""
    scene, local = video.scene_at(time_s)
    image = Image.new("RGB", (WIDTH, HEIGHT))
    scene.draw(image, local)
    return np.asarray(image)


def demo_video(video) -> IngestedVideo:
    """One demo clip as ingest would hand it over: a frame a second, its spoken lines with their
    times, its screen text (the OCR queries' evidence) and its title."""
    times = [float(t) for t in range(int(video.seconds))]
    frames = [Frame(t, _frame(video, t), i == 0) for i, t in enumerate(times)]
    segments = tuple(Segment(cue.start, cue.start + 2.5, cue.words) for cue in video.cues)
    box = (40.0, 40.0, 600.0, 120.0)
    spans = [
        TextSpan(q.evidence.replace(" / ", " "), q.timestamp_s, q.timestamp_s + 1.0, box)
        for q in video.queries
        if q.query_type == "ocr"
    ]
    probe = VideoProbe(
        DEMO / video.name,
        video.name,
        0,
        "mp4",
        video.seconds,
        float(FPS),
        WIDTH,
        HEIGHT,
        0,
        True,
        True,
        video.metadata.get("title"),
        video.metadata.get("comment"),
    )
    return IngestedVideo(
        probe=probe,
        frames=frames,
        transcript=Transcript("en", 1.0, segments),
        text_spans=spans,
        description=video.metadata.get("title", ""),
    )


@pytest.fixture(scope="session")
def demo_videos() -> list[IngestedVideo]:
    return [demo_video(v) for v in DEMO_VIDEOS]


@pytest.fixture(scope="session")
def demo_queries() -> list[tuple[str, str]]:
    """(query, relevant file name) of the demo's own queries."""
    return [(q.text, v.name) for v in DEMO_VIDEOS for q in v.queries]


def pytest_terminal_summary(terminalreporter) -> None:
    """The skip reason on its own line, without ``-rs``."""
    skipped = terminalreporter.stats.get("skipped", [])
    if any(NO_CUDA in str(report.longrepr) for report in skipped):
        terminalreporter.write_line(NO_CUDA)
