"""What the engine learns about a case run: verdicts with their report status, the case
outcome and score, and usage totals per component."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from ..protocol import CaseScore, Criterion, Usage, Verdict
from ..protocol.tree import NodeScore
from ..suite import CaseRun

if TYPE_CHECKING:
    from ..protocol.sentinel import SentinelOutcome
    from .panel import MemberVerdict
    from .repeats import RepeatSummary

CacheMode = Literal["use", "refresh", "off"]
Status = Literal["PASS", "FAIL", "MISSED", "ERROR"]


def criterion_status(criterion: Criterion, verdict: Verdict, scored: bool) -> Status:
    """The report status of a verdict: a miss in scored mode is MISSED, not FAIL."""
    passed = criterion.passes(verdict.outcome)
    if passed is None:
        return "ERROR"
    if passed:
        return "PASS"
    return "MISSED" if scored and not criterion.must else "FAIL"


@dataclass(slots=True)  # one per criterion of a run: no __dict__ each
class VerdictInfo:
    """A verdict with what the report needs around it (``members``: each panel member's
    verdict, when a judge panel decided it; ``repeats``: every repeat's verdict, with the flip
    rate, under ``--rubric-repeat``)."""

    criterion: Criterion
    verdict: Verdict
    status: Status
    judge: str
    cached: bool = False
    members: list[MemberVerdict] | None = None
    repeats: RepeatSummary | None = None


@dataclass
class CaseOutcome:
    """Everything the engine learnt about one case run."""

    run: CaseRun
    response: str | None = None
    target_error: str | None = None
    verdicts: dict[str, VerdictInfo] = field(default_factory=dict)
    score: CaseScore | None = None
    error: str | None = None
    nodes: dict[str, NodeScore] = field(default_factory=dict)
    sentinel: SentinelOutcome | None = None

    @property
    def passed(self) -> bool | None:
        """Whether the case passed; ``None`` when it could not be decided (ERROR)."""
        if self.error is not None or self.score is None:
            return None
        return self.score.passed


@dataclass
class Totals:
    """Usage accumulated over a run by one component."""

    usage: Usage = field(default_factory=Usage)
    calls: int = 0
    cache_hits: int = 0
