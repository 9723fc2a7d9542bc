"""Verdict-based filters and weights used by ``contrastive`` and ``decompose``.

The pure functions work on *pass values* (1 the criterion is satisfied in its good
direction, 0 not, NaN unknown) of criteria on the two responses of labelled pairs:

* :func:`pair_deltas` -- chosen minus rejected, per pair and criterion;
* :func:`preference_consistent` -- OpenRubrics' preference-label consistency;
* :func:`misaligned` / :func:`separates` -- RRD's direction and discrimination tests;
* :func:`near_duplicate_text` and :func:`correlated_duplicates` -- RRD's redundancy filter;
* :func:`correlation_aware_weights` -- RRD's correlation-aware weighting (formula below).

:func:`judge_pairs` is the one that calls a judge and builds those arrays.
"""

from __future__ import annotations

import asyncio
import difflib
import math
import re
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from rubrictest import Case, Criterion
from rubrictest.generation import GenerationError, JudgeClient, LabelledPair, verdict_correlation

FloatArray = npt.NDArray[np.float64]


async def judge_pairs(
    judge: JudgeClient, case: Case, pairs: Sequence[LabelledPair], criteria: Sequence[Criterion]
) -> tuple[FloatArray, FloatArray]:
    """Judge both responses of every pair on every criterion.

    Returns:
        ``(chosen, rejected)``: arrays of shape (pairs, criteria) of pass values (NaN when
        the judge gave no verdict).
    """

    async def values(response: str, rid: str) -> list[float]:
        outcomes = await judge.outcomes(case, response, criteria, response_id=rid)
        out: list[float] = []
        for crit in criteria:
            passed = crit.passes(outcomes[crit.id])
            out.append(math.nan if passed is None else float(passed))
        return out

    rows = await asyncio.gather(
        *(values(p.chosen, f"{p.id}:chosen") for p in pairs), *(values(p.rejected, f"{p.id}:rejected") for p in pairs)
    )
    n = len(pairs)
    shape = (n, len(criteria))
    if criteria and pairs and all(math.isnan(v) for row in rows for v in row):
        reason = judge.errors[-1] if judge.errors else "no verdicts"
        raise GenerationError(f"case {case.id!r}: the judge {judge.label} gave no verdict to filter with: {reason}")
    chosen = np.array(rows[:n], dtype=float).reshape(shape)
    rejected = np.array(rows[n:], dtype=float).reshape(shape)
    return chosen, rejected


def pair_deltas(chosen: FloatArray, rejected: FloatArray) -> FloatArray:
    """Chosen minus rejected pass values: +1 favours the chosen response, -1 the rejected."""
    diff: FloatArray = np.asarray(chosen, dtype=float) - np.asarray(rejected, dtype=float)
    return diff


def preference_consistent(deltas: Sequence[float] | FloatArray) -> bool:
    """OpenRubrics' consistency test for one criterion over its pairs.

    True when judging with the criterion reproduces the known preference: it favours the
    chosen response on at least one pair and the rejected one on none (unknown verdicts are
    left out).
    """
    d = np.asarray(deltas, dtype=float)
    d = d[~np.isnan(d)]
    return bool(d.size) and bool(np.any(d > 0)) and not bool(np.any(d < 0))


def misaligned(deltas: Sequence[float] | FloatArray) -> bool:
    """RRD: the criterion favours rejected responses more often than chosen ones."""
    d = np.asarray(deltas, dtype=float)
    return bool(np.nansum(d) < 0)


def separates(deltas: Sequence[float] | FloatArray) -> bool:
    """RRD: the criterion favours chosen responses on balance (its delta sum is positive)."""
    d = np.asarray(deltas, dtype=float)
    return bool(np.nansum(d) > 0)


def _normal(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def near_duplicate_text(a: str, b: str, threshold: float = 0.9) -> bool:
    """Whether two criterion texts are near-identical (difflib ratio on normalised words)."""
    return difflib.SequenceMatcher(None, _normal(a), _normal(b)).ratio() >= threshold


def correlated_duplicates(matrix: FloatArray, threshold: float = 0.9) -> list[int | None]:
    """For each column, the earlier column whose verdicts it duplicates (correlation >= threshold).

    Columns that are identical where both are judged (including constant ones) also count as
    duplicates.
    """
    m = np.asarray(matrix, dtype=float)
    corr = verdict_correlation(m, min_overlap=2)
    out: list[int | None] = []
    for j in range(m.shape[1]):
        twin: int | None = None
        for i in range(j):
            mask = ~np.isnan(m[:, i]) & ~np.isnan(m[:, j])
            same = bool(mask.any()) and bool(np.array_equal(m[mask, i], m[mask, j]))
            if same or (not math.isnan(corr[i, j]) and corr[i, j] >= threshold):
                twin = i
                break
        out.append(twin)
    return out


def correlation_aware_weights(matrix: FloatArray) -> FloatArray:
    r"""RRD's correlation-aware weights, so a cluster of correlated criteria is not over-counted.

    For a verdict matrix V (responses x criteria) let :math:`\rho_{jk}` be the Pearson
    correlation of criteria j and k over the responses both were judged on (0 where it is
    undefined: a constant column or too little overlap; :math:`\rho_{jj} = 1`). Each criterion
    gets the inverse of the *effective size of its cluster*:

    .. math::

        w_j \propto \frac{1}{\sum_k \max(0, \rho_{jk})}

    and the weights are scaled to sum to the number of criteria (mean weight 1, like
    hand-written points). k perfectly correlated criteria thus share the weight of one; an
    uncorrelated criterion keeps weight 1 before scaling; anti-correlated criteria are not
    redundant and do not reduce each other's weight.

    Example: criteria A, B, C identical and D uncorrelated with them: raw weights 1/3, 1/3,
    1/3, 1, scaled to 2/3, 2/3, 2/3, 2 -- the cluster ABC and D count equally.
    """
    m = np.asarray(matrix, dtype=float)
    k = m.shape[1]
    if k == 0:
        return np.zeros(0)
    corr = np.nan_to_num(verdict_correlation(m, min_overlap=2), nan=0.0)
    np.fill_diagonal(corr, 1.0)
    raw = 1.0 / np.clip(corr, 0.0, None).sum(axis=1)
    return np.asarray(raw * (k / raw.sum()), dtype=float)
