"""``rubrictest stamp-labels``: bind recorded labels to the responses they judge.

A ``recorded`` label with ``response_sha256`` is only used on that response: once the response
under test changes, the criterion is ERROR ("label is for another response") until someone
judges the new response and re-labels it. This command writes the hash of each label's
response, taken from a stored run, into the labels file.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import click

from ...errors import StoreError
from ...jsonl import read_jsonl
from ...protocol import response_sha256
from ...store import Store
from ..options import InputError, db_option, dump_json
from ..options import db_path as options_db_path


def _responses(db: Path, run_ref: str | None, suite: str | None) -> tuple[str, dict[tuple[str, str], str]]:
    """The run id and each ``(case, target)``'s response in it (target ``""`` when none)."""
    try:
        store = Store.open(db, create=False)
        try:
            run = store.resolve_run(run_ref)
            rows = [r for r in store.cases(run) if suite is None or r["suite"] == suite]
        finally:
            store.close()
    except StoreError as exc:
        raise InputError(str(exc)) from None
    out: dict[tuple[str, str], str] = {}
    suites: dict[tuple[str, str], set[str]] = {}
    for r in rows:
        if r["response"] is None:
            continue
        key = (r["case_id"], r["target"] or "")
        suites.setdefault(key, set()).add(r["suite"])
        if len(suites[key]) > 1:
            raise InputError(f"run {run}: case {key[0]!r} is in suites {', '.join(sorted(suites[key]))}: give --suite")
        out[key] = r["response"]
    return run, out


def _response_of(label: dict[str, Any], responses: dict[tuple[str, str], str], where: str) -> str | None:
    target = label.get("target")
    if target:
        return responses.get((label["case"], target))
    found = {text for (case, _), text in responses.items() if case == label["case"]}
    if len(found) > 1:
        raise InputError(
            f"{where}: the label has no `target`, and the run holds {len(found)} different responses "
            f"of case {label['case']!r}: give the label a `target`"
        )
    return next(iter(found), None)


def _write(path: Path, rows: list[dict[str, Any]]) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


@click.command("stamp-labels")
@click.argument("labels", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@db_option
@click.option("--run", "run_ref", help="The run whose responses were labelled (default: the latest).")
@click.option("--suite", help="Only cases of this suite (when case ids repeat across suites).")
@click.option(
    "--restamp",
    "restamp",
    multiple=True,
    metavar="CASE::CRITERION",
    help="A label you re-judged on the run's response: replace its old hash (repeatable).",
)
@click.option("--check", is_flag=True, help="Write nothing; exit 1 when a label is unstamped or stale.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def command(
    labels: Path,
    db_path: Path | None,
    run_ref: str | None,
    suite: str | None,
    restamp: tuple[str, ...],
    check: bool,
    as_json: bool,
) -> None:
    """Write into each recorded label the SHA-256 of the response it judges.

    The responses come from a stored run (the one you labelled). A label without
    response_sha256 gets it; a label whose hash is already the run's response is left alone;
    a label stamped for another response is stale: it is listed and kept (exit 1) until you
    judge the new response, edit the label, and pass --restamp CASE::CRITERION. A `response`
    field in a label is replaced by its hash.

    \b
    Examples:
      pytest suites/support && rubrictest stamp-labels suites/support/labels.jsonl
      rubrictest stamp-labels labels.jsonl --check            # in CI: every label bound and fresh
      rubrictest stamp-labels labels.jsonl --restamp refund::window   # after re-judging it
    """
    run, responses = _responses(options_db_path(db_path), run_ref, suite)
    rows: list[dict[str, Any]] = []
    stamped: list[str] = []
    stale: list[str] = []
    missing: list[str] = []
    wanted = set(restamp)
    used: set[str] = set()
    for n, row in read_jsonl(labels, error=InputError):
        where = f"{labels}:{n}"
        if not isinstance(row.get("case"), str) or not isinstance(row.get("criterion"), str):
            raise InputError(f"{where}: expected an object with string `case` and `criterion`")
        name = f"{row['case']}::{row['criterion']}" + (f"[{row['target']}]" if row.get("target") else "")
        response = _response_of(row, responses, where)
        if response is None:
            missing.append(name)
        else:
            actual = response_sha256(response)
            old = row.get("response_sha256")
            if old is None and isinstance(row.get("response"), str):
                old = response_sha256(row["response"])
            key = f"{row['case']}::{row['criterion']}"
            if old is None or key in wanted:
                stamped.append(name)
                used.add(key)
                row.pop("response", None)
                row["response_sha256"] = actual
            elif str(old).lower() != actual:
                stale.append(name)
        rows.append(row)
    if wanted - used:
        raise InputError(f"--restamp {', '.join(sorted(wanted - used))}: no such label with a response in {labels}")
    if not check and stamped:
        _write(labels, rows)
    report = {
        "labels": str(labels),
        "run": run,
        "stamped": stamped,
        "stale": stale,
        "no_response": missing,
        "written": bool(stamped) and not check,
    }
    if as_json:
        click.echo(dump_json(report))
    else:
        verb = "to stamp" if check else "stamped"
        click.echo(
            f"{labels}: {len(rows)} labels; {len(stamped)} {verb}, {len(stale)} stale, "
            f"{len(missing)} without a response in run {run}"
        )
        for name in stale:
            click.echo(f"  stale        {name}: labelled for another response: judge the new one, then --restamp")
        for name in missing:
            click.echo(f"  no response  {name}")
    if stale or (check and stamped):
        raise SystemExit(1)
