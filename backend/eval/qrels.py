"""TREC qrels: ``qid 0 docid grade`` per line, the format trec_eval and ir-measures read.

The docid is the video's file name (what a person and another system can both name), and the
grade is the settled one (:mod:`backend.judging.settle`). A file name shared by two different
videos would make the qrels ambiguous, so it is refused with the two paths named.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, order=True)
class Qrel:
    qid: str
    docid: str
    grade: int


def format_qrels(qrels: Iterable[Qrel]) -> str:
    """One line per judged pair, sorted by query then document.

    >>> print(format_qrels([Qrel("q2", "b.mp4", 0), Qrel("q1", "a.mp4", 2)]), end="")
    q1 0 a.mp4 2
    q2 0 b.mp4 0
    """
    return "".join(f"{q.qid} 0 {q.docid} {q.grade}\n" for q in sorted(qrels))


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    """``{qid: {docid: grade}}`` from a qrels file (four whitespace-separated columns)."""
    out: dict[str, dict[str, int]] = {}
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cells = line.split()
        try:
            qid, _, docid, grade = cells
            out.setdefault(qid, {})[docid] = int(grade)
        except ValueError as error:
            raise ValueError(
                f"{path}:{number}: expected 'qid 0 docid grade', found {line.strip()!r}"
            ) from error
    if not out:
        raise ValueError(f"{path}: no qrels found (one 'qid 0 docid grade' per line)")
    return out


def docids(paths: Mapping[str, str]) -> dict[str, str]:
    """Video id -> file name, refusing a file name two videos share."""
    names: dict[str, str] = {}
    seen: dict[str, str] = {}
    for video_id, path in paths.items():
        name = Path(path).name
        if name in seen and seen[name] != path:
            raise ValueError(
                f"two videos are both called {name} ({seen[name]} and {path}): qrels name videos "
                "by file name, so rename one of them"
            )
        seen[name] = path
        names[video_id] = name
    return names
