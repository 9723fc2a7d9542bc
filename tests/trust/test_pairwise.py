"""Pairwise judging in both orders, with the scripted judge."""

from __future__ import annotations

import asyncio

from rubrictest import ComponentSpec, Criterion
from rubrictest.protocol import Case
from rubrictest.trust.judging import JudgePool
from rubrictest.trust.pairwise import Pair, judge_pairs, pair_criterion, positional_agreement, render_pair

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
    verdicts = asyncio.run(judge_pairs(JudgePool(), [Pair(CASE, CRIT, "Your refund is sent.", "No.", biased)]))
    assert verdicts[0].winner == "tie" and verdicts[0].first_shown_won is True
    assert positional_agreement(verdicts) == 0.0


def test_prompt_shape() -> None:
    assert pair_criterion(None).id == "holistic"
    assert pair_criterion(CRIT).text == "Response 1 meets this criterion better than Response 2: Mentions 'refund'."
    assert render_pair("x", "y").index("x") < render_pair("x", "y").index("y")
    assert positional_agreement([]) is None


def _release_suite(tmp_path):  # type: ignore[no-untyped-def]
    (tmp_path / "v1.jsonl").write_text(
        '{"id": "refund", "output": "It is on its way."}\n'
        '{"id": "shipping", "output": "Express shipping takes a day."}\n'
        '{"id": "delay", "output": "Sorry about the delay."}\n'
    )
    (tmp_path / "v2.jsonl").write_text(
        '{"id": "refund", "output": "Your refund is on its way."}\n'
        '{"id": "shipping", "output": "Shipping takes a few days."}\n'
        '{"id": "delay", "output": "Sorry: we apologise for the delay."}\n'
    )
    suite = tmp_path / "test_rel.rubric.yaml"
    suite.write_text(
        "judge: scripted\n"
        "target: jsonl:v2.jsonl\n"
        "cases:\n"
        "  - {id: refund, input: Where is my refund?, criteria: [\"Mentions 'refund'.\", "
        "{id: n, check: contains, with: {value: a}}]}\n"
        "  - {id: shipping, input: How fast?, criteria: [\"Mentions 'express'.\"]}\n"
        "  - {id: delay, input: Late again!, criteria: [\"Mentions 'sorry'.\"]}\n"
    )
    return suite


def test_pairwise_command_counts_wins_losses_and_ties(scripted_judge: None, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    from click.testing import CliRunner

    from rubrictest.cli.commands.pairwise import command

    suite = _release_suite(tmp_path)
    result = CliRunner().invoke(
        command, [str(suite), "--baseline", "jsonl:v1.jsonl", "--candidate", "jsonl:v2.jsonl", "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    # refund: only v2 says 'refund' (candidate wins); shipping: only v1 says 'express' (baseline
    # wins); delay: both say 'sorry' (the fair judge prefers neither: each order answers
    # "not better", so the orders disagree and it is a tie). The check criterion is not compared.
    assert report["overall"] == {
        "pairs": 3,
        "candidate_wins": 1,
        "baseline_wins": 1,
        "ties": 1,
        "candidate_win_rate": 0.5,
        "positional_agreement": 2 / 3,
        "answered": 3,
        "order_flips": 1,
        "first_shown_won": 0,
        "inconsistency": 1 / 3,
    }
    assert report["regressions"] == [{"case": "shipping", "criterion": "mentions-express"}]
    gated = CliRunner().invoke(
        command, [str(suite), "--baseline", "jsonl:v1.jsonl", "--candidate", "jsonl:v2.jsonl", "--max-loss-rate", "0.2"]
    )
    assert gated.exit_code == 1
    assert "mentions-refund" in gated.output and "overall" in gated.output


def test_pairwise_command_names_a_bad_target(scripted_judge: None, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from click.testing import CliRunner

    from rubrictest.cli.commands.pairwise import command

    suite = _release_suite(tmp_path)
    result = CliRunner().invoke(command, [str(suite), "--baseline", "nosuch:x", "--candidate", "jsonl:v2.jsonl"])
    assert result.exit_code != 0
    assert "unknown target 'nosuch'" in result.output
