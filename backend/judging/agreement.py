"""How far assessors agree, on the pairs more than one of them judged.

Two assessors: Cohen's kappa (scikit-learn's ``cohen_kappa_score``), chance-corrected agreement
on the grades 0/1/2 taken as categories. More than two: Krippendorff's alpha
(:mod:`backend.judging.alpha`), which allows any assessor to leave any pair unjudged,
at the nominal level (comparable with kappa) and the ordinal one (a 0 against a 2 counts as a
larger disagreement than a 1 against a 2). Observed agreement (the share of those pairs on
which everyone gave the same grade) is reported beside them. Each statistic carries the number
of pairs it rests on: a kappa from six pairs means little.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from itertools import combinations

from backend.judging.alpha import krippendorff_alpha
from backend.judging.settle import Judgements
from backend.store.labels import GRADES

ALPHAS = (("krippendorff_alpha", "nominal"), ("krippendorff_alpha_ordinal", "ordinal"))


@dataclass(frozen=True)
class Statistic:
    name: str  # cohen_kappa, krippendorff_alpha, krippendorff_alpha_ordinal, observed_agreement
    value: float | None  # None: undefined (e.g. every grade the same)
    pairs: int  # (query, video) pairs it rests on
    assessors: tuple[str, ...]


@dataclass
class AgreementReport:
    assessors: list[str]  # everyone with a standing label
    shared_pairs: int  # pairs judged by more than one assessor
    statistics: list[Statistic] = field(default_factory=list)
    pairwise: list[Statistic] = field(default_factory=list)  # kappa per two assessors (3+)

    def get(self, name: str) -> Statistic | None:
        return next((s for s in self.statistics if s.name == name), None)

    def to_json(self) -> dict:
        return {
            "assessors": self.assessors,
            "pairs_judged_by_more_than_one": self.shared_pairs,
            "statistics": {
                s.name: {k: v for k, v in asdict(s).items() if k != "name"} for s in self.statistics
            },
            "pairwise_cohen_kappa": [asdict(s) for s in self.pairwise],
        }


def cohen_kappa(first: Sequence[int], second: Sequence[int]) -> float | None:
    """Cohen's kappa of two assessors' grades on the same items; None when undefined.

    The worked example on Wikipedia's "Cohen's kappa" page (50 grant proposals: both yes 20,
    A yes B no 5, A no B yes 10, both no 15) gives 0.4:

    >>> a = [1] * 20 + [1] * 5 + [0] * 10 + [0] * 15
    >>> b = [1] * 20 + [0] * 5 + [1] * 10 + [0] * 15
    >>> round(cohen_kappa(a, b), 3)
    0.4
    """
    if not first:
        return None
    if len(set(first) | set(second)) < 2:
        return None  # one grade throughout: chance agreement is 1, kappa 0/0
    from sklearn.metrics import cohen_kappa_score  # imported here: it takes a second to load

    value = float(cohen_kappa_score(first, second, labels=list(GRADES)))
    return None if math.isnan(value) else value


def _observed(units: list[list[int]]) -> float | None:
    return sum(len(set(u)) == 1 for u in units) / len(units) if units else None


def agreement(judgements: Judgements) -> AgreementReport:
    """The statistics above, on the standing labels (adjudications are not assessments)."""
    shared = {p: labels for p, labels in judgements.by_pair.items() if len(labels) > 1}
    assessors = judgements.assessors()
    among = tuple(sorted({user for labels in shared.values() for user in labels}))
    report = AgreementReport(assessors, len(shared))
    units = [[label.grade for label in labels.values()] for labels in shared.values()]
    report.statistics.append(Statistic("observed_agreement", _observed(units), len(units), among))
    kappas = []
    for a, b in combinations(among, 2):
        both = [labels for labels in shared.values() if a in labels and b in labels]
        value = cohen_kappa([x[a].grade for x in both], [x[b].grade for x in both])
        kappas.append(Statistic("cohen_kappa", value, len(both), (a, b)))
    if len(among) == 2:
        report.statistics += kappas
    elif len(among) > 2:
        for name, level in ALPHAS:
            value = krippendorff_alpha(units, level)
            report.statistics.append(Statistic(name, value, len(units), among))
        report.pairwise = kappas
    return report
