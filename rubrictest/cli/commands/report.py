"""``rubrictest report``: the per-criterion table of a stored run."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ...errors import StoreError
from ...store.agreement import FLAG_SPLIT
from ...store.report import render_markdown, render_text, run_report
from ..options import RunRefCommand, db_option, open_store
from ..options import db_path as default_db


@click.command(cls=RunRefCommand, context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("run", required=False)
@db_option
@click.option("--json", "as_json", is_flag=True, help="Output JSON.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "markdown", "json", "github"]),
    default="text",
    help="Output format (github: the job summary a run writes to $GITHUB_STEP_SUMMARY).",
)
@click.option(
    "--html",
    "html_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the run, its cases and comparisons as one self-contained HTML file.",
)
@click.option(
    "--full",
    is_flag=True,
    help="With --html: keep responses and judge calls whole (default: cut at 4,000 characters, marked).",
)
@click.option(
    "--compare",
    "compare_with",
    metavar="RUN",
    default=None,
    help="With --html: also compare with this run (id, prefix or -N).",
)
@click.option(
    "--flag-split",
    type=click.FloatRange(0, 1, min_open=True),
    default=FLAG_SPLIT,
    show_default=True,
    help="Flag a criterion as a rubric problem when a judge panel splits on at least this share of "
    "the times it is judged.",
)
def command(
    run: str | None,
    db_path: Path | None,
    as_json: bool,
    fmt: str,
    html_file: Path | None,
    full: bool,
    compare_with: str | None,
    flag_split: float,
) -> None:
    """Say whether a run's release passed: per suite and target its gate, case scores and every
    criterion with, for FAIL, MISSED and ERROR, the reason; with judge panels, each member's
    vote and how far the members agree (criteria they split on are flagged as rubric problems);
    with a sentinel, the rubric-holistic disagreements.

    RUN is a run id, a unique prefix of one, `latest`, or -N for the Nth newest (default: the newest).

    \b
    Examples:
        rubrictest report
        rubrictest report -2 --format markdown        # the run before the newest
        rubrictest report --format github >> "$GITHUB_STEP_SUMMARY"
        rubrictest report --html report.html          # open it from disk, offline
        rubrictest report 20261121T2359 --json | jq '.criteria[] | select(.status=="FAIL")'
    """
    if html_file is not None or fmt == "github":
        _read_only_report(run, db_path, fmt, html_file, full, compare_with)
        return
    if full or compare_with:
        raise click.UsageError("--full and --compare go with --html")
    store = open_store(db_path)
    try:
        run_id = store.resolve_run(run)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None
    report = run_report(store, run_id, flag_split)
    if as_json or fmt == "json":
        click.echo(json.dumps(report, indent=2, default=str))
    elif fmt == "markdown":
        click.echo(render_markdown(report), nl=False)
    else:
        for line in render_text(report):
            click.echo(line)


def _read_only_report(
    run: str | None, db_path: Path | None, fmt: str, html_file: Path | None, full: bool, compare_with: str | None
) -> None:
    """``--html FILE`` and ``--format github``: rendered from a read-only connection."""
    from ...store.queries import ResultsDB

    try:
        db = ResultsDB.open(default_db(db_path))
        run_id = db.resolve_run(run)
        other = db.resolve_run(compare_with) if compare_with else None
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None
    if fmt == "github":
        from ...store.github import github_summary

        click.echo(github_summary(db, run_id), nl=False)
    if html_file is not None:
        from ...view.report import html_report

        text = html_report(db, run_id, full=full, compare_with=other)
        tmp = html_file.with_name(html_file.name + ".tmp")
        try:
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(html_file)  # never a half-written report
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise click.ClickException(f"cannot write {html_file}: {exc.strerror or exc}") from None
        click.echo(f"wrote {html_file} ({len(text.encode('utf-8')) / 1e6:.1f} MB): run {run_id}", err=True)
