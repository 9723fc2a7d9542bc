"""``--rubric-resume``: hand a case run the verdicts its resumed run already stored.

The engine delivers them as they are (their status, judge and cache flag, no call, not
stored again) and judges only the criteria without one; a case run whose case row was
stored too is scored again from its stored verdicts and makes no call at all.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..engine import VerdictInfo
from ..protocol import Verdict

if TYPE_CHECKING:
    from ..engine.pipeline import Unit


def reuse(
    unit: Unit,
    verdicts: dict[Any, dict[str, dict[str, Any]]],
    cases: dict[Any, dict[str, Any]],
    sentinels: dict[Any, dict[str, Any]],
) -> None:
    """Give ``unit`` the stored verdicts (and case row, and sentinel verdict) of its case run."""
    key = (unit.suite.name, unit.run.case.id, unit.target)
    rows = verdicts.get(key, {})
    for crit in unit.run.case.criteria:
        row = rows.get(crit.id)
        if row is None or row.get("criterion_hash") != crit.hash:
            continue
        verdict = Verdict(
            criterion_id=crit.id,
            outcome=row["outcome"],
            confidence=row.get("confidence"),
            evidence=row.get("evidence"),
            evidence_supported=None if row.get("evidence_supported") is None else bool(row["evidence_supported"]),
            rationale=row.get("rationale"),
            error=row.get("error"),
            score=row.get("score"),
            votes=row.get("votes"),
            level=row.get("level"),
        )
        unit.prior[crit.id] = VerdictInfo(crit, verdict, row["status"], row.get("judge") or "", bool(row.get("cached")))
    if len(unit.prior) == len(unit.run.case.criteria):
        unit.prior_case = cases.get(key)
        row = sentinels.get(key)
        if row is not None:
            from ..protocol.sentinel import SENTINEL_ID, SentinelOutcome

            verdict = Verdict(
                criterion_id=SENTINEL_ID,
                outcome=row["outcome"],
                confidence=row.get("confidence"),
                evidence=row.get("evidence"),
                rationale=row.get("rationale"),
                error=row.get("error"),
            )
            unit.prior_sentinel = SentinelOutcome(
                row.get("judge") or "", verdict, row.get("score"), bool(row.get("cached"))
            )
