"""``rubrictest drift``: what a rubric edit does to a judge's verdicts, per tag."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from ...errors import RubricTestError
from ...trust.calibration.labels import read_records
from ...trust.drift import load_version, run_drift
from ..options import (
    InputError,
    NothingMeasured,
    calls_options,
    command_run,
    dump_json,
    echo_summary,
    fmt,
    fmt_ci,
    parse_spec,
    table,
)
from .probe import read_responses


@click.command("drift")
@click.argument("suite", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--old",
    "old_ref",
    required=True,
    metavar="REV_OR_FILE",
    help="The rubric before the edit: a suite file or a git revision (HEAD~1, v1.2).",
)
@click.option("--new", "new_ref", metavar="REV_OR_FILE", help="The rubric after it (default: SUITE as it is).")
@click.option("--judge", "judge_text", help="Judge for text criteria (default: each criterion's own).")
@click.option(
    "--responses",
    type=click.Path(path_type=Path),
    help="Reference responses, JSONL {case, response} (default: the cases' outputs).",
)
@click.option("--labels", type=click.Path(path_type=Path), help="Gold labels: adds accuracy per version.")
@click.option("--all", "all_criteria", is_flag=True, help="Re-judge unchanged criteria too.")
@click.option("--max-flip-rate", type=float, help="Exit 1 when the flip rate, overall or of a tag, is above.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@calls_options
def command(
    suite: Path,
    old_ref: str,
    new_ref: str | None,
    judge_text: str | None,
    responses: Path | None,
    labels: Path | None,
    all_criteria: bool,
    max_flip_rate: float | None,
    as_json: bool,
    db_path: Path | None,
    no_store: bool,
    cache: str,
    max_cost: float | None,
) -> None:
    """Re-judge a reference set under two versions of a rubric and count verdict flips.

    Every criterion whose content changed between the versions is judged on the same
    responses under both wordings; the verdicts that flipped are counted per tag, by
    direction (to_met: the edit made the judge more lenient; to_not_met: stricter).
    Aggregate accuracy can stay flat while one tag swings: gate on the flip rate.

    \b
    Examples:
      rubrictest drift --old HEAD~1 suites/test_support.rubric.yaml --max-flip-rate 0.1
      rubrictest drift --old v1.rubric.yaml --new v2.rubric.yaml suites/test_support.rubric.yaml \\
          --judge openai:gpt-4.1 --labels gold.jsonl --json
    """
    judge = parse_spec(judge_text, "--judge") if judge_text else None
    try:
        old = load_version(old_ref, suite)
        new = load_version(new_ref, suite) if new_ref else load_version(str(suite), suite)
        extra = {case: text for case, _, text in read_responses(responses)} if responses else None
        gold = {(r.case, r.criterion): r.met for r in read_records(labels) if r.met is not None} if labels else None
        with command_run("drift", db_path_=db_path, no_store=no_store, cache=cache, max_cost=max_cost) as run:
            report = asyncio.run(
                run_drift(
                    old,
                    new,
                    judge=judge,
                    responses=extra,
                    gold=gold,
                    all_criteria=all_criteria,
                    threshold=max_flip_rate,
                    base_dir=suite.parent,
                    calls=run.calls,
                )
            )
            echo_summary(run, as_json=as_json)
    except RubricTestError as exc:
        raise InputError(str(exc)) from None
    data = report.as_dict()
    if as_json:
        click.echo(dump_json({"suite": str(suite), "old": old_ref, "new": new_ref or str(suite), **data}))
    else:
        click.echo(
            f"{len(report.changed)} criteria changed, {len(report.added)} added, "
            f"{len(report.removed)} removed; {data['overall']['n']} verdict pairs compared"
        )
        rows = []
        for name, g in [("overall", data["overall"]), *data["by_tag"].items()]:
            rows.append(
                [
                    name,
                    str(g["n"]),
                    str(g["to_met"]),
                    str(g["to_not_met"]),
                    fmt(g["flip_rate"]),
                    fmt_ci(g["flip_rate_ci"]),
                    fmt(g.get("accuracy_old")),
                    fmt(g.get("accuracy_new")),
                    "FAIL" if g.get("failed") else "",
                ]
            )
        headers = ["group", "n", "to met", "to not met", "flip rate", "95% CI", "acc old", "acc new", ""]
        click.echo(table(headers, rows))
        for flip in data["flips"]:
            click.echo(f"  {flip['direction']:10} {flip['case']}::{flip['criterion']}")
        for line in report.skipped:
            click.echo(f"  not compared {line}")
    empty = report.nothing_measured(all_criteria)
    if empty is not None:
        # A gate that compared nothing has not passed: a suite without outputs must not pass CI.
        raise NothingMeasured(f"drift: {empty}")
    if data["failed"]:
        click.echo(f"rubric drift above --max-flip-rate {max_flip_rate:g}: {', '.join(data['failed'])}", err=True)
        raise SystemExit(1)
