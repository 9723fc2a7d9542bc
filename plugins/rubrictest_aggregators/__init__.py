"""Case aggregators: ``points`` (the default) and ``strict``.

``points``: score = clip(sum of the points of the criteria whose outcome is *met*, over the
sum of positive points, 0, 1). Deductions (negative points) subtract when met. The case
passes when score >= threshold and every ``must`` criterion passes.

``strict``: the case passes only when every criterion passes; the score is the share of
criteria that pass.
"""

from __future__ import annotations

from collections.abc import Sequence

from rubrictest import Aggregator, Case, CaseScore, Criterion, Register, Verdict, hookimpl


def _failed_musts(results: Sequence[tuple[Criterion, Verdict]]) -> list[str]:
    return [c.id for c, v in results if c.must and not c.passes(v.outcome)]


class PointsAggregator(Aggregator):
    """Clipped ratio of points earned to positive points available."""

    name = "points"

    def aggregate(self, case: Case, results: Sequence[tuple[Criterion, Verdict]],
                  threshold: float | None) -> CaseScore:
        possible = sum(c.points for c, _ in results if c.points > 0)
        earned = sum(c.points for c, v in results if v.outcome == "met")
        score = min(1.0, max(0.0, earned / possible)) if possible > 0 else (1.0 if earned >= 0 else 0.0)
        musts = _failed_musts(results)
        if musts:
            return CaseScore(score, False, f"hard rule failed: {', '.join(musts)}")
        if threshold is not None and score < threshold:
            return CaseScore(score, False, f"score {score:.3f} < threshold {threshold:g}")
        if threshold is None and any(not c.passes(v.outcome) for c, v in results):
            return CaseScore(score, False, "a criterion failed")
        return CaseScore(score, True)


class StrictAggregator(Aggregator):
    """Every criterion must pass; the score is the share that pass."""

    name = "strict"

    def aggregate(self, case: Case, results: Sequence[tuple[Criterion, Verdict]],
                  threshold: float | None) -> CaseScore:
        failed = [c.id for c, v in results if not c.passes(v.outcome)]
        score = 1 - len(failed) / len(results) if results else 1.0
        return CaseScore(score, not failed, f"failed: {', '.join(failed)}" if failed else "")


@hookimpl
def register_aggregators(register: Register) -> None:
    register("points", PointsAggregator)
    register("strict", StrictAggregator)
