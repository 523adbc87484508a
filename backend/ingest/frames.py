"""Pick the frames worth looking at: one every few seconds, plus every scene change.

The video is decoded once. Every decoded picture is shrunk to ``analysis_width`` for PySceneDetect's
``ContentDetector``; only the kept pictures are converted to full-size RGB, so memory grows with
the number of kept frames (at most ``2 * max_frames`` at any moment), never with the video length.

Damaged video: if not a single picture decodes, :func:`sample_frames` raises :class:`IngestError`.
If pictures decode before the damage (a truncated download, a corrupt tail), the frames decoded so
far are returned and the problem is reported as a warning: logged, and appended to ``warnings``
when the caller passes a list (the pipeline passes ``IngestedVideo.warnings``).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from fractions import Fraction

import av
import cv2
import numpy as np
from scenedetect import ContentDetector
from scenedetect.common import FrameTimecode, Timecode
from scenedetect.detector import FlashFilter

from backend.config import FrameSettings
from backend.ingest.errors import IngestError
from backend.ingest.probe import (
    Decoding,
    describe_error,
    display_size,
    frame_time_s,
    open_media,
    origin_s,
    pixel_aspect,
    video_stream,
)
from backend.ingest.types import Frame, VideoProbe

log = logging.getLogger(__name__)

_MIN_SCENE_S = 0.5  # cuts closer than this to the previous one are flashes, not scenes
_THUMB = (32, 32)  # near-duplicate test size: blind to noise and compression, not to content
_MICROSECONDS = Fraction(1, 1_000_000)


def sample_frames(
    probe: VideoProbe,
    settings: FrameSettings,
    warnings: list[str] | None = None,
    threads: int | None = None,
) -> list[Frame]:
    """Decode ``probe``'s video once and keep timed samples plus scene changes, as displayed.

    Frames are (H, W, 3) uint8 RGB at the stream's resolution, with non-square pixels made square
    and rotation applied; ``time_s`` counts from the start of the file. Returns ``[]`` for
    audio-only files. Raises :class:`IngestError` when the video stream yields no picture at all.
    ``threads`` caps the decoder's threads (None: FFmpeg's choice, one per core); with 1 the
    picture is decoded on the calling thread, beside other stages that use the other cores.
    """
    if not probe.has_video:
        return []
    with open_media(probe.path) as container:
        stream = video_stream(container)
        if stream is None:
            return []
        stream.codec_context.thread_type = "AUTO"  # frame threads: decoding dominates the cost
        if threads:
            stream.codec_context.thread_count = threads
        every_s = settings.every_s
        if probe.duration_s and settings.max_frames > 0:
            every_s = max(every_s, probe.duration_s / settings.max_frames)
        sampler = _Sampler(settings, every_s, probe.rotation, pixel_aspect(stream), probe.fps)
        decoding = Decoding(container, stream)
        origin = origin_s(container)
        for frame in decoding:
            sampler.add(frame, frame_time_s(frame, origin))
        frames = _spread(sampler.kept, settings.max_frames)
        codec = stream.codec_context.name

    if not frames:
        cause = f" ({describe_error(decoding.error)})" if decoding.error else ""
        raise IngestError(
            probe.path,
            f"no picture could be decoded from its video stream ({codec})"
            f"{cause}. The file may be damaged or use an unsupported codec; re-encode it, "
            "e.g. `ffmpeg -i IN -c:v libx264 -c:a aac OUT.mp4`.",
        ) from decoding.error
    if decoding.bad_packets:
        message = (
            f"{probe.path.name}: {decoding.bad_packets} video packet(s) could not be decoded "
            f"({describe_error(decoding.error)}); indexed the {sampler.decoded} pictures "
            f"that could, up to {sampler.last_time_s:.1f} s."
        )
        log.warning(message)
        if warnings is not None:
            warnings.append(message)
    return frames


@dataclass
class _Kept:
    frame: Frame
    thumb: np.ndarray


class _Sampler:
    """Decides, picture by picture, what to keep; holds only the kept pictures."""

    def __init__(
        self,
        settings: FrameSettings,
        every_s: float,
        rotation: int,
        aspect: Fraction | None,
        fps: float | None,
    ) -> None:
        self.settings = settings
        self.every_s = every_s
        self.rotation = rotation
        self.aspect = aspect
        self.fps = fps if fps and fps > 0 else 25.0  # only used to label scenedetect timecodes
        self.detector = ContentDetector(
            threshold=settings.scene_threshold,
            min_scene_len=_MIN_SCENE_S,
            # SUPPRESS reports a cut on the picture that shows it, never on an earlier one we
            # have already let go of (MERGE may report cuts late).
            filter_mode=FlashFilter.Mode.SUPPRESS,
        )
        self.kept: list[Frame] = []
        self.last: _Kept | None = None
        self.next_due_s = 0.0
        self.decoded = 0
        self.last_time_s = 0.0

    def add(self, frame: av.VideoFrame, time_s: float | None) -> None:
        if time_s is None:  # no timestamp: assume the nominal frame rate since the last picture
            time_s = self.last_time_s + 1 / self.fps if self.decoded else 0.0
        self.decoded += 1
        self.last_time_s = time_s
        small = self._analysis_image(frame)
        stamp = Timecode(pts=round(time_s * 1_000_000), time_base=_MICROSECONDS)
        is_cut = bool(self.detector.process_frame(FrameTimecode(stamp, fps=self.fps), small))
        is_due = self.last is None or time_s >= self.next_due_s - 1e-6
        if not (is_due or is_cut):
            return
        if is_due and self.every_s > 0:
            # Next slot on a fixed grid: a gap in a variable-frame-rate stream does not cause a
            # burst of catch-up samples afterwards.
            self.next_due_s = (math.floor(time_s / self.every_s + 1e-6) + 1) * self.every_s
        thumb = _thumbnail(small)
        # A cut is never a near-duplicate: the detector saw hue and saturation change, which a grey
        # thumbnail can miss (counter.mp4 turns from red to a green of the same brightness).
        if (
            not is_cut
            and self.last is not None
            and _difference(thumb, self.last.thumb) < self.settings.near_duplicate_diff
        ):
            return
        image = _display_image(frame, self.rotation, self.aspect)
        self.last = _Kept(Frame(time_s=time_s, image=image, is_scene_change=is_cut), thumb)
        self.kept.append(self.last.frame)
        if self.settings.max_frames > 0 and len(self.kept) > 2 * self.settings.max_frames:
            # The duration was unknown or wrong: thin out now and sample half as often, so memory
            # stays bounded whatever the real length.
            self.kept = _spread(self.kept, self.settings.max_frames)
            self.every_s *= 2

    def _analysis_image(self, frame: av.VideoFrame) -> np.ndarray:
        """The picture in BGR (what ContentDetector expects), ``analysis_width`` wide at most."""
        display_w, display_h = display_size(frame.width, frame.height, self.aspect, 0)
        width = max(1, min(self.settings.analysis_width, display_w))
        height = max(1, round(display_h * width / display_w))
        return frame.reformat(width=width, height=height, format="bgr24").to_ndarray()


def _display_image(frame: av.VideoFrame, rotation: int, aspect: Fraction | None) -> np.ndarray:
    """Full-size RGB as displayed. Alpha, if the decoder gives any, is dropped by the RGB format."""
    width, height = display_size(frame.width, frame.height, aspect, 0)
    image = frame.reformat(width=width, height=height, format="rgb24").to_ndarray()
    if rotation:
        image = np.rot90(image, k=-(rotation // 90))  # negative k turns clockwise
    return np.ascontiguousarray(image)  # one layout for every consumer (PIL, torch, OCR)


def _thumbnail(bgr: np.ndarray) -> np.ndarray:
    grey = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    return cv2.resize(grey, _THUMB, interpolation=cv2.INTER_AREA).astype(np.float32)


def _difference(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference (0-255) of two thumbnails."""
    return float(np.abs(a - b).mean())


def _spread(frames: list[Frame], limit: int) -> list[Frame]:
    """At most ``limit`` frames, evenly spread over the list, first and last included."""
    if limit <= 0 or len(frames) <= limit:
        return frames
    picks = np.unique(np.linspace(0, len(frames) - 1, limit).round().astype(int))
    return [frames[i] for i in picks]
