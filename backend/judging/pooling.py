"""Depth-k pooling: the union of every ranker's top ``depth``, in a fixed blind order.

Each candidate remembers which rankers proposed it and at what rank (for analysis, never shown
to assessors). The order assessors see is a shuffle fixed by the query id and the video id (a
hash), not by any ranker: the same for every assessor and every session, and a candidate keeps
its place relative to the others when pooling again adds new ones.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import replace

from backend.judging.rankers import RANKERS, Ranked
from backend.store.pools import PoolRow

DEFAULT_DEPTH = 10


def blind_key(qid: str, video_id: str) -> str:
    """Sort key of the blind order (a hash: unrelated to any ranker's order)."""
    return hashlib.sha256(f"{qid}\x00{video_id}".encode()).hexdigest()


def pool_candidates(qid: str, runs: Mapping[str, Sequence[Ranked]], depth: int) -> list[PoolRow]:
    """The union of each run's top ``depth``, with proposers and ranks, in blind order.

    >>> runs = {"asr": [Ranked("a", 1.5), Ranked("b")], "bm25": [Ranked("b"), Ranked("c")]}
    >>> rows = pool_candidates("q1", runs, depth=1)
    >>> sorted((r.video_id, r.rankers, r.ranks, r.moment_s) for r in rows)
    [('a', ('asr',), (1,), 1.5), ('b', ('bm25',), (1,), None)]
    """
    if depth < 1:
        raise ValueError(f"the pool depth must be at least 1, not {depth}")
    proposed: dict[str, list[tuple[str, int, float | None]]] = {}
    order = {name: n for n, name in enumerate(RANKERS)}
    for name in sorted(runs, key=lambda n: order.get(n, len(order))):
        for rank, item in enumerate(runs[name][:depth], start=1):
            proposed.setdefault(item.video_id, []).append((name, rank, item.moment_s))
    rows = []
    for video_id, found in proposed.items():
        timed = [(rank, moment) for _, rank, moment in found if moment is not None]
        rows.append(
            PoolRow(
                qid=qid,
                video_id=video_id,
                position=0,
                rankers=tuple(name for name, _, _ in found),
                ranks=tuple(rank for _, rank, _ in found),
                moment_s=min(timed, key=lambda t: t[0])[1] if timed else None,
                depth=depth,
            )
        )
    rows.sort(key=lambda r: blind_key(qid, r.video_id))
    return [replace(row, position=n) for n, row in enumerate(rows)]


def same_pool(old: Sequence[PoolRow], new: Sequence[PoolRow]) -> bool:
    """Whether pooling again changed nothing a reader would see (candidates, proposers, depth)."""

    def content(rows: Sequence[PoolRow]) -> list[tuple]:
        return [(r.video_id, r.position, r.rankers, r.ranks, r.moment_s, r.depth) for r in rows]

    return content(old) == content(new)
