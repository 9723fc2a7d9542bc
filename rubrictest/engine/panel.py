"""Judge panels in the engine: every member asked, every answer kept, the rule decides.

:class:`PanelJudging` answers one request (a case, a response, the criteria that share a
panel) for :class:`~.pipeline.Engine`:

1. each member is asked through :class:`~.calls.ModelCalls` -- cached, budgeted, recorded,
   within its concurrency -- batched as it would be alone (all criteria in one request when it
   batches criteria), all members at once;
2. with a ``meta`` judge, every sampled critique of every member that answered becomes one
   criterion for the meta judge (``<criterion>#<member>.<sample>``, both 1-based), which is
   asked about the same case and response; a critique's *meta score* is the meta judge's
   probability that it is sound; the ``top_k`` best (default: half, rounded up) or those at
   least ``meta_threshold`` vote (:mod:`.meta`);
3. per criterion the quorum is checked and the voting rule decides
   (:mod:`rubrictest.protocol.voting`).

Every member's verdict is returned (:class:`MemberVerdict`), with its samples, their meta
scores and whether they counted, for the store and the reports.
"""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..protocol import Criterion, Judge, JudgeRequest, Verdict, VerdictSample
from ..protocol.voting import Ballot, PanelSpec, VotingRule, self_agreement
from .calls import ModelCalls
from .meta import MetaScores, score_samples, select


@dataclass
class MemberVerdict:
    """One member's answer on one criterion.

    Attributes:
        member: the member's label; index: its position in the panel (0-based).
        verdict: what it answered (an error verdict when it could not).
        weight: its static weight.
        cached: answered from the cache; call_id: the ``judge_calls`` row of the answer.
        counted: whether its vote (or, under meta voting, one of its samples) counted.
        samples: its sampled answers (one when it answered once), each with its meta score
            and whether it counted, under meta voting.
    """

    member: str
    index: int
    verdict: Verdict
    weight: float = 1.0
    cached: bool = False
    call_id: int | None = None
    counted: bool = False
    samples: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class PanelVerdict:
    """The panel's verdict on one criterion, with every member's."""

    verdict: Verdict
    members: list[MemberVerdict]

    @property
    def cached(self) -> bool:
        """Every member answered from the cache."""
        return bool(self.members) and all(m.cached for m in self.members)


def samples_of(verdict: Verdict) -> list[VerdictSample]:
    """A verdict's sampled answers (itself, when the judge answered once)."""
    if verdict.outcome == "error":
        return []
    return (
        list(verdict.samples)
        if verdict.samples
        else [
            VerdictSample(
                outcome=verdict.outcome,
                confidence=verdict.confidence,
                evidence=verdict.evidence,
                evidence_supported=verdict.evidence_supported,
                rationale=verdict.rationale,
            )
        ]
    )


class PanelJudging:
    """Asks panels for the engine (and for commands that judge with suites' criteria)."""

    def __init__(self, calls: ModelCalls) -> None:
        self.calls = calls
        self.pool = calls.pool

    async def judge(self, panel: PanelSpec, request: JudgeRequest, base_dir: Path) -> dict[str, PanelVerdict]:
        """The panel's verdict on every criterion of ``request``."""
        answers = await asyncio.gather(
            *(self._ask(panel, i, spec, request, base_dir) for i, spec in enumerate(panel.panel))
        )
        try:
            rule = self.pool.voting_rule(panel.vote)
        except ConfigError as exc:
            return {c.id: self._failed(c, [a[c.id] for a in answers], str(exc)) for c in request.criteria}
        scores: MetaScores | None = None
        if panel.meta is not None:
            scores = await score_samples(self.calls, panel.meta, request, answers, base_dir)
        return {c.id: self._decide(panel, rule, c, [a[c.id] for a in answers], scores) for c in request.criteria}

    async def _ask(
        self, panel: PanelSpec, index: int, spec: Any, request: JudgeRequest, base_dir: Path
    ) -> dict[str, MemberVerdict]:
        label, weight = spec.label, panel.weight(index)
        try:
            judge = self.pool.component("judges", spec, base_dir)
            assert isinstance(judge, Judge)
        except ConfigError as exc:
            return {c.id: MemberVerdict(label, index, Verdict.failed(c.id, str(exc)), weight) for c in request.criteria}
        batches = [request.criteria] if judge.batch_criteria else tuple((c,) for c in request.criteria)
        judged = await asyncio.gather(
            *(self.calls.judge(judge, dataclasses.replace(request, criteria=tuple(b))) for b in batches)
        )
        out: dict[str, MemberVerdict] = {}
        for batch, result in zip(batches, judged, strict=True):
            for crit in batch:
                out[crit.id] = MemberVerdict(
                    label, index, result.verdicts[crit.id], weight, result.cached, result.call_id
                )
        return out

    def _decide(
        self,
        panel: PanelSpec,
        rule: VotingRule,
        crit: Criterion,
        members: list[MemberVerdict],
        scores: MetaScores | None,
    ) -> PanelVerdict:
        answered = [m for m in members if m.verdict.outcome != "error"]
        for m in members:
            m.samples = [dataclasses.asdict(s) for s in samples_of(m.verdict)]
        required = panel.required(rule.default_quorum)
        if len(answered) < required:
            reasons = "; ".join(f"{m.member}: {m.verdict.error}" for m in members if m.verdict.outcome == "error")
            return self._failed(
                crit,
                members,
                f"only {len(answered)} of {len(members)} panel members gave a verdict (quorum {required}): {reasons}",
            )
        if scores is None:
            ballots = [Ballot(m.member, m.verdict, m.weight, self_agreement(m.verdict)) for m in answered]
            counted = {m.index for m in answered}
        else:
            chosen = select(panel, crit, answered, scores)
            if isinstance(chosen, str):
                return self._failed(crit, members, chosen)
            ballots, counted = chosen
        try:
            verdict = rule.decide(crit, ballots)
        except Exception as exc:  # a plugin rule's bug is an ERROR with its reason, not a crash
            verdict = Verdict.failed(crit.id, f"voting rule {panel.vote!r} failed: {type(exc).__name__}: {exc}")
        for m in members:
            m.counted = m.index in counted
        verdict.votes = [m.verdict.outcome for m in members]
        return PanelVerdict(verdict, members)

    @staticmethod
    def _failed(crit: Criterion, members: list[MemberVerdict], reason: str) -> PanelVerdict:
        verdict = Verdict.failed(crit.id, reason)
        verdict.votes = [m.verdict.outcome for m in members]
        return PanelVerdict(verdict, members)
