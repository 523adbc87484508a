"""Retrieval metrics per query (trec_eval through ir-measures), averaged over every query.

A query that retrieved nothing counts as zero rather than vanishing from the average.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import ir_measures
from ir_measures import RR, R, nDCG

MEASURES = {"R@1": R @ 1, "R@5": R @ 5, "R@10": R @ 10, "nDCG@10": nDCG @ 10, "MRR": RR}


def per_query(
    relevant: Mapping[str, set[str]], ranked: Mapping[str, Sequence[tuple[str, float]]]
) -> dict[str, dict[str, float]]:
    """``{qid: {metric: value}}`` for queries with at least one relevant video."""
    qrels = [ir_measures.Qrel(q, doc, 1) for q, docs in relevant.items() for doc in docs]
    run = [
        ir_measures.ScoredDoc(q, doc, float(len(hits) - rank))  # rank order, ties impossible
        for q, hits in ranked.items()
        for rank, (doc, _) in enumerate(hits)
    ]
    names = {str(m): name for name, m in MEASURES.items()}
    values = {q: dict.fromkeys(MEASURES, 0.0) for q, docs in relevant.items() if docs}
    for metric in ir_measures.iter_calc(list(MEASURES.values()), qrels, run):
        if metric.query_id in values:
            values[metric.query_id][names[str(metric.measure)]] = float(metric.value)
    return values


def mean(values: Sequence[Mapping[str, float]]) -> dict[str, float]:
    if not values:
        return dict.fromkeys(MEASURES, float("nan"))
    return {name: sum(v[name] for v in values) / len(values) for name in MEASURES}
