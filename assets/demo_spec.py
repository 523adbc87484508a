"""Plain data describing one demo video: its scenes, spoken lines, metadata and test queries."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from PIL import Image

WIDTH, HEIGHT, FPS = 640, 360, 24

DrawScene = Callable[[Image.Image, float], None]
"""Draws a whole frame of one scene onto a blank image, given seconds since the scene began."""


@dataclass(frozen=True)
class Scene:
    """A shot of fixed length; a change of scene is a hard cut."""

    seconds: float
    draw: DrawScene


@dataclass(frozen=True)
class Cue:
    """A line spoken from `start` seconds; it must end before the next cue starts."""

    start: float
    words: str


QueryType = Literal["speech", "ocr", "visual"]


@dataclass(frozen=True)
class Query:
    """A search the demo answers; `timestamp_s` is where in the video the answer is.

    `evidence` is what the clip really says, shows or draws there, so a reader of
    queries.jsonl can see why the clip is the answer.
    """

    qid: str
    text: str
    query_type: QueryType
    timestamp_s: float
    evidence: str


@dataclass(frozen=True)
class DemoVideo:
    """Everything needed to render one clip and to say what it should be found by.

    `voice` and `speed` are espeak-ng's `-v` and `-s`; they were picked per clip so Whisper
    tiny.en hears the key words (see assets/demo/README.md).
    """

    name: str
    scenes: Sequence[Scene]
    cues: Sequence[Cue]
    queries: Sequence[Query]
    voice: str = "en-us+m3"
    speed: int = 140
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def seconds(self) -> float:
        return sum(scene.seconds for scene in self.scenes)

    def scene_at(self, t: float) -> tuple[Scene, float]:
        """The scene showing at `t` and the seconds since it began."""
        begin = 0.0
        for scene in self.scenes:
            if t < begin + scene.seconds:
                return scene, t - begin
            begin += scene.seconds
        return self.scenes[-1], t - (begin - self.scenes[-1].seconds)
