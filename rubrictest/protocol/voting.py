"""Judge panels and voting rules: several judges answer a criterion, and a rule decides.

A suite's ``judge:`` (at suite, case or criterion level) may name several judges::

    judge: [openai:gpt-4.1, anthropic:claude-sonnet-4-5, vllm:Qwen/Qwen3-32B]   # majority vote
    judge:
      panel: [openai:gpt-4.1, anthropic:claude-sonnet-4-5, vllm:Qwen/Qwen3-32B]
      vote: weighted       # majority (default), unanimous, any, weighted, confidence, self_consistency
      weights: [2, 1, 1]   # static weights, one per member
      quorum: 2            # members that must give a verdict (default: a majority; every one for unanimous)
      meta: openai:o4-mini # meta-judge-guided voting (DeepSeek-GRM) ...
      top_k: 3             # ... only the 3 samples it scores best vote (or meta_threshold: 0.5)

For each criterion the engine asks every member (each through the one call path: cached,
budgeted, recorded in ``judge_calls``; batched per member as a single judge is), then:

1. a member whose answer is an ERROR does not vote; when fewer members than the quorum are
   left, the panel's verdict is ERROR with every member's reason -- never a silent pass;
2. with a ``meta`` judge, every sampled critique of every remaining member is shown to the
   meta judge, which scores its quality; only the ``top_k`` best (or those scored at least
   ``meta_threshold``) become ballots, each carrying its member's weight;
3. the voting rule (:class:`VotingRule`) decides from the ballots. A tie is an ERROR.

Voting rules are plugins: a plugin registers more through the ``register_voting_rules``
hook, and ``vote:`` names them. A rule is not an :class:`~rubrictest.Aggregator`: an
aggregator turns a case's criteria into a score, a rule turns one criterion's ballots into
one verdict -- different inputs, so a hook of its own.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .records import ComponentSpec, Criterion, Outcome, Verdict, canonical_json


class PanelSpec(BaseModel):
    """A judge panel: its members and how their verdicts are combined.

    Written as a list of judge specs (majority vote) or as a mapping with ``panel:``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    panel: tuple[ComponentSpec, ...] = Field(
        min_length=1, description="The member judges ('plugin:model' or mappings); each judges every criterion."
    )
    vote: str = Field(
        "majority",
        description=("Voting rule: majority, unanimous, any, weighted, confidence, self_consistency, or a plugin's."),
    )
    quorum: int | float | None = Field(
        None,
        description=(
            "Members that must give a verdict, as a count (2) or a share (0.75); default a majority of the "
            "members (all of them for unanimous). Fewer: the panel's verdict is ERROR."
        ),
    )
    weights: tuple[float, ...] | None = Field(
        None,
        description=(
            "Static weight of each member, in member order (weighted, confidence and self_consistency use them)."
        ),
    )
    name: str | None = Field(None, description="Label of the panel in reports.")
    meta: ComponentSpec | None = Field(
        None,
        description=("Meta judge: scores each sampled critique; only the best-scored samples vote (DeepSeek-GRM)."),
    )
    top_k: int | None = Field(
        None,
        ge=1,
        description=("With meta: how many of the best-scored samples vote (default: half of them, rounded up)."),
    )
    meta_threshold: float | None = Field(
        None, ge=0, le=1, description=("With meta: samples whose meta score is at least this vote (instead of top_k).")
    )

    @model_validator(mode="before")
    @classmethod
    def _from_list(cls, value: Any) -> Any:
        return {"panel": value} if isinstance(value, list | tuple) else value

    @model_validator(mode="after")
    def _consistent(self) -> PanelSpec:
        labels = [m.label for m in self.panel]
        twice = sorted({lb for lb in labels if labels.count(lb) > 1})
        if twice:
            raise ValueError(
                f"panel members must have distinct labels; {', '.join(twice)} appears twice (give each a `name`)"
            )
        n = len(self.panel)
        if self.weights is not None:
            if len(self.weights) != n:
                raise ValueError(f"`weights` has {len(self.weights)} entries for {n} panel members")
            if any(not w > 0 for w in self.weights):
                raise ValueError("`weights` must all be positive")
        if isinstance(self.quorum, bool) or (isinstance(self.quorum, int) and not 1 <= self.quorum <= n):
            raise ValueError(f"`quorum` as a count must be between 1 and the {n} members")
        if isinstance(self.quorum, float) and not 0 < self.quorum <= 1:
            raise ValueError("`quorum` as a share must be in (0, 1]")
        if self.meta is None and (self.top_k is not None or self.meta_threshold is not None):
            raise ValueError(
                "`top_k` and `meta_threshold` select samples by a `meta` judge's scores; this panel has no `meta`"
            )
        if self.top_k is not None and self.meta_threshold is not None:
            raise ValueError("give `top_k` or `meta_threshold`, not both")
        return self

    @property
    def label(self) -> str:
        """The panel's name in reports: ``name``, else the rule and the members."""
        if self.name:
            return self.name
        meta = f" meta={self.meta.label}" if self.meta is not None else ""
        return f"{self.vote}({', '.join(m.label for m in self.panel)}{meta})"

    @property
    def judges(self) -> tuple[ComponentSpec, ...]:
        """Every judge the panel calls: its members, then its meta judge."""
        return self.panel + ((self.meta,) if self.meta is not None else ())

    def weight(self, index: int) -> float:
        """The static weight of member ``index`` (1 when no weights are given)."""
        return self.weights[index] if self.weights is not None else 1.0

    def required(self, default: Literal["majority", "all"]) -> int:
        """How many members must give a verdict (``default``: the rule's default quorum)."""
        n = len(self.panel)
        if isinstance(self.quorum, int):
            return self.quorum
        if isinstance(self.quorum, float):
            return max(1, math.ceil(self.quorum * n - 1e-9))
        return n if default == "all" else n // 2 + 1

    def key(self) -> str:
        """Identity of the panel (criteria sharing a panel are asked together)."""
        return self._key

    @cached_property
    def _key(self) -> str:
        # computed once per panel: the engine asks for it for every criterion
        return canonical_json(self.model_dump(mode="json"))


@dataclass(frozen=True)
class Ballot:
    """One vote on one criterion.

    Attributes:
        member: the member's label (``label#n`` for its n-th sample under meta voting).
        verdict: what it says (never an error: members that failed do not vote).
        weight: the member's static weight (``weights:``, default 1).
        agreement: the share of the member's own samples that agree with its outcome
            (1 for a single sample); ``self_consistency`` weighs votes by it.
        meta_score: the meta judge's score of this sample, under meta voting.
    """

    member: str
    verdict: Verdict
    weight: float = 1.0
    agreement: float = 1.0
    meta_score: float | None = None


class VotingRule(abc.ABC):
    """Decides a panel's verdict on one criterion from its ballots.

    Register a subclass through the ``register_voting_rules`` hook; ``vote:`` in a suite names
    it. The engine calls :meth:`decide` only with ballots that count (no errors, at least one,
    the quorum met).

    Class attributes:
        name: the registered name.
        default_quorum: ``majority`` (more than half the members must answer) or ``all``.
    """

    name: ClassVar[str] = ""
    default_quorum: ClassVar[Literal["majority", "all"]] = "majority"

    @abc.abstractmethod
    def decide(self, criterion: Criterion, ballots: Sequence[Ballot]) -> Verdict:
        """The panel's verdict: ``met`` / ``not_met`` with a confidence, or an error verdict
        (a tie, no weight) whose ``error`` says why. :func:`tally` and :func:`settle` do the
        usual work."""


def passing_outcome(criterion: Criterion) -> Outcome:
    """The outcome with which ``criterion`` passes: ``met``, or ``not_met`` for a deduction."""
    return "not_met" if criterion.is_deduction else "met"


def self_agreement(verdict: Verdict) -> float:
    """The share of a verdict's samples that agree with its outcome (1 for a single answer)."""
    votes = verdict.votes if verdict.samples is None else [s.outcome for s in verdict.samples]
    if not votes:
        return 1.0
    return sum(1 for v in votes if v == verdict.outcome) / len(votes)


def tally(criterion: Criterion, ballots: Sequence[Ballot], weights: Sequence[float], rule: str) -> Verdict:
    """Weighted vote: the outcome with more weight wins; equal weight is an ERROR (a tie)."""
    for_met = sum(w for b, w in zip(ballots, weights, strict=True) if b.verdict.outcome == "met")
    for_not = sum(w for b, w in zip(ballots, weights, strict=True) if b.verdict.outcome == "not_met")
    if for_met + for_not <= 0:
        return _failed(criterion, ballots, f"panel {rule}: the ballots carry no weight")
    if math.isclose(for_met, for_not, rel_tol=1e-9, abs_tol=1e-12):
        return _failed(criterion, ballots, f"panel {rule}: tie, {_split(ballots)} ({for_met:.3g} to {for_not:.3g})")
    return settle(criterion, ballots, weights, "met" if for_met > for_not else "not_met", rule)


def settle(
    criterion: Criterion, ballots: Sequence[Ballot], weights: Sequence[float], outcome: Outcome, rule: str
) -> Verdict:
    """The panel's verdict once ``outcome`` is decided: confidence is the share of weight
    behind it; evidence and rationale come from the heaviest agreeing ballot whose quote was
    found (the rationale says who voted which way)."""
    total = sum(weights)
    behind = sum(w for b, w in zip(ballots, weights, strict=True) if b.verdict.outcome == outcome)
    agreeing = [
        (w, i, b) for i, (b, w) in enumerate(zip(ballots, weights, strict=True)) if b.verdict.outcome == outcome
    ]
    if agreeing:
        # heaviest first, found quotes before unfound ones, then member order
        best = min(agreeing, key=lambda t: (t[2].verdict.evidence_supported is False, -t[0], t[1]))[2]
        evidence, supported, why = best.verdict.evidence, best.verdict.evidence_supported, best.verdict.rationale
        source = best.member
    else:  # unanimous / any decided against every ballot cannot happen, but stay total
        evidence, supported, why, source = None, None, None, ""
    rationale = f"panel {rule}: {outcome} ({_split(ballots)})"
    if why:
        rationale += f"; {source}: {why}"
    return Verdict(
        criterion_id=criterion.id,
        outcome=outcome,
        confidence=min(1.0, max(0.0, behind / total)) if total > 0 else None,
        evidence=evidence,
        evidence_supported=supported,
        rationale=rationale,
        votes=[b.verdict.outcome for b in ballots],
    )


def _split(ballots: Sequence[Ballot]) -> str:
    met = [b.member for b in ballots if b.verdict.outcome == "met"]
    not_met = [b.member for b in ballots if b.verdict.outcome == "not_met"]
    return f"met: {', '.join(met) or 'none'}; not met: {', '.join(not_met) or 'none'}"


def _failed(criterion: Criterion, ballots: Sequence[Ballot], reason: str) -> Verdict:
    verdict = Verdict.failed(criterion.id, reason)
    verdict.votes = [b.verdict.outcome for b in ballots]
    return verdict


__all__ = ["Ballot", "PanelSpec", "VotingRule", "passing_outcome", "self_agreement", "settle", "tally"]
