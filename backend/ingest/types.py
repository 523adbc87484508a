"""Plain data that ingest hands to the encoders: what was seen, said and written, with times.

Times are seconds from the start of the video. Boxes are ``(x0, y0, x1, y1)`` in pixels of the
frame as displayed (rotation applied).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class VideoProbe:
    """What the container says about a file, and its content id."""

    path: Path
    video_id: str  # hash of the file's bytes: same bytes, same id, wherever the file lies
    size_bytes: int
    container: str
    duration_s: float | None  # None when neither container nor streams say
    fps: float | None
    width: int  # as displayed, after rotation
    height: int
    rotation: int  # degrees the stored picture is turned clockwise for display (0/90/180/270)
    has_video: bool
    has_audio: bool
    title: str | None = None
    comment: str | None = None


@dataclass(frozen=True)
class Frame:
    time_s: float
    image: np.ndarray  # (H, W, 3) uint8 RGB, rotation applied
    is_scene_change: bool = False


@dataclass(frozen=True)
class Word:
    text: str
    start_s: float
    end_s: float
    probability: float = 1.0


@dataclass(frozen=True)
class Segment:
    start_s: float
    end_s: float
    text: str
    words: tuple[Word, ...] = ()


@dataclass(frozen=True)
class Transcript:
    language: str | None = None
    language_probability: float = 0.0
    segments: tuple[Segment, ...] = ()

    @property
    def text(self) -> str:
        return " ".join(s.text.strip() for s in self.segments).strip()


@dataclass(frozen=True)
class TextSpan:
    """One piece of on-screen text, merged over the consecutive frames that show it."""

    text: str
    start_s: float
    end_s: float
    box: Box
    score: float = 1.0


@dataclass(frozen=True)
class VisualTag:
    """A word for what a frame (or a region of it) shows, from an image model."""

    time_s: float
    label: str
    score: float
    box: Box | None = None  # None: the whole frame


@dataclass(frozen=True)
class FrameRegions:
    """What regions of one frame look like, as an image model's features (for search by image).

    Row 0 is the whole-frame view, the others parts of the frame; features are unit length,
    comparable only with features of the same model (never with words).
    """

    time_s: float
    boxes: np.ndarray  # (R, 4) float32 (x0, y0, x1, y1) in frame pixels
    features: np.ndarray  # (R, F) float32, unit length
    parts: tuple[str, ...] = ()  # (R,) what each region is: "whole", "tile 3" ...

    def __len__(self) -> int:
        return int(self.features.shape[0])


@dataclass
class IngestedVideo:
    """Everything ingest learned about one video; the only input an encoder gets."""

    probe: VideoProbe
    frames: list[Frame] = field(default_factory=list)
    transcript: Transcript = field(default_factory=Transcript)
    text_spans: list[TextSpan] = field(default_factory=list)
    visual_tags: list[VisualTag] = field(default_factory=list)
    description: str = ""
    warnings: list[str] = field(default_factory=list)  # e.g. an audio track that would not decode
    frame_regions: list[FrameRegions] = field(default_factory=list)  # empty: vision was off
