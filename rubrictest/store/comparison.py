"""Two runs (or two targets of one run) compared with statistics: what ``rubrictest compare``
prints and the viewer's Compare page shows, computed here once for both.

Per criterion the verdicts are paired case by case (:meth:`HistoryQueries.paired_table`):
both pass, both fail, fixed (fail -> pass) and broken (pass -> fail), pairs with an ERROR
left out. Whether a criterion changed is an exact McNemar test on the discordant pairs
(statsmodels), and the p-values of all criteria are adjusted for multiplicity -- Holm's
step-down (family-wise error) by default, Benjamini-Hochberg (false discovery rate) on request.
Per suite and target, the paired difference in case score gets a bootstrap confidence interval
(scipy; BCa up to ``BCA_MAX`` pairs, percentile above; seeded: the same database gives the
same interval).

A regression is a change for the worse that is significant at ``alpha`` (adjusted p-value of a
criterion; a suite's interval wholly below zero) and larger than ``min_effect`` (the drop in a
criterion's pass rate, or in a suite's mean case score). One flipped case out of 200 is not
one; forty are.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

from .queries import ResultsDB
from .query_params import Pair

FINISHED = ("passed", "failed")  # run statuses of a run that ran to its end
BCA_MAX = 5000


@dataclass(frozen=True)
class CompareOptions:
    """How a comparison decides what is significant.

    Args:
        alpha: significance level (adjusted p-values; a suite's interval is at ``1 - alpha``).
        min_effect: a regression must be larger than this drop in pass rate (criteria) or in
            mean case score (suites), both on a 0-1 scale.
        fdr: adjust criteria p-values by Benjamini-Hochberg instead of Holm.
        seed: seed of the bootstrap's random generator.
        resamples: bootstrap resamples.
    """

    alpha: float = 0.05
    min_effect: float = 0.0
    fdr: bool = False
    seed: int = 0
    resamples: int = 9999

    @property
    def adjustment(self) -> str:
        """The name of the multiplicity adjustment, as statsmodels spells it."""
        return "fdr_bh" if self.fdr else "holm"


def make_pair(run_a: str, run_b: str, target_a: str | None = None, target_b: str | None = None) -> Pair:
    """Two runs (targets matched by label), or two targets (of one run, or one of each run),
    with the labels reports show for each side."""
    same = run_a == run_b

    def label(run_id: str, target: str | None) -> str:
        return (target or "(fixed outputs)") if same else run_id + (f" [{target}]" if target else "")

    return Pair(run_a, run_b, target_a, target_b, label(run_a, target_a), label(run_b, target_b))


def mcnemar_p(fixed: int, broken: int) -> float:
    """Exact (binomial) McNemar p-value, two-sided, from the discordant pairs."""
    if fixed + broken == 0:
        return 1.0
    from statsmodels.stats.contingency_tables import mcnemar

    return float(mcnemar([[0, broken], [fixed, 0]], exact=True).pvalue)


def adjust(p_values: list[float], options: CompareOptions) -> list[float]:
    """``p_values`` adjusted across criteria (Holm, or Benjamini-Hochberg with ``fdr``)."""
    if not p_values:
        return []
    from statsmodels.stats.multitest import multipletests

    return [float(p) for p in multipletests(p_values, alpha=options.alpha, method=options.adjustment)[1]]


def bootstrap_ci(diffs: list[float], options: CompareOptions) -> tuple[float, float, str] | None:
    """Bootstrap interval of the mean of paired differences at ``1 - alpha``, and its method
    (``None`` under two pairs; a constant difference is its own interval)."""
    if len(diffs) < 2:
        return None
    if max(diffs) == min(diffs):
        return (diffs[0], diffs[0], "constant")
    import numpy as np
    from scipy.stats import bootstrap

    data = (np.asarray(diffs, dtype=float),)
    # BCa corrects bias and skew, but its jackknife costs n^2: over BCA_MAX pairs (where the
    # correction matters little) the percentile interval. BCa is also undefined on some skewed
    # samples: percentile then too.
    for method in ("BCa", "percentile") if len(diffs) <= BCA_MAX else ("percentile",):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # batch: a thousand resamples at a time (all 9,999 of a 100,000-case suite at once
            # would take 8 GB).
            res = bootstrap(
                data,
                np.mean,
                confidence_level=1 - options.alpha,
                n_resamples=options.resamples,
                batch=1000,
                method=method,
                rng=np.random.default_rng(options.seed),
            )
        low, high = float(res.confidence_interval.low), float(res.confidence_interval.high)
        if not (math.isnan(low) or math.isnan(high)):
            return (low, high, method)
    return None


def _criterion(row: dict[str, Any], p: float, p_adj: float, options: CompareOptions) -> dict[str, Any]:
    judged = row["n"] - (row["errors"] or 0)
    fixed, broken = int(row["fixed"] or 0), int(row["broken"] or 0)
    both_pass = int(row["both_pass"] or 0)
    rate_a = (both_pass + broken) / judged if judged else None
    rate_b = (both_pass + fixed) / judged if judged else None
    effect = (fixed - broken) / judged if judged else None
    significant = judged > 0 and fixed != broken and p_adj < options.alpha
    regression = bool(significant and effect is not None and effect < 0 and -effect > options.min_effect)
    return {
        "suite": row["suite"],
        "target": row["target"] or "",
        "criterion_id": row["criterion_id"],
        "criterion_hash": row["criterion_hash"],
        "text": row.get("text"),
        "pairs": row["n"],
        "judged": judged,
        "both_pass": both_pass,
        "both_fail": int(row["both_fail"] or 0),
        "fixed": fixed,
        "broken": broken,
        "errors": int(row["errors"] or 0),
        "changed": int(row["changed"] or 0),
        "pass_rate_a": rate_a,
        "pass_rate_b": rate_b,
        "effect": effect,
        "p_value": p,
        "p_adjusted": p_adj,
        "significant": significant,
        "regression": regression,
    }


def _suites(rows: list[dict[str, Any]], options: CompareOptions) -> list[dict[str, Any]]:
    by_suite: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for r in rows:
        by_suite.setdefault((r["suite"], r["target"] or ""), []).append((float(r["score_a"]), float(r["score_b"])))
    out = []
    for (suite, target), pairs in by_suite.items():
        diffs = [b - a for a, b in pairs]
        mean_a = sum(a for a, _ in pairs) / len(pairs)
        mean_b = sum(b for _, b in pairs) / len(pairs)
        diff = sum(diffs) / len(diffs)
        ci = bootstrap_ci(diffs, options)
        significant = ci is not None and (ci[1] < 0 or ci[0] > 0)
        out.append(
            {
                "suite": suite,
                "target": target,
                "cases": len(pairs),
                "mean_a": mean_a,
                "mean_b": mean_b,
                "difference": diff,
                "ci": [ci[0], ci[1]] if ci else None,
                "ci_method": ci[2] if ci else None,
                "significant": significant,
                "regression": bool(significant and diff < 0 and -diff > options.min_effect),
            }
        )
    return out


def _side(db: ResultsDB, run_id: str, target: str | None, label: str) -> dict[str, Any]:
    run = db.run(run_id) or {}
    gates = db.gates(run_id)
    if gates is not None and target is not None:
        gates = [g for g in gates if g["target"] == target]
    suites = [
        r["suite"]
        for r in db.rows(
            "SELECT DISTINCT suite FROM verdicts WHERE run_id = ?" + (" AND target = ?" if target is not None else ""),
            [run_id] + ([target] if target is not None else []),
        )
    ]
    return {
        "run": run_id,
        "target": target,
        "label": label,
        "status": run.get("status"),
        "finished": run.get("status") in FINISHED,
        "gates": gates,
        "suites": suites,
    }


def where(item: dict[str, Any], pair: Pair) -> str:
    """A criterion's or suite's name in a comparison: ``suite``, with ``[target]`` when two runs
    are compared target by target."""
    shown = str(item["suite"]) + (f"::{item['criterion_id']}" if "criterion_id" in item else "")
    return shown + (f"[{item['target']}]" if item.get("target") and pair.target_a is None else "")


def regression_line(item: dict[str, Any], options: CompareOptions) -> str:
    """One line saying what regressed and how sure the comparison is."""
    if "criterion_id" in item:
        adj = "Benjamini-Hochberg" if options.fdr else "Holm"
        return (
            f"REGRESSION {item['where']}: pass rate {item['pass_rate_a']:.1%} -> "
            f"{item['pass_rate_b']:.1%} ({item['broken']} broken, {item['fixed']} fixed of {item['judged']} "
            f"pairs); exact McNemar p = {item['p_value']:.2g}, {adj}-adjusted {item['p_adjusted']:.2g} "
            f"< alpha {options.alpha:g}"
        )
    low, high = item["ci"]
    return (
        f"REGRESSION {item['where']} (case score): mean {item['mean_a']:.3f} -> {item['mean_b']:.3f} "
        f"({item['difference']:+.3f}, {1 - options.alpha:.0%} bootstrap CI [{low:+.3f}, {high:+.3f}], "
        f"{item['cases']} paired cases)"
    )


def compare(db: ResultsDB, pair: Pair, options: CompareOptions | None = None) -> dict[str, Any]:
    """The comparison of ``pair``: sides, per-criterion paired tables with McNemar p-values
    (raw and adjusted), per-suite case-score differences with bootstrap intervals, what
    differs between the sides (unpaired verdicts, changed criteria, suites on one side only)
    and the regressions, each with its one-line explanation."""
    options = options or CompareOptions()
    table = db.paired_table(pair)
    raw = [mcnemar_p(int(r["fixed"] or 0), int(r["broken"] or 0)) for r in table]
    # Adjust across the criteria that were judged on both sides at least once.
    tested = [i for i, r in enumerate(table) if r["n"] - (r["errors"] or 0) > 0]
    adjusted = dict(zip(tested, adjust([raw[i] for i in tested], options), strict=True))
    criteria = [_criterion(r, raw[i], adjusted.get(i, 1.0), options) for i, r in enumerate(table)]
    suites = _suites(db.case_scores(pair), options)
    for item in [*criteria, *suites]:
        item["where"] = where(item, pair)
    sides = db.side_counts(pair)
    paired = sum(r["n"] for r in table)
    side_a = _side(db, pair.run_a, pair.target_a, pair.label_a)
    side_b = _side(db, pair.run_b, pair.target_b, pair.label_b)
    differences = {
        "only_a": sides["a"] - paired,
        "only_b": sides["b"] - paired,
        "changed_criteria": sum(1 for r in criteria if r["changed"]),
        "suites_only_a": [s for s in side_a["suites"] if s not in side_b["suites"]],
        "suites_only_b": [s for s in side_b["suites"] if s not in side_a["suites"]],
    }
    regressions = [{**r, "line": regression_line(r, options)} for r in [*criteria, *suites] if r["regression"]]
    # Worse, but within noise or under the minimum effect: said, so a reader sees the bar.
    below = [
        f"not a regression: {c['where']}: {c['broken']} broken, {c['fixed']} fixed of {c['judged']} pairs; "
        f"adjusted p = {c['p_adjusted']:.2g}"
        + (f" >= alpha {options.alpha:g}" if not c["significant"] else f", a drop of {-c['effect']:.1%} <= min effect")
        for c in criteria
        if c["broken"] > c["fixed"] and not c["regression"]
    ]
    return {
        "a": side_a,
        "b": side_b,
        "alpha": options.alpha,
        "min_effect": options.min_effect,
        "adjustment": options.adjustment,
        "seed": options.seed,
        "paired": paired,
        "criteria": criteria,
        "suites": suites,
        "differences": differences,
        "regressions": regressions,
        "not_regressions": below,
    }


def differs(result: dict[str, Any]) -> list[str]:
    """What makes the two sides different suites or rubrics (empty when they are the same)."""
    d = result["differences"]
    out = []
    if d["suites_only_a"] or d["suites_only_b"]:
        out.append(
            "suites on one side only: "
            + ", ".join(
                [f"{s} ({result['a']['label']})" for s in d["suites_only_a"]]
                + [f"{s} ({result['b']['label']})" for s in d["suites_only_b"]]
            )
        )
    if d["changed_criteria"]:
        out.append(f"{d['changed_criteria']} criteria have another hash (their text, check or points changed)")
    if d["only_a"] or d["only_b"]:
        out.append(
            f"{d['only_a']} verdicts of {result['a']['label']} and {d['only_b']} of {result['b']['label']} "
            "have no counterpart (cases or criteria added or removed)"
        )
    return out
