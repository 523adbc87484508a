"""Write one index part from a stream of the store's token rows, never holding them all.

Rows arrive as Arrow record batches (``video_id``, ``modality``, ``vectors``, ``labels``,
``times``, ``boxes``); each batch is pooled, encoded at the index precision and appended to the
part's files, then dropped. A sample of the vectors is kept for training centroids. Codes (each
token's centroid) and the posting lists are added in a second pass over the written vectors, and
``part.json`` is written last: a folder without it is an unfinished part and is ignored.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from backend.search.index.codecs import Precision, decode, encode, has_scale
from backend.search.index.kmeans import assign
from backend.search.index.part import LABELS, MANIFEST, Part, open_array, vector_spec, write_array
from backend.search.index.pooling import pool_runs, run_starts

_ASSIGN_CHUNK = 262_144
_SPILLED = ("vectors", "scale", "times", "boxes")


@dataclass
class _Batch:
    video_ids: list[str]
    modalities: np.ndarray  # (rows,) int8
    lengths: np.ndarray  # (rows,) tokens per row, after pooling
    vectors: np.ndarray  # (n, D) float32
    labels: pa.Array
    times: np.ndarray
    boxes: np.ndarray


def _read_batch(batch: pa.RecordBatch, dim: int, pool_threshold: float | None) -> _Batch:
    """Flatten a batch of rows to token arrays, pooling runs inside each row only."""
    lengths = pc.list_value_length(batch.column("vectors")).to_numpy(zero_copy_only=False)
    lengths = lengths.astype(np.int64)
    flat = batch.column("vectors").flatten().flatten().to_numpy(zero_copy_only=False)
    vectors = np.asarray(flat, np.float32).reshape(-1, dim)
    labels = batch.column("labels").flatten()
    times = batch.column("times").flatten().to_numpy(zero_copy_only=False).astype(np.float32)
    boxes = batch.column("boxes").flatten().flatten().to_numpy(zero_copy_only=False)
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    if pool_threshold is not None and len(vectors):
        row_first = np.cumsum(lengths) - lengths
        starts = np.union1d(run_starts(vectors, pool_threshold), row_first[lengths > 0])
        vectors = pool_runs(vectors, starts)
        labels, times, boxes = labels.take(pa.array(starts)), times[starts], boxes[starts]
        row_of_start = np.searchsorted(np.cumsum(lengths), starts, side="right")
        lengths = np.bincount(row_of_start, minlength=len(lengths)).astype(np.int64)
    return _Batch(
        video_ids=batch.column("video_id").to_pylist(),
        modalities=batch.column("modality").to_numpy(zero_copy_only=False).astype(np.int8),
        lengths=lengths,
        vectors=vectors,
        labels=labels,
        times=times,
        boxes=boxes,
    )


@dataclass
class PartWriter:
    """Builds one part in ``directory`` (replaced if it exists)."""

    directory: Path
    dim: int
    precision: Precision
    pool_threshold: float | None = None
    sample_rate: float = 0.0  # share of tokens kept in :attr:`sample` for training centroids
    seed: int = 0
    video_ids: list[str] = field(default_factory=list)
    sample: list[np.ndarray] = field(default_factory=list)
    _video_index: dict[str, int] = field(default_factory=dict)
    _seg_video: list[np.ndarray] = field(default_factory=list)
    _seg_modality: list[np.ndarray] = field(default_factory=list)
    _seg_length: list[np.ndarray] = field(default_factory=list)
    n_tokens: int = 0
    n_raw_tokens: int = 0

    def __post_init__(self) -> None:
        if self.directory.exists():
            shutil.rmtree(self.directory)
        self.directory.mkdir(parents=True)
        # Open for the writer's life (closed in finish): the arrays are appended batch by batch.
        self._files = {n: open(self.directory / f"{n}.bin", "wb") for n in _SPILLED}  # noqa: SIM115
        schema = pa.schema([pa.field("label", pa.string())])
        self._labels = pa.ipc.new_file(str(self.directory / LABELS), schema)
        self._rng = np.random.default_rng(self.seed)

    def add(self, batch: pa.RecordBatch, wanted: pa.Array | None = None) -> None:
        """Append the rows of ``batch`` (those of ``wanted`` video ids, if given)."""
        if wanted is not None:
            batch = batch.filter(pc.is_in(batch.column("video_id"), wanted))
        if batch.num_rows == 0:
            return
        self.n_raw_tokens += int(pc.sum(pc.list_value_length(batch.column("times"))).as_py())
        rows = _read_batch(batch, self.dim, self.pool_threshold)
        for video_id in rows.video_ids:
            if video_id not in self._video_index:
                self._video_index[video_id] = len(self.video_ids)
                self.video_ids.append(video_id)
        self._seg_video.append(np.array([self._video_index[v] for v in rows.video_ids], np.int32))
        self._seg_modality.append(rows.modalities)
        self._seg_length.append(rows.lengths)
        data, scale = encode(rows.vectors, self.precision)
        self._files["vectors"].write(np.ascontiguousarray(data).tobytes())
        if scale is not None:
            self._files["scale"].write(scale.tobytes())
        self._files["times"].write(rows.times.tobytes())
        self._files["boxes"].write(rows.boxes.tobytes())
        labels = rows.labels.cast(pa.string())
        self._labels.write_batch(pa.record_batch([labels], names=["label"]))
        self.n_tokens += len(rows.vectors)
        if self.sample_rate > 0 and len(rows.vectors):
            keep = self._rng.random(len(rows.vectors)) < self.sample_rate
            self.sample.append(rows.vectors[keep])

    def add_all(self, batches: Iterable[pa.RecordBatch], wanted: Iterable[str] | None) -> None:
        ids = None if wanted is None else pa.array(sorted(wanted), pa.string())
        for batch in batches:
            self.add(batch, ids)

    def training_sample(self) -> np.ndarray:
        return np.concatenate(self.sample) if self.sample else np.zeros((0, self.dim), np.float32)

    def finish(self, centroids: np.ndarray, extra_video_ids: Iterable[str] = ()) -> Part:
        """Assign codes, write posting lists and segment tables, then ``part.json``."""
        for file in self._files.values():
            file.close()
        self._labels.close()
        for video_id in extra_video_ids:  # complete videos that have no tokens at all
            if video_id not in self._video_index:
                self._video_index[video_id] = len(self.video_ids)
                self.video_ids.append(video_id)
        n, directory = self.n_tokens, self.directory
        arrays = {
            "vectors": vector_spec(self.precision, self.dim, n),
            "times": {"dtype": "<f4", "shape": [n]},
            "boxes": {"dtype": "<f4", "shape": [n, 4]},
        }
        if has_scale(self.precision):
            arrays["scale"] = {"dtype": "<f4", "shape": [n]}
        else:
            (directory / "scale.bin").unlink()
        seg_video = _concat(self._seg_video, np.int32)
        seg_modality = _concat(self._seg_modality, np.int8)
        seg_length = _concat(self._seg_length, np.int64)
        seg_start = np.concatenate([[0], np.cumsum(seg_length)]).astype(np.int64)
        codes = self._codes(open_array(directory, "vectors", arrays["vectors"]), arrays, centroids)
        arrays["codes"] = write_array(directory, "codes", codes)
        post_start, post_seg = _postings(codes, seg_length, len(centroids))
        arrays["post_start"] = write_array(directory, "post_start", post_start)
        arrays["post_seg"] = write_array(directory, "post_seg", post_seg)
        video_segs = np.argsort(seg_video, kind="stable").astype(np.int32)
        video_seg_start = np.searchsorted(seg_video[video_segs], np.arange(len(self.video_ids) + 1))
        for name, array in (
            ("seg_start", seg_start),
            ("seg_video", seg_video),
            ("seg_modality", seg_modality),
            ("video_segs", video_segs),
            ("video_seg_start", video_seg_start.astype(np.int64)),
        ):
            arrays[name] = write_array(directory, name, array)
        (directory / "video_ids.json").write_text(json.dumps(self.video_ids))
        meta = {
            "dim": self.dim,
            "precision": self.precision,
            "pool_threshold": self.pool_threshold,
            "n_videos": len(self.video_ids),
            "n_raw_tokens": self.n_raw_tokens,
            "arrays": arrays,
        }
        (directory / MANIFEST).write_text(json.dumps(meta, indent=1))
        return Part.open(directory)

    def _codes(self, vectors: np.ndarray, arrays: dict, centroids: np.ndarray) -> np.ndarray:
        scale = open_array(self.directory, "scale", arrays["scale"]) if "scale" in arrays else None
        codes = np.empty(len(vectors), np.uint16 if len(centroids) <= 65535 else np.int32)
        for start in range(0, len(vectors), _ASSIGN_CHUNK):
            stop = start + _ASSIGN_CHUNK
            chunk_scale = None if scale is None else np.asarray(scale[start:stop])
            chunk = decode(np.asarray(vectors[start:stop]), chunk_scale, self.precision, self.dim)
            codes[start:stop] = assign(chunk, centroids)
        return codes


def _concat(parts: list[np.ndarray], dtype: type) -> np.ndarray:
    return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)


def _postings(codes: np.ndarray, seg_length: np.ndarray, n_centroids: int) -> tuple:
    """For each centroid, the sorted segments with a token assigned to it (CSR)."""
    segment = np.repeat(np.arange(len(seg_length), dtype=np.int64), seg_length)
    keys = np.unique(codes.astype(np.int64) * max(1, len(seg_length)) + segment)
    centroid = keys // max(1, len(seg_length))
    post_start = np.searchsorted(centroid, np.arange(n_centroids + 1)).astype(np.int64)
    return post_start, (keys % max(1, len(seg_length))).astype(np.int32)
