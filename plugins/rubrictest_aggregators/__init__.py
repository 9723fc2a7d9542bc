"""Case aggregators: ``points`` (the default), ``strict`` and ``relative``
(:mod:`rubrictest_aggregators.relative`: target / (target + reference), as RACE scores).

``points``: score = clip(sum of the points of the criteria whose outcome is *met*, over the
sum of positive points, 0, 1). Deductions (negative points) subtract when met. The case
passes when score >= threshold and every ``must`` criterion passes. In a rubric tree the same
rule scores every inner node from its children and the case from the top level
(:func:`rubrictest.score_tree`): with weights and no deductions, the weighted mean; a ``must``
node whose subtree does not pass fails the case.

``strict``: the case passes only when every criterion passes; the score is the share of
criteria that pass.
"""

from __future__ import annotations

from collections.abc import Sequence

from rubrictest import Aggregator, Case, CaseScore, Criterion, Register, Verdict, hookimpl, score_tree

from .relative import RelativeAggregator


class PointsAggregator(Aggregator):
    """Clipped ratio of points earned to positive points available, node by node."""

    name = "points"

    def aggregate(self, case: Case, results: Sequence[tuple[Criterion, Verdict]], threshold: float | None) -> CaseScore:
        tree = score_tree(case, {c.id: v for c, v in results})
        score = tree.score if tree.score is not None else 0.0
        nodes = tree.nodes if case.nodes else None
        if tree.failed_musts:
            return CaseScore(score, False, f"hard rule failed: {', '.join(tree.failed_musts)}", nodes)
        if threshold is not None and score < threshold:
            return CaseScore(score, False, f"score {score:.3f} < threshold {threshold:g}", nodes)
        if threshold is None and tree.failed:
            return CaseScore(score, False, "a criterion failed", nodes)
        return CaseScore(score, True, nodes=nodes)


class StrictAggregator(Aggregator):
    """Every criterion must pass; the score is the share that pass."""

    name = "strict"

    def aggregate(self, case: Case, results: Sequence[tuple[Criterion, Verdict]], threshold: float | None) -> CaseScore:
        failed = [c.id for c, v in results if not c.passes(v.outcome)]
        score = 1 - len(failed) / len(results) if results else 1.0
        return CaseScore(score, not failed, f"failed: {', '.join(failed)}" if failed else "")


@hookimpl
def register_aggregators(register: Register) -> None:
    register("points", PointsAggregator)
    register("strict", StrictAggregator)
    register("relative", RelativeAggregator)
