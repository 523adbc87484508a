"""The ``pools`` table: for each query, the candidates assessors judge, and who proposed them.

A pool is written whole for a query (one row per candidate, all with one ``pool_id``) and never
changed: pooling again after the collection grew appends a new pool, and the newest pool of a
query is its pool. Each row keeps the rankers that proposed the candidate and at what rank, and
its place in the blind order assessors see (``position``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

import lancedb
import pyarrow as pa

from backend.store.lazy_table import LazyTable

POOLS = pa.schema(
    [
        pa.field("pool_id", pa.string()),
        pa.field("qid", pa.string()),
        pa.field("video_id", pa.string()),
        pa.field("position", pa.int32()),  # 0-based place in the blind order
        pa.field("rankers", pa.list_(pa.string())),
        pa.field("ranks", pa.list_(pa.int32())),  # 1-based, one per ranker
        pa.field("moment_s", pa.float64()),  # where the player opens (None: at the start)
        pa.field("depth", pa.int32()),
        pa.field("created_at", pa.string()),
    ]
)


@dataclass(frozen=True)
class PoolRow:
    qid: str
    video_id: str
    position: int
    rankers: tuple[str, ...]
    ranks: tuple[int, ...]
    moment_s: float | None
    depth: int
    pool_id: str = ""
    created_at: str = ""


class PoolStore:
    """Pools of a store folder (or URI); re-opened for every read."""

    def __init__(self, db: lancedb.DBConnection) -> None:
        self._rows = LazyTable(db, "pools", POOLS)

    def write(self, qid: str, rows: Sequence[PoolRow]) -> str:
        """Append a query's new pool in one commit; returns its id."""
        pool_id = uuid.uuid4().hex
        created_at = datetime.now(UTC).isoformat()
        records = []
        for row in rows:
            record = asdict(row) | {"qid": qid, "pool_id": pool_id, "created_at": created_at}
            record["rankers"], record["ranks"] = list(row.rankers), list(row.ranks)
            records.append(record)
        if records:
            self._rows.add(records)
        return pool_id

    def current(self) -> dict[str, list[PoolRow]]:
        """Each query's newest pool, in blind order."""
        newest: dict[str, tuple[str, str]] = {}
        rows = [
            PoolRow(**{**r, "rankers": tuple(r["rankers"]), "ranks": tuple(r["ranks"])})
            for r in self._rows.rows()
        ]
        for row in rows:
            stamp = (row.created_at, row.pool_id)
            if row.qid not in newest or stamp > newest[row.qid]:
                newest[row.qid] = stamp
        pools: dict[str, list[PoolRow]] = {}
        for row in rows:
            if (row.created_at, row.pool_id) == newest[row.qid]:
                pools.setdefault(row.qid, []).append(row)
        return {qid: sorted(found, key=lambda r: r.position) for qid, found in pools.items()}
