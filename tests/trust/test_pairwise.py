"""Pairwise judging in both orders, with the scripted judge."""

from __future__ import annotations

import asyncio

from rubrictest import ComponentSpec, Criterion
from rubrictest.calibration.judging import JudgePool
from rubrictest.pairwise import Pair, judge_pairs, pair_criterion, positional_agreement, render_pair
from rubrictest.protocol import Case

CASE = Case(suite="s", id="c", input="Where is my refund?")
CRIT = Criterion(id="refund", text="Mentions 'refund'.")


def _judge(pairs: list[Pair]) -> list[str]:
    return [v.winner for v in asyncio.run(judge_pairs(JudgePool(), pairs))]


def test_fair_judge_agrees_in_both_orders(scripted_judge: None) -> None:
    fair = ComponentSpec(plugin="scripted")
    pairs = [
        Pair(CASE, CRIT, "Your refund is sent.", "It is sent.", fair),
        Pair(CASE, CRIT, "It is sent.", "Your refund is sent.", fair),
    ]
    verdicts = asyncio.run(judge_pairs(JudgePool(), pairs))
    assert [v.winner for v in verdicts] == ["a", "b"]
    assert positional_agreement(verdicts) == 1.0


def test_order_dependent_verdict_is_a_tie(scripted_judge: None) -> None:
    biased = ComponentSpec(plugin="scripted", options={"first_wins": True})
    verdicts = asyncio.run(
        judge_pairs(JudgePool(), [Pair(CASE, CRIT, "Your refund is sent.", "No.", biased)])
    )
    assert verdicts[0].winner == "tie" and verdicts[0].first_shown_won is True
    assert positional_agreement(verdicts) == 0.0


def test_prompt_shape() -> None:
    assert pair_criterion(None).id == "holistic"
    assert (
        pair_criterion(CRIT).text
        == "Response 1 meets this criterion better than Response 2: Mentions 'refund'."
    )
    assert render_pair("x", "y").index("x") < render_pair("x", "y").index("y")
    assert positional_agreement([]) is None
