"""Rubric quality: how well each criterion separates good responses from bad ones.

Pure functions on a *verdict matrix*: one row per labelled response, one column per
criterion, each cell the criterion's **pass** value on that response (1 = the criterion is
satisfied in its good direction, i.e. met for a positive criterion and *not* met for a
deduction; 0 = not; NaN = not judged, or the criterion does not apply to that response's
case). Rows carry a label (1 good, 0 bad) and preference pairs name a chosen and a rejected
row. A generator, ``rubrictest generate --pairs`` and ``rubrictest rubric-quality`` all
compute the same report from such a matrix.

Per criterion:

* **AUROC** between good and bad responses (scikit-learn's ``roc_auc_score``; for a binary
  criterion it is P(pass on good > pass on bad) + ½ P(tie)). 0.5 is chance, below 0.5 the
  criterion prefers bad responses.
* **Mean score delta**: mean pass rate on good responses minus on bad ones (in [-1, 1]).
* **Direction agreement** on pairs: of the pairs the criterion separates (chosen and rejected
  differ), the share where it favours the chosen response; ties are counted apart.
* **Redundancy**: Pearson correlation (phi for binary values) of two criteria's verdicts over
  the responses both were judged on; a criterion whose correlation with an earlier one
  reaches the threshold is reported as redundant with it.
* **Saturated** (passes on every response) and **unreachable** (passes on none).
* **ℓ1 selection** (AutoRubric-T2I): an ℓ1-regularised logistic regression (scikit-learn)
  predicts the preference from the criteria -- on pairs, from the chosen-minus-rejected
  differences of pass values, mirrored so both classes are present and without an intercept
  (a Bradley-Terry model); without pairs, from the pass values and the good/bad labels. The
  criteria with a positive coefficient are *selected*; a negative coefficient flags a
  criterion that points the wrong way.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

__all__ = [
    "CriterionQuality",
    "QualityReport",
    "auroc",
    "direction_agreement",
    "format_report",
    "l1_select",
    "mean_score_delta",
    "redundant_with",
    "rubric_quality",
    "saturation",
    "verdict_correlation",
]


def _as_matrix(matrix: Any) -> FloatArray:
    arr = np.asarray(matrix, dtype=float)
    if arr.ndim != 2:
        raise ValueError(f"a verdict matrix has 2 dimensions (responses x criteria), got {arr.ndim}")
    finite = arr[~np.isnan(arr)]
    if finite.size and not np.all((finite >= 0) & (finite <= 1)):
        raise ValueError("verdict matrix values must lie in [0, 1] (or be NaN)")
    return arr


def auroc(values: Sequence[float] | FloatArray, labels: Sequence[int] | npt.NDArray[Any]) -> float:
    """AUROC of one criterion's pass values against good (1) / bad (0) labels.

    NaN values are ignored. Returns NaN when the judged responses are not of both labels.
    """
    from sklearn.metrics import roc_auc_score

    v = np.asarray(values, dtype=float)
    y = np.asarray(labels, dtype=int)
    mask = ~np.isnan(v)
    if len(set(y[mask].tolist())) < 2:
        return math.nan
    return float(roc_auc_score(y[mask], v[mask]))


def mean_score_delta(values: Sequence[float] | FloatArray, labels: Sequence[int] | npt.NDArray[Any]) -> float:
    """Mean pass value on good responses minus on bad ones (NaN-aware; NaN if a side is empty)."""
    v = np.asarray(values, dtype=float)
    y = np.asarray(labels, dtype=int)
    good = v[(y == 1) & ~np.isnan(v)]
    bad = v[(y == 0) & ~np.isnan(v)]
    if not good.size or not bad.size:
        return math.nan
    return float(good.mean() - bad.mean())


def direction_agreement(
    chosen: Sequence[float] | FloatArray, rejected: Sequence[float] | FloatArray
) -> tuple[float, int, int]:
    """How often a criterion favours the chosen response of a pair.

    Args:
        chosen: the criterion's pass values on each pair's chosen response.
        rejected: on each pair's rejected response (same order).

    Returns:
        ``(agreement, separated, ties)``: the share of separated pairs (values differ) where
        chosen > rejected (NaN when none is separated), the number separated, the number tied.
        Pairs with a NaN on either side are left out.
    """
    c = np.asarray(chosen, dtype=float)
    r = np.asarray(rejected, dtype=float)
    mask = ~np.isnan(c) & ~np.isnan(r)
    diff = c[mask] - r[mask]
    separated = int(np.count_nonzero(diff))
    ties = int(diff.size - separated)
    if not separated:
        return math.nan, 0, ties
    return float(np.count_nonzero(diff > 0) / separated), separated, ties


def saturation(values: Sequence[float] | FloatArray) -> str | None:
    """``"saturated"`` when every judged value passes, ``"unreachable"`` when none does, else ``None``."""
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    if not v.size:
        return None
    if np.all(v >= 1):
        return "saturated"
    if np.all(v <= 0):
        return "unreachable"
    return None


def verdict_correlation(matrix: Any, *, min_overlap: int = 3) -> FloatArray:
    """Pairwise Pearson correlation of the criteria (columns) of a verdict matrix.

    Each pair of columns is compared on the rows where both have a value. The result is NaN
    where fewer than ``min_overlap`` rows are shared or either column is constant there; the
    diagonal is 1.
    """
    m = _as_matrix(matrix)
    k = m.shape[1]
    corr = np.full((k, k), math.nan)
    for i in range(k):
        corr[i, i] = 1.0
        for j in range(i + 1, k):
            mask = ~np.isnan(m[:, i]) & ~np.isnan(m[:, j])
            if mask.sum() < min_overlap:
                continue
            a, b = m[mask, i], m[mask, j]
            if a.std() == 0 or b.std() == 0:
                continue
            corr[i, j] = corr[j, i] = float(np.corrcoef(a, b)[0, 1])
    return corr


def redundant_with(corr: FloatArray, threshold: float) -> list[tuple[int, float] | None]:
    """For each criterion, the earlier criterion it duplicates (correlation >= ``threshold``).

    Returns one entry per column: ``(index of the earlier, more-kept criterion, correlation)``
    or ``None``. The earliest member of a correlated group is the one kept.
    """
    out: list[tuple[int, float] | None] = []
    for j in range(corr.shape[0]):
        best: tuple[int, float] | None = None
        for i in range(j):
            r = corr[i, j]
            if not math.isnan(r) and r >= threshold and (best is None or r > best[1]):
                best = (i, float(r))
        out.append(best)
    return out


def _l1_model(c: float, fit_intercept: bool) -> Any:
    from sklearn.linear_model import LogisticRegression

    params = inspect.signature(LogisticRegression).parameters
    # scikit-learn 1.8 deprecated `penalty` in favour of `l1_ratio`; support both.
    if params["penalty"].default == "deprecated":
        return LogisticRegression(l1_ratio=1.0, solver="liblinear", C=c, fit_intercept=fit_intercept, random_state=0)
    return LogisticRegression(penalty="l1", solver="liblinear", C=c, fit_intercept=fit_intercept, random_state=0)


def l1_select(
    matrix: Any,
    labels: Sequence[int] | npt.NDArray[Any] | None = None,
    pairs: Sequence[tuple[int, int]] = (),
    *,
    c: float = 1.0,
) -> FloatArray:
    """Coefficients of an ℓ1-regularised logistic regression of preference on criteria.

    With ``pairs`` (chosen row, rejected row): features are the pass-value differences
    chosen - rejected (NaN counts as 0: a criterion that does not apply does not separate),
    each pair added once as preferred (1) and once mirrored as not (0), no intercept. Without
    pairs: features are the pass values (NaN as the column mean) and the target the labels.

    Args:
        matrix: the verdict matrix (responses x criteria).
        labels: good (1) / bad (0) per row; needed without pairs.
        pairs: preference pairs as row indices.
        c: inverse regularisation strength; smaller selects fewer criteria.

    Returns:
        One coefficient per criterion; zero for criteria not selected. All zeros when the
        data cannot be fitted (a single class).
    """
    m = _as_matrix(matrix)
    if pairs:
        rows = np.array(list(pairs), dtype=int)
        diffs = np.nan_to_num(m[rows[:, 0]] - m[rows[:, 1]], nan=0.0)
        x = np.vstack([diffs, -diffs])
        y = np.concatenate([np.ones(len(diffs)), np.zeros(len(diffs))])
        fit_intercept = False
    else:
        if labels is None:
            raise ValueError("l1_select needs labels or pairs")
        y = np.asarray(labels, dtype=float)
        counts = (~np.isnan(m)).sum(axis=0)
        means = np.where(counts > 0, np.nansum(m, axis=0) / np.maximum(counts, 1), 0.0)
        x = np.where(np.isnan(m), means, m)
        fit_intercept = True
    if len(set(y.tolist())) < 2 or not np.any(x):
        return np.zeros(m.shape[1])
    model = _l1_model(c, fit_intercept).fit(x, y)
    return np.asarray(model.coef_[0], dtype=float)


@dataclass
class CriterionQuality:
    """The quality figures of one criterion (NaN where they cannot be computed).

    Attributes:
        name: the criterion's name in the report.
        judged: responses it was judged on.
        pass_rate: share of those it passes.
        auroc: AUROC between good and bad responses.
        mean_delta: mean pass value on good minus on bad responses.
        agreement: share of separated pairs where it favours the chosen response.
        separated: pairs it separates; ``ties``: pairs it does not.
        status: ``saturated``, ``unreachable``, or ``None``.
        redundant_with: the name of an earlier criterion it correlates with, and ``correlation``.
        coefficient: its ℓ1 logistic-regression coefficient; ``selected`` when positive.
    """

    name: str
    judged: int
    pass_rate: float
    auroc: float
    mean_delta: float
    agreement: float
    separated: int
    ties: int
    status: str | None = None
    redundant_with: str | None = None
    correlation: float | None = None
    coefficient: float = 0.0
    selected: bool = False

    @property
    def flags(self) -> list[str]:
        """Short warnings: saturated, unreachable, redundant, misaligned (prefers bad responses)."""
        out = [self.status] if self.status else []
        if self.redundant_with:
            out.append(f"redundant~{self.redundant_with}")
        if (not math.isnan(self.mean_delta) and self.mean_delta < 0) or self.coefficient < 0:
            out.append("misaligned")
        return out


@dataclass
class QualityReport:
    """Per-criterion quality and the ℓ1 selection.

    Attributes:
        criteria: one :class:`CriterionQuality` per column, in column order.
        correlation: the criteria's verdict correlation matrix.
        responses: labelled responses (rows); ``pairs``: preference pairs.
        c: the ℓ1 inverse regularisation strength used.
    """

    criteria: list[CriterionQuality]
    correlation: FloatArray
    responses: int
    pairs: int
    c: float
    notes: list[str] = field(default_factory=list)

    @property
    def selected(self) -> list[str]:
        """Names of the criteria the ℓ1 regression selected, strongest first."""
        chosen = [q for q in self.criteria if q.selected]
        return [q.name for q in sorted(chosen, key=lambda q: -q.coefficient)]

    def as_dict(self) -> dict[str, Any]:
        """A JSON-able form (NaN as ``None``)."""

        def clean(value: Any) -> Any:
            if isinstance(value, float) and math.isnan(value):
                return None
            return value

        return {
            "responses": self.responses,
            "pairs": self.pairs,
            "c": self.c,
            "selected": self.selected,
            "notes": self.notes,
            "criteria": [{k: clean(v) for k, v in {**asdict(q), "flags": q.flags}.items()} for q in self.criteria],
        }


def rubric_quality(
    matrix: Any,
    labels: Sequence[int] | npt.NDArray[Any],
    names: Sequence[str],
    *,
    pairs: Sequence[tuple[int, int]] = (),
    redundancy: float = 0.9,
    c: float = 1.0,
    top: int | None = None,
) -> QualityReport:
    """Compute every quality figure for the criteria of a verdict matrix.

    Args:
        matrix: responses x criteria pass values (1, 0 or NaN).
        labels: 1 for a good response, 0 for a bad one, per row.
        names: a name per column.
        pairs: ``(chosen row, rejected row)`` preference pairs, when known.
        redundancy: the correlation at which a criterion is reported redundant.
        c: inverse regularisation strength of the ℓ1 selection.
        top: keep at most this many selected criteria (largest coefficients).

    Raises:
        ValueError: shapes that do not match, labels other than 0/1, pair indices out of range.
    """
    m = _as_matrix(matrix)
    y = np.asarray(labels, dtype=int)
    if y.shape != (m.shape[0],):
        raise ValueError(f"{m.shape[0]} responses but {y.size} labels")
    if not np.all(np.isin(y, (0, 1))):
        raise ValueError("labels must be 0 (bad) or 1 (good)")
    if len(names) != m.shape[1]:
        raise ValueError(f"{m.shape[1]} criteria but {len(names)} names")
    for a, b in pairs:
        if not (0 <= a < m.shape[0] and 0 <= b < m.shape[0]):
            raise ValueError(f"pair ({a}, {b}) names a response outside 0..{m.shape[0] - 1}")
    corr = verdict_correlation(m)
    dup = redundant_with(corr, redundancy)
    coefs = l1_select(m, y, pairs, c=c)
    positive = [j for j in np.argsort(-coefs) if coefs[j] > 0]
    keep = set(positive[:top] if top is not None else positive)
    rows = np.array(list(pairs), dtype=int).reshape(-1, 2)
    out: list[CriterionQuality] = []
    for j, name in enumerate(names):
        col = m[:, j]
        judged = ~np.isnan(col)
        agreement, separated, ties = direction_agreement(col[rows[:, 0]], col[rows[:, 1]])
        twin = dup[j]
        out.append(
            CriterionQuality(
                name=name,
                judged=int(judged.sum()),
                pass_rate=float(col[judged].mean()) if judged.any() else math.nan,
                auroc=auroc(col, y),
                mean_delta=mean_score_delta(col, y),
                agreement=agreement,
                separated=separated,
                ties=ties,
                status=saturation(col),
                redundant_with=names[twin[0]] if twin else None,
                correlation=twin[1] if twin else None,
                coefficient=float(coefs[j]),
                selected=j in keep,
            )
        )
    notes = []
    if not pairs and len(set(y.tolist())) < 2:
        notes.append("every response has the same label: AUROC, deltas and selection need both good and bad")
    return QualityReport(out, corr, responses=int(m.shape[0]), pairs=len(pairs), c=c, notes=notes)


def _fmt(value: float | None, spec: str = ".2f") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return format(value, spec)


def format_report(report: QualityReport) -> str:
    """The report as a plain-text table, one line per criterion, then the selection."""
    header = ["criterion", "n", "pass", "AUROC", "delta", "agree", "sep/tie", "l1 coef", "flags"]
    rows = [
        [
            q.name,
            str(q.judged),
            _fmt(q.pass_rate),
            _fmt(q.auroc),
            _fmt(q.mean_delta, "+.2f"),
            _fmt(q.agreement),
            f"{q.separated}/{q.ties}",
            _fmt(q.coefficient, "+.3f"),
            ", ".join(q.flags),
        ]
        for q in report.criteria
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [" ".join(cell.ljust(widths[i]) for i, cell in enumerate(r)).rstrip() for r in [header, *rows]]
    lines.insert(1, " ".join("-" * w for w in widths))
    lines.append("")
    lines.append(
        f"{report.responses} labelled responses, {report.pairs} pairs; "
        f"l1 selection (C={report.c:g}): {', '.join(report.selected) or 'none'}"
    )
    lines.extend(report.notes)
    return "\n".join(lines)
