"""``rubrictest report``: the per-criterion table of a stored run."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from ..errors import StoreError
from ..reporting import render_markdown, render_text, run_report
from ..store import DEFAULT_DB, Store

F = TypeVar("F", bound=Callable[..., Any])


def db_option(fn: F) -> F:
    """The shared ``--db`` option of commands that read the results database."""
    return click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path),
                        default=None, envvar="RUBRICTEST_DB",
                        help=f"Results database (default: {DEFAULT_DB}).")(fn)


def open_store(db_path: Path | None) -> Store:
    """Open an existing results database for reading, as a click error if impossible."""
    try:
        return Store.open(db_path or DEFAULT_DB, create=False)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("run", required=False)
@db_option
@click.option("--json", "as_json", is_flag=True, help="Output JSON.")
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text",
              help="Output format.")
def command(run: str | None, db_path: Path | None, as_json: bool, fmt: str) -> None:
    """Show a run's verdicts per criterion, its suites and its usage.

    RUN is a run id, a unique prefix of one, or -N for the Nth newest (default: the newest).

    \b
    Examples:
        rubrictest report
        rubrictest report -2 --format markdown >> "$GITHUB_STEP_SUMMARY"
        rubrictest report 20261121T2359 --json | jq '.criteria[] | select(.status=="FAIL")'
    """
    store = open_store(db_path)
    try:
        run_id = store.resolve_run(run)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None
    report = run_report(store, run_id)
    if as_json or fmt == "json":
        click.echo(json.dumps(report, indent=2, default=str))
    elif fmt == "markdown":
        click.echo(render_markdown(report), nl=False)
    else:
        for line in render_text(report):
            click.echo(line)



