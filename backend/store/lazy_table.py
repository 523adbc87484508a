"""A table made by its first write, so that reading a store never writes to it.

Labels, queries and pools exist only once someone judges: a store that was never judged has no
such tables, and reading them (the Judge tab opening, an API call) sees none rather than making
empty ones, which would be a commit, and a surprise to a reader (issue 12: reads change nothing).
"""

from __future__ import annotations

import lancedb
import pyarrow as pa


class LazyTable:
    def __init__(self, db: lancedb.DBConnection, name: str, schema: pa.Schema) -> None:
        self._db, self.name, self.schema = db, name, schema

    def opened(self) -> lancedb.table.Table | None:
        """The table, opened afresh (another process's writes are seen); None if never written."""
        if self.name not in self._db.list_tables().tables:
            return None
        try:
            return self._db.open_table(self.name)
        except ValueError:  # listed but its first commit not done yet
            return None

    def rows(self) -> list[dict]:
        table = self.opened()
        return [] if table is None else table.to_arrow().to_pylist()

    def add(self, rows: list[dict]) -> None:
        """Append rows in one commit, making the table first if there is none."""
        table = self.opened()
        if table is None:
            self._db.create_table(self.name, schema=self.schema, exist_ok=True)
            table = self._db.open_table(self.name)
        table.add(pa.Table.from_pylist(rows, schema=self.schema))
