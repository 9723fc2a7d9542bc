"""Small statistics used by the core (the gate's confidence bound)."""

from __future__ import annotations

import math
from statistics import NormalDist


def wilson_lower_bound(successes: int, total: int, confidence: float = 0.95) -> float:
    """Lower bound of the Wilson score interval for a binomial proportion.

    Two-sided interval at ``confidence`` (0.95 -> z = 1.96). Returns 0.0 when ``total`` is 0.
    """
    if total <= 0:
        return 0.0
    if not 0 <= successes <= total:
        raise ValueError(f"successes={successes} is outside [0, {total}]")
    z = NormalDist().inv_cdf(1 - (1 - confidence) / 2)
    p = successes / total
    denom = 1 + z * z / total
    centre = p + z * z / (2 * total)
    margin = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total))
    return max(0.0, (centre - margin) / denom)
