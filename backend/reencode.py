"""Re-encode the collection with another encoder (a new adapter) into a new store version.

The active version keeps answering searches while the new one fills; the store switches only
once every video has tokens in the new version (``backend.store.versions``), and the old one is
kept for rollback. An interrupted run leaves an unfinished version that the next run resumes.
Encoding runs without the store's write lock, so other processes go on indexing meanwhile; the
last "does every video have tokens?" check and the switch are one step under it, so a video
committed by another process during the re-encoding is encoded in the next round, never left out.

Nothing is decoded again for the default encoder: a video's stored ingest results (transcript,
screen text, image tags, description) are all it reads, and its picture tokens are carried over
as they are (``backend.picture_tokens``; ``fill_pictures`` computes them from the frames for
videos indexed before they existed: ``python -m backend add-images``). CLaMR also reads
pixels, so frames are sampled again from the original file; a file that has moved or changed is
reported, and its frames are taken from the store's thumbnails instead (smaller, so boxes are in
thumbnail pixels).
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pyarrow as pa
from PIL import Image

from backend.config import EncoderSettings, Settings
from backend.encoders import build_encoder
from backend.encoders.base import Encoder
from backend.ingest.errors import IngestError
from backend.ingest.frames import sample_frames
from backend.ingest.probe import content_id
from backend.ingest.types import Frame, IngestedVideo
from backend.picture_tokens import PICTURE_ENCODERS, PictureRegions, with_pictures
from backend.store.records import VideoRecord
from backend.store.rows import token_table
from backend.store.versions import StoreVersions, TokenVersion
from backend.store.video_store import VideoStore

#: Encoders that read frames' pixels (the default encoder reads only their image tags).
READS_PIXELS = frozenset({"clamr"})
CHUNK = 8
MAX_ROUNDS = 3  # videos indexed meanwhile are encoded too, a few rounds at most

#: Called with (videos done, videos to do, video id just encoded).
ReencodeProgress = Callable[[int, int, str], None]


@dataclass
class ReencodeReport:
    version: str
    encoder: str
    encoded: int = 0
    activated: bool = False
    missing: list[str] = field(default_factory=list)  # videos the active version lacks
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0


def decode_jpeg(jpeg: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(jpeg)) as image:
        return np.asarray(image.convert("RGB"))


def thumbnail_frames(store: VideoStore, video_id: str) -> list[Frame]:
    """The stored thumbnails of a video as frames, in time order."""
    return [
        Frame(row["time_s"], decode_jpeg(row["jpeg"]), row["is_scene_change"])
        for row in store.frames(video_id)
    ]


def _with_frames(
    store: VideoStore, record: VideoRecord, settings: Settings, warnings: list[str]
) -> IngestedVideo:
    video = record.ingested()
    path = Path(record.path)
    try:
        if not path.is_file() or content_id(path) != record.video_id:
            raise IngestError(path, "moved or changed since it was indexed")
        return replace(video, frames=sample_frames(record.probe(), settings.frames, warnings))
    except IngestError as error:
        warnings.append(f"{error}: frames taken from the store's thumbnails")
        return replace(video, frames=thumbnail_frames(store, record.video_id))


def reencode(
    store: VideoStore,
    settings: Settings,
    current: EncoderSettings | None = None,
    activate: bool = True,
    on_progress: ReencodeProgress | None = None,
    fill_pictures: bool = False,
) -> ReencodeReport:
    """Encode every video with ``settings.encoder`` into a version of its own, then (with
    ``activate``) switch to it. ``current`` records how the active version was built, so a
    rollback can rebuild its encoder. ``fill_pictures``: a new version even when one of this
    encoder exists, with picture tokens computed from the frames where the active version has
    none (decoding those videos again); an unfinished one is resumed."""
    start = time.perf_counter()
    versions = StoreVersions(store)
    versions.register_active(current)
    encoder = build_encoder(settings.encoder)
    existing = [
        v
        for v in versions.list()
        if v.encoder == encoder.identity and (not fill_pictures or v.state == "building")
    ]
    version = (
        existing[-1]
        if existing
        else versions.begin(encoder.identity, encoder.dim, settings.encoder, note="re-encoded")
    )
    report = ReencodeReport(version.name, encoder.identity)
    remaining: list[str] = []
    for _ in range(MAX_ROUNDS):
        _encode_missing(
            store, settings, versions, version, encoder, report, on_progress, fill_pictures
        )
        with store.write_lock():  # no video can be committed between this check and the switch
            remaining = versions.missing_videos(version.name)
            if not remaining:
                if version.state != "complete":
                    versions.mark_complete(version.name)
                if activate and version.table != store.tokens_table:
                    report.missing = versions.activate(version.name)
                    report.activated = True
                break
    if remaining:
        report.missing = remaining
        report.warnings.append(f"{len(remaining)} videos were added faster than re-encoded")
    store.optimize([version.table])
    report.seconds = time.perf_counter() - start
    return report


def _encode_missing(
    store: VideoStore,
    settings: Settings,
    versions: StoreVersions,
    version: TokenVersion,
    encoder: Encoder,
    report: ReencodeReport,
    on_progress: ReencodeProgress | None,
    fill_pictures: bool = False,
) -> None:
    """Encode the videos the version lacks, a chunk per commit (the lock is held only for
    each commit)."""
    todo = versions.missing_videos(version.name)
    done = 0
    pictures = None
    for offset in range(0, len(todo), CHUNK):
        records = store.videos(todo[offset : offset + CHUNK])
        if encoder.name in READS_PIXELS:
            videos = [_with_frames(store, r, settings, report.warnings) for r in records]
        else:
            videos = [r.ingested() for r in records]
        if encoder.name in PICTURE_ENCODERS:
            pictures = pictures or PictureRegions(store, settings, compute=fill_pictures)
            videos = with_pictures(pictures, records, videos, report.warnings)
        tables = []
        for record, tokens in zip(records, encoder.encode_videos(videos), strict=True):
            tables.append(token_table(record.video_id, tokens, encoder.dim))
            report.encoded += 1
            done += 1
            if on_progress is not None:
                on_progress(done, len(todo), record.video_id)
        if tables:
            versions.add_tokens(version.name, pa.concat_tables(tables))


def switch_encoder(
    settings: Settings, target: EncoderSettings, on_progress: ReencodeProgress | None = None
) -> ReencodeReport:
    """Re-encode ``settings.store`` with ``target`` and make that version active.

    The encoder searching the store now (the active version's, as ``Collection`` would pick it)
    is recorded with the version it built, so that rolling back restores it exactly.
    """
    from backend.store.versions import follow_active_version

    store = VideoStore.open(settings.store)
    in_use = follow_active_version(settings).encoder
    current = in_use if build_encoder(in_use).identity == store.encoder_identity else None
    return reencode(store, replace(settings, encoder=target), current, True, on_progress)
