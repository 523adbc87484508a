"""The collection on disk (or any URI LanceDB accepts): videos, their tokens, frames, failures.

This class is the store's one writer API: every write to a store (indexing, Ray ingest, the
app, re-encoding through :mod:`backend.store.versions`, labels through ``write_lock``) is one of
its methods, and each runs under the store's write lock (:mod:`backend.store.write_lock`), so
writers in several processes (two ``index`` runs, the app and the command line) commit one at a
time. Only the commit holds the lock; rows are built (:mod:`backend.store.rows`) before it.

Writes keep one rule: a video's ``videos`` row is written last and deleted first, so every
reader sees a video completely or not at all, and an interrupted write (a ``kill -9`` included)
leaves only rows that nothing points to, which the next write of that video or
:meth:`remove_orphans` clears. Under the lock such rows can only be a dead writer's: a live one
writes a video's tokens and its row within one hold of the lock.

Tokens live in the *active* token table that ``meta`` names (``tokens`` until the collection is
re-encoded; see ``backend.store.versions``); everything else is shared by all versions. A reader
keeps the ``meta`` it opened until :meth:`refresh` (``Collection`` refreshes on every call); a
writer always refreshes under the lock, and refuses to commit tokens of an encoder the store was
switched away from by another process. Table handles are read with LanceDB's strong consistency,
so a row written by another process is seen by the next read.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any

import lancedb
import pyarrow as pa
import pyarrow.compute as pc

from backend.encoders.base import Modality, TokenVectors
from backend.ingest.types import IngestedVideo
from backend.store import schema
from backend.store.filters import column_values, in_list, quote
from backend.store.labels import LabelStore
from backend.store.pools import PoolStore
from backend.store.query_sets import QueryStore
from backend.store.records import RecordCache, VideoRecord
from backend.store.rows import PreparedVideo, prepare_video
from backend.store.write_lock import claim, store_lock

log = logging.getLogger(__name__)

#: Every read checks for commits of other processes (a few ms on a local disk).
READ_CONSISTENCY = timedelta(0)


class StoreError(Exception):
    """A store that cannot be used as asked; the message says what to do."""


class VideoStore:
    """Open with :meth:`open`; one instance per process is enough (LanceDB is thread-safe)."""

    def __init__(
        self,
        uri: str,
        db: lancedb.DBConnection,
        meta: dict[str, str],
        writes_for: tuple[str, int] | None = None,
    ) -> None:
        self.uri = uri
        self._db = db
        self.meta = meta
        self._writes_for = writes_for  # (encoder, dim) whose tokens this object commits
        self._lock = store_lock(uri)
        self._readers: dict[str, lancedb.table.Table] = {}  # see _read
        self._meta_version: int | None = None  # the meta table's version self.meta was read at
        self._records = RecordCache()

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
        db = lancedb.connect(uri, read_consistency_interval=READ_CONSISTENCY)
        meta = cls._read_meta(db)
        if not meta:
            if encoder_identity is None or dim is None:
                raise StoreError(f"no store at {uri}: index some videos into it first")
            with store_lock(uri).hold():  # two processes creating one store: one does
                meta = cls._read_meta(db) or cls._create(db, encoder_identity, dim)
        writes_for = (encoder_identity, dim) if encoder_identity and dim else None
        store = cls(uri, db, meta, writes_for)
        store._check(encoder_identity, dim)
        return store

    @staticmethod
    def _read_meta(db: lancedb.DBConnection) -> dict[str, str]:
        """The ``meta`` rows; empty while the store does not exist or is being created (its
        folder appears before its first commit: measured, two processes opening one store)."""
        if "meta" not in db.list_tables().tables:
            return {}
        try:
            rows = db.open_table("meta").to_arrow().to_pylist()
        except ValueError:  # "Table 'meta' was not found": not committed yet
            return {}
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
        # The meta table is written last: a store without it is not a store yet (a creator
        # killed while writing it leaves an uncommitted folder, replaced here).
        leftover = "meta" in db.list_tables().tables
        data = pa.Table.from_pylist(rows, schema=schema.META)
        db.create_table("meta", data=data, mode="overwrite" if leftover else "create")
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

    def refresh(self) -> bool:
        """Read ``meta`` again if it changed; True if the active version changed since it was
        last read. Every search calls this: the rows are read only when the table's version
        moved (its version first, so that a commit in between is read again next time)."""
        before = (self.tokens_table, self.encoder_identity)
        try:
            version = self._version("meta")
        except Exception:  # not committed yet (a store being created)
            version = None
        if version is None or version != self._meta_version:
            meta = self._read_meta(self._db)
            self.meta = meta or self.meta
            self._meta_version = version if meta else None
        return (self.tokens_table, self.encoder_identity) != before

    # ----------------------------------------------------------------- locking
    @contextmanager
    def write_lock(self, wait: bool = True) -> Iterator[bool]:
        """Hold the store's write lock (reentrant); ``meta`` is re-read on entry. Yields False,
        holding nothing, if another writer has it and not ``wait``. Writes of several steps
        outside this class (versions, labels) run inside it."""
        outermost = not self._lock.held
        with self._lock.hold(wait) as held:
            if held and outermost:
                self.refresh()
            yield held

    def claim(self, video_id: str, wait: bool) -> AbstractContextManager[bool]:
        """Hold the right to ingest ``video_id`` (see ``write_lock.claim``); yields whether
        this process got it."""
        return claim(self.uri, video_id, wait)

    def _check_writer(self) -> None:
        """Refuse to commit tokens into a version switched to by another process meanwhile."""
        if self._writes_for is None:
            return
        encoder, dim = self._writes_for
        if (self.encoder_identity, self.dim) != (encoder, dim):
            raise StoreError(
                f"the store at {self.uri} was switched to encoder {self.encoder_identity!r} "
                f"(version table {self.tokens_table}) while this process was writing with "
                f"{encoder!r}: run the command again (it follows the active version)"
            )

    # ----------------------------------------------------------------- tables
    @property
    def labels(self) -> LabelStore:
        """Relevance labels, opened afresh (another process's labels are seen at once).
        Writes that read first (import de-duplication) hold :meth:`write_lock`."""
        return LabelStore(self._db)

    @cached_property
    def queries(self) -> QueryStore:
        """The query set of a test collection (``backend.judging``)."""
        return QueryStore(self._db)

    @cached_property
    def pools(self) -> PoolStore:
        """Each query's pooled candidates, in blind order (``backend.judging``)."""
        return PoolStore(self._db)

    def table(self, name: str) -> lancedb.table.Table:
        """A table for reading; writes go through this class's methods."""
        return self._db.open_table(name)

    def _read(self, name: str, read: Callable[[lancedb.table.Table], Any]) -> Any:
        """``read(table)`` on a kept handle of table ``name``, for the reads every search makes
        (versions, video rows). With a read consistency interval of 0 a kept handle sees every
        commit, as a new one does, without the open (0.5 ms, and a round trip to LanceDB's
        event loop that waits for the GIL under load). A handle that fails (its table dropped
        and made again) is opened afresh once."""
        handle = self._readers.get(name)
        if handle is not None:
            try:
                return read(handle)
            except Exception:
                self._readers.pop(name, None)
        handle = self._readers[name] = self._db.open_table(name)
        return read(handle)

    def _version(self, name: str) -> int:
        """The latest committed version of table ``name``, through its kept handle."""
        return self._read(name, lambda table: table.version)

    def table_names(self) -> list[str]:
        return list(self._db.list_tables().tables)

    def create_table(self, name: str, table_schema: pa.Schema) -> None:
        """Create an empty table (no-op if it exists)."""
        with self.write_lock():
            self._db.create_table(name, schema=table_schema, exist_ok=True)

    def drop_table(self, name: str) -> None:
        with self.write_lock():
            if name in self.table_names():
                self._db.drop_table(name)

    def versions(self) -> tuple[str, int, int]:
        """Changes whenever the visible collection may have changed (for caches)."""
        tokens = self.tokens_table
        return tokens, self._version("videos"), self._version(tokens)

    # ----------------------------------------------------------------- writing
    def add_video(self, video: IngestedVideo, tokens: TokenVectors) -> VideoRecord:
        """Write a video's tokens and frames, then its row (replacing any earlier copy)."""
        return self.commit([prepare_video(video, tokens, self.dim)])[0]

    def add_video_if_absent(self, video: IngestedVideo, tokens: TokenVectors) -> VideoRecord | None:
        """As :meth:`add_video`, unless another writer committed this video first (None)."""
        written = self.commit([prepare_video(video, tokens, self.dim)], replace=False)
        return written[0] if written else None

    def commit(self, prepared: Sequence[PreparedVideo], replace: bool = True) -> list[VideoRecord]:
        """Write prepared videos under the lock: token and frame rows first, ``videos`` rows
        last, four commits for the batch. A video already there is replaced, or with
        ``replace=False`` kept and left out of the result: never doubled."""
        batch = list({p.video_id: p for p in prepared}.values())  # one per id, last wins
        if not batch:
            return []
        with self.write_lock():
            self._check_writer()
            present = set(self._present([p.video_id for p in batch]))
            if not replace:
                batch = [p for p in batch if p.video_id not in present]
                if not batch:
                    return []
            ids = [p.video_id for p in batch]
            if present:
                self.table("videos").delete(in_list("video_id", present))  # gone first
            for name in (self.tokens_table, "frames"):
                self._delete_where(name, in_list("video_id", ids))  # a dead writer's rows
            self.table(self.tokens_table).add(pa.concat_tables([p.tokens for p in batch]))
            frames = [p.frames for p in batch if p.frames is not None]
            if frames:
                self.table("frames").add(pa.concat_tables(frames))
            rows = [p.row for p in batch]
            self.table("videos").add(pa.Table.from_pylist(rows, schema=schema.VIDEOS))
            paths = in_list("path", [p.path for p in batch])
            self._delete_where("failures", f"{in_list('video_id', ids)} OR {paths}")
        return [VideoRecord.from_row(row) for row in rows]

    def _present(self, video_ids: list[str]) -> list[str]:
        query = self.table("videos").search().where(in_list("video_id", video_ids))
        return query.select(["video_id"]).limit(None).to_arrow()["video_id"].to_pylist()

    def _delete_where(self, name: str, where: str) -> None:
        """Delete matching rows; no commit (no new table version) when none match."""
        table = self.table(name)
        if table.count_rows(where):
            table.delete(where)

    def delete_video(self, video_id: str) -> bool:
        """Remove a video: its row first (so it disappears at once), then the rest."""
        with self.write_lock():
            if not self.has_video(video_id):
                return False
            self.table("videos").delete(f"video_id = {quote(video_id)}")
            for name in (self.tokens_table, "frames"):
                self._delete_where(name, f"video_id = {quote(video_id)}")
        return True

    def record_failure(self, path: Path, video_id: str | None, reason: str) -> None:
        """Note a file that could not be indexed (unless another writer indexed it)."""
        with self.write_lock():
            if video_id and self.has_video(video_id):
                return
            self._delete_where("failures", f"path = {quote(str(path))}")
            row = {
                "path": str(path),
                "video_id": video_id or "",
                "reason": reason,
                "failed_at": datetime.now(UTC).isoformat(timespec="seconds"),
            }
            self.table("failures").add(pa.Table.from_pylist([row], schema=schema.FAILURES))

    def remove_orphans(self, tables: Iterable[str] | None = None) -> int:
        """Delete token and frame rows of videos that never completed; returns how many ids.

        Under the lock every such row is a dead writer's (see the module's docstring), never
        one that another process is still writing."""
        removed = 0
        with self.write_lock():
            complete = set(self.video_ids())
            for name in tables or (self.tokens_table, "frames"):
                orphans = sorted(set(column_values(self.table(name), "video_id")) - complete)
                if orphans:
                    self.table(name).delete(in_list("video_id", orphans))
                    removed += len(orphans)
        return removed

    def add_token_rows(self, table: str, rows: pa.Table) -> int:
        """Write finished token rows into an (inactive) version's table, replacing that table's
        rows of the same videos; rows of videos deleted meanwhile are dropped. Returns videos
        written."""
        with self.write_lock():
            ids = sorted(set(rows["video_id"].to_pylist()))
            keep = set(self._present(ids)) if ids else set()
            if ids:
                self._delete_where(table, in_list("video_id", ids))
            kept = rows.filter(pa.array([v in keep for v in rows["video_id"].to_pylist()]))
            if kept.num_rows:
                self.table(table).add(kept)
        return len(keep)

    def recount_tokens(self) -> int:
        """Make every video row's ``n_tokens`` and ``modalities`` describe the active token
        table (after a switch to another version: picture tokens added, another encoder), in one
        commit; returns how many rows changed. The rows' other columns are left as they are."""
        with self.write_lock():
            counted = (
                self.table(self.tokens_table)
                .search()
                .select(["video_id", "modality", "times"])
                .limit(None)
                .to_arrow()
            )
            per_video: dict[str, tuple[int, set[int]]] = {}
            lengths = pc.list_value_length(counted["times"]).to_pylist()
            for video_id, modality, n in zip(
                counted["video_id"].to_pylist(),
                counted["modality"].to_pylist(),
                lengths,
                strict=True,
            ):
                total, present = per_video.get(video_id, (0, set()))
                per_video[video_id] = (total + (n or 0), present | {modality})
            changed = []
            for row in self.table("videos").to_arrow().to_pylist():
                total, present = per_video.get(row["video_id"], (0, set()))
                keys = [Modality(m).key for m in sorted(present)]
                if (row["n_tokens"], row["modalities"]) != (total, keys):
                    changed.append({**row, "n_tokens": total, "modalities": keys})
            if changed:
                (
                    self.table("videos")
                    .merge_insert("video_id")
                    .when_matched_update_all()
                    .execute(pa.Table.from_pylist(changed, schema=schema.VIDEOS))
                )
            return len(changed)

    def set_meta(self, values: dict[str, str]) -> None:
        """Write ``meta`` keys in one commit (the active version switches atomically).
        Switching ``encoder``/``dim`` here makes this object write for the new encoder."""
        rows = [{"key": k, "value": v} for k, v in values.items()]
        with self.write_lock():
            (
                self.table("meta")
                .merge_insert("key")
                .when_matched_update_all()
                .when_not_matched_insert_all()
                .execute(pa.Table.from_pylist(rows, schema=schema.META))
            )
            self.refresh()
            if self._writes_for is not None and {"encoder", "dim"} <= values.keys():
                self._writes_for = (values["encoder"], int(values["dim"]))

    def optimize(self, tables: Iterable[str] | None = None, **options) -> None:
        """Compact small appends into larger files (after an indexing run). Under the lock:
        Lance refuses a compaction that a concurrent delete pre-empted (measured)."""
        with self.write_lock():
            for name in tables or ("videos", self.tokens_table, "frames", "failures"):
                try:
                    self.table(name).optimize(**options)
                except RuntimeError as error:  # a writer without our lock: try next time
                    log.warning("could not compact %s of %s: %s", name, self.uri, error)

    # ----------------------------------------------------------------- reading
    def video_ids(self) -> list[str]:
        return column_values(self.table("videos"), "video_id")

    def has_video(self, video_id: str) -> bool:
        where = f"video_id = {quote(video_id)}"
        return self._read("videos", lambda table: table.count_rows(where)) > 0

    def videos(self, video_ids: Iterable[str] | None = None) -> list[VideoRecord]:
        """Records of all videos, or of ``video_ids`` (those present); the records of a search's
        hits come from a cache kept per version of the ``videos`` table."""
        if video_ids is None:
            rows = self.table("videos").to_arrow().to_pylist()
            return sorted((VideoRecord.from_row(r) for r in rows), key=lambda r: r.path)
        ids = list(dict.fromkeys(video_ids))
        if not ids:
            return []
        version = self._version("videos")
        found = self._records.get(version, ids)
        missing = [i for i in ids if i not in found]
        if missing:

            def query(table: lancedb.table.Table) -> list[dict]:
                rows = table.search().where(in_list("video_id", missing)).limit(None).to_arrow()
                return rows.select(schema.VIDEOS.names).to_pylist()

            fetched = [VideoRecord.from_row(r) for r in self._read("videos", query)]
            self._records.put(version, fetched)
            found.update((r.video_id, r) for r in fetched)
        return sorted(found.values(), key=lambda r: r.path)

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
            .where(f"video_id = {quote(video_id)}")
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
        query = table.search().where(in_list("video_id", ids)).limit(None)
        return query.to_arrow().select(table.schema.names)
