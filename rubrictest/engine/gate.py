"""The release gate: the Wilson lower bound of a suite's case pass rate against a minimum."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from statistics import NormalDist

from .outcomes import CaseOutcome


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


@dataclass
class GateOutcome:
    """The suite gate: Wilson lower bound of the case pass rate against ``min_pass_rate``.

    ``passed`` is ``None`` (ERROR) when a case has no verdict: a gate that could not see
    every case has not passed.
    """

    passed: bool | None
    passes: int
    total: int
    lower_bound: float | None
    min_pass_rate: float
    confidence: float
    errors: list[str] = field(default_factory=list)


def decide_gate(outcomes: Sequence[CaseOutcome], min_pass_rate: float, confidence: float) -> GateOutcome:
    """The gate over ``outcomes`` (every case of the suite, for one target)."""
    return gate_from_counts(
        sum(1 for o in outcomes if o.passed),
        len(outcomes),
        [o.run.case.id for o in outcomes if o.passed is None],
        min_pass_rate,
        confidence,
    )


def gate_from_counts(
    passes: int, total: int, errors: Sequence[str], min_pass_rate: float, confidence: float
) -> GateOutcome:
    """The gate over ``total`` cases of which ``passes`` passed and ``errors`` (case ids) have
    no outcome (``rubrictest merge`` decides a sharded run's gates from stored cases)."""
    errors = list(errors)
    if errors:
        return GateOutcome(None, passes, total, None, min_pass_rate, confidence, errors)
    lower = wilson_lower_bound(passes, total, confidence)
    return GateOutcome(lower >= min_pass_rate, passes, total, lower, min_pass_rate, confidence)


@dataclass
class DisagreementGate:
    """The suite gate on rubric-holistic disagreements (:mod:`rubrictest.protocol.sentinel`): the share
    of cases where the rubric and the sentinel disagree against ``max_disagreement``.

    ``passed`` is ``None`` (ERROR) when a case has no rubric score or no sentinel score: a
    gate that could not compare every case has not passed.
    """

    passed: bool | None
    flagged: list[str]
    total: int
    rate: float | None
    max_disagreement: float
    errors: list[str] = field(default_factory=list)


def decide_disagreement(outcomes: Sequence[CaseOutcome], max_disagreement: float) -> DisagreementGate:
    """The disagreement gate over ``outcomes`` (every case of the suite, for one target)."""
    errors = [
        o.run.case.id
        for o in outcomes
        if o.sentinel is None or o.sentinel.score is None or o.sentinel.rubric_score is None
    ]
    flagged = [o.run.case.id for o in outcomes if o.sentinel is not None and o.sentinel.disagreement is not None]
    # compared with a tolerance: 1 case in 10 is exactly a bound of 0.1
    return disagreement_from_counts(flagged, len(outcomes), errors, max_disagreement)


def disagreement_from_counts(
    flagged: Sequence[str], total: int, errors: Sequence[str], max_disagreement: float
) -> DisagreementGate:
    """The disagreement gate over ``total`` cases of which ``flagged`` (case ids) are
    rubric-holistic disagreements and ``errors`` could not be compared (``rubrictest merge``
    decides a sharded run's gates from stored rows)."""
    if errors or not total:
        return DisagreementGate(None, list(flagged), total, None, max_disagreement, list(errors))
    rate = len(flagged) / total
    return DisagreementGate(rate <= max_disagreement + 1e-12, list(flagged), total, rate, max_disagreement)
