"""Calibration summaries: every agreement metric, overall, per criterion and per tag.

:func:`summarize` takes :class:`LabelledVerdict` rows (a judge's verdict beside the gold
label for the same case, criterion and target) and returns a JSON-able dictionary::

    {"overall": {...}, "by_criterion": {"criterion-id": {...}}, "by_tag": {"tag": {...}}}

Each group holds its point estimates and, for the headline ones, seeded bootstrap
intervals (``accuracy_ci``, ``kappa_ci``...). Pairwise data (two orders per pair) is
summarised by :func:`summarize_pairs`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from . import metrics
from .judged import LabelledVerdict, PairJudgment, ScaleVerdict


@dataclass(frozen=True)
class Options:
    """How intervals are computed."""

    resamples: int = 1000
    confidence: float = 0.95
    seed: int = 0
    ece_bins: int = 10


def group_metrics(
    rows: Sequence[LabelledVerdict], options: Options = Options(), with_ci: bool = True
) -> dict[str, Any]:
    """Every metric over ``rows`` (one group)."""
    pred = [r.judged_met for r in rows]
    gold = [r.gold_met for r in rows]
    counts = metrics.BinaryCounts.of(pred, gold)
    out: dict[str, Any] = {
        "n": len(rows),
        "tp": counts.tp,
        "fp": counts.fp,
        "fn": counts.fn,
        "tn": counts.tn,
        "accuracy": metrics.accuracy(pred, gold),
        "kappa": metrics.cohen_kappa(pred, gold),
        "precision": metrics.precision(pred, gold),
        "recall": metrics.recall(pred, gold),
        "f1": metrics.f1(pred, gold),
        "leniency": metrics.leniency(pred, gold),
    }
    scored = [r for r in rows if r.score is not None]
    x = [float(r.score) for r in scored if r.score is not None]
    # A graded gold score when the labels have one, else the 0/1 label (point-biserial).
    y = [float(r.gold_score) if r.gold_score is not None else float(r.gold_met) for r in scored]
    out["n_scored"] = len(scored)
    out["spearman"] = metrics.spearman(x, y)
    out["pearson"] = metrics.pearson(x, y)

    confident = [r for r in rows if r.confidence is not None]
    conf = [float(r.confidence) for r in confident if r.confidence is not None]
    correct = [r.judged_met == r.gold_met for r in confident]
    prob = [metrics.prob_met(r.judged_met, c) for r, c in zip(confident, conf, strict=True)]
    cgold = [r.gold_met for r in confident]
    out["n_confidence"] = len(confident)
    out["ece"] = metrics.ece(conf, correct, bins=options.ece_bins)
    out["brier"] = metrics.brier(prob, cgold)
    if with_ci:
        bins = options.ece_bins
        ci_of: dict[str, tuple[Callable[..., Any], list[Sequence[Any]]]] = {
            "accuracy": (metrics.accuracy_rows, [pred, gold]),
            "kappa": (metrics.kappa_rows, [pred, gold]),
            "f1": (metrics.f1_rows, [pred, gold]),
            "leniency": (metrics.leniency_rows, [pred, gold]),
            "spearman": (metrics.spearman_rows, [x, y]),
            "pearson": (metrics.pearson_rows, [x, y]),
            "ece": (lambda c, k: metrics.ece_rows(c, k, bins), [conf, correct]),
            "brier": (metrics.brier_rows, [prob, cgold]),
        }
        for name, (fn, cols) in ci_of.items():
            ci = metrics.bootstrap_rows(
                fn, *cols, resamples=options.resamples, confidence=options.confidence, seed=options.seed
            )
            out[f"{name}_ci"] = list(ci) if ci is not None else None
    return out


def summarize(
    rows: Sequence[LabelledVerdict], options: Options = Options(), by_criterion: bool = True, by_tag: bool = True
) -> dict[str, Any]:
    """Metrics overall, per criterion id (across the cases sharing it) and per tag."""
    out: dict[str, Any] = {"overall": group_metrics(rows, options)}
    if by_criterion:
        out["by_criterion"] = {
            key: group_metrics(group, options) for key, group in _groups(rows, lambda r: [r.key]).items()
        }
    if by_tag:
        out["by_tag"] = {
            tag: group_metrics(group, options) for tag, group in _groups(rows, lambda r: list(r.tags)).items()
        }
    return out


def _groups(
    rows: Iterable[LabelledVerdict], keys: Callable[[LabelledVerdict], list[str]]
) -> dict[str, list[LabelledVerdict]]:
    groups: dict[str, list[LabelledVerdict]] = {}
    for row in rows:
        for key in keys(row):
            groups.setdefault(key, []).append(row)
    return dict(sorted(groups.items()))


# --------------------------------------------------------------------------- graded scales


#: The headline agreement of levels. Quadratic weights make a disagreement cost the square of
#: its distance, so a judge one level off on a 1-5 scale is nearly in agreement and one four
#: levels off is not: how ordinal rating scales are compared (essay scoring's QWK; it equals
#: the intraclass correlation for large samples). Linear weights are shown beside it.
KAPPA_WEIGHTS = "quadratic"


def scale_metrics(rows: Sequence[ScaleVerdict], options: Options = Options(), with_ci: bool = True) -> dict[str, Any]:
    """Agreement of levels over ``rows`` (one group): exact agreement, weighted kappa
    (quadratic, and linear), Spearman and the mean absolute error in levels.

    The rows of a group should share one scale: levels of a 1-5 and a 1-10 criterion pooled
    together are compared as numbers (a report shows each criterion on its own too).
    """
    pred = [r.level for r in rows]
    gold = [r.gold_level for r in rows]
    out: dict[str, Any] = {
        "n": len(rows),
        "exact": metrics.accuracy(pred, gold),
        "kappa_quadratic": metrics.weighted_kappa(pred, gold, "quadratic"),
        "kappa_linear": metrics.weighted_kappa(pred, gold, "linear"),
        "spearman": metrics.spearman(pred, gold),
        "mae": metrics.mean_absolute_error(pred, gold),
        "bias": (sum(pred) - sum(gold)) / len(rows) if rows else None,
    }
    if with_ci:
        stats: dict[str, Callable[..., float | None]] = {
            "kappa_quadratic": lambda p, g: metrics.weighted_kappa(p, g, "quadratic"),
            "spearman": metrics.spearman,
            "mae": metrics.mean_absolute_error,
        }
        for name, fn in stats.items():
            ci = metrics.bootstrap_ci(
                fn, pred, gold, resamples=options.resamples, confidence=options.confidence, seed=options.seed
            )
            out[f"{name}_ci"] = list(ci) if ci is not None else None
    return out


def summarize_scale(rows: Sequence[ScaleVerdict], options: Options = Options()) -> dict[str, Any]:
    """Level agreement overall (with bootstrap intervals), per criterion id and per tag."""
    by_criterion: dict[str, list[ScaleVerdict]] = {}
    by_tag: dict[str, list[ScaleVerdict]] = {}
    for row in rows:
        by_criterion.setdefault(row.criterion, []).append(row)
        for tag in row.tags:
            by_tag.setdefault(tag, []).append(row)
    return {
        "weights": KAPPA_WEIGHTS,
        "overall": scale_metrics(rows, options),
        "by_criterion": {k: scale_metrics(g, options, with_ci=False) for k, g in sorted(by_criterion.items())},
        "by_tag": {k: scale_metrics(g, options, with_ci=False) for k, g in sorted(by_tag.items())},
    }


# --------------------------------------------------------------------------- pairwise


def pair_metrics(rows: Sequence[PairJudgment], options: Options = Options(), with_ci: bool = True) -> dict[str, Any]:
    """LLMBar's figures (percentages), kappa per order, and the order-resolved accuracy."""
    gold = [r.gold for r in rows]
    orig = [r.original for r in rows]
    swap = [r.swapped for r in rows]
    counts = metrics.pairwise_counts(gold, orig, swap)
    out: dict[str, Any] = {"n": counts.n, **metrics.pairwise_figures(counts)}
    out["counts"] = {
        "correct_original": counts.correct_original,
        "correct_swapped": counts.correct_swapped,
        "both_correct": counts.both_correct,
        "agree": counts.agree,
    }
    resolved = [metrics.resolve_order(o, s) for o, s in zip(orig, swap, strict=True)]
    out["ties"] = sum(r == "tie" for r in resolved)
    # Order-dependent verdicts count as ties, and a tie is never correct.
    out["accuracy_resolved"] = (
        sum(r == g for r, g in zip(resolved, gold, strict=True)) / len(rows) * 100 if rows else None
    )
    out["kappa_original"] = metrics.cohen_kappa([str(o) for o in orig], gold)
    out["kappa_swapped"] = metrics.cohen_kappa([str(s) for s in swap], gold)
    if with_ci:

        def pct(fn: Callable[[metrics.PairwiseCounts], float]) -> Callable[..., float | None]:
            return lambda g, o, s: fn(metrics.pairwise_counts(g, o, s)) if g else None

        stats: dict[str, Callable[..., float | None]] = {
            "accuracy": pct(lambda c: (c.correct_original + c.correct_swapped) / 2 / c.n * 100),
            "both_correct": pct(lambda c: c.both_correct / c.n * 100),
            "positional_agreement": pct(lambda c: c.agree / c.n * 100),
        }
        for name, fn in stats.items():
            ci = metrics.bootstrap_ci(
                fn, gold, orig, swap, resamples=options.resamples, confidence=options.confidence, seed=options.seed
            )
            out[f"{name}_ci"] = list(ci) if ci is not None else None
    return out


def summarize_pairs(rows: Sequence[PairJudgment], options: Options = Options()) -> dict[str, Any]:
    """Pairwise figures overall and per tag."""
    groups: dict[str, list[PairJudgment]] = {}
    for row in rows:
        for tag in row.tags:
            groups.setdefault(tag, []).append(row)
    return {
        "overall": pair_metrics(rows, options),
        "by_tag": {tag: pair_metrics(g, options) for tag, g in sorted(groups.items())},
    }


def reliability_bins(rows: Sequence[LabelledVerdict], bins: int = 10) -> list[dict[str, Any]]:
    """The reliability diagram's points: per equal-width confidence bin with verdicts, their
    number, mean stated confidence and the share that agree with the gold label."""
    grouped: dict[int, list[LabelledVerdict]] = {}
    for r in rows:
        if r.confidence is not None:
            grouped.setdefault(min(int(r.confidence * bins), bins - 1), []).append(r)
    return [
        {
            "bin": b,
            "n": len(group),
            "mean_confidence": sum(r.confidence or 0.0 for r in group) / len(group),
            "accuracy": sum(r.judged_met == r.gold_met for r in group) / len(group),
        }
        for b, group in sorted(grouped.items())
    ]
