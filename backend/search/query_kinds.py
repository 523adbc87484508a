"""Queries whose tokens live in different spaces (words, picture regions), scored per modality.

A query token's modality says which document modalities it may meet
(:func:`backend.encoders.base.comparable_modalities`): a word meets the word modalities, a
region of a query picture (default encoder) meets only the ``image`` modality. So the query
splits into *parts*, one per kind of token, and for every document modality ``m``::

    s_m = (1/|Q_m|) * sum_{q in Q_m} max_{d in D_m} <q, d>     Q_m: the tokens that may meet m
    modality_max = max_m s_m            (image + text: the picture's or the words' best wins)
    token_max    = (1/|Q|) * sum_q max_{d in all tokens q may meet} <q, d>

A text-only query has one part and the definitions of :mod:`backend.search.maxsim`; so has an
image-only query, restricted to ``image``.

>>> import numpy as np
>>> from backend.encoders.base import Modality, TokenVectors
>>> nan = float("nan")
>>> def tokens(vectors, modalities):
...     n = len(vectors)
...     return TokenVectors(np.array(vectors, np.float32), np.array(modalities, np.int8),
...                         tuple("t" * n), np.full(n, nan, np.float32), np.full((n, 4), nan))
>>> query = tokens([[1, 0, 0], [0, 0, 1]], [Modality.PAD, Modality.IMAGE])  # a word, a region
>>> video = tokens([[0.8, 0.6, 0], [0, 0.6, 0.8], [0.6, 0, 0.8]],
...                [Modality.ASR, Modality.IMAGE, Modality.OCR])
>>> per_modality, token_level = video_scores(query, video)
>>> {m.key: round(float(per_modality[m]), 2) for m in (Modality.ASR, Modality.OCR, Modality.IMAGE)}
{'asr': 0.8, 'ocr': 0.6, 'image': 0.8}
>>> round(float(token_level), 2)    # the word's best is ASR (0.8), the region's the region (0.8)
0.8
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from backend.encoders.base import DOCUMENT_MODALITIES, Modality, TokenVectors, comparable_modalities

N_MODALITY_IDS = max(int(m) for m in Modality) + 1


@dataclass(frozen=True)
class QueryPart:
    """The query tokens of one kind and the document modalities they are scored against."""

    rows: np.ndarray  # (Q_p,) positions in the whole query
    tokens: TokenVectors
    modalities: tuple[Modality, ...]  # comparable with these tokens and allowed by the filter
    kind: tuple[Modality, ...]  # every modality this kind may meet (the part's token space)

    def mask(self) -> np.ndarray:
        """``(N_MODALITY_IDS,)`` bool: the modalities this part is ranked on (filter applied)."""
        return _mask(self.modalities)

    def kind_mask(self) -> np.ndarray:
        """``(N_MODALITY_IDS,)`` bool: every modality this part may meet (its scores are shown
        for all of them, as a filtered text search always showed every modality's score)."""
        return _mask(self.kind)


def _mask(modalities: Sequence[Modality]) -> np.ndarray:
    out = np.zeros(N_MODALITY_IDS, bool)
    out[[int(m) for m in modalities]] = True
    return out


def query_parts(
    query: TokenVectors, allowed: Sequence[Modality] = DOCUMENT_MODALITIES
) -> list[QueryPart]:
    """The query split by token kind, in first-token order; parts that may meet no allowed
    modality are left out (a word query filtered to ``image`` has nothing to score)."""
    kinds: dict[tuple[Modality, ...], list[int]] = {}
    for row, modality in enumerate(query.modalities.tolist()):
        kinds.setdefault(comparable_modalities(modality), []).append(row)
    parts = []
    for kind, rows in kinds.items():
        usable = tuple(m for m in kind if m in allowed)
        if usable:
            index = np.asarray(rows, np.int64)
            parts.append(QueryPart(index, query.select(index), usable, kind))
    return parts


def combine_token_max(values: Sequence[np.ndarray], sizes: Sequence[int]) -> np.ndarray:
    """Per-part token_max ``(V,)`` arrays into the whole query's, weighted by each part's
    number of tokens; a part a video has nothing for (NaN) is left out of its mean.

    >>> combine_token_max([np.array([0.5, np.nan]), np.array([0.8, 0.9])], [3, 1]).tolist()
    [0.574999988079071, 0.8999999761581421]
    """
    total = np.zeros(len(values[0]), np.float64)
    weight = np.zeros(len(values[0]), np.float64)
    for value, size in zip(values, sizes, strict=True):
        present = ~np.isnan(value)
        total[present] += size * value[present]
        weight[present] += size
    out = np.full(len(total), np.nan, np.float32)
    out[weight > 0] = total[weight > 0] / weight[weight > 0]
    return out


def video_scores(
    query: TokenVectors, tokens: TokenVectors, allowed: Sequence[Modality] = DOCUMENT_MODALITIES
) -> tuple[np.ndarray, float]:
    """One video's ``s_m`` for every modality id ``(N_MODALITY_IDS,)`` (NaN: no query token
    may meet it, or the video has none) and its token_max over the ``allowed`` modalities, by
    the definition above (the reference the fast paths match)."""
    per_modality = np.full(N_MODALITY_IDS, np.nan, np.float32)
    token_levels, sizes = [], []
    for part in query_parts(query, allowed):
        similarity = part.tokens.vectors @ tokens.vectors.T  # (Q_p, n)
        comparable = np.isin(tokens.modalities, [int(m) for m in part.modalities])
        for modality in part.kind:
            columns = tokens.modalities == int(modality)
            if columns.any():
                per_modality[int(modality)] = similarity[:, columns].max(axis=1).mean()
        if comparable.any():
            token_levels.append(np.array([similarity[:, comparable].max(axis=1).mean()]))
            sizes.append(len(part.tokens))
    token_level = combine_token_max(token_levels, sizes)[0] if token_levels else np.nan
    return per_modality, float(token_level)
