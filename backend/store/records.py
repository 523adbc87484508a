"""Rows of the ``videos`` table as plain data, and ingest results as JSON inside them."""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from backend.ingest.types import (
    IngestedVideo,
    Segment,
    TextSpan,
    Transcript,
    VideoProbe,
    VisualTag,
    Word,
)


@dataclass(frozen=True)
class VideoRecord:
    """One indexed video as the store keeps it."""

    video_id: str
    path: str
    file_name: str
    size_bytes: int
    container: str
    duration_s: float | None
    fps: float | None
    width: int
    height: int
    rotation: int
    has_video: bool
    has_audio: bool
    title: str | None
    description: str
    language: str | None
    modalities: tuple[str, ...]
    n_tokens: int
    indexed_at: str
    ingest_json: str

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> VideoRecord:
        return cls(**{**row, "modalities": tuple(row["modalities"] or ())})

    def ingested(self) -> IngestedVideo:
        """The stored ingest results (transcript, screen text, tags), without frames."""
        return ingest_from_json(self.ingest_json, self.probe())

    def probe(self) -> VideoProbe:
        return VideoProbe(
            path=Path(self.path),
            video_id=self.video_id,
            size_bytes=self.size_bytes,
            container=self.container,
            duration_s=self.duration_s,
            fps=self.fps,
            width=self.width,
            height=self.height,
            rotation=self.rotation,
            has_video=self.has_video,
            has_audio=self.has_audio,
            title=self.title,
        )


def ingest_to_json(video: IngestedVideo) -> str:
    return json.dumps(
        {
            "transcript": asdict(video.transcript),
            "text_spans": [asdict(s) for s in video.text_spans],
            "visual_tags": [asdict(t) for t in video.visual_tags],
            "description": video.description,
            "warnings": list(video.warnings),
            "comment": video.probe.comment,
        }
    )


def ingest_from_json(text: str, probe: VideoProbe) -> IngestedVideo:
    data = json.loads(text)
    transcript = data["transcript"]
    segments = tuple(
        Segment(
            start_s=s["start_s"],
            end_s=s["end_s"],
            text=s["text"],
            words=tuple(Word(**w) for w in s["words"]),
        )
        for s in transcript["segments"]
    )
    return IngestedVideo(
        probe=probe,
        transcript=Transcript(
            language=transcript["language"],
            language_probability=transcript["language_probability"],
            segments=segments,
        ),
        text_spans=[TextSpan(**{**s, "box": tuple(s["box"])}) for s in data["text_spans"]],
        visual_tags=[
            VisualTag(**{**t, "box": tuple(t["box"]) if t["box"] is not None else None})
            for t in data["visual_tags"]
        ],
        description=data["description"],
        warnings=list(data["warnings"]),
    )


def video_row(video: IngestedVideo, modalities: tuple[str, ...], n_tokens: int) -> dict:
    probe = video.probe
    return {
        "video_id": probe.video_id,
        "path": str(probe.path),
        "file_name": probe.path.name,
        "size_bytes": probe.size_bytes,
        "container": probe.container,
        "duration_s": probe.duration_s,
        "fps": probe.fps,
        "width": probe.width,
        "height": probe.height,
        "rotation": probe.rotation,
        "has_video": probe.has_video,
        "has_audio": probe.has_audio,
        "title": probe.title,
        "description": video.description,
        "language": video.transcript.language,
        "modalities": list(modalities),
        "n_tokens": n_tokens,
        "indexed_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "ingest_json": ingest_to_json(video),
    }


class RecordCache:
    """Video records by id, for one version of the ``videos`` table at a time: a search's hits
    were read from the table on every search (two queries each, 4 ms on the demo collection).
    Any new version (a video added, replaced or deleted, by any process) empties it; at most
    ``limit`` records are kept. Safe to share between threads."""

    def __init__(self, limit: int = 4096) -> None:
        self._limit = limit
        self._version: int | None = None
        self._records: dict[str, VideoRecord] = {}
        self._lock = threading.Lock()

    def get(self, version: int, video_ids: list[str]) -> dict[str, VideoRecord]:
        """The cached records of ``video_ids`` at ``version`` (those it has)."""
        with self._lock:
            if version != self._version:
                self._version, self._records = version, {}
            return {i: self._records[i] for i in video_ids if i in self._records}

    def put(self, version: int, records: list[VideoRecord]) -> None:
        """Keep ``records``, read at ``version`` or later."""
        with self._lock:
            if version != self._version:
                return
            if len(self._records) + len(records) > self._limit:
                self._records = {}
            self._records.update((r.video_id, r) for r in records)
