"""Repeated judging (``--rubric-repeat K``): every criterion judged K times, the majority decides.

A judge sampled at temperature > 0, or a model whose serving is not deterministic, can answer
the same question differently on two runs: a criterion that passes today and fails tomorrow on
the same response says more about the judge than about the model. With K repeats every
judge call is made K times as distinct samples -- the repeat index is part of the cache key
(:data:`REPEAT`), so repeat 2 is never answered from repeat 1's cache entry, and a re-run with
the same K is answered entirely from the cache -- each repeat's verdict is stored
(``repeat_verdicts``), and the criterion's verdict is the majority:

* the majority outcome must hold a strict majority of **all** K repeats; a tie, or too many
  repeats that could not answer (ERROR), is ERROR with the tally as its reason, never a pass;
* the **flip rate** is the share of the answered repeats that disagree with the majority
  (0 when all agree; 0.5 for a tie); a criterion is **unstable** when it is at least the
  run's threshold (``--rubric-unstable-at``, default 0.2).
"""

from __future__ import annotations

import contextvars
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from ..protocol import Criterion, Verdict

#: The repeat being judged in the current task (0 without repeats). The engine sets it around
#: each repeat's judge calls; :class:`~.calls.ModelCalls` puts it in the cache key (when > 0).
REPEAT: contextvars.ContextVar[int] = contextvars.ContextVar("rubrictest_repeat", default=0)

DEFAULT_UNSTABLE_AT = 0.2


@dataclass
class RepeatAnswer:
    """One repeat's verdict on one criterion, with where it came from."""

    index: int
    verdict: Verdict
    judge: str
    cached: bool
    call_id: int | None


@dataclass
class RepeatSummary:
    """The K repeats of one criterion, decided.

    Attributes:
        verdict: the majority verdict (an ERROR verdict on a tie or too few answers).
        answers: every repeat's answer, in repeat order.
        flip_rate: share of the answered repeats that disagree with the majority (``None``
            when none answered).
        unstable: ``flip_rate`` is at least the threshold.
    """

    verdict: Verdict
    answers: list[RepeatAnswer]
    flip_rate: float | None
    unstable: bool

    @property
    def cached(self) -> bool:
        """Every repeat was answered from the cache."""
        return all(a.cached for a in self.answers)

    @property
    def call_id(self) -> int | None:
        """The ``judge_calls`` row of the first repeat that gave the majority verdict."""
        return next((a.call_id for a in self.answers if a.verdict.outcome == self.verdict.outcome), None)


def decide_repeats(criterion: Criterion, answers: Sequence[RepeatAnswer], unstable_at: float) -> RepeatSummary:
    """The majority of ``answers`` (all repeats of ``criterion``), its flip rate and stability."""
    k = len(answers)
    answered = [a for a in answers if a.verdict.outcome != "error"]
    met = sum(a.verdict.outcome == "met" for a in answered)
    not_met = len(answered) - met
    errors = k - len(answered)
    tally = f"{met} met, {not_met} not met" + (f", {errors} ERROR" if errors else "") + f" of {k} repeats"
    flip_rate = min(met, not_met) / len(answered) if answered else None
    unstable = flip_rate is not None and flip_rate >= unstable_at
    flip_text = f"flip rate {flip_rate:.2f}" if flip_rate is not None else "no answer"
    if not answered:
        reasons = "; ".join(dict.fromkeys(a.verdict.error or "error" for a in answers))
        return RepeatSummary(
            Verdict.failed(criterion.id, f"every one of the {k} repeats failed: {reasons}"), list(answers), None, False
        )
    majority = "met" if met > not_met else "not_met"
    if max(met, not_met) * 2 <= k:
        why = "the repeats tied" if met == not_met else "no outcome holds a majority of the repeats"
        verdict = Verdict.failed(
            criterion.id, f"{why}: {tally} ({flip_text}); the judge cannot decide this criterion reliably"
        )
        verdict.votes = [a.verdict.outcome for a in answers]
        return RepeatSummary(verdict, list(answers), flip_rate, unstable)
    first = next(a.verdict for a in answered if a.verdict.outcome == majority)
    note = f"majority of {tally} ({flip_text}{', UNSTABLE' if unstable else ''})"
    verdict = dataclasses.replace(
        first,
        rationale=f"{note}. {first.rationale}" if first.rationale else note,
        votes=[a.verdict.outcome for a in answers],
    )
    return RepeatSummary(verdict, list(answers), flip_rate, unstable)
