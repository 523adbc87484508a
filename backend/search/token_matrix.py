"""All searchable tokens packed into one matrix, read from the store's Arrow columns.

Vectors come out of Arrow without a per-token Python object: the nested list column is
flattened to its value buffer and viewed as ``(N, D)``. Labels, times and boxes stay as Arrow
arrays and are read only for the videos a search returns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import torch

from backend.encoders.base import TokenVectors


@dataclass(frozen=True)
class TokenMatrix:
    video_ids: tuple[str, ...]  # (V,)
    vectors: torch.Tensor  # (N, D) float32
    video_index: torch.Tensor  # (N,) int64 into video_ids
    modality: torch.Tensor  # (N,) int64 Modality ids
    labels: pa.Array  # (N,) string
    times: np.ndarray  # (N,) float32
    boxes: np.ndarray  # (N, 4) float32
    # Each token-table row is a segment: contiguous tokens of one video and modality.
    segment_start: np.ndarray | None = None  # (S,) int64 first token of each non-empty row
    segment_video: np.ndarray | None = None  # (S,) int64
    segment_modality: np.ndarray | None = None  # (S,) int64

    @property
    def n_videos(self) -> int:
        return len(self.video_ids)

    def tokens_of(self, video: int) -> tuple[np.ndarray, TokenVectors]:
        """Positions in the matrix and the tokens of one video (by its index)."""
        positions = np.flatnonzero(self.video_index.numpy() == video)
        tokens = TokenVectors(
            vectors=self.vectors[positions].numpy(),
            modalities=self.modality[positions].numpy().astype(np.int8),
            labels=tuple(self.labels.take(pa.array(positions)).to_pylist()),
            times=self.times[positions],
            boxes=self.boxes[positions],
        )
        return positions, tokens

    @classmethod
    def from_arrow(
        cls, rows: pa.Table, dim: int, video_ids: list[str] | None = None
    ) -> TokenMatrix:
        """Pack token rows; ``video_ids`` (if given) restricts to those videos, in that order."""
        if video_ids is not None:
            rows = rows.filter(pc.is_in(rows["video_id"], pa.array(video_ids, pa.string())))
        else:
            video_ids = sorted(set(rows["video_id"].to_pylist()))
        position = {vid: i for i, vid in enumerate(video_ids)}
        rows = rows.combine_chunks()
        vector_lists = rows["vectors"].combine_chunks() if rows.num_rows else None
        lengths = (
            pc.list_value_length(vector_lists).to_numpy(zero_copy_only=False)
            if vector_lists is not None
            else np.zeros(0, np.int64)
        )
        if vector_lists is not None and lengths.sum():
            flat = vector_lists.flatten().flatten().to_numpy(zero_copy_only=False)
            vectors = torch.from_numpy(np.array(flat, np.float32).reshape(-1, dim))
        else:
            vectors = torch.zeros((0, dim), dtype=torch.float32)
        per_row_video = np.asarray([position[v] for v in rows["video_id"].to_pylist()], np.int64)
        per_row_modality = rows["modality"].to_numpy(zero_copy_only=False).astype(np.int64)

        def flat_column(name: str) -> pa.Array:
            column = rows[name].combine_chunks()
            return column.flatten() if len(column) else pa.array([], column.type.value_type)

        boxes = flat_column("boxes")
        boxes_np = (
            boxes.flatten().to_numpy(zero_copy_only=False).reshape(-1, 4)
            if len(boxes)
            else np.zeros((0, 4))
        )
        nonempty = lengths > 0
        return cls(
            segment_start=(np.cumsum(lengths) - lengths)[nonempty].astype(np.int64),
            segment_video=per_row_video[nonempty],
            segment_modality=per_row_modality[nonempty],
            video_ids=tuple(video_ids),
            vectors=vectors,
            video_index=torch.from_numpy(np.repeat(per_row_video, lengths)),
            modality=torch.from_numpy(np.repeat(per_row_modality, lengths)),
            labels=flat_column("labels"),
            times=flat_column("times").to_numpy(zero_copy_only=False).astype(np.float32),
            boxes=boxes_np.astype(np.float32),
        )
