"""Voting rules of judge panels: ``majority``, ``unanimous``, ``any``, ``weighted``,
``confidence`` and ``self_consistency``.

Each rule decides a panel's verdict on one criterion from its members' ballots (see
:mod:`rubrictest.protocol.voting` for panels, quorum and meta-judge selection, which the engine does
before a rule is asked). In every weighted rule equal weight on both sides is a tie, and a
tie is an ERROR, never a pass.

* ``majority``: one member, one vote (static weights are ignored).
* ``unanimous``: the criterion passes only when every ballot says it passes (for a
  deduction, *not met*); one dissent fails it. Default quorum: every member.
* ``any``: the criterion passes when any ballot says it passes.
* ``weighted``: each vote counts its member's static ``weights`` entry.
* ``confidence``: each vote counts its member's confidence in it (a member that reports
  none counts 1), times its static weight -- confidence-weighted voting.
* ``self_consistency``: each vote counts the share of its member's own samples that agree
  with it, times its static weight (Wisdom of the Crowd, RLCCF: a member that contradicts
  itself counts less). With one sample per member it is ``weighted``.
"""

from __future__ import annotations

from collections.abc import Sequence

from rubrictest import (
    Ballot,
    Criterion,
    Outcome,
    Register,
    Verdict,
    VotingRule,
    hookimpl,
    passing_outcome,
    settle,
    tally,
)


class Majority(VotingRule):
    """One member, one vote; a tie is ERROR."""

    name = "majority"

    def decide(self, criterion: Criterion, ballots: Sequence[Ballot]) -> Verdict:
        return tally(criterion, ballots, [1.0] * len(ballots), self.name)


class Unanimous(VotingRule):
    """Passes only when every ballot says it passes."""

    name = "unanimous"
    default_quorum = "all"

    def decide(self, criterion: Criterion, ballots: Sequence[Ballot]) -> Verdict:
        passing = passing_outcome(criterion)
        failing: Outcome = "met" if passing == "not_met" else "not_met"
        outcome = passing if all(b.verdict.outcome == passing for b in ballots) else failing
        return settle(criterion, ballots, [1.0] * len(ballots), outcome, self.name)


class AnyPasses(VotingRule):
    """Passes when any ballot says it passes."""

    name = "any"

    def decide(self, criterion: Criterion, ballots: Sequence[Ballot]) -> Verdict:
        passing = passing_outcome(criterion)
        failing: Outcome = "met" if passing == "not_met" else "not_met"
        outcome = passing if any(b.verdict.outcome == passing for b in ballots) else failing
        return settle(criterion, ballots, [1.0] * len(ballots), outcome, self.name)


class Weighted(VotingRule):
    """Each vote counts its member's static weight."""

    name = "weighted"

    def decide(self, criterion: Criterion, ballots: Sequence[Ballot]) -> Verdict:
        return tally(criterion, ballots, [b.weight for b in ballots], self.name)


class ConfidenceWeighted(VotingRule):
    """Each vote counts its member's confidence in it (times its static weight)."""

    name = "confidence"

    def decide(self, criterion: Criterion, ballots: Sequence[Ballot]) -> Verdict:
        weights = [b.weight * (b.verdict.confidence if b.verdict.confidence is not None else 1.0) for b in ballots]
        return tally(criterion, ballots, weights, self.name)


class SelfConsistency(VotingRule):
    """Each vote counts its member's agreement across its own samples (times its static weight)."""

    name = "self_consistency"

    def decide(self, criterion: Criterion, ballots: Sequence[Ballot]) -> Verdict:
        return tally(criterion, ballots, [b.weight * b.agreement for b in ballots], self.name)


RULES: tuple[type[VotingRule], ...] = (Majority, Unanimous, AnyPasses, Weighted, ConfidenceWeighted, SelfConsistency)


@hookimpl
def register_voting_rules(register: Register) -> None:
    for rule in RULES:
        register(rule.name, rule)
