"""``rubrictest lock``: record criterion content hashes; ``--check`` fails on unlocked edits."""

from __future__ import annotations

from pathlib import Path

import click

from ...errors import RubricTestError
from ...trust.lockfile import DEFAULT_LOCKFILE, compare, current_locks, read_lockfile, update, write_lockfile
from ..options import InputError, dump_json


@click.command("lock")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--lockfile",
    type=click.Path(path_type=Path),
    default=Path(DEFAULT_LOCKFILE),
    show_default=True,
    help="The lockfile; suite paths in it are relative to its folder.",
)
@click.option("--check", is_flag=True, help="Compare instead of writing; exit 1 on any difference.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def command(paths: tuple[Path, ...], lockfile: Path, check: bool, as_json: bool) -> None:
    """Lock the rubric: write the content hash of every criterion of every suite.

    PATHS are suite files or folders searched for test_*.rubric.yaml (default: the current
    folder). With --check nothing is written: every criterion whose text, check, params,
    points or must changed since the lock, and every one added or removed, is named, and
    the exit status is 1. Re-run without --check to accept the changes.

    \b
    Examples:
      rubrictest lock suites/                # write rubrictest.lock
      rubrictest lock --check suites/        # in CI: fail on a rubric edit not re-locked
    """
    scan = list(paths) or [Path(".")]
    base = lockfile.parent
    try:
        current = current_locks(scan, base)
        if check:
            locked = read_lockfile(lockfile)
            changes = compare(locked, current, base, scan)
        else:
            existed = lockfile.exists()
            locked = read_lockfile(lockfile) if existed else {}
            # A first lock lists nothing: every criterion would show as added.
            changes = compare(locked, current, base, scan) if existed else []
            write_lockfile(lockfile, update(locked, current, base, scan))
    except RubricTestError as exc:
        raise InputError(str(exc)) from None
    if as_json:
        click.echo(
            dump_json(
                {
                    "lockfile": str(lockfile),
                    "checked": check,
                    "suites": len(current),
                    "criteria": sum(len(s.criteria) for s in current.values()),
                    "changes": [{"kind": c.kind, "node": c.node, "old": c.old, "new": c.new} for c in changes],
                }
            )
        )
    else:
        for c in changes:
            detail = f" ({c.old} -> {c.new})" if c.kind == "changed" else ""
            click.echo(f"{c.kind:8} {c.node}{detail}")
        n = sum(len(s.criteria) for s in current.values())
        if check:
            summary = f"{len(changes)} criteria differ from the lock" if changes else "all match the lock"
            click.echo(f"{lockfile}: {summary} ({n} criteria in {len(current)} suites)")
        else:
            click.echo(f"{lockfile}: locked {n} criteria in {len(current)} suites ({len(changes)} changes)")
    if check and changes:
        click.echo("rubric changed without re-locking: review the changes, then run `rubrictest lock`", err=True)
        raise SystemExit(1)
