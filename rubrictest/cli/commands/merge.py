"""``rubrictest merge``: shard databases into one run."""

from __future__ import annotations

from pathlib import Path

import click

from ..options import InputError


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("inputs", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace OUT if it exists.")
def command(out: Path, inputs: tuple[Path, ...], force: bool) -> None:
    """Merge the databases of the shards of one run (``pytest --rubric-shard K/N``) into OUT:
    one run with every case, verdict, model call and cache entry, counts recomputed and each
    suite's gate decided over all the cases.

    Refused (exit 2, nothing written) when a shard did not finish, the shards ran other
    suites or criteria, a shard is missing or given twice, or a case is in two shards.

    \b
    Example (three CI jobs each uploaded .rubrictest/rubrictest-shard-K-of-3.db):
        rubrictest merge merged.db shards/*.db
        rubrictest report --db merged.db
        rubrictest gate --db merged.db
    """
    from ... import __version__
    from ...store.merge import MergeError, merge

    try:
        run = merge(out, list(inputs), force=force, version=__version__)
    except MergeError as exc:
        raise InputError(str(exc)) from None
    counts = ", ".join(f"{k} {v}" for k, v in sorted((run.get("counts") or {}).items()))
    click.echo(f"merged {len(inputs)} shards into {out}: run {run['id']} {run['status']} ({counts})")
