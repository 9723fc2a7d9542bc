"""``rubrictest pairwise``: a candidate model against a baseline, criterion by criterion."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path
from typing import Any

import click

from ...engine import ModelCalls
from ...errors import JudgeError, RubricTestError
from ...protocol import Case, ComponentSpec, Target
from ...suite import load_suite
from ...trust.judging import JudgePool
from ...trust.pairwise import Pair, PairVerdict, judge_pairs, positional_agreement
from ..options import InputError, NothingMeasured, calls_options, command_run, echo_summary, parse_spec, table


async def _responses(
    calls: ModelCalls, spec: ComponentSpec, cases: list[Case], base_dir: Path
) -> dict[str, str | JudgeError]:
    """Each case's response from the target ``spec``, or the error that stood in its way."""
    target = calls.pool.component("targets", spec, base_dir)
    assert isinstance(target, Target)
    target.check_ready()

    async def one(case: Case) -> str | JudgeError:
        try:
            return await calls.generate(target, case)
        except JudgeError as exc:
            return exc

    texts = await asyncio.gather(*(one(c) for c in cases))
    return {c.id: t for c, t in zip(cases, texts, strict=True)}


async def compare(
    calls: ModelCalls,
    suite_path: Path,
    baseline: ComponentSpec,
    candidate: ComponentSpec,
    judge: ComponentSpec | None,
    holistic: bool,
) -> tuple[list[PairVerdict], list[str]]:
    """Judge the candidate's response against the baseline's for every case (both orders)."""
    suite = load_suite(suite_path)
    base_dir = suite_path.parent
    cases = list({run.case.id: run.case for run in suite.runs}.values())
    a_texts = await _responses(calls, baseline, cases, base_dir)
    b_texts = await _responses(calls, candidate, cases, base_dir)
    skipped: list[str] = []
    pairs: list[Pair] = []
    for case in cases:
        a, b = a_texts[case.id], b_texts[case.id]
        if not isinstance(a, str) or not isinstance(b, str):
            side, error = ("baseline", a) if not isinstance(a, str) else ("candidate", b)
            skipped.append(f"{case.id}: {side} gave no response ({error})")
            continue
        if holistic:
            spec = judge or next((c.judge for c in case.criteria if c.check is None and c.judge), None)
            if spec is None:
                raise InputError("--holistic needs a judge: give --judge or a suite judge")
            pairs.append(Pair(case, None, a, b, spec, base_dir))
            continue
        for crit in case.criteria:
            if crit.check is not None:
                continue  # deterministic checks are compared by running the suite on each target
            spec = judge or crit.judge
            assert spec is not None
            pairs.append(Pair(case, crit, a, b, spec, base_dir))
    return await judge_pairs(JudgePool(calls), pairs), skipped


async def _compare_and_close(calls: ModelCalls, *args: Any) -> tuple[list[PairVerdict], list[str]]:
    try:
        return await compare(calls, *args)
    finally:
        await calls.pool.aclose()


def summarize(verdicts: list[PairVerdict]) -> dict[str, Any]:
    """Wins of the candidate (``b``), of the baseline (``a``) and ties, overall and per criterion."""

    def counts(vs: list[PairVerdict]) -> dict[str, Any]:
        c = Counter(v.winner for v in vs)
        decided = c["a"] + c["b"]
        answered = sum(v.consistent is not None for v in vs)
        flipped = sum(v.consistent is False for v in vs)
        return {
            "pairs": len(vs),
            "candidate_wins": c["b"],
            "baseline_wins": c["a"],
            "ties": c["tie"],
            "candidate_win_rate": c["b"] / decided if decided else None,
            "positional_agreement": positional_agreement(vs),
            # both orders answered; of those, the ones whose preferred answer changed with order
            "answered": answered,
            "order_flips": flipped,
            "first_shown_won": sum(bool(v.first_shown_won) for v in vs),
            "inconsistency": flipped / answered if answered else None,
        }

    by_criterion: dict[str, list[PairVerdict]] = {}
    for v in verdicts:
        by_criterion.setdefault(v.pair.criterion.id if v.pair.criterion else "holistic", []).append(v)
    return {
        "overall": counts(verdicts),
        "criteria": {k: counts(vs) for k, vs in sorted(by_criterion.items())},
        "regressions": [
            {"case": v.pair.case.id, "criterion": v.pair.criterion.id if v.pair.criterion else "holistic"}
            for v in verdicts
            if v.winner == "a"
        ],
    }


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("suite", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--baseline",
    "baseline_text",
    required=True,
    metavar="SPEC",
    help="Target of the previous release: plugin:model or JSON (e.g. jsonl:outputs_v1.jsonl).",
)
@click.option("--candidate", "candidate_text", required=True, metavar="SPEC", help="Target of the new release.")
@click.option("--judge", "judge_text", metavar="SPEC", help="Judge for every pair (default: each criterion's).")
@click.option("--holistic", is_flag=True, help="One overall comparison per case instead of one per criterion.")
@click.option(
    "--max-loss-rate",
    type=click.FloatRange(0, 1),
    default=None,
    help="Exit 1 when the baseline wins more than this share of the pairs (and when no pair was decided).",
)
@click.option(
    "--max-inconsistency",
    type=click.FloatRange(0, 1),
    default=0.5,
    show_default=True,
    help="Exit 1 when the judge's preferred answer flips with the order in more than this share "
    "of the pairs (a coin flips half of them; 1: never fail on it).",
)
@click.option("--json", "as_json", is_flag=True, help="Output JSON.")
@calls_options
def command(
    suite: Path,
    baseline_text: str,
    candidate_text: str,
    judge_text: str | None,
    holistic: bool,
    max_loss_rate: float | None,
    max_inconsistency: float,
    as_json: bool,
    db_path: Path | None,
    no_store: bool,
    cache: str,
    max_cost: float | None,
) -> None:
    """Compare a candidate model with a baseline on a suite's cases, pairwise.

    Each text criterion (or, with --holistic, each case) is judged on the two responses shown
    side by side, in both orders. When the two orders disagree the verdict depends on position,
    not on the responses, and counts as a tie; the share of pairs whose orders agree is the
    positional agreement (position consistency). A judge whose preference flips with the order
    in more than --max-inconsistency of the pairs fails (exit 1): its wins and losses say
    nothing. Nothing compared (no pair answered in both orders) exits 2.

    \b
    Examples:
        rubrictest pairwise suites/test_support.rubric.yaml \\
            --baseline jsonl:outputs_v1.jsonl --candidate openai:gpt-4.1-mini --max-loss-rate 0.2
        rubrictest pairwise suite.rubric.yaml --baseline openai:gpt-4o --candidate openai:gpt-4.1 \\
            --judge anthropic:claude-sonnet-4-5 --holistic --json
    """
    baseline = parse_spec(baseline_text, "--baseline")
    candidate = parse_spec(candidate_text, "--candidate")
    judge = parse_spec(judge_text, "--judge") if judge_text else None
    with command_run("pairwise", db_path_=db_path, no_store=no_store, cache=cache, max_cost=max_cost) as run:
        try:
            verdicts, skipped = asyncio.run(_compare_and_close(run.calls, suite, baseline, candidate, judge, holistic))
        except RubricTestError as exc:
            raise InputError(str(exc)) from None
        echo_summary(run, as_json=as_json)
    report = summarize(verdicts)
    report["skipped"] = skipped
    if as_json:
        click.echo(json.dumps(report, indent=2))
    else:
        rows = [
            [
                name,
                str(c["pairs"]),
                str(c["candidate_wins"]),
                str(c["baseline_wins"]),
                str(c["ties"]),
                _pct(c["candidate_win_rate"]),
                _pct(c["positional_agreement"]),
                str(c["order_flips"]),
            ]
            for name, c in [*report["criteria"].items(), ("overall", report["overall"])]
        ]
        click.echo(f"candidate {candidate.label} vs baseline {baseline.label}")
        click.echo(
            table(
                ["criterion", "pairs", "candidate", "baseline", "ties", "win rate", "pos. consistency", "order flips"],
                rows,
            )
        )
        for line in skipped:
            click.echo(f"skipped {line}")
    overall = report["overall"]
    if not overall["answered"]:
        # Every pair a judge ERROR (or no pair at all): 0 losses must not read as a pass.
        errors = overall["pairs"] - overall["answered"]
        raise NothingMeasured(
            f"pairwise: 0 pairs compared in both orders ({overall['pairs']} pairs, {errors} "
            f"with a judge ERROR, {len(skipped)} cases skipped)"
        )
    failures = []
    if overall["inconsistency"] > max_inconsistency:
        failures.append(
            f"the judge's preference flips with the order in {overall['order_flips']} of "
            f"{overall['answered']} pairs ({_pct(overall['inconsistency'])}; the first-shown answer "
            f"won {overall['first_shown_won']}) > --max-inconsistency {max_inconsistency:g}: "
            "it judges position, not the responses"
        )
    if max_loss_rate is not None:
        decided = overall["candidate_wins"] + overall["baseline_wins"]
        if not decided:
            failures.append(
                f"no pair was decided ({overall['ties']} ties): the loss rate is not measured "
                f"(--max-loss-rate {max_loss_rate:g})"
            )
        elif overall["baseline_wins"] / overall["pairs"] > max_loss_rate:
            failures.append(
                f"the baseline won {overall['baseline_wins']} of {overall['pairs']} pairs "
                f"> --max-loss-rate {max_loss_rate:g}"
            )
    for msg in failures:
        click.echo(f"pairwise gate failed: {msg}", err=True)
    if failures:
        raise SystemExit(1)
