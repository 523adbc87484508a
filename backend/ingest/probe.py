"""What a media file is, before anything is decoded in bulk: its content id, streams and metadata.

Also the few helpers every later ingest step shares, so that frames and audio agree on which
stream is "the video", on where time 0 is, and on how unreadable files are reported: open with
:func:`open_media`, pick with :func:`video_stream` / :func:`audio_stream`, decode with
:class:`Decoding`, time with :func:`frame_time_s`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
from av.container import InputContainer

from backend.ingest.errors import IngestError
from backend.ingest.types import VideoProbe

_CHUNK = 1 << 20  # hash the file 1 MiB at a time: constant memory for any file size
_ID_CHARS = 32
_NOT_MEDIA = (
    "not a video or audio file this tool can read: ffmpeg does not recognise its format, "
    "or the file is incomplete (an interrupted download or recording). Convert it to a "
    "common format such as MP4 (H.264/AAC), or skip it."
)


def content_id(path: Path) -> str:
    """Hash of the file's bytes (sha256, first 32 hex chars): the same bytes give the same id.

    Identity by content, not by path, so a moved or copied video is recognised as already indexed.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()[:_ID_CHARS]


def open_media(path: Path) -> InputContainer:
    """Open ``path`` for reading with PyAV, or raise an :class:`IngestError` that says why not."""
    path = Path(path)
    if not path.exists():
        raise IngestError(path, "file not found. Check the path, or whether it was moved.")
    if not path.is_file():
        raise IngestError(path, "not a file (a folder?). Give the path of a video file.")
    try:
        if path.stat().st_size == 0:
            raise IngestError(path, "the file is empty (0 bytes). Copy or download it again.")
        # metadata_errors="ignore": a badly encoded title must not stop the video being indexed.
        return av.open(str(path), mode="r", metadata_errors="ignore")
    except PermissionError as error:
        raise IngestError(
            path, "no permission to read this file. Check its access rights."
        ) from error
    except (av.FFmpegError, UnicodeDecodeError, OSError) as error:
        raise IngestError(path, _NOT_MEDIA) from error


def describe_error(error: BaseException) -> str:
    """ffmpeg's own words for a failure, without errno numbers: for messages users read."""
    return getattr(error, "strerror", None) or str(error) or type(error).__name__


class Decoding:
    """Decode one stream packet by packet, so a bad packet costs one picture, not the whole file.

    Iterate to get decoded frames; afterwards ``bad_packets`` and ``error`` (the last failure)
    say what was skipped. Decoding stops early once the damage looks hopeless.
    """

    max_bad_packets = 50

    def __init__(self, container: InputContainer, stream: av.VideoStream | av.AudioStream) -> None:
        self.container = container
        self.stream = stream
        self.bad_packets = 0
        self.error: av.FFmpegError | None = None

    def __iter__(self) -> Iterator[av.VideoFrame | av.AudioFrame]:
        try:
            for packet in self.container.demux(self.stream):
                try:
                    yield from packet.decode()
                except av.FFmpegError as error:
                    self.bad_packets += 1
                    self.error = error
                    if self.bad_packets > self.max_bad_packets:
                        return
        except av.FFmpegError as error:  # the container itself is damaged from here on
            self.bad_packets += 1
            self.error = error


def video_stream(container: InputContainer) -> av.VideoStream | None:
    """The stream that is the video: the first video stream that is not cover art."""
    for stream in container.streams.video:
        if not stream.disposition & av.stream.Disposition.attached_pic:
            return stream
    return None


def audio_stream(container: InputContainer) -> av.AudioStream | None:
    """The audio stream speech is taken from: the first one (ffmpeg's default track order)."""
    return container.streams.audio[0] if container.streams.audio else None


def origin_s(container: InputContainer) -> float:
    """The time (s) that counts as 0: the container's start, so video and audio share one clock.

    Some files start their timestamps late (``delayed_start.mp4`` begins at 1.075 s); every time
    ingest reports is measured from here.
    """
    if container.start_time is not None:
        return container.start_time / av.time_base
    starts = [
        float(s.start_time * s.time_base)
        for s in container.streams
        if s.start_time is not None and s.time_base is not None
    ]
    return min(starts, default=0.0)


def frame_time_s(frame: av.VideoFrame | av.AudioFrame, origin: float) -> float | None:
    """Seconds from the file's start (see :func:`origin_s`) to ``frame``; ``None`` if unstamped."""
    if frame.pts is None or frame.time_base is None:
        return None
    return max(0.0, float(frame.pts * frame.time_base) - origin)


def rotation_of(frame: av.VideoFrame) -> int:
    """Degrees a decoded picture must be turned clockwise for display: 0, 90, 180 or 270.

    PyAV reports the display matrix's angle counter-clockwise (``-90`` for a phone video that
    needs a quarter turn clockwise); we store the clockwise turn, snapped to quarter turns.
    """
    return (-round(frame.rotation / 90) * 90) % 360


def display_size(
    width: int, height: int, aspect: Fraction | None, rotation: int
) -> tuple[int, int]:
    """(width, height) as displayed: non-square pixels stretched to square, then rotated."""
    if aspect and aspect > 0 and aspect != 1:
        width = max(1, round(width * aspect))
    return (height, width) if rotation in (90, 270) else (width, height)


def pixel_aspect(stream: av.VideoStream) -> Fraction | None:
    """Sample (pixel) aspect ratio of a video stream, ``None`` when unknown."""
    aspect = stream.sample_aspect_ratio or stream.codec_context.sample_aspect_ratio
    return Fraction(aspect) if aspect else None


def probe_video(path: Path) -> VideoProbe:
    """Read what the container says about ``path``; decode only what that cannot tell.

    Rotation is only exposed on decoded frames in PyAV 18, so the first video frame is decoded.
    Raises :class:`IngestError` for missing, empty, non-media files and files without video or
    audio. Audio-only files are accepted (``has_video`` is False, size 0x0).
    """
    path = Path(path)
    container = open_media(path)
    with container:
        _reject_non_video(path, container)
        video = video_stream(container)
        audio = audio_stream(container)
        if video is None and audio is None:
            kinds = sorted({s.type for s in container.streams}) or ["none"]
            raise IngestError(
                path,
                f"has no video or audio stream (streams found: {', '.join(kinds)}). "
                "Give a video or audio file.",
            )
        width = height = rotation = 0
        fps = None
        if video is not None:
            width, height, rotation = _picture_geometry(container, video)
            if width == 0 and audio is None:
                raise IngestError(
                    path,
                    f"its video stream ({video.codec_context.name}) cannot be decoded and it has "
                    "no audio: the file is damaged or not really a video. Re-export or convert it.",
                )
            rate = video.average_rate or video.guessed_rate
            fps = float(rate) if rate else None
        tags = {key.lower(): value for key, value in container.metadata.items()}
        return VideoProbe(
            path=path,
            video_id=content_id(path),
            size_bytes=path.stat().st_size,
            container=container.format.name,
            duration_s=_duration_s(path, container),
            fps=fps,
            width=width,
            height=height,
            rotation=rotation,
            has_video=video is not None,
            has_audio=audio is not None,
            title=_tag(tags, "title"),
            comment=_tag(tags, "comment", "description"),
        )


def _reject_non_video(path: Path, container: InputContainer) -> None:
    """Refuse formats ffmpeg opens that are not recordings: text shown as ANSI art, still images."""
    name = container.format.name
    if name == "tty":  # ffmpeg renders .txt/.nfo files as "ANSI art" video
        raise IngestError(path, "is a text file, not a video or audio file. Skip it.")
    if name == "image2" or name.endswith("_pipe"):
        try:  # headerless data (.raw) and misnamed files also land here: only a real image decodes
            next(container.decode(video=0))
        except (av.FFmpegError, StopIteration, IndexError) as error:
            raise IngestError(path, _NOT_MEDIA) from error
        raise IngestError(
            path,
            "is a still image, not a video. Index videos or audio; "
            "to search an image, make it a short video first (e.g. with ffmpeg -loop 1).",
        )


def _picture_geometry(container: InputContainer, stream: av.VideoStream) -> tuple[int, int, int]:
    """(width, height, rotation) as displayed, from the first decodable frame when there is one."""
    width, height = stream.codec_context.width, stream.codec_context.height
    rotation = 0
    try:
        frame = next(container.decode(stream), None)
    except av.FFmpegError:
        frame = None  # decoding problems are reported by sample_frames, with the full story
    if frame is not None:
        width, height, rotation = frame.width, frame.height, rotation_of(frame)
    dw, dh = display_size(width, height, pixel_aspect(stream), rotation)
    return dw, dh, rotation


def _duration_s(path: Path, container: InputContainer) -> float | None:
    """Length in seconds: the container's, else the longest stream's, else the last packet's end."""
    if container.duration is not None and container.duration > 0:
        return container.duration / av.time_base
    streams = [
        float(s.duration * s.time_base)
        for s in (*container.streams.video, *container.streams.audio)
        if s.duration and s.time_base
    ]
    if streams:
        return max(streams)
    end = _last_end(path, decode=False)
    if end is None:
        end = _last_end(path, decode=True)
    return None if end is None else max(0.0, end - origin_s(container))


def _last_end(path: Path, decode: bool) -> float | None:
    """The latest packet (or decoded frame) end time in the file, in seconds; ``None`` if none.

    Files written by live encoders (``no_duration.webm``) never get a duration in their header;
    reading the packet headers (no decoding) finds it. Decoding is the last resort, for streams
    whose packets carry no timestamps. A fresh container keeps the caller's read position intact.
    """
    end = None
    try:
        with open_media(path) as container:
            wanted = [*container.streams.video, *container.streams.audio]
            items = container.decode(*wanted) if decode else container.demux(wanted)
            for item in items:
                stamp = item.pts if item.pts is not None else item.dts
                if stamp is None or item.time_base is None:
                    continue
                item_end = float((stamp + (item.duration or 0)) * item.time_base)
                end = item_end if end is None else max(end, item_end)
    except av.FFmpegError:
        pass  # a damaged tail: what was read so far still bounds the length
    return end


def _tag(tags: dict[str, str], *keys: str) -> str | None:
    for key in keys:
        value = (tags.get(key) or "").strip()
        if value:
            return value
    return None
