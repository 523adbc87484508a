"""Evaluation queries in the format of ``retrieval_dev.jsonl``, tied to the store's video ids.

Relevant videos are named by path relative to a corpus folder; they are matched to the store by
content id (the hash of the file), so a moved or renamed copy still counts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from backend.ingest.probe import content_id


@dataclass(frozen=True)
class EvalQuery:
    qid: str
    query: str
    relevant: tuple[str, ...]  # paths relative to the corpus folder
    query_type: str
    timestamp_s: float | None = None


def read_queries(path: Path) -> list[EvalQuery]:
    queries = []
    for number, line in enumerate(Path(path).read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            queries.append(
                EvalQuery(
                    qid=str(row["qid"]),
                    query=row["query"],
                    relevant=tuple(row.get("relevant", ())),  # a bare query set has none
                    query_type=row.get("query_type", "all"),
                    timestamp_s=row.get("timestamp_s"),
                )
            )
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise ValueError(f"{path}:{number}: not a query line ({error})") from error
    if not queries:
        raise ValueError(f"{path}: no queries found")
    return queries


def default_corpus_root(queries_path: Path) -> Path:
    """``corpus/`` beside the queries file if there is one (as in shared/data), else its folder."""
    beside = Path(queries_path).parent / "corpus"
    return beside if beside.is_dir() else Path(queries_path).parent


def relevant_ids(queries: list[EvalQuery], corpus_root: Path) -> dict[str, set[str]]:
    """For each query, the content ids of its relevant files (files that do not exist: none)."""
    ids: dict[Path, str] = {}
    out: dict[str, set[str]] = {}
    for query in queries:
        out[query.qid] = set()
        for relative in query.relevant:
            path = corpus_root / relative
            if path not in ids and path.is_file():
                ids[path] = content_id(path)
            if path in ids:
                out[query.qid].add(ids[path])
    return out
