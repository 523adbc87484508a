"""Late interaction against BM25 on the same queries and store: one table, per query type.

Relevance comes from a queries file (``retrieval_dev.jsonl``: relevant paths, all grade 1) or
from TREC qrels with graded labels (``--qrels``: what ``qrels export`` writes, docids are file
names). Every system's row also says ``judged@10``: the share of its top 10 that has a label
(in the file, or in the store's labels for that query), so unjudged results are visible.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from backend.eval.bm25 import Bm25Index
from backend.eval.metrics import MEASURES, judged_at, mean, per_query_graded
from backend.eval.queries import EvalQuery, default_corpus_root, read_queries, relevant_ids
from backend.search.maxsim import ScoringMode
from backend.search.searcher import Searcher, SearchHit
from backend.store.labels import query_text_key

MOMENT_TOLERANCE_S = 1.0
RANK_DEPTH = 100
JUDGED = "judged@10"


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
    missing: list[str]  # qids whose relevant files are not in the store (or have no text)
    systems: list[SystemResult]
    source: str = ""  # "qrels FILE" when judged by qrels

    def to_json(self) -> dict:
        return {
            "n_queries": len(self.queries),
            "n_videos": self.n_videos,
            "relevance": self.source or "queries file",
            "queries_without_indexed_relevant_video": self.missing,
            "systems": {
                s.name: {"metrics": s.rows, "per_query": s.per_query} for s in self.systems
            },
        }


@dataclass
class Judged:
    """The relevance a run is scored against, keyed by video id (or a stand-in for a judged
    file not in the store, which counts as relevant but is never retrieved)."""

    grades: dict[str, dict[str, int]]  # qid -> video -> grade
    labelled: dict[str, set[str]]  # qid -> every video with a label (judged@10)


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
        row[JUDGED] = sum(values[q.qid][JUDGED] for q in members) / max(1, len(members))
        timed = [q for q in members if q.timestamp_s is not None and "moment" in values[q.qid]]
        if timed:
            row["moment"] = sum(values[q.qid]["moment"] for q in timed) / len(timed)
        row["n"] = float(len(members))
        rows[name] = row
    return rows


def _score(
    name: str, queries: list[EvalQuery], judged: Judged, ranked: Mapping[str, list[str]]
) -> SystemResult:
    values = per_query_graded(judged.grades, {q: [(d, 0.0) for d in r] for q, r in ranked.items()})
    for qid, row in values.items():
        row[JUDGED] = judged_at(judged.labelled.get(qid, set()), ranked.get(qid, []))
    top_hits = {qid: docs[:3] for qid, docs in ranked.items()}
    return SystemResult(name, _group_rows(queries, values), values, top_hits)


def _moments(queries, results, judged: Judged, values: dict[str, dict[str, float]]) -> None:
    for query, hits in zip(queries, results):
        if query.timestamp_s is None or query.qid not in values:
            continue
        top: SearchHit | None = hits[0] if hits else None
        hit = (
            top is not None
            and judged.grades[query.qid].get(top.video_id, 0) >= 1
            and top.moment_s is not None
            and abs(top.moment_s - query.timestamp_s) <= MOMENT_TOLERANCE_S
        )
        values[query.qid]["moment"] = float(hit)


def score_systems(
    queries: list[EvalQuery],
    judged: Judged,
    searcher: Searcher,
    modes: tuple[ScoringMode, ...] = ("modality_max",),
    modalities: tuple[str, ...] | None = None,
) -> list[SystemResult]:
    """Every mode of late interaction (optionally on some modalities only), and BM25."""
    systems = []
    texts = [q.query for q in queries]
    for mode in modes:
        results = searcher.search_many(texts, k=RANK_DEPTH, mode=mode, modalities=modalities)
        ranked = {q.qid: [h.video_id for h in hits] for q, hits in zip(queries, results)}
        only = f", {'+'.join(modalities)} only" if modalities else ""
        system = _score(f"late interaction ({mode}{only})", queries, judged, ranked)
        _moments(queries, results, judged, system.per_query)
        system.rows = _group_rows(queries, system.per_query)
        systems.append(system)
    bm25 = Bm25Index(searcher.store.videos())
    ranked = {q.qid: [doc for doc, _ in bm25.search(q.query, RANK_DEPTH)] for q in queries}
    systems.append(_score("BM25 (asr+ocr+description)", queries, judged, ranked))
    return systems


def _store_labels(searcher: Searcher, queries: list[EvalQuery]) -> dict[str, set[str]]:
    """Videos the store has a label for, per query (matched by its words)."""
    by_text: dict[str, set[str]] = {}
    for label in searcher.store.labels.current():
        by_text.setdefault(query_text_key(label.query), set()).add(label.video_id)
    return {q.qid: by_text.get(query_text_key(q.query), set()) for q in queries}


def evaluate(
    queries_path: Path,
    searcher: Searcher,
    corpus_root: Path | None = None,
    modes: tuple[ScoringMode, ...] = ("modality_max",),
    modalities: tuple[str, ...] | None = None,
) -> EvalReport:
    """Score a queries file's relevant videos (grade 1 each)."""
    queries = read_queries(queries_path)
    corpus_root = corpus_root or default_corpus_root(queries_path)
    indexed = set(searcher.store.video_ids())
    relevant = {q: ids & indexed for q, ids in relevant_ids(queries, corpus_root).items()}
    missing = [q.qid for q in queries if not relevant[q.qid]]
    labelled = _store_labels(searcher, queries)
    judged = Judged(
        {q: dict.fromkeys(ids, 1) for q, ids in relevant.items()},
        {q: relevant[q] | labelled[q] for q in relevant},
    )
    systems = score_systems(queries, judged, searcher, modes, modalities)
    return EvalReport(queries, len(indexed), missing, systems)


def evaluate_qrels(
    qrels: Mapping[str, Mapping[str, int]],
    texts: Mapping[str, tuple[str, str]],
    searcher: Searcher,
    modes: tuple[ScoringMode, ...] = ("modality_max",),
    modalities: tuple[str, ...] | None = None,
    source: str = "qrels",
) -> EvalReport:
    """Score graded qrels (``{qid: {file name: grade}}``); ``texts``: ``{qid: (query, type)}``.
    Queries of the qrels without a text are listed as missing, not scored."""
    records = searcher.store.videos()
    by_name = {r.file_name: r.video_id for r in records}
    queries, grades = [], {}
    for qid in sorted(qrels):
        if qid not in texts:
            continue
        text, kind = texts[qid]
        queries.append(EvalQuery(qid, text, (), kind or "all"))
        grades[qid] = {by_name.get(doc, f"not indexed: {doc}"): g for doc, g in qrels[qid].items()}
    missing = sorted(q for q in qrels if q not in texts)
    judged = Judged(grades, {q: set(g) for q, g in grades.items()})
    systems = score_systems(queries, judged, searcher, modes, modalities) if queries else []
    return EvalReport(queries, len(records), missing, systems, source)


def format_report(report: EvalReport) -> str:
    columns = [*MEASURES, JUDGED, "moment"]
    header = f"| system | queries | n | {' | '.join(columns)} |"
    lines = [
        f"{len(report.queries)} queries over {report.n_videos} indexed videos"
        + (f" (relevance: {report.source})" if report.source else ""),
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
        reason = "no query text" if report.source else "relevant video not indexed"
        lines.append(f"not scored ({reason}): {', '.join(report.missing)}")
    lines.append(f"moment: top hit relevant and within {MOMENT_TOLERANCE_S:.0f} s of timestamp_s")
    lines.append(f"{JUDGED}: share of the top 10 with a label")
    return "\n".join(lines)
