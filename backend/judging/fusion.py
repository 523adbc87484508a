"""Weighted reciprocal-rank fusion: the late-fusion baseline pooled beside late interaction.

MMMORRF (Samuel et al., 2025, "MMMORRF: Multimodal Multilingual MOdularized Reciprocal Rank
Fusion") ranks videos by fusing one text run per modality (speech, screen text, description,
vision) with weighted RRF (Cormack et al., 2009):

    score(d) = sum_m  w_m / (k + rank_m(d))        rank_m 1-based; absent from run m: no term

Only ranks are fused, so runs whose scores live on different scales mix fairly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

RRF_K = 60  # Cormack et al.'s constant


def weighted_rrf(
    runs: Mapping[str, Sequence[str]], weights: Mapping[str, float] | None = None, k: int = RRF_K
) -> list[tuple[str, float]]:
    """Fuse ranked lists of ids (best first) into one, best first; ties keep first-seen order.

    >>> weighted_rrf({"asr": ["a", "b"], "ocr": ["b", "c"]}, k=1)
    [('b', 0.8333333333333333), ('a', 0.5), ('c', 0.3333333333333333)]
    >>> weighted_rrf({"asr": ["a", "b"], "ocr": ["b", "c"]}, {"asr": 2.0, "ocr": 0.5}, k=1)
    [('a', 1.0), ('b', 0.9166666666666666), ('c', 0.16666666666666666)]
    """
    scores: dict[str, float] = {}
    for name, ranked in runs.items():
        weight = 1.0 if weights is None else weights.get(name, 1.0)
        for rank, item in enumerate(ranked, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    return sorted(scores.items(), key=lambda pair: -pair[1])
