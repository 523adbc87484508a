"""Krippendorff's alpha: agreement among any number of assessors, with missing judgements.

The computation is the ``krippendorff`` package's (Castro's implementation, numpy only); this
module only lays our units out as its reliability matrix. Alpha depends on each unit's values,
not on who gave them, so a unit's values fill its column from the top and the rest is missing.
Checked below against the worked example of Krippendorff (2011), "Computing Krippendorff's
Alpha-Reliability" (four observers, twelve units, values 1-5, some missing), whose published
results are nominal 0.743, ordinal 0.815 and interval 0.849.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import krippendorff
import numpy as np

Level = Literal["nominal", "ordinal", "interval"]


def krippendorff_alpha(units: Sequence[Sequence[float]], level: Level = "nominal") -> float | None:
    """Alpha over ``units`` (each: the values the assessors who judged it gave); None when it is
    undefined (fewer than two pairable values, or every value the same).

    Krippendorff (2011), section C (rows: observers A-D; columns: units 1-12; ``*``: missing)::

        A: 1 2 3 3 2 1 4 1 2 * * *
        B: 1 2 3 3 2 2 4 1 2 5 * 3
        C: * 3 3 3 2 3 4 2 2 5 1 *
        D: 1 2 3 3 2 4 4 1 2 5 1 *

    >>> units = [[1, 1, 1], [2, 2, 3, 2], [3, 3, 3, 3], [3, 3, 3, 3], [2, 2, 2, 2],
    ...          [1, 2, 3, 4], [4, 4, 4, 4], [1, 1, 2, 1], [2, 2, 2, 2], [5, 5, 5],
    ...          [1, 1], [3]]
    >>> [round(krippendorff_alpha(units, level), 3) for level in ("nominal", "ordinal", "interval")]
    [0.743, 0.815, 0.849]
    >>> krippendorff_alpha([[2, 2], [2, 2]]) is None  # no variation: alpha is undefined
    True
    """
    pairable = [list(values) for values in units if len(values) >= 2]
    if not pairable:
        return None
    matrix = np.full((max(map(len, pairable)), len(pairable)), np.nan)
    for column, values in enumerate(pairable):
        matrix[: len(values), column] = values
    domain = np.unique(matrix[~np.isnan(matrix)])
    if len(domain) < 2:
        return None
    return float(krippendorff.alpha(matrix, value_domain=domain, level_of_measurement=level))
