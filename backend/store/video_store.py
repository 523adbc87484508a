"""The collection on disk (or any URI LanceDB accepts): videos, their tokens, frames, failures.

Writes keep one rule: a video's ``videos`` row is written last and deleted first, so every
reader sees a video completely or not at all, and an interrupted write leaves only rows that
nothing points to, which the next write of that video (or :meth:`remove_orphans`) clears.

Tokens live in the *active* token table that ``meta`` names (``tokens`` until the collection is
re-encoded; see ``backend.store.versions``); everything else is shared by all versions.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path

import lancedb
import numpy as np
import pyarrow as pa
from PIL import Image

from backend.encoders.base import Modality, TokenVectors
from backend.ingest.types import Frame, IngestedVideo
from backend.store import schema
from backend.store.labels import LabelStore
from backend.store.records import VideoRecord, video_row

THUMBNAIL_WIDTH = 640


def _matrix_lists(matrices: list[np.ndarray], width: int) -> pa.ListArray:
    """Rows of ``(n_i, width)`` float matrices as ``list<fixed_size_list<float32, width>>``."""
    flat = np.concatenate([m.reshape(-1, width) for m in matrices]).astype(np.float32).ravel()
    offsets = np.concatenate([[0], np.cumsum([len(m) for m in matrices])]).astype(np.int32)
    rows = pa.FixedSizeListArray.from_arrays(pa.array(flat, pa.float32()), width)
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), rows)


def token_table(video_id: str, tokens: TokenVectors, dim: int) -> pa.Table:
    """A video's tokens as rows of a token table: one row per modality present."""
    present = sorted({int(m) for m in tokens.modalities} - {int(Modality.PAD)})
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


class StoreError(Exception):
    """A store that cannot be used as asked; the message says what to do."""


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _in_list(column: str, values: Iterable[str]) -> str:
    return f"{column} IN ({', '.join(_quote(v) for v in values)})"


def _column(table: lancedb.table.Table, name: str) -> list:
    return table.search().select([name]).limit(None).to_arrow()[name].to_pylist()


def _jpeg(frame: Frame) -> tuple[bytes, float]:
    image = Image.fromarray(frame.image)
    scale = min(1.0, THUMBNAIL_WIDTH / max(1, image.width))
    if scale < 1.0:
        image = image.resize((round(image.width * scale), max(1, round(image.height * scale))))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue(), scale


class VideoStore:
    """Open with :meth:`open`; one instance per process is enough (LanceDB is thread-safe)."""

    def __init__(self, uri: str, db: lancedb.DBConnection, meta: dict[str, str]) -> None:
        self.uri = uri
        self._db = db
        self.meta = meta

    # ----------------------------------------------------------------- opening
    @classmethod
    def open(
        cls, uri: str | Path, encoder_identity: str | None = None, dim: int | None = None
    ) -> VideoStore:
        """Open (and with an encoder, create) a store; refuse one built by another encoder.

        Without ``encoder_identity`` the store must exist already (for ``info`` and reading).
        """
        uri = str(uri)
        if "://" not in uri:
            if encoder_identity is None and not Path(uri).is_dir():
                raise StoreError(f"no store at {uri}: index some videos into it first")
            Path(uri).mkdir(parents=True, exist_ok=True)
        db = lancedb.connect(uri)
        meta = cls._read_meta(db)
        if not meta:
            if encoder_identity is None or dim is None:
                raise StoreError(f"no store at {uri}: index some videos into it first")
            meta = cls._create(db, encoder_identity, dim)
        store = cls(uri, db, meta)
        store._check(encoder_identity, dim)
        return store

    @staticmethod
    def _read_meta(db: lancedb.DBConnection) -> dict[str, str]:
        if "meta" not in db.list_tables().tables:
            return {}
        rows = db.open_table("meta").to_arrow().to_pylist()
        return {row["key"]: row["value"] for row in rows}

    @staticmethod
    def _create(db: lancedb.DBConnection, encoder_identity: str, dim: int) -> dict[str, str]:
        for name, table_schema in schema.TABLES.items():
            if name != "meta":
                db.create_table(name, schema=table_schema, exist_ok=True)
        db.create_table("tokens", schema=schema.tokens_schema(dim), exist_ok=True)
        meta = {
            "schema_version": str(schema.SCHEMA_VERSION),
            "encoder": encoder_identity,
            "dim": str(dim),
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        rows = [{"key": k, "value": v} for k, v in meta.items()]
        # The meta table is written last: a store without it is not a store yet.
        db.create_table("meta", data=pa.Table.from_pylist(rows, schema=schema.META))
        return meta

    def _check(self, encoder_identity: str | None, dim: int | None) -> None:
        version = int(self.meta.get("schema_version", "0"))
        if version != schema.SCHEMA_VERSION:
            raise StoreError(
                f"the store at {self.uri} has schema version {version}; this program reads "
                f"version {schema.SCHEMA_VERSION}. Re-index into a new --store."
            )
        if encoder_identity is None:
            return
        if self.meta["encoder"] != encoder_identity or int(self.meta["dim"]) != dim:
            raise StoreError(
                f"the store at {self.uri} was built by encoder {self.meta['encoder']!r} "
                f"(dim {self.meta['dim']}), not {encoder_identity!r} (dim {dim}). "
                "Search it with the same encoder, index into another --store, or switch the "
                "store's active version (python -m backend versions --store ...)."
            )

    @property
    def encoder_identity(self) -> str:
        return self.meta["encoder"]

    @property
    def dim(self) -> int:
        return int(self.meta["dim"])

    @property
    def tokens_table(self) -> str:
        """The name of the active token table."""
        return self.meta.get("tokens_table", "tokens")

    def reload_meta(self) -> None:
        """Read ``meta`` again (after this process switched the active version)."""
        self.meta = self._read_meta(self._db)

    @cached_property
    def labels(self) -> LabelStore:
        return LabelStore(self._db)

    def table(self, name: str) -> lancedb.table.Table:
        return self._db.open_table(name)

    def versions(self) -> tuple[int, int]:
        """Changes whenever the visible collection may have changed (for caches)."""
        return self.table("videos").version, self.table(self.tokens_table).version

    # ----------------------------------------------------------------- writing
    def add_video(self, video: IngestedVideo, tokens: TokenVectors) -> VideoRecord:
        """Write a video's tokens and frames, then its row: visible only once complete."""
        video_id = video.probe.video_id
        self._delete_rows(video_id)
        present = sorted({int(m) for m in tokens.modalities} - {int(Modality.PAD)})
        self.table(self.tokens_table).add(token_table(video_id, tokens, self.dim))
        if video.frames:
            self.table("frames").add(self._frame_rows(video_id, video.frames))
        modalities = tuple(Modality(m).key for m in present)
        row = video_row(video, modalities, len(tokens))
        self.table("videos").add(pa.Table.from_pylist([row], schema=schema.VIDEOS))
        self.table("failures").delete(
            f"video_id = {_quote(video_id)} OR path = {_quote(str(video.probe.path))}"
        )
        return VideoRecord.from_row(row)

    @staticmethod
    def _frame_rows(video_id: str, frames: list[Frame]) -> pa.Table:
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

    def _delete_rows(self, video_id: str) -> None:
        for name in (self.tokens_table, "frames"):
            self.table(name).delete(f"video_id = {_quote(video_id)}")

    def delete_video(self, video_id: str) -> bool:
        """Remove a video: its row first (so it disappears at once), then the rest."""
        if not self.has_video(video_id):
            return False
        self.table("videos").delete(f"video_id = {_quote(video_id)}")
        self._delete_rows(video_id)
        return True

    def record_failure(self, path: Path, video_id: str | None, reason: str) -> None:
        self.table("failures").delete(f"path = {_quote(str(path))}")
        row = {
            "path": str(path),
            "video_id": video_id or "",
            "reason": reason,
            "failed_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        self.table("failures").add(pa.Table.from_pylist([row], schema=schema.FAILURES))

    def remove_orphans(self) -> int:
        """Delete token and frame rows of videos that never completed; returns how many ids."""
        complete = set(self.video_ids())
        removed = 0
        for name in (self.tokens_table, "frames"):
            ids = set(_column(self.table(name), "video_id"))
            orphans = sorted(ids - complete)
            if orphans:
                self.table(name).delete(_in_list("video_id", orphans))
                removed += len(orphans)
        return removed

    def optimize(self) -> None:
        """Compact small appends into larger files (after an indexing run)."""
        for name in ("videos", self.tokens_table, "frames", "failures"):
            self.table(name).optimize()

    # ----------------------------------------------------------------- reading
    def video_ids(self) -> list[str]:
        return _column(self.table("videos"), "video_id")

    def has_video(self, video_id: str) -> bool:
        return self.table("videos").count_rows(f"video_id = {_quote(video_id)}") > 0

    def videos(self, video_ids: Iterable[str] | None = None) -> list[VideoRecord]:
        table = self.table("videos")
        if video_ids is None:
            rows = table.to_arrow().to_pylist()
        else:
            ids = list(video_ids)
            if not ids:
                return []
            rows = table.search().where(_in_list("video_id", ids)).limit(None).to_arrow()
            rows = rows.select(schema.VIDEOS.names).to_pylist()
        return sorted((VideoRecord.from_row(r) for r in rows), key=lambda r: r.path)

    def video(self, video_id: str) -> VideoRecord | None:
        found = self.videos([video_id])
        return found[0] if found else None

    def failures(self) -> list[dict]:
        return self.table("failures").to_arrow().to_pylist()

    def frames(self, video_id: str) -> list[dict]:
        """Thumbnails of a video's sampled frames, in time order."""
        rows = (
            self.table("frames")
            .search()
            .where(f"video_id = {_quote(video_id)}")
            .limit(None)
            .to_arrow()
            .select(schema.FRAMES.names)
            .to_pylist()
        )
        return sorted(rows, key=lambda r: r["time_s"])

    def token_rows(self, video_ids: Iterable[str] | None = None) -> pa.Table:
        """The active token table (all of it, or of some videos) as Arrow, for search."""
        table = self.table(self.tokens_table)
        if video_ids is None:
            return table.to_arrow()
        ids = list(video_ids)
        if not ids:
            return table.schema.empty_table()
        query = table.search().where(_in_list("video_id", ids)).limit(None)
        return query.to_arrow().select(table.schema.names)
