"""``rubrictest compare``: two stored runs, or two targets of one run, criterion by criterion,
with the statistics of :mod:`rubrictest.store.comparison`."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click

from ...errors import StoreError
from ...store.comparison import CompareOptions, compare, differs, make_pair
from ..options import InputError, RunRefCommand, db_option
from ..options import db_path as database_path
from ..options import table as text_table


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _p(value: float) -> str:
    return f"{value:.3g}"


def _ci(ci: list[float] | None) -> str:
    return "-" if not ci else f"[{ci[0]:+.3f}, {ci[1]:+.3f}]"


def _heading(result: dict[str, Any]) -> str:
    adj = "Benjamini-Hochberg" if result["adjustment"] == "fdr_bh" else "Holm"
    return (
        f"{result['a']['label']} -> {result['b']['label']}: {result['paired']} paired verdicts; exact McNemar "
        f"per criterion, {adj}-adjusted; case scores: paired difference, {1 - result['alpha']:.0%} bootstrap "
        f"CI (seed {result['seed']}); alpha {result['alpha']:g}, min effect {result['min_effect']:g}"
    )


def _gate_line(side: dict[str, Any]) -> str | None:
    gates = side.get("gates")
    if not gates:
        return None
    return f"gates of {side['label']}: " + ", ".join(
        f"{g['suite']}{'[' + g['target'] + ']' if g['target'] else ''} {g['status']}" for g in gates
    )


def render_text(result: dict[str, Any]) -> list[str]:
    """The comparison as text tables: criteria, suites, regressions."""
    lines = [_heading(result)]
    lines += [g for g in (_gate_line(result["a"]), _gate_line(result["b"])) if g]
    lines.append("")
    rows = [
        [
            c["where"],
            str(c["judged"]),
            str(c["both_pass"]),
            str(c["both_fail"]),
            str(c["fixed"]),
            str(c["broken"]),
            str(c["errors"]),
            _pct(c["pass_rate_a"]),
            _pct(c["pass_rate_b"]),
            _p(c["p_value"]),
            _p(c["p_adjusted"]),
            "REGRESSION" if c["regression"] else ("significant" if c["significant"] else ""),
        ]
        for c in result["criteria"]
    ]
    lines += text_table(
        [
            "criterion",
            "pairs",
            "both pass",
            "both fail",
            "fixed",
            "broken",
            "errors",
            "pass old",
            "pass new",
            "p",
            "p adj",
            "",
        ],
        rows,
    ).splitlines()
    if result["suites"]:
        lines.append("")
        rows = [
            [
                s["where"],
                str(s["cases"]),
                f"{s['mean_a']:.3f}",
                f"{s['mean_b']:.3f}",
                f"{s['difference']:+.3f}",
                _ci(s["ci"]),
                "REGRESSION" if s["regression"] else ("significant" if s["significant"] else ""),
            ]
            for s in result["suites"]
        ]
        lines += text_table(
            ["suite", "cases", "mean old", "mean new", "difference", f"{1 - result['alpha']:.0%} CI", ""], rows
        ).splitlines()
    lines.append("")
    for problem in differs(result):
        lines.append(f"note: {problem}")
    lines += result["not_regressions"]
    lines += [r["line"] for r in result["regressions"]] or ["no significant regression"]
    return lines


def render_markdown(result: dict[str, Any]) -> str:
    """The comparison as Markdown (a job summary or a pull-request comment)."""
    from ...store.github import md_cell

    out = [
        f"### rubrictest compare: {md_cell(result['a']['label'])} → {md_cell(result['b']['label'])}",
        "",
        md_cell(_heading(result), 400),
        "",
    ]
    for side in (result["a"], result["b"]):
        line = _gate_line(side)
        if line:
            out += [md_cell(line, 400), ""]
    out += [
        "| criterion | pairs | both pass | both fail | fixed | broken | errors | pass old | pass new | p | p adj | |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in result["criteria"]:
        flag = "**REGRESSION**" if c["regression"] else ("significant" if c["significant"] else "")
        out.append(
            f"| {md_cell(c['where'])} | {c['judged']} | {c['both_pass']} | "
            f"{c['both_fail']} | {c['fixed']} | {c['broken']} | {c['errors']} | {_pct(c['pass_rate_a'])} | "
            f"{_pct(c['pass_rate_b'])} | {_p(c['p_value'])} | {_p(c['p_adjusted'])} | {flag} |"
        )
    if result["suites"]:
        out += [
            "",
            f"| suite | cases | mean old | mean new | difference | {1 - result['alpha']:.0%} CI | |",
            "|---|---|---|---|---|---|---|",
        ]
        for s in result["suites"]:
            flag = "**REGRESSION**" if s["regression"] else ("significant" if s["significant"] else "")
            out.append(
                f"| {md_cell(s['where'])} | {s['cases']} | {s['mean_a']:.3f} | {s['mean_b']:.3f} | "
                f"{s['difference']:+.3f} | {_ci(s['ci'])} | {flag} |"
            )
    out.append("")
    out += [f"- {md_cell(p, 400)}" for p in differs(result)]
    out += [f"- {md_cell(line, 400)}" for line in result["not_regressions"]]
    out += [f"- {md_cell(r['line'], 400)}" for r in result["regressions"]] or ["- no significant regression"]
    return "\n".join(out) + "\n"


@click.command(cls=RunRefCommand, context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("old", required=False)
@click.argument("new", required=False)
@db_option
@click.option(
    "--targets",
    nargs=2,
    metavar="OLD_TARGET NEW_TARGET",
    default=None,
    help="Compare two targets: of one run (RUN, default the newest), or OLD_TARGET of OLD with NEW_TARGET of NEW.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "markdown", "json"]),
    default="text",
    show_default=True,
    help="Output format.",
)
@click.option("--json", "as_json", is_flag=True, help="Output JSON (the same as --format json).")
@click.option(
    "--alpha",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=0.05,
    show_default=True,
    help="Significance level.",
)
@click.option(
    "--min-effect",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="A regression must be a drop larger than this in pass rate (criterion) or mean case score "
    "(suite), on a 0-1 scale.",
)
@click.option(
    "--fdr",
    is_flag=True,
    help="Adjust p-values by Benjamini-Hochberg (false discovery rate) instead of Holm (family-wise error).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the bootstrap.")
@click.option(
    "--fail-on-regression",
    is_flag=True,
    help="Exit 1 when a regression is significant and larger than --min-effect (one line each). "
    "Refuses (exit 2) a run that did not finish, or sides that ran different suites or criteria.",
)
@click.option(
    "--allow-different-rubrics",
    is_flag=True,
    help="With --fail-on-regression: compare even when the sides ran different suites, cases or "
    "criteria (changed criterion hashes): only what both judged is compared.",
)
def command(
    old: str | None,
    new: str | None,
    db_path: Path | None,
    targets: tuple[str, str] | None,
    fmt: str,
    as_json: bool,
    alpha: float,
    min_effect: float,
    fdr: bool,
    seed: int,
    fail_on_regression: bool,
    allow_different_rubrics: bool,
) -> None:
    """Compare two runs, or two targets of a run, per criterion and per suite, with statistics.

    OLD and NEW are run ids, unique prefixes, `latest` or -N for the Nth newest (default: -2 and
    -1). Per criterion: the paired table (both pass, both fail, fixed, broken) and an exact
    McNemar p-value, adjusted across criteria; per suite: the paired difference in case score
    with a bootstrap interval. When $GITHUB_STEP_SUMMARY is set, the Markdown table is appended
    to it too.

    \b
    Examples:
        rubrictest compare                         # the previous run against the newest
        rubrictest compare -3 -1 --fail-on-regression --min-effect 0.05
        rubrictest compare --targets baseline candidate --fail-on-regression
        rubrictest compare 20261120T0900 latest --fdr --format markdown
    """
    from ...store.queries import ResultsDB

    try:
        db = ResultsDB.open(database_path(db_path))
        if targets is not None and new is None:
            run_b = db.resolve_run(old)
            run_a = run_b
        else:
            run_a = db.resolve_run(old or "-2")
            run_b = db.resolve_run(new or "-1")
    except StoreError as exc:
        raise InputError(str(exc)) from None
    if targets is None and run_a == run_b:
        raise InputError(f"OLD and NEW are the same run ({run_a}): give two runs, or --targets OLD NEW")
    pair = make_pair(run_a, run_b, *(targets or (None, None)))
    result = compare(db, pair, CompareOptions(alpha=alpha, min_effect=min_effect, fdr=fdr, seed=seed))
    if result["paired"] == 0:
        raise InputError(
            f"nothing to compare: no criterion of {pair.label_a} was judged on the same case in "
            f"{pair.label_b}" + (" (check the target names)" if targets else "")
        )
    if fail_on_regression:
        _refuse(result, allow_different_rubrics)
    if as_json or fmt == "json":
        click.echo(json.dumps(result, indent=2, ensure_ascii=False))
    elif fmt == "markdown":
        click.echo(render_markdown(result), nl=False)
    else:
        click.echo("\n".join(render_text(result)))
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        try:
            with open(summary, "a", encoding="utf-8") as fh:
                fh.write(render_markdown(result) + "\n")
        except OSError as exc:
            click.echo(f"warning: cannot append to $GITHUB_STEP_SUMMARY ({summary}): {exc.strerror or exc}", err=True)
    if fail_on_regression and result["regressions"]:
        if fmt != "text" or as_json:  # the text output has said it already, one line each
            for r in result["regressions"]:
                click.echo(r["line"], err=True)
        raise SystemExit(1)


def _refuse(result: dict[str, Any], allow_different: bool) -> None:
    """--fail-on-regression decides a release: never on a run that did not finish, nor (unless
    asked) on two sides that did not run the same suites and criteria."""
    for side in (result["a"], result["b"]):
        if not side["finished"]:
            raise InputError(
                f"run {side['run']} did not finish (status {side['status']}): its verdicts cannot "
                "decide a release; run the suites again"
            )
    problems = differs(result)
    if problems and not allow_different:
        raise InputError(
            "the two sides ran different suites or rubrics: "
            + "; ".join(problems)
            + " (--allow-different-rubrics compares what both judged)"
        )
