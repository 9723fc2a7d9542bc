"""``rubrictest gate``: exit on a run's stored suite gates (a CI step after ``merge``)."""

from __future__ import annotations

from pathlib import Path

import click

from ..options import db_option, open_store


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("run", required=False, default=None)
@db_option
def command(run: str | None, db_path: Path | None) -> None:
    """Print the stored gates of RUN (default: the latest run) and exit 0 only when every one
    passed: 1 when a gate failed, could not be decided, is still deferred (a shard's run:
    merge the shards first), or when the run stores no gate at all (nothing was measured).

    \b
    Example:
        rubrictest merge merged.db shards/*.db && rubrictest gate --db merged.db
    """
    from ...errors import StoreError

    store = open_store(db_path)
    try:
        try:
            run_id = store.resolve_run(run)
        except StoreError as exc:
            raise click.ClickException(str(exc)) from None
        gates = store.gates(run_id)
    finally:
        store.close()
    if not gates:
        click.echo(f"run {run_id}: no gate stored (no suite of the run has a `gate`): nothing measured", err=True)
        raise SystemExit(1)
    ok = True
    for g in gates:
        name = g["suite"] + (f"[{g['target']}]" if g["target"] else "")
        if g["status"] == "DEFERRED":
            line = "DEFERRED to `rubrictest merge` (this run is one shard)"
        elif g.get("max_disagreement") is not None:  # a gate on rubric-holistic disagreements (a sentinel)
            from ...store.report import gate_text

            line = gate_text(g)
        elif g["status"] == "ERROR":
            line = "ERROR: undecided: " + ", ".join((g.get("errors") or [])[:10])
        else:
            line = (
                f"{g['status']}: {g['passes']}/{g['total']} cases passed, Wilson lower bound "
                f"{g['lower_bound']:.3f} (at {g['confidence']:.0%}) vs min_pass_rate {g['min_pass_rate']:g}"
            )
        ok = ok and g["status"] == "PASS"
        click.echo(f"{name}: {line}")
    if not ok:
        raise SystemExit(1)
