"""``rubrictest probe``: measure a judge's biases on a suite's responses."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from ...errors import RubricTestError, StoreError
from ...jsonl import read_jsonl
from ...protocol import ComponentSpec
from ...store import Store
from ...suite import load_suite
from ...trust.calibration.labels import Record, read_records
from ...trust.probes import PROBES, Item, ProbeResult, run_probes
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
from ..options import db_path as options_db_path


def read_responses(path: Path) -> list[tuple[str, str | None, str]]:
    """``(case, target, response)`` rows of a JSONL file of responses."""
    out: list[tuple[str, str | None, str]] = []
    for n, row in read_jsonl(path, error=InputError):
        if not isinstance(row.get("case"), str) or not isinstance(row.get("response", row.get("output")), str):
            raise InputError(f'{path}:{n}: expected {{"case": str, "target": str, "response": str}}')
        text = str(row.get("response", row.get("output")))
        out.append((row["case"], row.get("target"), text))
    return out


def responses_from_store(db: Path, run_id: str | None, suite: str) -> list[tuple[str, str | None, str]]:
    """``(case, target, response)`` of a stored run (default: the latest) for ``suite``."""
    try:
        store = Store.open(db, create=False)
        try:
            run = store.resolve_run(run_id)
            return [
                (r["case_id"], r["target"] or None, r["response"])
                for r in store.cases(run)
                if r["suite"] == suite and r["response"] is not None
            ]
        finally:
            store.close()
    except StoreError as exc:
        raise InputError(str(exc)) from None


def build_items(
    suite_path: Path,
    judge: ComponentSpec | None,
    extra: list[tuple[str, str | None, str]],
    labels: list[Record] | None,
    fixed_target: str | None = None,
) -> list[Item]:
    """The (criterion, response) items of a suite: fixed outputs plus ``extra`` responses."""
    suite = load_suite(suite_path)
    cases = {run.case.id: run.case for run in suite.runs}
    for case_id, _, _ in extra:
        if case_id not in cases:
            raise InputError(f"responses name case {case_id!r}, which {suite_path} does not have")
    gold = {(r.case, r.criterion, r.target): r.met for r in labels or [] if r.suite in (None, suite.name)}
    items: list[Item] = []
    responses = [(c.id, fixed_target, c.output) for c in cases.values() if c.output is not None] + extra
    for case_id, target, response in responses:
        case = cases[case_id]
        for crit in case.criteria:
            if crit.check or not crit.text:
                continue
            spec = judge or crit.judge
            if spec is None:
                continue
            label = gold.get((case_id, crit.id, target), gold.get((case_id, crit.id, None)))
            items.append(Item(case, crit, response or "", spec, target, suite_path.parent, label))
    return items


def _render(results: dict[str, ProbeResult], n_items: int) -> str:
    rows = []
    for name, r in results.items():
        direction = ""
        if "to_met" in r.details:
            direction = f"to met {r.details['to_met']}, to not met {r.details['to_not_met']}"
        elif name == "self-preference":
            direction = str(r.details.get("measure", ""))
        elif name == "position":
            direction = f"first shown won {r.details['first_shown_won']}"
        rows.append(
            [
                name,
                str(r.n),
                fmt(r.rate),
                fmt_ci(r.ci),
                direction,
                "" if r.threshold is None else f"{r.threshold:g}",
                "FAIL" if r.failed else "ok",
            ]
        )
    return f"{n_items} criterion x response items\n\n" + table(
        ["probe", "n", "rate", "95% CI", "detail", "max", "status"], rows
    )


@click.command("probe")
@click.argument("suite", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--judge", "judge_text", help="Judge to probe (plugin:model); default: each criterion's judge.")
@click.option(
    "--probe", "probes", multiple=True, type=click.Choice(PROBES), help="Probes to run (repeatable; default: all)."
)
@click.option(
    "--responses", type=click.Path(path_type=Path), help="More responses to probe: JSONL {case, target, response}."
)
@click.option("--run", "run_id", help="Also probe the responses of this stored run ('latest' for the newest).")
@click.option(
    "--labels", type=click.Path(path_type=Path), help="Gold labels (recorded JSONL): self-preference reports DBG."
)
@click.option("--judge-family", help="The judge's model family (default: guessed from its model name).")
@click.option("--target", "fixed_target", help="Target label of the suite's fixed outputs (for self-preference).")
@click.option("--max-rate", type=float, help="Fail when any probe's rate is above this.")
@click.option("--fail-above", multiple=True, metavar="PROBE=RATE", help="Per-probe threshold (repeatable).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@calls_options
def command(
    suite: Path,
    judge_text: str | None,
    probes: tuple[str, ...],
    responses: Path | None,
    run_id: str | None,
    labels: Path | None,
    judge_family: str | None,
    fixed_target: str | None,
    max_rate: float | None,
    fail_above: tuple[str, ...],
    seed: int,
    as_json: bool,
    db_path: Path | None,
    no_store: bool,
    cache: str,
    max_cost: float | None,
) -> None:
    """Probe a judge for position, length, injection and self-preference bias.

    Re-asks the judge about the suite's responses after changes that should not move a
    verdict -- the pair shown in the other order, neutral filler appended, the response
    trimmed, an instruction to the judge appended -- and reports the share of verdicts that
    moved, with a 95% interval. Exit status 1 when a rate is above its threshold.

    \b
    Examples:
      rubrictest probe suites/test_support.rubric.yaml --judge openai:gpt-4.1 --max-rate 0.1
      rubrictest probe suites/test_support.rubric.yaml --judge openai:gpt-4.1 \\
          --probe injection --fail-above injection=0 --json
    """
    thresholds = {name: max_rate for name in PROBES if max_rate is not None}
    for item in fail_above:
        name, sep, value = item.partition("=")
        if not sep or name not in PROBES:
            raise InputError(f"--fail-above {item!r}: expected PROBE=RATE, PROBE one of {', '.join(PROBES)}")
        try:
            thresholds[name] = float(value)
        except ValueError:
            raise InputError(f"--fail-above {item!r}: {value!r} is not a number") from None
    judge = parse_spec(judge_text, "--judge") if judge_text else None
    try:
        extra = read_responses(responses) if responses else []
        if run_id is not None:
            extra += responses_from_store(
                options_db_path(db_path), None if run_id == "latest" else run_id, load_suite(suite).name
            )
        gold = read_records(labels) if labels else None
        items = build_items(suite, judge, extra, gold, fixed_target)
        if not items:
            raise InputError(f"{suite}: no text criterion with a response to probe (give outputs or --responses)")
        replayed = sorted({it.judge.label for it in items if it.judge.plugin == "recorded"})
        if replayed:
            # A replayed verdict ignores the response, so a probe cannot see the judge that made it.
            click.echo(
                f"warning: {', '.join(replayed)} replays stored verdicts: its probe rates say nothing "
                "about the judge that produced them; probe a model judge with --judge",
                err=True,
            )
        with command_run("probe", db_path_=db_path, no_store=no_store, cache=cache, max_cost=max_cost) as run:
            results = asyncio.run(run_probes(items, probes or PROBES, thresholds, judge_family, seed, calls=run.calls))
            echo_summary(run, as_json=as_json)
    except RubricTestError as exc:
        raise InputError(str(exc)) from None
    failed = [name for name, r in results.items() if r.failed]
    if as_json:
        click.echo(
            dump_json(
                {
                    "suite": str(suite),
                    "judge": judge.label if judge else None,
                    "items": len(items),
                    "probes": {k: r.as_dict() for k, r in results.items()},
                    "failed": failed,
                }
            )
        )
    else:
        click.echo(_render(results, len(items)))
    if all(r.n == 0 for r in results.values()):
        reasons = "; ".join(f"{name}: {r.details.get('why_empty', 'no item')}" for name, r in results.items())
        raise NothingMeasured(f"probe: no probe measured an item ({reasons})")
    if failed:
        for name in failed:
            click.echo(f"judge probe failed: {results[name].reason}", err=True)
        raise SystemExit(1)
