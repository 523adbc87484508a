"""Writing many videos at once, and preparing a video's rows away from the store.

:meth:`VideoStore.add_video` does both halves for one video in one process. Distributed ingest
(``backend.distributed``) splits them: a worker turns its video into rows (tokens, JPEG
thumbnails, the video row: small, picklable Arrow tables), and the one process that writes
commits them, several videos per LanceDB commit. The commit keeps the store's rule: token and
frame rows first, ``videos`` rows last, so a reader sees a video completely or not at all. It is
also idempotent: committing a video that is already there replaces it, never doubles it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa

from backend.encoders.base import Modality, TokenVectors
from backend.ingest.types import IngestedVideo
from backend.store import schema
from backend.store.records import VideoRecord, video_row
from backend.store.video_store import VideoStore, _in_list, token_table


@dataclass(frozen=True)
class PreparedVideo:
    """One video's rows, ready to commit."""

    video_id: str
    path: str
    tokens: pa.Table  # rows of the token table, one per modality
    frames: pa.Table | None  # thumbnails (frames schema), None without frames
    row: dict  # the ``videos`` row: the commit marker


def prepare_video(video: IngestedVideo, tokens: TokenVectors, dim: int) -> PreparedVideo:
    """The rows :meth:`VideoStore.add_video` would write, computed without the store."""
    video_id = video.probe.video_id
    present = sorted({int(m) for m in tokens.modalities} - {int(Modality.PAD)})
    modalities = tuple(Modality(m).key for m in present)
    frames = VideoStore._frame_rows(video_id, video.frames) if video.frames else None
    return PreparedVideo(
        video_id=video_id,
        path=str(video.probe.path),
        tokens=token_table(video_id, tokens, dim),
        frames=frames,
        row=video_row(video, modalities, len(tokens)),
    )


def commit_videos(store: VideoStore, prepared: Sequence[PreparedVideo]) -> list[VideoRecord]:
    """Write ``prepared`` videos in four commits; replaces any of them already there."""
    prepared = list({p.video_id: p for p in prepared}.values())  # one row per id, last wins
    if not prepared:
        return []
    ids = [p.video_id for p in prepared]
    videos = store.table("videos")
    if videos.count_rows(_in_list("video_id", ids)):
        videos.delete(_in_list("video_id", ids))  # the old copies disappear first
    for name in (store.tokens_table, "frames"):
        store.table(name).delete(_in_list("video_id", ids))
    store.table(store.tokens_table).add(pa.concat_tables([p.tokens for p in prepared]))
    frames = [p.frames for p in prepared if p.frames is not None]
    if frames:
        store.table("frames").add(pa.concat_tables(frames))
    rows = [p.row for p in prepared]
    videos.add(pa.Table.from_pylist(rows, schema=schema.VIDEOS))
    paths = [p.path for p in prepared]
    store.table("failures").delete(f"{_in_list('video_id', ids)} OR {_in_list('path', paths)}")
    return [VideoRecord.from_row(row) for row in rows]
