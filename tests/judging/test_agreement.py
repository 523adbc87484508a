"""Agreement: kappa for two assessors checked by hand, alpha for three, undefined cases."""

from __future__ import annotations

from backend.judging.agreement import agreement, cohen_kappa
from backend.judging.settle import Judgements
from backend.store.labels import Label


def judgements(grades: dict[str, list[int | None]]) -> Judgements:
    out = Judgements()
    for user, row in grades.items():
        for n, grade in enumerate(row):
            if grade is not None:
                label = Label.graded("q", f"v{n}", grade, user=user, qid="q1")
                out.by_pair.setdefault(("q1", f"v{n}"), {})[user] = label
    return out


def hand_kappa(a: list[int], b: list[int]) -> float:
    n = len(a)
    observed = sum(x == y for x, y in zip(a, b)) / n
    chance = sum((a.count(g) / n) * (b.count(g) / n) for g in (0, 1, 2))
    return (observed - chance) / (1 - chance)


def test_two_assessors_cohen_kappa_against_the_formula():
    ann, bob = [2, 2, 1, 0, 0, 2, 1, 0], [2, 1, 1, 0, 2, 2, 0, 0]
    report = agreement(judgements({"ann": ann, "bob": bob, "cy": [2]}))
    assert report.assessors == ["ann", "bob", "cy"]
    # cy shares one pair: three assessors judged pair v0, so alpha is reported
    assert report.get("krippendorff_alpha") is not None
    two = agreement(judgements({"ann": ann, "bob": bob}))
    kappa = two.get("cohen_kappa")
    assert kappa.pairs == 8 and kappa.assessors == ("ann", "bob")
    assert abs(kappa.value - hand_kappa(ann, bob)) < 1e-12
    assert two.get("observed_agreement").value == 5 / 8
    assert two.to_json()["statistics"]["cohen_kappa"]["pairs"] == 8


def test_three_assessors_alpha_and_undefined_statistics():
    report = agreement(judgements({"a": [2, 0, 1, None], "b": [2, 0, 2, 1], "c": [2, 1, 1, 1]}))
    stats = {s.name: s for s in report.statistics}
    assert set(stats) == {"observed_agreement", "krippendorff_alpha", "krippendorff_alpha_ordinal"}
    assert stats["krippendorff_alpha"].pairs == 4 and -1 <= stats["krippendorff_alpha"].value <= 1
    assert len(report.pairwise) == 3
    assert cohen_kappa([2, 2], [2, 2]) is None  # one grade throughout: undefined, not 1 or 0
    assert agreement(Judgements()).statistics[0].value is None
