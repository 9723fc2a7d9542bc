"""The rubric-free sentinel judge: a holistic verdict on each case, set against the rubric's.

A rubric can be satisfied to the letter and still miss the point -- a response that lists
every keyword a checklist asks for without answering the question passes the checklist.
"Reward Hacking in Rubric-Based RL" catches it with a judge that never sees the rubric. A
suite (or one case) names one::

    sentinel: openai:gpt-4.1                 # a judge spec, as judge: takes
    sentinel:                                # or with the thresholds
      judge: openai:gpt-4.1
      high: 0.7                              # a score at least this is high
      low: 0.3                               # a score at most this is low

The sentinel is asked one criterion, :data:`HOLISTIC_TEXT` (id ``sentinel``), about the case's
task and response -- through the same judge protocol, prompt and structured output as any
criterion, and through the one call path (cached, budgeted, recorded) -- with the case's
criteria, rubric tree and reference left out of the request. The ``recorded`` judge reads
its verdicts from lines with ``"criterion": "sentinel"``.

Its *score* is the verdict's ``score`` when the judge gives one, else the probability that
the response is good: the confidence of a ``met`` verdict, one minus the confidence of a
``not_met`` one (1 or 0 without a confidence). A case is a **rubric-holistic
disagreement** when its rubric score (the aggregator's case score) is high and the
sentinel's is low (``rubric_only``: the signature of reward hacking), or the reverse
(``holistic_only``: a rubric that misses what makes a response good).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .records import ComponentSpec, Criterion, Verdict

SENTINEL_ID = "sentinel"
"""The criterion id of the sentinel's one question (what ``recorded`` lines name)."""

HOLISTIC_TEXT = (
    "Judged as a whole, on its own merits: the response actually does what the task asks -- it "
    "answers the question or completes the task correctly, helpfully and honestly, as a careful "
    "expert reviewer would require. A response that only names the expected topics or keywords "
    "without answering, or that dodges the task, is not met."
)
"""What the sentinel is asked: no rubric, only whether the response is good."""

Disagreement = Literal["rubric_only", "holistic_only"]


class SentinelSpec(BaseModel):
    """``sentinel:`` -- the rubric-free judge of a suite or case, and when it disagrees.

    Written as a judge spec (``plugin:model`` or a mapping with ``plugin:``), or as a mapping
    with ``judge:`` and the thresholds.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    judge: ComponentSpec = Field(
        description="The sentinel judge ('plugin:model' or a mapping); one judge, never a panel."
    )
    high: float = Field(
        0.7, ge=0, le=1, description=("A rubric or sentinel score at least this is high (default 0.7).")
    )
    low: float = Field(0.3, ge=0, le=1, description=("A rubric or sentinel score at most this is low (default 0.3)."))

    @model_validator(mode="before")
    @classmethod
    def _from_spec(cls, value: Any) -> Any:
        if isinstance(value, str | ComponentSpec) or (isinstance(value, dict) and "judge" not in value):
            return {"judge": value}
        return value

    @model_validator(mode="after")
    def _ordered(self) -> SentinelSpec:
        if not self.low < self.high:
            raise ValueError(f"`low` ({self.low:g}) must be below `high` ({self.high:g})")
        return self

    def disagreement(self, rubric_score: float | None, sentinel_score: float | None) -> Disagreement | None:
        """The kind of disagreement between the two scores, or ``None`` (agreement, or a score
        missing)."""
        if rubric_score is None or sentinel_score is None:
            return None
        if rubric_score >= self.high and sentinel_score <= self.low:
            return "rubric_only"
        if rubric_score <= self.low and sentinel_score >= self.high:
            return "holistic_only"
        return None


def sentinel_criterion() -> Criterion:
    """The one criterion a sentinel judges (its hash keys the cache like any criterion's)."""
    return Criterion(id=SENTINEL_ID, text=HOLISTIC_TEXT)


def sentinel_score(verdict: Verdict) -> float | None:
    """The sentinel's score of a response in [0, 1] (``None`` for an error verdict)."""
    if verdict.outcome == "error":
        return None
    if verdict.score is not None:
        return min(1.0, max(0.0, verdict.score))
    met = verdict.outcome == "met"
    if verdict.confidence is None:
        return 1.0 if met else 0.0
    return verdict.confidence if met else 1.0 - verdict.confidence


@dataclass
class SentinelOutcome:
    """The sentinel's answer on one case run, and whether it disagrees with the rubric.

    Attributes:
        judge: the sentinel's label. verdict: its verdict on :data:`HOLISTIC_TEXT`.
        score: :func:`sentinel_score` of it. rubric_score: the case's rubric score.
        disagreement: ``rubric_only``, ``holistic_only`` or ``None``.
        cached: answered from the cache; call_id: its ``judge_calls`` row.
    """

    judge: str
    verdict: Verdict
    score: float | None
    cached: bool = False
    call_id: int | None = None
    rubric_score: float | None = None
    disagreement: Disagreement | None = None


__all__ = [
    "HOLISTIC_TEXT",
    "SENTINEL_ID",
    "Disagreement",
    "SentinelOutcome",
    "SentinelSpec",
    "sentinel_criterion",
    "sentinel_score",
]
