"""Query sets as people bring them: the eval JSONL, a TSV of ``qid<TAB>text``, or typed lines.

A typed line without an id gets one from its words (``q-`` and eight hex digits), so typing the
same query twice names the same query.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from backend.eval.queries import read_queries
from backend.store.labels import query_text_key

JSONL_SUFFIXES = (".jsonl", ".json")


@dataclass(frozen=True)
class QuerySpec:
    qid: str
    text: str
    query_type: str = ""


def text_qid(text: str) -> str:
    """A stable id for a query that came without one.

    >>> text_qid("Red fox") == text_qid("  red   FOX ")
    True
    >>> text_qid("red fox")
    'q-35758fda'
    """
    return "q-" + hashlib.sha1(query_text_key(text).encode()).hexdigest()[:8]


def parse_lines(text: str, where: str = "typed text", need_ids: bool = False) -> list[QuerySpec]:
    """``qid<TAB>text[<TAB>type]`` lines, or (unless ``need_ids``) bare query lines; blank lines
    and ``#`` comments are skipped.

    >>> specs = parse_lines("q1\\tred fox\\tvisual\\n# note\\n\\nbin")
    >>> [(q.qid, q.text, q.query_type) for q in specs]  # doctest: +ELLIPSIS
    [('q1', 'red fox', 'visual'), ('q-...', 'bin', '')]
    """
    specs = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cells = [cell.strip() for cell in line.split("\t")]
        if len(cells) == 1:
            if need_ids:
                raise ValueError(f"{where}:{number}: expected qid<TAB>query, found no tab")
            specs.append(QuerySpec(text_qid(cells[0]), " ".join(cells[0].split())))
            continue
        if not cells[0] or not cells[1]:
            raise ValueError(f"{where}:{number}: a query line needs an id and words")
        query_type = cells[2] if len(cells) > 2 else ""
        specs.append(QuerySpec(cells[0], " ".join(cells[1].split()), query_type))
    return specs


def read_query_file(path: Path) -> list[QuerySpec]:
    """The queries of an eval JSONL (``qid``, ``query``, ``query_type``) or a TSV file."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such file; give an eval .jsonl or a qid<TAB>query .tsv")
    if path.suffix.lower() in JSONL_SUFFIXES:
        specs = []
        for query in read_queries(path):
            kind = "" if query.query_type == "all" else query.query_type  # "all": not said
            specs.append(QuerySpec(query.qid, " ".join(query.query.split()), kind))
        return specs
    specs = parse_lines(path.read_text(encoding="utf-8"), str(path), need_ids=True)
    if not specs:
        raise ValueError(f"{path}: no queries found (one qid<TAB>query per line)")
    return specs
