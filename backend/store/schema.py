"""The store's tables and what one row of each means.

- ``meta``: one row per key: schema version, the encoder's identity and dimension.
- ``videos``: one row per completely indexed video. Its presence is the commit marker: tokens
  and frames are written first, the video row last, so a reader never sees half a video.
- ``tokens``: one row per (video, modality): the multi-vector with a label, time and box per
  token. One row per modality is what lets LanceDB's own MaxSim score a single modality.
- ``frames``: small JPEG thumbnails of sampled frames, for result cards and heatmaps.
- ``failures``: files that could not be indexed, with the reason (cleared when one succeeds).
"""

from __future__ import annotations

import pyarrow as pa

SCHEMA_VERSION = 1

META = pa.schema([pa.field("key", pa.string()), pa.field("value", pa.string())])

VIDEOS = pa.schema(
    [
        pa.field("video_id", pa.string()),
        pa.field("path", pa.string()),
        pa.field("file_name", pa.string()),
        pa.field("size_bytes", pa.int64()),
        pa.field("container", pa.string()),
        pa.field("duration_s", pa.float64()),
        pa.field("fps", pa.float64()),
        pa.field("width", pa.int32()),
        pa.field("height", pa.int32()),
        pa.field("rotation", pa.int32()),
        pa.field("has_video", pa.bool_()),
        pa.field("has_audio", pa.bool_()),
        pa.field("title", pa.string()),
        pa.field("description", pa.string()),
        pa.field("language", pa.string()),
        pa.field("modalities", pa.list_(pa.string())),
        pa.field("n_tokens", pa.int32()),
        pa.field("indexed_at", pa.string()),
        pa.field("ingest_json", pa.string()),  # transcript, text spans, visual tags, warnings
    ]
)

FRAMES = pa.schema(
    [
        pa.field("video_id", pa.string()),
        pa.field("time_s", pa.float32()),
        pa.field("is_scene_change", pa.bool_()),
        pa.field("scale", pa.float32()),  # thumbnail pixels per original pixel
        pa.field("jpeg", pa.binary()),
    ]
)

FAILURES = pa.schema(
    [
        pa.field("path", pa.string()),
        pa.field("video_id", pa.string()),
        pa.field("reason", pa.string()),
        pa.field("failed_at", pa.string()),
    ]
)


def tokens_schema(dim: int) -> pa.Schema:
    return pa.schema(
        [
            pa.field("video_id", pa.string()),
            pa.field("modality", pa.int8()),
            pa.field("vectors", pa.list_(pa.list_(pa.float32(), dim))),
            pa.field("labels", pa.list_(pa.string())),
            pa.field("times", pa.list_(pa.float32())),
            pa.field("boxes", pa.list_(pa.list_(pa.float32(), 4))),
        ]
    )


TABLES = {"meta": META, "videos": VIDEOS, "frames": FRAMES, "failures": FAILURES}
