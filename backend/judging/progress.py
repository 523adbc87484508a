"""How far judging has come: per query (pooled, judged, settled) and per assessor."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from backend.judging.settle import Judgements, Pair, Settled
from backend.store.pools import PoolRow
from backend.store.query_sets import StoredQuery


@dataclass(frozen=True)
class QueryProgress:
    qid: str
    text: str
    query_type: str
    set_name: str
    pooled: int  # candidates in its pool (0: not pooled yet)
    judged: int  # pool candidates with at least one assessor's label
    settled: int  # pairs (pooled or not) whose grade stands
    disagreements: int  # pairs whose assessors disagree and no adjudicator settled


@dataclass(frozen=True)
class AssessorProgress:
    assessor: str
    judged: int  # pool candidates this assessor judged
    pooled: int  # pool candidates in all
    labels: int  # standing labels, pooled or not
    queries_done: int  # queries whose whole pool this assessor judged


def query_progress(
    queries: Sequence[StoredQuery],
    pools: Mapping[str, Sequence[PoolRow]],
    judgements: Judgements,
    settled: Mapping[Pair, Settled],
) -> list[QueryProgress]:
    out = []
    for query in queries:
        pool = pools.get(query.qid, [])
        judged = sum((query.qid, row.video_id) in judgements.by_pair for row in pool)
        own = [pair for pair in judgements.by_pair if pair[0] == query.qid]
        n_settled = sum(pair[0] == query.qid for pair in settled)
        open_ = sum(
            pair not in settled and len({x.grade for x in judgements.by_pair[pair].values()}) > 1
            for pair in own
        )
        out.append(
            QueryProgress(
                query.qid,
                query.text,
                query.query_type,
                query.set_name,
                len(pool),
                judged,
                n_settled,
                open_,
            )
        )
    return out


def assessor_progress(
    pools: Mapping[str, Sequence[PoolRow]], judgements: Judgements
) -> list[AssessorProgress]:
    total = sum(len(pool) for pool in pools.values())
    out = []
    for assessor in judgements.assessors():
        done = {pair for pair, labels in judgements.by_pair.items() if assessor in labels}
        judged = sum((qid, row.video_id) in done for qid, pool in pools.items() for row in pool)
        whole = sum(
            bool(pool) and all((qid, row.video_id) in done for row in pool)
            for qid, pool in pools.items()
        )
        out.append(AssessorProgress(assessor, judged, total, len(done), whole))
    return out
