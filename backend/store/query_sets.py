"""The ``queries`` table: the fixed query set a test collection is judged on.

One row per query and change, appended only: importing a query again with other words (or
another type) adds a row, and the newest row of a query id wins. Queries keep the order in
which they were first added, which is the order assessors meet them in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

import lancedb
import pyarrow as pa

from backend.store.labels import query_text_key
from backend.store.lazy_table import LazyTable

QUERIES = pa.schema(
    [
        pa.field("qid", pa.string()),
        pa.field("text", pa.string()),
        pa.field("query_type", pa.string()),  # e.g. speech, ocr, visual; "" if not said
        pa.field("set_name", pa.string()),  # the file it came from, "typed" or "search"
        pa.field("added_at", pa.string()),
    ]
)


@dataclass(frozen=True)
class StoredQuery:
    qid: str
    text: str
    query_type: str = ""
    set_name: str = ""
    added_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())


class QueryStore:
    """The query set of a store folder (or URI); re-opened for every read."""

    def __init__(self, db: lancedb.DBConnection) -> None:
        self._table = LazyTable(db, "queries", QUERIES)

    def _rows(self) -> list[StoredQuery]:
        rows = [StoredQuery(**row) for row in self._table.rows()]
        return sorted(rows, key=lambda q: q.added_at)

    def all(self) -> list[StoredQuery]:
        """The current version of every query, in the order they were first added."""
        first: dict[str, int] = {}
        newest: dict[str, StoredQuery] = {}
        for number, query in enumerate(self._rows()):
            first.setdefault(query.qid, number)
            newest[query.qid] = query
        return sorted(newest.values(), key=lambda q: first[q.qid])

    def get(self, qid: str) -> StoredQuery | None:
        return next((q for q in self.all() if q.qid == qid), None)

    def by_text(self, text: str) -> StoredQuery | None:
        """The query with these words (case and spacing aside); the first added wins."""
        key = query_text_key(text)
        return next((q for q in self.all() if query_text_key(q.text) == key), None)

    def add(self, queries: Iterable[StoredQuery]) -> tuple[int, int]:
        """Add new queries and changed ones; returns (added, changed). Unchanged ones (same
        words and type) add nothing, so importing a file twice is harmless."""
        known = {q.qid: q for q in self.all()}
        rows, added, changed = [], 0, 0
        for query in queries:
            if not query.qid.strip() or not query.text.strip():
                raise ValueError(f"a query needs an id and words: {query.qid!r} {query.text!r}")
            old = known.get(query.qid)
            if old is not None and (old.text, old.query_type) == (query.text, query.query_type):
                continue
            added, changed = (added + 1, changed) if old is None else (added, changed + 1)
            known[query.qid] = query
            rows.append(asdict(query))
        if rows:
            self._table.add(rows)
        return added, changed
