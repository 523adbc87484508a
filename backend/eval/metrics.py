"""Retrieval metrics per query (trec_eval through ir-measures), averaged over every query.

A query that retrieved nothing counts as zero rather than vanishing from the average. Grades
(0, 1, 2) are trec_eval's relevance levels: nDCG uses them as gains, and R@k and MRR count a
grade of 1 or more as relevant. ``judged@10`` is computed apart: the share of a ranking's top 10
that has any label, so that a system finding unjudged videos is seen to be under-measured.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import ir_measures
from ir_measures import RR, R, nDCG

MEASURES = {"R@1": R @ 1, "R@5": R @ 5, "R@10": R @ 10, "nDCG@10": nDCG @ 10, "MRR": RR}
JUDGED_DEPTH = 10


def per_query(
    relevant: Mapping[str, set[str]], ranked: Mapping[str, Sequence[tuple[str, float]]]
) -> dict[str, dict[str, float]]:
    """``{qid: {metric: value}}`` for queries with at least one relevant video."""
    return per_query_graded({q: dict.fromkeys(docs, 1) for q, docs in relevant.items()}, ranked)


def per_query_graded(
    grades: Mapping[str, Mapping[str, int]], ranked: Mapping[str, Sequence[tuple[str, float]]]
) -> dict[str, dict[str, float]]:
    """``{qid: {metric: value}}`` from graded judgements (``{qid: {doc: grade}}``), for the
    queries with at least one document of grade 1 or more."""
    qrels = [
        ir_measures.Qrel(q, doc, int(g)) for q, docs in grades.items() for doc, g in docs.items()
    ]
    run = [
        ir_measures.ScoredDoc(q, doc, float(len(hits) - rank))  # rank order, ties impossible
        for q, hits in ranked.items()
        for rank, (doc, _) in enumerate(hits)
    ]
    names = {str(m): name for name, m in MEASURES.items()}
    values = {
        q: dict.fromkeys(MEASURES, 0.0)
        for q, docs in grades.items()
        if any(g >= 1 for g in docs.values())
    }
    for metric in ir_measures.iter_calc(list(MEASURES.values()), qrels, run):
        if metric.query_id in values:
            values[metric.query_id][names[str(metric.measure)]] = float(metric.value)
    return values


def judged_at(judged: set[str], ranking: Sequence[str], depth: int = JUDGED_DEPTH) -> float:
    """The share of the ranking's top ``depth`` that has a label (of its length, if shorter).

    >>> judged_at({"a", "c"}, ["a", "b", "c", "d"])
    0.5
    >>> judged_at({"a"}, [])
    0.0
    """
    top = list(ranking[:depth])
    return sum(doc in judged for doc in top) / len(top) if top else 0.0


def mean(values: Sequence[Mapping[str, float]]) -> dict[str, float]:
    if not values:
        return dict.fromkeys(MEASURES, float("nan"))
    return {name: sum(v[name] for v in values) / len(values) for name in MEASURES}
