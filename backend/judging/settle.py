"""From the label history to one grade per (query, video): who said what, and what stands.

A pair's grade is settled by an adjudicator's label when there is one (the newest), else by its
assessors when they all gave the same grade (or only one judged it). Pairs whose assessors
disagree and that no adjudicator settled are *disagreements*: left out of the qrels until one is.

Labels name their query by id, or (labels older than query sets, or given on the Search tab for
a query typed there) by its words; those are matched to the query set by words. Labels of
queries outside the query set are training data, not part of the test collection.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from backend.store.labels import Label, live, query_text_key
from backend.store.query_sets import StoredQuery

Pair = tuple[str, str]  # (qid, video_id)
How = Literal["adjudicated", "agreed", "single"]


@dataclass
class Judgements:
    """Every assessor's standing label per pair, and the standing adjudication if any."""

    by_pair: dict[Pair, dict[str, Label]] = field(default_factory=dict)
    adjudicated: dict[Pair, Label] = field(default_factory=dict)

    def assessors(self) -> list[str]:
        return sorted({user for labels in self.by_pair.values() for user in labels})


@dataclass(frozen=True)
class Settled:
    qid: str
    video_id: str
    grade: int
    how: How


@dataclass(frozen=True)
class Disagreement:
    qid: str
    video_id: str
    grades: dict[str, int]  # assessor -> grade
    adjudicated: int | None  # the adjudicator's grade, once given
    adjudicator: str = ""


def qid_resolver(queries: Sequence[StoredQuery]):
    """A function from a label to its query set id (None: the query is not in the set)."""
    known = {q.qid for q in queries}
    by_text: dict[str, str] = {}
    for query in queries:
        by_text.setdefault(query_text_key(query.text), query.qid)

    def resolve(label: Label) -> str | None:
        if label.qid in known:
            return label.qid
        return by_text.get(query_text_key(label.query))

    return resolve


def collect(history: Iterable[Label], queries: Sequence[StoredQuery]) -> Judgements:
    """The standing labels (newest live per assessor; newest live adjudication) per pair."""
    resolve = qid_resolver(queries)
    out = Judgements()
    for label in live(history):  # oldest first: later rows replace earlier ones
        qid = resolve(label)
        if qid is None:
            continue
        pair = (qid, label.video_id)
        if label.action == "adjudicate":
            out.adjudicated[pair] = label
        elif label.action == "judge":
            out.by_pair.setdefault(pair, {})[label.user] = label
    return out


def settle(judgements: Judgements) -> dict[Pair, Settled]:
    """The grade that stands for each pair that has one (see the module docstring)."""
    out: dict[Pair, Settled] = {}
    for pair, label in judgements.adjudicated.items():
        out[pair] = Settled(*pair, label.grade, "adjudicated")
    for pair, labels in judgements.by_pair.items():
        if pair in out:
            continue
        grades = {label.grade for label in labels.values()}
        if len(grades) == 1:
            out[pair] = Settled(*pair, grades.pop(), "single" if len(labels) == 1 else "agreed")
    return dict(sorted(out.items()))


def disagreements(judgements: Judgements) -> list[Disagreement]:
    """Pairs whose assessors gave different grades, settled or not, in query and video order."""
    out = []
    for pair, labels in sorted(judgements.by_pair.items()):
        grades = {user: label.grade for user, label in sorted(labels.items())}
        if len(set(grades.values())) < 2:
            continue
        adjudication = judgements.adjudicated.get(pair)
        out.append(
            Disagreement(
                *pair,
                grades,
                adjudication.grade if adjudication else None,
                adjudication.user if adjudication else "",
            )
        )
    return out
