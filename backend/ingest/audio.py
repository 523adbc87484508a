"""The sound track as speech recognisers want it: mono float32 samples at 16 kHz.

Sample 0 is the file's time 0 (the same clock as :attr:`Frame.time_s`): when the audio starts late,
silence is put in front, so word times from ASR line up with frames without any correction.

Damaged audio: if not a single sample decodes, :func:`load_audio` raises :class:`IngestError` (the
pipeline turns it into a warning and indexes the video without speech). If the track breaks off
part-way, the samples decoded so far are returned and the problem is logged and appended to
``warnings`` when the caller passes a list.
"""

from __future__ import annotations

import logging

import av
import numpy as np

from backend.ingest.errors import IngestError
from backend.ingest.probe import (
    Decoding,
    audio_stream,
    describe_error,
    frame_time_s,
    open_media,
    origin_s,
)
from backend.ingest.types import VideoProbe

log = logging.getLogger(__name__)

_ALIGN_MIN_S = 0.001  # audio starting less than a millisecond late is not worth padding


def load_audio(
    probe: VideoProbe, sample_rate: int = 16000, warnings: list[str] | None = None
) -> np.ndarray | None:
    """Decode the first audio track to mono float32 (about -1 to 1) at ``sample_rate`` Hz.

    Returns ``None`` when the file has no audio track, and an empty array when the track holds no
    samples. Raises :class:`IngestError` when the track exists but nothing in it decodes.
    """
    if not probe.has_audio:
        return None
    with open_media(probe.path) as container:
        stream = audio_stream(container)
        if stream is None:
            return None
        decoding = Decoding(container, stream)
        samples, start_s = _resampled(decoding, origin_s(container), sample_rate)
        codec = stream.codec_context.name

    if not samples and decoding.error is not None:
        raise IngestError(
            probe.path,
            f"its audio track ({codec}) could not be decoded ({describe_error(decoding.error)}). "
            "Speech in it cannot be searched; to fix, re-encode the audio, "
            "e.g. `ffmpeg -i IN -c:v copy -c:a aac OUT.mp4`.",
        ) from decoding.error
    if decoding.bad_packets:
        seconds = sum(len(chunk) for chunk in samples) / sample_rate
        message = (
            f"{probe.path.name}: {decoding.bad_packets} audio packet(s) could not be decoded "
            f"({describe_error(decoding.error)}); kept the {seconds:.1f} s of sound that could."
        )
        log.warning(message)
        if warnings is not None:
            warnings.append(message)
    if start_s is not None and start_s > _ALIGN_MIN_S:
        samples.insert(0, np.zeros(round(start_s * sample_rate), dtype=np.float32))
    return np.concatenate(samples) if samples else np.zeros(0, dtype=np.float32)


def _resampled(
    decoding: Decoding, origin: float, sample_rate: int
) -> tuple[list[np.ndarray], float | None]:
    """Mono float32 chunks of the decoded track, and the time (s) its first sample plays at."""
    chunks: list[np.ndarray] = []
    start_s: float | None = None
    resampler = _resampler(sample_rate)
    for frame in decoding:
        if start_s is None:
            start_s = frame_time_s(frame, origin)
        # Timestamps are not needed past this point, and jumps in them make the resampler's
        # filter graph complain; the sample count alone places every later sample.
        frame.pts = None
        try:
            outputs = resampler.resample(frame)
        except ValueError:
            # The track changed layout or rate mid-way: finish the old resampler, start a new one.
            chunks.extend(_mono(out) for out in resampler.resample(None))
            resampler = _resampler(sample_rate)
            outputs = resampler.resample(frame)
        chunks.extend(_mono(out) for out in outputs)
    if start_s is not None or chunks:
        chunks.extend(_mono(out) for out in resampler.resample(None))
    return [chunk for chunk in chunks if chunk.size], start_s


def _resampler(sample_rate: int) -> av.AudioResampler:
    return av.AudioResampler(format="flt", layout="mono", rate=sample_rate)


def _mono(frame: av.AudioFrame) -> np.ndarray:
    return frame.to_ndarray().reshape(-1).astype(np.float32, copy=False)
