"""Late interaction against BM25 on the same queries and store: one table, per query type."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from backend.eval.bm25 import Bm25Index
from backend.eval.metrics import MEASURES, mean, per_query
from backend.eval.queries import EvalQuery, default_corpus_root, read_queries, relevant_ids
from backend.search.maxsim import ScoringMode
from backend.search.searcher import Searcher

MOMENT_TOLERANCE_S = 1.0
RANK_DEPTH = 100


@dataclass
class SystemResult:
    name: str
    rows: dict[str, dict[str, float]]  # group ("all", "speech", ...) -> metric -> value
    per_query: dict[str, dict[str, float]] = field(default_factory=dict)
    top_hits: dict[str, list[str]] = field(default_factory=dict)  # qid -> top video ids


@dataclass
class EvalReport:
    queries: list[EvalQuery]
    n_videos: int
    missing: list[str]  # qids whose relevant files are not in the store
    systems: list[SystemResult]

    def to_json(self) -> dict:
        return {
            "n_queries": len(self.queries),
            "n_videos": self.n_videos,
            "queries_without_indexed_relevant_video": self.missing,
            "systems": {
                s.name: {"metrics": s.rows, "per_query": s.per_query} for s in self.systems
            },
        }


def _group_rows(
    queries: list[EvalQuery], values: dict[str, dict[str, float]]
) -> dict[str, dict[str, float]]:
    groups = {"all": [q for q in queries if q.qid in values]}
    for query in queries:
        if query.qid in values:
            groups.setdefault(query.query_type, []).append(query)
    rows = {}
    for name, members in groups.items():
        row = mean([values[q.qid] for q in members])
        timed = [q for q in members if q.timestamp_s is not None and "moment" in values[q.qid]]
        if timed:
            row["moment"] = sum(values[q.qid]["moment"] for q in timed) / len(timed)
        row["n"] = float(len(members))
        rows[name] = row
    return rows


def evaluate(
    queries_path: Path,
    searcher: Searcher,
    corpus_root: Path | None = None,
    modes: tuple[ScoringMode, ...] = ("modality_max",),
    modalities: tuple[str, ...] | None = None,
) -> EvalReport:
    """Score every mode of late interaction (optionally on some modalities only) and BM25."""
    queries = read_queries(queries_path)
    corpus_root = corpus_root or default_corpus_root(queries_path)
    indexed = set(searcher.store.video_ids())
    relevant = {q: ids & indexed for q, ids in relevant_ids(queries, corpus_root).items()}
    missing = [q.qid for q in queries if not relevant[q.qid]]
    systems = []
    texts = [q.query for q in queries]
    for mode in modes:
        results = searcher.search_many(texts, k=RANK_DEPTH, mode=mode, modalities=modalities)
        ranked = {q.qid: [(h.video_id, h.score) for h in hits] for q, hits in zip(queries, results)}
        values = per_query(relevant, ranked)
        for query, hits in zip(queries, results):
            if query.timestamp_s is not None and query.qid in values:
                top = hits[0] if hits else None
                hit = (
                    top is not None
                    and top.video_id in relevant[query.qid]
                    and top.moment_s is not None
                    and abs(top.moment_s - query.timestamp_s) <= MOMENT_TOLERANCE_S
                )
                values[query.qid]["moment"] = float(hit)
        top_hits = {qid: [doc for doc, _ in hits[:3]] for qid, hits in ranked.items()}
        only = f", {'+'.join(modalities)} only" if modalities else ""
        name = f"late interaction ({mode}{only})"
        systems.append(SystemResult(name, _group_rows(queries, values), values, top_hits))
    bm25 = Bm25Index(searcher.store.videos())
    ranked = {q.qid: bm25.search(q.query, RANK_DEPTH) for q in queries}
    values = per_query(relevant, ranked)
    top_hits = {qid: [doc for doc, _ in hits[:3]] for qid, hits in ranked.items()}
    systems.append(
        SystemResult("BM25 (asr+ocr+description)", _group_rows(queries, values), values, top_hits)
    )
    return EvalReport(queries, len(indexed), missing, systems)


def format_report(report: EvalReport) -> str:
    columns = [*MEASURES, "moment"]
    header = f"| system | queries | n | {' | '.join(columns)} |"
    lines = [
        f"{len(report.queries)} queries over {report.n_videos} indexed videos",
        "",
        header,
        "|" + "---|" * (len(columns) + 3),
    ]
    for system in report.systems:
        for group, row in system.rows.items():
            cells = [f"{row[c]:.3f}" if c in row else "-" for c in columns]
            lines.append(f"| {system.name} | {group} | {int(row['n'])} | {' | '.join(cells)} |")
    if report.missing:
        lines.append("")
        lines.append(f"not scored (relevant video not indexed): {', '.join(report.missing)}")
    lines.append(f"moment: top hit relevant and within {MOMENT_TOLERANCE_S:.0f} s of timestamp_s")
    return "\n".join(lines)
