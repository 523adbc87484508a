"""One video file in, everything seen, said and written in it out (an :class:`IngestedVideo`).

Models load on first use, so a run that finds nothing new to index loads none. A stage that
fails on part of a file (an audio track that will not decode, a picture stream that breaks)
becomes a warning on the video; only a file with nothing usable fails, alone.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from backend.config import Settings
from backend.ingest.audio import load_audio
from backend.ingest.description import describe
from backend.ingest.errors import IngestError
from backend.ingest.frames import sample_frames
from backend.ingest.probe import probe_video
from backend.ingest.types import Frame, IngestedVideo, Transcript, VideoProbe

#: Ingest stages in the order they run; the indexer adds "encode" and "store".
STAGES = ("decode", "asr", "ocr", "vision")

StageCallback = Callable[[str], None]


@dataclass
class StageTimer:
    seconds: dict[str, float] = field(default_factory=dict)
    on_stage: StageCallback | None = None

    def run(self, stage: str, work: Callable[[], object]) -> object:
        if self.on_stage is not None:
            self.on_stage(stage)
        start = time.perf_counter()
        try:
            return work()
        finally:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - start


class Ingestor:
    """Holds the (lazily loaded) ASR, OCR and vision models across many files."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._recognizer = None
        self._reader = None
        self._tagger = None

    @property
    def recognizer(self):
        if self._recognizer is None:
            from backend.ingest.asr import SpeechRecognizer

            self._recognizer = SpeechRecognizer(self.settings.asr)
        return self._recognizer

    @property
    def reader(self):
        if self._reader is None:
            from backend.ingest.ocr import TextReader

            self._reader = TextReader(self.settings.ocr)
        return self._reader

    @property
    def tagger(self):
        if self._tagger is None:
            from backend.ingest.vision import FrameTagger

            self._tagger = FrameTagger(self.settings.vision)
        return self._tagger

    def ingest(
        self,
        path: Path,
        probe: VideoProbe | None = None,
        user_text: str | None = None,
        timer: StageTimer | None = None,
    ) -> IngestedVideo:
        timer = timer or StageTimer()
        probe = probe or probe_video(path)
        warnings: list[str] = []
        frames: list[Frame] = []
        if probe.has_video:
            try:
                frames = timer.run(
                    "decode", lambda: sample_frames(probe, self.settings.frames, warnings)
                )
            except IngestError as error:
                warnings.append(f"picture: {error.reason}")
        transcript = Transcript()
        if probe.has_audio:
            try:
                audio = timer.run("decode", lambda: load_audio(probe, warnings=warnings))
            except IngestError as error:
                warnings.append(f"audio: {error.reason}")
                audio = None
            if audio is not None and len(audio):
                transcript = timer.run("asr", lambda: self.recognizer.transcribe(audio))
        if not frames and not transcript.segments and not probe.has_audio:
            reason = warnings[0] if warnings else "no picture or sound could be decoded"
            raise IngestError(path, f"nothing to index: {reason}")
        text_spans = timer.run("ocr", lambda: self.reader.read_frames(frames)) if frames else []
        tags, regions = [], []
        if frames and self.settings.vision.enabled:
            seen = timer.run("vision", lambda: self.tagger.look(frames))
            tags, regions = seen.tags, seen.regions
        return IngestedVideo(
            probe=probe,
            frames=frames,
            transcript=transcript,
            text_spans=list(text_spans),
            visual_tags=list(tags),
            description=describe(probe, user_text),
            warnings=warnings,
            frame_regions=list(regions),
        )
