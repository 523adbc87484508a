"""The decode stage: a video's sampled frames and its sound track, with what went wrong on the way.

A picture stream or a sound track that will not decode becomes a warning, not a failure: the
other one may still be worth indexing (:class:`~backend.ingest.pipeline.Ingestor` decides).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from backend.config import FrameSettings
from backend.ingest.audio import load_audio
from backend.ingest.errors import IngestError
from backend.ingest.frames import sample_frames
from backend.ingest.stage_timer import StageTimer
from backend.ingest.types import Frame, VideoProbe


@dataclass
class Decoded:
    probe: VideoProbe
    frames: list[Frame] = field(default_factory=list)
    audio: np.ndarray | None = None  # 16 kHz mono; None: no sound track, or it did not decode
    warnings: list[str] = field(default_factory=list)


def decode(
    probe: VideoProbe, settings: FrameSettings, timer: StageTimer, threads: int | None = None
) -> Decoded:
    """Frames, then sound, each timed as the "decode" stage; ``threads`` caps the video
    decoder's threads (None: one per core)."""
    decoded = Decoded(probe)
    warnings = decoded.warnings
    if probe.has_video:
        try:
            decoded.frames = timer.run(
                "decode", lambda: sample_frames(probe, settings, warnings, threads)
            )
        except IngestError as error:
            warnings.append(f"picture: {error.reason}")
    if probe.has_audio:
        try:
            decoded.audio = timer.run("decode", lambda: load_audio(probe, warnings=warnings))
        except IngestError as error:
            warnings.append(f"audio: {error.reason}")
    return decoded
