"""A video as the rows the store writes: pure functions from plain data to Arrow tables.

Building rows (JPEG thumbnails, packing vectors) is work that needs no store and no lock, so it
happens before a commit: in the indexing process for :meth:`VideoStore.add_video`, or on a Ray
worker (``backend.distributed``), whose :class:`PreparedVideo` travels back to the one process
that commits.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
from PIL import Image

from backend.encoders.base import Modality, TokenVectors
from backend.ingest.types import Frame, IngestedVideo
from backend.store import schema
from backend.store.records import video_row

THUMBNAIL_WIDTH = 640


def _matrix_lists(matrices: list[np.ndarray], width: int) -> pa.ListArray:
    """Rows of ``(n_i, width)`` float matrices as ``list<fixed_size_list<float32, width>>``."""
    flat = np.concatenate([m.reshape(-1, width) for m in matrices]).astype(np.float32).ravel()
    offsets = np.concatenate([[0], np.cumsum([len(m) for m in matrices])]).astype(np.int32)
    rows = pa.FixedSizeListArray.from_arrays(pa.array(flat, pa.float32()), width)
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), rows)


def present_modalities(tokens: TokenVectors) -> list[int]:
    """The modalities a video has tokens for, in id order (padding left out)."""
    return sorted({int(m) for m in tokens.modalities} - {int(Modality.PAD)})


def token_table(video_id: str, tokens: TokenVectors, dim: int) -> pa.Table:
    """A video's tokens as rows of a token table: one row per modality present."""
    present = present_modalities(tokens)
    parts = [tokens.select(tokens.modalities == m) for m in present]
    return pa.Table.from_arrays(
        [
            pa.array([video_id] * len(parts), pa.string()),
            pa.array(present, pa.int8()),
            _matrix_lists([p.vectors for p in parts], dim),
            pa.array([list(p.labels) for p in parts], pa.list_(pa.string())),
            pa.array([p.times.astype(np.float32) for p in parts], pa.list_(pa.float32())),
            _matrix_lists([p.boxes for p in parts], 4),
        ],
        schema=schema.tokens_schema(dim),
    )


def _jpeg(frame: Frame) -> tuple[bytes, float]:
    image = Image.fromarray(frame.image)
    scale = min(1.0, THUMBNAIL_WIDTH / max(1, image.width))
    if scale < 1.0:
        image = image.resize((round(image.width * scale), max(1, round(image.height * scale))))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue(), scale


def frame_rows(video_id: str, frames: list[Frame]) -> pa.Table:
    """Thumbnails of a video's sampled frames as rows of the ``frames`` table."""
    rows = []
    for frame in frames:
        jpeg, scale = _jpeg(frame)
        rows.append(
            {
                "video_id": video_id,
                "time_s": frame.time_s,
                "is_scene_change": frame.is_scene_change,
                "scale": scale,
                "jpeg": jpeg,
            }
        )
    return pa.Table.from_pylist(rows, schema=schema.FRAMES)


@dataclass(frozen=True)
class PreparedVideo:
    """One video's rows, ready to commit (small, picklable Arrow tables)."""

    video_id: str
    path: str
    tokens: pa.Table  # rows of the token table, one per modality
    frames: pa.Table | None  # thumbnails (frames schema), None without frames
    row: dict  # the ``videos`` row: the commit marker


def prepare_video(video: IngestedVideo, tokens: TokenVectors, dim: int) -> PreparedVideo:
    """The rows a commit of this video writes, computed without the store."""
    video_id = video.probe.video_id
    modalities = tuple(Modality(m).key for m in present_modalities(tokens))
    return PreparedVideo(
        video_id=video_id,
        path=str(video.probe.path),
        tokens=token_table(video_id, tokens, dim),
        frames=frame_rows(video_id, video.frames) if video.frames else None,
        row=video_row(video, modalities, len(tokens)),
    )
