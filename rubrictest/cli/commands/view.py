"""``rubrictest view``: browse the results database in a local, read-only web app."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import click

from ...errors import StoreError
from ..options import db_option

INSTALL_HINT = "pip install 'rubrictest[view]'"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@db_option
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on. Only this machine can connect to the default.",
)
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True, help="Port to listen on.")
def command(db_path: Path | None, host: str, port: int) -> None:
    """Browse runs, cases, comparisons and trends in a local web app.

    Read-only: no page changes the database. Pages: Runs (every run), Run (suites, targets,
    gates, tags, criteria, filters, plots), Case (response with the evidence highlighted,
    every verdict, the raw judge calls), Compare (two runs or two targets, paired per
    criterion) and Trends (a criterion across runs, a judge's confidence and calibration).

    \b
    Examples:
        rubrictest view                         # .rubrictest/rubrictest.db on http://127.0.0.1:8765
        rubrictest view --db results.db --port 9000
    """
    try:
        import uvicorn

        from ...view.app import create_app
    except ImportError as exc:
        raise click.ClickException(
            f"rubrictest view needs the 'view' extra ({exc.name} is missing): {INSTALL_HINT}"
        ) from None
    from ...store import DEFAULT_DB
    from ...store.queries import ResultsDB

    path = db_path or DEFAULT_DB
    try:
        db = ResultsDB.open(path)
    except StoreError as exc:
        raise click.ClickException(f"cannot view {path}: {exc}") from None
    if not _is_loopback(host):
        click.echo(
            f"warning: listening on {host}: anyone who can reach it reads every stored response and judge call",
            err=True,
        )
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"rubrictest view: {path} (read-only) on http://{shown}:{port}/  (Ctrl-C to stop)")
    uvicorn.run(create_app(db), host=host, port=port, log_level="warning")
