"""Pairwise judging: which of two responses better meets a criterion, asked in both orders.

Any :class:`~rubrictest.Judge` can compare two responses: the pair is shown as one delimited
response and the criterion becomes "Response 1 meets this better than Response 2: ...".
Every pair is judged twice, once in each order. When the two orders disagree the verdict
depends on position rather than on the responses, so it becomes a tie; the share of pairs
whose two orders agree is the positional agreement. This is also how a release is compared
with the previous model: its responses against the previous ones, criterion by criterion.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..protocol import Case, ComponentSpec, Criterion
from .judging import JudgePool, Question

Side = Literal["a", "b"]
Winner = Literal["a", "b", "tie"]

PAIR_TEMPLATE = "[Response 1]\n{first}\n[End of Response 1]\n\n[Response 2]\n{second}\n[End of Response 2]"
HOLISTIC = "Response 1 is the better answer to the input overall."


def pair_criterion(criterion: Criterion | None) -> Criterion:
    """The question asked of the judge about a pair, for ``criterion`` (``None``: holistic)."""
    if criterion is None:
        return Criterion(id="holistic", text=HOLISTIC)
    text = criterion.text or criterion.description
    return Criterion(
        id=criterion.id,
        text=f"Response 1 meets this criterion better than Response 2: {text}",
        tags=criterion.tags,
        judge=criterion.judge,
    )


def render_pair(first: str, second: str) -> str:
    """The two responses as one delimited text, ``first`` shown as Response 1."""
    return PAIR_TEMPLATE.format(first=first, second=second)


@dataclass(frozen=True)
class Pair:
    """Two responses to one case, to compare on one criterion (``None``: holistic)."""

    case: Case
    criterion: Criterion | None
    a: str
    b: str
    judge: ComponentSpec
    base_dir: Path = Path(".")


@dataclass(frozen=True)
class PairVerdict:
    """A pair judged in both orders.

    Attributes:
        original: the winner with ``a`` shown first (``None``: the judge failed).
        swapped: the winner with ``b`` shown first, named as ``a``/``b``.
        winner: the agreed winner, or ``tie`` when the orders disagree or one failed.
    """

    pair: Pair
    original: Side | None
    swapped: Side | None

    @property
    def winner(self) -> Winner:
        if self.original is not None and self.original == self.swapped:
            return self.original
        return "tie"

    @property
    def consistent(self) -> bool | None:
        """Whether both orders agree; ``None`` when either failed."""
        if self.original is None or self.swapped is None:
            return None
        return self.original == self.swapped

    @property
    def first_shown_won(self) -> bool | None:
        """For an order-dependent verdict: whether the first-shown response won both times."""
        if self.consistent is not False:
            return None
        return self.original == "a"


async def judge_pairs(pool: JudgePool, pairs: Sequence[Pair]) -> list[PairVerdict]:
    """Judge every pair in both orders (all calls concurrently)."""
    questions: list[Question] = []
    for p in pairs:
        crit = pair_criterion(p.criterion)
        questions.append(Question(p.judge, p.case, crit, render_pair(p.a, p.b), base_dir=p.base_dir))
        questions.append(Question(p.judge, p.case, crit, render_pair(p.b, p.a), base_dir=p.base_dir))
    outcomes = await pool.ask_all(questions)
    out: list[PairVerdict] = []
    for i, p in enumerate(pairs):
        first, second = outcomes[2 * i], outcomes[2 * i + 1]
        original: Side | None = None if first is None else ("a" if first else "b")
        swapped: Side | None = None if second is None else ("b" if second else "a")
        out.append(PairVerdict(p, original, swapped))
    return out


def positional_agreement(verdicts: Sequence[PairVerdict]) -> float | None:
    """Share of pairs (both orders answered) whose two orders agree; ``None`` if none."""
    answered = [v for v in verdicts if v.consistent is not None]
    return sum(bool(v.consistent) for v in answered) / len(answered) if answered else None
