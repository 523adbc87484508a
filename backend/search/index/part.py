"""One immutable part of the search index: packed token arrays on disk, memory-mapped to read.

A part holds the tokens of a set of videos as flat arrays (raw little-endian files described by
``part.json``), so a search reads only the pages of the videos it re-scores, and opening a part
costs no more than opening its files. Rows of the store's ``tokens`` table (one per video and
modality) become *segments*: a contiguous range of tokens of one modality of one video.

Files: ``vectors`` ``(N, w)`` at the index precision (+ ``scale`` ``(N,)``), ``times`` ``(N,)``,
``boxes`` ``(N, 4)``, ``labels.arrow`` (Arrow IPC, one string per token), ``codes`` ``(N,)``
(the token's centroid), ``seg_start`` ``(S + 1,)``, ``seg_video`` ``(S,)`` (index into
``video_ids.json``), ``seg_modality`` ``(S,)``, ``video_segs`` ``(S,)`` + ``video_seg_start``
``(V + 1,)`` (the segments of each video), ``post_start`` ``(C + 1,)`` + ``post_seg`` ``(E,)``
(for each centroid, the segments that have a token there).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pyarrow as pa

from backend.encoders.base import TokenVectors
from backend.search.index.codecs import Precision, decode, has_scale, row_width

MANIFEST = "part.json"
LABELS = "labels.arrow"
_ARRAYS = (
    "video_ids", "vectors", "scale", "times", "boxes", "labels", "seg_start", "seg_video",
    "seg_modality", "video_segs", "video_seg_start", "post_start", "post_seg",
)  # fmt: skip


def write_array(directory: Path, name: str, array: np.ndarray) -> dict:
    """Write ``array`` raw to ``directory/name.bin``; returns what reading it back needs."""
    array = np.ascontiguousarray(array)
    array.tofile(directory / f"{name}.bin")
    return {"dtype": array.dtype.str, "shape": list(array.shape)}


def open_array(directory: Path, name: str, spec: dict) -> np.ndarray:
    shape = tuple(spec["shape"])
    if int(np.prod(shape)) == 0:
        return np.zeros(shape, np.dtype(spec["dtype"]))
    return np.memmap(directory / f"{name}.bin", np.dtype(spec["dtype"]), mode="r", shape=shape)


def ranges(starts: np.ndarray, stops: np.ndarray) -> np.ndarray:
    """The concatenated integer ranges ``[starts[i], stops[i])``, without a Python loop.

    >>> ranges(np.array([5, 0]), np.array([7, 3]))
    array([5, 6, 0, 1, 2])
    """
    lengths = stops - starts
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, np.int64)
    offsets = np.repeat(starts - np.cumsum(lengths) + lengths, lengths)
    return np.arange(total, dtype=np.int64) + offsets


@dataclass
class Part:
    """A part opened for reading; arrays are memory-mapped, ``live`` is set by the index."""

    directory: Path
    meta: dict

    @classmethod
    def open(cls, directory: Path) -> Part:
        """Open every file now (maps cost nothing until read): a part another process deletes
        after a rebuild stays readable to this one (POSIX keeps open files)."""
        part = cls(directory, json.loads((directory / MANIFEST).read_text()))
        for name in _ARRAYS:
            getattr(part, name)
        return part

    def _array(self, name: str) -> np.ndarray:
        return open_array(self.directory, name, self.meta["arrays"][name])

    @property
    def precision(self) -> Precision:
        return self.meta["precision"]

    @property
    def dim(self) -> int:
        return int(self.meta["dim"])

    @property
    def n_tokens(self) -> int:
        return int(self.meta["arrays"]["times"]["shape"][0])

    @cached_property
    def video_ids(self) -> list[str]:
        return json.loads((self.directory / "video_ids.json").read_text())

    @cached_property
    def vectors(self) -> np.ndarray:
        return self._array("vectors")

    @cached_property
    def scale(self) -> np.ndarray | None:
        return self._array("scale") if has_scale(self.precision) else None

    @cached_property
    def seg_start(self) -> np.ndarray:
        return np.asarray(self._array("seg_start"))

    @cached_property
    def seg_video(self) -> np.ndarray:
        return np.asarray(self._array("seg_video"))

    @cached_property
    def seg_modality(self) -> np.ndarray:
        return np.asarray(self._array("seg_modality"))

    @cached_property
    def video_segs(self) -> np.ndarray:
        return np.asarray(self._array("video_segs"))

    @cached_property
    def video_seg_start(self) -> np.ndarray:
        return np.asarray(self._array("video_seg_start"))

    @cached_property
    def post_start(self) -> np.ndarray:
        return np.asarray(self._array("post_start"))

    @cached_property
    def post_seg(self) -> np.ndarray:
        return self._array("post_seg")

    @cached_property
    def times(self) -> np.ndarray:
        return self._array("times")

    @cached_property
    def boxes(self) -> np.ndarray:
        return self._array("boxes")

    @cached_property
    def labels(self) -> pa.ChunkedArray:
        source = pa.memory_map(str(self.directory / LABELS))
        return pa.ipc.open_file(source).read_all().column("label")

    def disk_bytes(self) -> dict[str, int]:
        """Bytes on disk per file (for the bench's bytes per video)."""
        return {p.name: p.stat().st_size for p in self.directory.iterdir() if p.is_file()}

    # ------------------------------------------------------------------ reading tokens
    def segments_of(self, videos: np.ndarray) -> np.ndarray:
        """Segment ids of the given local videos, video after video."""
        videos = np.asarray(videos, np.int64)
        order = ranges(self.video_seg_start[videos], self.video_seg_start[videos + 1])
        return self.video_segs[order]

    def token_positions(self, segments: np.ndarray) -> np.ndarray:
        return ranges(self.seg_start[segments], self.seg_start[segments + 1])

    def stored(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Stored rows (and scales) at sorted-or-not token positions, read from the map."""
        scale = None if self.scale is None else np.asarray(self.scale[positions])
        return np.asarray(self.vectors[positions]), scale

    def tokens_of(self, video: int) -> TokenVectors:
        """A video's tokens, vectors decoded from the stored precision (for matches, moments)."""
        segments = self.segments_of(np.array([video]))
        starts, stops = self.seg_start[segments], self.seg_start[segments + 1]
        positions = ranges(starts, stops)
        data, scale = self.stored(positions)
        labels = [
            label
            for start, stop in zip(starts.tolist(), stops.tolist())
            for label in self.labels.slice(start, stop - start).to_pylist()
        ]
        return TokenVectors(
            vectors=decode(data, scale, self.precision, self.dim),
            modalities=np.repeat(self.seg_modality[segments], stops - starts).astype(np.int8),
            labels=tuple(labels),
            times=np.asarray(self.times[positions], np.float32),
            boxes=np.asarray(self.boxes[positions], np.float32),
        )


def vector_spec(precision: Precision, dim: int, n: int) -> dict:
    dtype, width = row_width(precision, dim)
    return {"dtype": dtype.str, "shape": [n, width]}
