"""Agreement metrics between a judge and gold labels: pure functions, no I/O.

Every function takes plain sequences and returns a number, or ``None`` when the metric is
undefined for that input (no items; a denominator of zero; constant input for a
correlation). ``None`` is never silently turned into 0 or 1: a report shows it as
"undefined" and a gate on it fails with that reason.

Conventions:
    * "met" is the positive class of precision, recall and F1.
    * Leniency is signed: the judge's met rate minus the labels' met rate. Positive means
      the judge passes more often than the labels (lenient), negative means stricter.
    * A confidence is the judge's confidence in *its own outcome*; the probability that
      the criterion is met is ``confidence`` for a met verdict and ``1 - confidence`` for
      a not-met one (:func:`prob_met`).
    * Pairwise figures (:func:`pairwise_figures`) are percentages computed exactly as the
      LLMBar authors compute them, so they can be compared digit for digit.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T", bound=Hashable)


def _check_lengths(*seqs: Sequence[Any]) -> int:
    lengths = {len(s) for s in seqs}
    if len(lengths) > 1:
        raise ValueError(f"sequences of different lengths: {sorted(lengths)}")
    return lengths.pop() if lengths else 0


def accuracy(pred: Sequence[T], gold: Sequence[T]) -> float | None:
    """Share of items where ``pred`` equals ``gold``; ``None`` for no items."""
    n = _check_lengths(pred, gold)
    if n == 0:
        return None
    return sum(p == g for p, g in zip(pred, gold, strict=True)) / n


def cohen_kappa(pred: Sequence[T], gold: Sequence[T]) -> float | None:
    """Cohen's kappa of two raters over any label set.

    kappa = (p_o - p_e) / (1 - p_e). Undefined (``None``) for no items, and when chance
    agreement is 1: both raters used one and the same label for every item, so agreement
    beyond chance cannot be measured.
    """
    n = _check_lengths(pred, gold)
    if n == 0:
        return None
    p_o = sum(p == g for p, g in zip(pred, gold, strict=True)) / n
    cp, cg = Counter(pred), Counter(gold)
    p_e = sum(cp[label] * cg[label] for label in cp) / (n * n)
    if math.isclose(p_e, 1.0):
        return None
    return (p_o - p_e) / (1 - p_e)


@dataclass(frozen=True)
class BinaryCounts:
    """Confusion counts with "met" as the positive class."""

    tp: int
    fp: int
    fn: int
    tn: int

    @classmethod
    def of(cls, pred: Sequence[bool], gold: Sequence[bool]) -> BinaryCounts:
        _check_lengths(pred, gold)
        pairs = list(zip(pred, gold, strict=True))
        return cls(
            tp=sum(p and g for p, g in pairs),
            fp=sum(p and not g for p, g in pairs),
            fn=sum(g and not p for p, g in pairs),
            tn=sum(not p and not g for p, g in pairs),
        )


def precision(pred: Sequence[bool], gold: Sequence[bool]) -> float | None:
    """TP / (TP + FP); ``None`` when the judge never said met."""
    c = BinaryCounts.of(pred, gold)
    return c.tp / (c.tp + c.fp) if c.tp + c.fp else None


def recall(pred: Sequence[bool], gold: Sequence[bool]) -> float | None:
    """TP / (TP + FN); ``None`` when no label says met."""
    c = BinaryCounts.of(pred, gold)
    return c.tp / (c.tp + c.fn) if c.tp + c.fn else None


def f1(pred: Sequence[bool], gold: Sequence[bool]) -> float | None:
    """2TP / (2TP + FP + FN); ``None`` when neither judge nor labels ever said met."""
    c = BinaryCounts.of(pred, gold)
    denom = 2 * c.tp + c.fp + c.fn
    return 2 * c.tp / denom if denom else None


def leniency(pred: Sequence[bool], gold: Sequence[bool]) -> float | None:
    """The judge's met rate minus the labels' met rate (positive: lenient, negative: strict)."""
    n = _check_lengths(pred, gold)
    if n == 0:
        return None
    return (sum(pred) - sum(gold)) / n


def _scipy_stats() -> Any:
    """scipy.stats, or a clear error naming the extra that installs it."""
    try:
        from scipy import stats
    except ImportError:
        from ...errors import RubricTestError

        raise RubricTestError("correlations need scipy: pip install 'rubrictest[stats]'") from None
    return stats


def _correlation(kind: str, x: Sequence[float], y: Sequence[float]) -> float | None:
    stats = _scipy_stats()

    n = _check_lengths(x, y)
    # Fewer than two points, or a constant side (all ties), has no correlation.
    if n < 2 or len(set(x)) < 2 or len(set(y)) < 2:
        return None
    result = stats.spearmanr(x, y) if kind == "spearman" else stats.pearsonr(x, y)
    value = float(result.statistic)
    return None if math.isnan(value) else value


def spearman(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Spearman's rank correlation (scipy); ``None`` for fewer than 2 items or constant input."""
    return _correlation("spearman", x, y)


def pearson(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Pearson's correlation (scipy); ``None`` for fewer than 2 items or constant input."""
    return _correlation("pearson", x, y)


# --------------------------------------------------------------------------- graded scales
#
# A judge's level against a gold level on the same scale (1-5, 1-10, HelloBench's quarters).


def level_grid(levels: Sequence[float]) -> list[float]:
    """The ordered categories weighted kappa counts distances on.

    When the levels seen are equally spaced (integers, quarters) the grid is every step from
    the lowest to the highest, so that an unused level between two used ones still counts in
    the distance (sklearn measures distance in positions on its ``labels``). Otherwise the
    grid is the distinct levels seen, in order.
    """
    seen = sorted(set(levels))
    if len(seen) < 2:
        return seen
    step = min(b - a for a, b in zip(seen, seen[1:], strict=False))
    count = round((seen[-1] - seen[0]) / step)
    grid = [seen[0] + k * step for k in range(count + 1)]
    if all(any(math.isclose(g, lv, abs_tol=1e-9) for g in grid) for lv in seen):
        return grid
    return seen


def weighted_kappa(pred: Sequence[float], gold: Sequence[float], weights: str = "quadratic") -> float | None:
    """Cohen's weighted kappa of two raters' levels (sklearn ``cohen_kappa_score``).

    ``weights`` is ``"quadratic"`` (a disagreement costs the squared distance between levels)
    or ``"linear"``. Distances are positions on :func:`level_grid` of both sides' levels.
    ``None`` for no items and when chance disagreement is zero (both raters gave one and the
    same level to every item).
    """
    n = _check_lengths(pred, gold)
    if n == 0:
        return None
    grid = level_grid([*pred, *gold])
    if len(grid) < 2:
        return None
    try:
        from sklearn.metrics import cohen_kappa_score
    except ImportError:
        from ...errors import RubricTestError

        raise RubricTestError("weighted kappa needs scikit-learn: pip install 'rubrictest[stats]'") from None

    def index(level: float) -> int:
        return min(range(len(grid)), key=lambda i: abs(grid[i] - level))

    a, b = [index(x) for x in pred], [index(x) for x in gold]
    # sklearn divides by the chance-expected disagreement: zero when a single level was used
    # by both, where kappa is undefined (it would warn and return NaN).
    if len(set(a) | set(b)) < 2:
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        value = float(cohen_kappa_score(a, b, labels=list(range(len(grid))), weights=weights))
    return None if math.isnan(value) else value


def mean_absolute_error(pred: Sequence[float], gold: Sequence[float]) -> float | None:
    """Mean |judge level - gold level|, in levels; ``None`` for no items."""
    n = _check_lengths(pred, gold)
    if n == 0:
        return None
    return sum(abs(p - g) for p, g in zip(pred, gold, strict=True)) / n


def prob_met(met: bool, confidence: float) -> float:
    """The probability that the criterion is met, from a verdict and its confidence."""
    return confidence if met else 1.0 - confidence


def brier(prob: Sequence[float], gold: Sequence[bool]) -> float | None:
    """Mean squared error of the probability of met against the 0/1 label."""
    n = _check_lengths(prob, gold)
    if n == 0:
        return None
    return sum((p - float(g)) ** 2 for p, g in zip(prob, gold, strict=True)) / n


def ece(confidence: Sequence[float], correct: Sequence[bool], bins: int = 10) -> float | None:
    """Expected calibration error with ``bins`` equal-width bins over [0, 1].

    ECE = sum over bins of (bin size / n) * |accuracy in bin - mean confidence in bin|.
    A confidence of exactly 1.0 falls in the last bin. ``None`` for no items.
    """
    n = _check_lengths(confidence, correct)
    if n == 0:
        return None
    if bins < 1:
        raise ValueError("bins must be >= 1")
    grouped: dict[int, list[tuple[float, bool]]] = {}
    for c, ok in zip(confidence, correct, strict=True):
        if not 0.0 <= c <= 1.0:
            raise ValueError(f"confidence {c} is outside [0, 1]")
        grouped.setdefault(min(int(c * bins), bins - 1), []).append((c, ok))
    total = 0.0
    for items in grouped.values():
        acc = sum(ok for _, ok in items) / len(items)
        conf = sum(c for c, _ in items) / len(items)
        total += len(items) / n * abs(acc - conf)
    return total


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float] | None:
    """Wilson score interval of a proportion; ``None`` for ``n == 0``."""
    stats = _scipy_stats()

    if n == 0:
        return None
    z = float(stats.norm.ppf(1 - (1 - confidence) / 2))
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def bootstrap_ci(
    statistic: Callable[..., float | None],
    *columns: Sequence[Any],
    resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float] | None:
    """Percentile bootstrap interval of ``statistic(*columns)``, resampling rows together.

    The rows (the i-th element of every column) are drawn with replacement ``resamples``
    times with a seeded generator, so the same input gives the same interval. Resamples on
    which the statistic is undefined are left out. ``None`` when there are no rows or the
    statistic is undefined on every resample.
    """
    n = _check_lengths(*columns)
    if n == 0 or resamples < 1:
        return None
    rng = np.random.default_rng(seed)
    values: list[float] = []
    for _ in range(resamples):
        idx = rng.integers(0, n, size=n)
        value = statistic(*([col[i] for i in idx] for col in columns))
        if value is not None and not math.isnan(value):
            values.append(value)
    if not values:
        return None
    alpha = (1 - confidence) / 2
    low, high = np.quantile(np.asarray(values), [alpha, 1 - alpha])
    return float(low), float(high)


# --------------------------------------------------------------------------- vectorized bootstrap
#
# The same metrics over many resamples at once: each argument is a 2-D array with one
# resample per row, each function returns one value per row, NaN where undefined. They
# make a 1,000-resample interval over thousands of verdicts take milliseconds instead of
# a minute. Binary metrics take boolean arrays.

FloatArray = np.ndarray[Any, np.dtype[np.float64]]
BoolArray = np.ndarray[Any, np.dtype[np.bool_]]


def accuracy_rows(pred: BoolArray, gold: BoolArray) -> FloatArray:
    """:func:`accuracy` of every row."""
    result: FloatArray = (pred == gold).mean(axis=1)
    return result


def kappa_rows(pred: BoolArray, gold: BoolArray) -> FloatArray:
    """:func:`cohen_kappa` (two classes) of every row."""
    p_o = (pred == gold).mean(axis=1)
    pp, pg = pred.mean(axis=1), gold.mean(axis=1)
    p_e = pp * pg + (1 - pp) * (1 - pg)
    undefined = np.isclose(p_e, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        result: FloatArray = np.where(undefined, np.nan, (p_o - p_e) / np.where(undefined, 1.0, 1 - p_e))
    return result


def f1_rows(pred: BoolArray, gold: BoolArray) -> FloatArray:
    """:func:`f1` of every row."""
    tp = (pred & gold).sum(axis=1)
    denom = 2 * tp + (pred & ~gold).sum(axis=1) + (~pred & gold).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        result: FloatArray = np.where(denom > 0, 2 * tp / np.maximum(denom, 1), np.nan)
    return result


def leniency_rows(pred: BoolArray, gold: BoolArray) -> FloatArray:
    """:func:`leniency` of every row."""
    result: FloatArray = (pred.sum(axis=1) - gold.sum(axis=1)) / pred.shape[1]
    return result


def brier_rows(prob: FloatArray, gold: BoolArray) -> FloatArray:
    """:func:`brier` of every row."""
    result: FloatArray = ((prob - gold) ** 2).mean(axis=1)
    return result


def ece_rows(confidence: FloatArray, correct: BoolArray, bins: int = 10) -> FloatArray:
    """:func:`ece` of every row."""
    n = confidence.shape[1]
    which = np.minimum((confidence * bins).astype(int), bins - 1)
    total = np.zeros(confidence.shape[0])
    for b in range(bins):
        in_bin = which == b
        # (size / n) * |acc - conf| with acc and conf means over the bin = |sum ok - sum conf| / n
        total += np.abs((in_bin & correct).sum(axis=1) - (confidence * in_bin).sum(axis=1)) / n
    return total


def pearson_rows(x: FloatArray, y: FloatArray) -> FloatArray:
    """:func:`pearson` of every row (NaN for constant rows or fewer than 2 columns)."""
    if x.shape[1] < 2:
        return np.full(x.shape[0], np.nan)
    constant = (np.ptp(x, axis=1) == 0) | (np.ptp(y, axis=1) == 0)
    xm = x - x.mean(axis=1, keepdims=True)
    ym = y - y.mean(axis=1, keepdims=True)
    den = np.sqrt((xm**2).sum(axis=1) * (ym**2).sum(axis=1))
    with np.errstate(divide="ignore", invalid="ignore"):
        r = (xm * ym).sum(axis=1) / np.where(constant, 1.0, den)
    result: FloatArray = np.where(constant, np.nan, np.clip(r, -1.0, 1.0))
    return result


def spearman_rows(x: FloatArray, y: FloatArray) -> FloatArray:
    """:func:`spearman` of every row: Pearson's r of the ranks (ties get their mean rank)."""
    rankdata = _scipy_stats().rankdata

    if x.shape[1] < 2:
        return np.full(x.shape[0], np.nan)
    constant = (np.ptp(x, axis=1) == 0) | (np.ptp(y, axis=1) == 0)
    r = pearson_rows(rankdata(x, axis=1), rankdata(y, axis=1))
    result: FloatArray = np.where(constant, np.nan, r)
    return result


def bootstrap_rows(
    statistic: Callable[..., FloatArray],
    *columns: Sequence[Any],
    resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    chunk: int = 250,
) -> tuple[float, float] | None:
    """Percentile bootstrap interval with a row-wise statistic (``*_rows``).

    Same contract as :func:`bootstrap_ci`: rows drawn together with a seeded generator,
    undefined resamples left out, ``None`` when nothing is defined.
    """
    n = _check_lengths(*columns)
    if n == 0 or resamples < 1:
        return None
    arrays = [np.asarray(col) for col in columns]
    rng = np.random.default_rng(seed)
    values: list[FloatArray] = []
    done = 0
    while done < resamples:
        size = min(chunk, resamples - done)
        idx = rng.integers(0, n, size=(size, n))
        values.append(statistic(*(a[idx] for a in arrays)))
        done += size
    flat = np.concatenate(values)
    flat = flat[~np.isnan(flat)]
    if flat.size == 0:
        return None
    alpha = (1 - confidence) / 2
    low, high = np.quantile(flat, [alpha, 1 - alpha])
    return float(low), float(high)


# --------------------------------------------------------------------------- pairwise


@dataclass(frozen=True)
class PairwiseCounts:
    """Counts of a pairwise judge over ``n`` pairs judged in both orders."""

    n: int
    correct_original: int
    correct_swapped: int
    both_correct: int
    agree: int


def pairwise_counts(
    gold: Sequence[str], original: Sequence[str | None], swapped: Sequence[str | None]
) -> PairwiseCounts:
    """Count a pairwise judge's hits in both presentation orders.

    Args:
        gold: the better output of each pair (``"1"`` or ``"2"``).
        original: the judge's winner with the pair shown in its original order.
        swapped: the judge's winner with the pair shown swapped, *in the original
            numbering*. ``None`` is a verdict that could not be parsed.

    An unparsed verdict (``None``) is never correct. Two verdicts agree when they are equal,
    so two unparsed verdicts agree: this is the LLMBar authors' convention, kept so their
    published figures are reproduced exactly.
    """
    n = _check_lengths(gold, original, swapped)
    rows = list(zip(gold, original, swapped, strict=True))
    return PairwiseCounts(
        n=n,
        correct_original=sum(o == g for g, o, _ in rows),
        correct_swapped=sum(s == g for g, _, s in rows),
        both_correct=sum(o == g and s == g for g, o, s in rows),
        agree=sum(o == s for _, o, s in rows),
    )


def pairwise_figures(counts: PairwiseCounts) -> dict[str, float | None]:
    """Percentages of :class:`PairwiseCounts`, computed as the LLMBar authors do.

    ``accuracy`` is the mean of the two orders' accuracies, ``(a + b) / 2 / n * 100``; every
    other figure is ``count / n * 100``. No rounding: the floats equal the ones in the
    authors' ``statistics.json`` files. ``None`` for ``n == 0``.
    """
    n = counts.n
    if n == 0:
        return {
            "accuracy_original": None,
            "accuracy_swapped": None,
            "accuracy": None,
            "both_correct": None,
            "positional_agreement": None,
        }
    return {
        "accuracy_original": counts.correct_original / n * 100,
        "accuracy_swapped": counts.correct_swapped / n * 100,
        "accuracy": (counts.correct_original + counts.correct_swapped) / 2 / n * 100,
        "both_correct": counts.both_correct / n * 100,
        "positional_agreement": counts.agree / n * 100,
    }


def resolve_order(original: str | None, swapped: str | None) -> str:
    """One verdict from both orders: the winner when they agree, else ``"tie"``.

    An order-dependent verdict says more about position than about the outputs, so it is
    a tie; an unparsed verdict in either order also gives a tie.
    """
    if original is not None and original == swapped:
        return original
    return "tie"
