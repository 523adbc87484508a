"""SQL filters and column reads on LanceDB tables, quoted safely (ids may hold any character)."""

from __future__ import annotations

from collections.abc import Iterable

import lancedb


def quote(value: str) -> str:
    """A string literal for a LanceDB filter."""
    return "'" + value.replace("'", "''") + "'"


def in_list(column: str, values: Iterable[str]) -> str:
    """``column IN (...)`` for string values."""
    return f"{column} IN ({', '.join(quote(v) for v in values)})"


def column_values(table: lancedb.table.Table, name: str) -> list:
    """Every value of one column (reads that column only)."""
    return table.search().select([name]).limit(None).to_arrow()[name].to_pylist()
