"""Versions of a store's tokens: one token table per encoder, exactly one of them active.

Re-encoding the collection (a fine-tuned adapter, another encoder) writes a NEW token table while
the active one keeps answering searches. Switching is one atomic write of three ``meta`` rows
(``encoder``, ``dim``, ``tokens_table``), so a reader opening the store sees the old version or
the new one, never a mix; the old table stays, and switching back is the same write. Videos,
frames, labels and failures do not depend on the encoder and are shared by every version.

``token_versions`` holds one row per version: its table, the encoder identity and dimension,
the encoder settings that rebuild that encoder (so a switch also tells the app and the command
line which adapter to search with), and whether it is complete. The table a store was first
indexed into is registered as ``v0`` the first time a version is added.

Every write here runs under the store's write lock (``VideoStore.write_lock``): two processes
beginning a version get one, and a switch cannot interleave with a video being committed.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import pyarrow as pa

from backend.config import EncoderSettings, Settings
from backend.store import schema
from backend.store.filters import column_values, quote
from backend.store.video_store import StoreError, VideoStore

VERSIONS_TABLE = "token_versions"
FIRST_TABLE = "tokens"
State = Literal["building", "complete"]

VERSIONS = pa.schema(
    [
        pa.field("name", pa.string()),
        pa.field("table", pa.string()),
        pa.field("encoder", pa.string()),  # identity
        pa.field("dim", pa.int32()),
        pa.field("settings_json", pa.string()),  # EncoderSettings: name, model, adapter ...
        pa.field("state", pa.string()),
        pa.field("created_at", pa.string()),
        pa.field("note", pa.string()),
    ]
)


@dataclass(frozen=True)
class TokenVersion:
    name: str
    table: str
    encoder: str
    dim: int
    settings_json: str
    state: str
    created_at: str
    note: str = ""

    def encoder_settings(self, store_uri: str) -> EncoderSettings | None:
        """The settings that rebuild this version's encoder (None if not recorded); an adapter
        kept inside the store folder is recorded relative to it, so the folder can move."""
        data = json.loads(self.settings_json or "null")
        if not data:
            return None
        adapter = data.get("adapter")
        if adapter and not Path(adapter).is_absolute() and (Path(store_uri) / adapter).exists():
            data["adapter"] = str(Path(store_uri) / adapter)
        return EncoderSettings(**data)


def _settings_json(settings: EncoderSettings | None, store_uri: str) -> str:
    if settings is None:
        return "null"
    keep = ("name", "model", "adapter", "load_in_4bit")
    data = {k: v for k, v in asdict(settings).items() if k in keep}
    adapter = data.get("adapter")
    if adapter and "://" not in store_uri and Path(adapter).exists():
        resolved, store = Path(adapter).resolve(), Path(store_uri).resolve()
        data["adapter"] = (
            str(resolved.relative_to(store)) if resolved.is_relative_to(store) else str(resolved)
        )
    return json.dumps(data)


class StoreVersions:
    """The token versions of one open store."""

    def __init__(self, store: VideoStore) -> None:
        self.store = store

    @property
    def _table(self):
        """The versions table, created on first write (reading a store never changes it)."""
        if VERSIONS_TABLE not in self.store.table_names():
            self.store.create_table(VERSIONS_TABLE, VERSIONS)
        return self.store.table(VERSIONS_TABLE)

    # ----------------------------------------------------------------- reading
    def list(self) -> list[TokenVersion]:
        rows = (
            self.store.table(VERSIONS_TABLE).to_arrow().to_pylist()
            if VERSIONS_TABLE in self.store.table_names()
            else []
        )
        versions = [TokenVersion(**row) for row in rows]
        if not any(v.table == self.store.tokens_table for v in versions):
            versions.insert(0, self._unregistered_active())
        return sorted(versions, key=lambda v: (v.created_at, v.name))

    def get(self, name: str) -> TokenVersion:
        for version in self.list():
            if version.name == name:
                return version
        known = ", ".join(v.name for v in self.list())
        raise StoreError(f"the store at {self.store.uri} has no version {name!r} (it has: {known})")

    def active(self) -> TokenVersion:
        return next(v for v in self.list() if v.table == self.store.tokens_table)

    def _unregistered_active(self) -> TokenVersion:
        """The table the store was indexed into, before any version was registered."""
        meta = self.store.meta
        return TokenVersion(
            name="v0",
            table=self.store.tokens_table,
            encoder=meta["encoder"],
            dim=int(meta["dim"]),
            settings_json="null",
            state="complete",
            created_at=meta.get("created_at", ""),
            note="as first indexed",
        )

    def missing_videos(self, name: str) -> list[str]:
        """Videos of the collection that the version has no tokens for."""
        version = self.get(name)
        present = set(column_values(self.store.table(version.table), "video_id"))
        return [v for v in self.store.video_ids() if v not in present]

    # ----------------------------------------------------------------- writing
    def _registered(self) -> set[str]:
        if VERSIONS_TABLE not in self.store.table_names():
            return set()
        return set(column_values(self.store.table(VERSIONS_TABLE), "name"))

    def register_active(self, settings: EncoderSettings | None = None) -> TokenVersion:
        """Record the active table as a version, with the settings that built it when known."""
        with self.store.write_lock():
            active = self.active()
            registered = active.name in self._registered()
            if registered and (active.settings_json != "null" or settings is None):
                return active
            if registered:
                self._table.delete(f"name = {quote(active.name)}")
            recorded = _settings_json(settings, self.store.uri)
            active = TokenVersion(**{**asdict(active), "settings_json": recorded})
            self._add(active)
            return active

    def begin(
        self, identity: str, dim: int, settings: EncoderSettings, note: str = ""
    ) -> TokenVersion:
        """A version to fill for this encoder: an unfinished one with the same identity is
        resumed, else a new empty table is created (never the active one)."""
        with self.store.write_lock():
            self.register_active()  # so that switching away from it keeps it listed
            for version in self.list():
                if version.encoder == identity and version.state == "building":
                    return version
            names = {v.name for v in self.list()}
            number = 1
            while f"v{number}" in names:
                number += 1
            name = f"v{number}"
            table = f"{FIRST_TABLE}_{name}"
            self.store.drop_table(table)  # left by a version whose row was never written
            self.store.create_table(table, schema.tokens_schema(dim))
            version = TokenVersion(
                name=name,
                table=table,
                encoder=identity,
                dim=dim,
                settings_json=_settings_json(settings, self.store.uri),
                state="building",
                created_at=datetime.now(UTC).isoformat(timespec="seconds"),
                note=note,
            )
            self._add(version)
            return version

    def _add(self, version: TokenVersion) -> None:
        self._table.add(pa.Table.from_pylist([asdict(version)], schema=VERSIONS))

    def add_tokens(self, name: str, rows: pa.Table) -> int:
        """Write re-encoded videos' token rows into version ``name`` (see
        ``VideoStore.add_token_rows``); returns how many videos were written."""
        return self.store.add_token_rows(self.get(name).table, rows)

    def mark_complete(self, name: str) -> None:
        with self.store.write_lock():
            self._table.update(where=f"name = {quote(name)}", values={"state": "complete"})

    def activate(self, name: str, only_if_complete: bool = False) -> list[str]:
        """Make ``name`` the active version (one atomic write); returns the videos it lacks.

        Refuses a version still being built. The version active before stays, for rollback.
        With ``only_if_complete`` a version lacking videos is not activated (the check and the
        switch are one step under the lock, so no video can be committed in between).
        """
        with self.store.write_lock():
            version = self.get(name)
            if version.state != "complete":
                raise StoreError(
                    f"version {name} of {self.store.uri} is not complete (its re-encoding was "
                    "interrupted): run the switch again to finish it, then activate it"
                )
            if only_if_complete and self.missing_videos(name):
                return self.missing_videos(name)
            values = {"encoder": version.encoder, "dim": str(version.dim)}
            self.store.set_meta({**values, "tokens_table": version.table})
            self.store.remove_orphans()  # tokens of videos deleted while it was inactive
            self.store.recount_tokens()  # the video rows describe the active version's tokens
            return self.missing_videos(name)

    def delete(self, name: str) -> None:
        """Drop an inactive version's tokens (the active one cannot be deleted)."""
        with self.store.write_lock():
            version = self.get(name)
            if version.table == self.store.tokens_table:
                raise StoreError(
                    f"version {name} is active: activate another one before deleting it"
                )
            self._table.delete(f"name = {quote(name)}")
            self.store.drop_table(version.table)


def describe_versions(store: VideoStore) -> list[dict]:
    """Every version of a store as plain data, oldest first: what ``python -m backend versions
    --json`` prints and the app's Train tab lists (the adapter is None for a base encoder)."""
    versions = StoreVersions(store)
    active = versions.active().name
    rows = []
    for version in versions.list():
        recorded = version.encoder_settings(store.uri)
        rows.append(
            {
                "name": version.name,
                "active": version.name == active,
                "state": version.state,
                "encoder": version.encoder,
                "adapter": recorded.adapter if recorded else None,
                "created_at": version.created_at,
                "missing_videos": len(versions.missing_videos(version.name)),
            }
        )
    return rows


def follow_active_version(settings: Settings) -> Settings:
    """The settings with the encoder of the store's active version, unless they name an adapter.

    After a switch to a fine-tuned adapter, the command line and the app search with that adapter
    without being told; an explicit ``adapter`` (or another encoder) is left as it is, and the
    store then refuses a mismatch with a message saying so.
    """
    from dataclasses import replace

    chosen = settings.encoder
    if chosen.adapter is not None:
        return settings
    try:
        store = VideoStore.open(settings.store)
    except StoreError:
        return settings  # no store yet: nothing to follow
    recorded = StoreVersions(store).active().encoder_settings(store.uri)
    if recorded is None or recorded.name != chosen.name or recorded.adapter is None:
        return settings
    if chosen.model is not None and chosen.model != recorded.model:
        return settings
    encoder = replace(chosen, adapter=recorded.adapter, model=recorded.model)
    return replace(settings, encoder=encoder)
