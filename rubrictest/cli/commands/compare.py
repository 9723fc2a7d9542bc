"""``rubrictest compare``: two stored runs, criterion by criterion."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from ...errors import StoreError
from ...store.report import table
from .report import db_option, open_store

_RANK = {"PASS": 2, "MISSED": 1, "FAIL": 0}


def compare_runs(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Match verdicts of two runs by (suite, case, target, criterion) and classify the changes.

    A criterion whose hash changed between the runs is reported as ``changed`` rather than
    compared: its verdicts answer different questions.
    """
    def key(v: dict[str, Any]) -> tuple[str, str, str, str]:
        return (v["suite"], v["case_id"], v["target"] or "", v["criterion_id"])

    old_by = {key(v): v for v in old}
    new_by = {key(v): v for v in new}
    out: dict[str, list[dict[str, Any]]] = {k: [] for k in (
        "regressed", "improved", "new_errors", "fixed_errors", "changed_criterion", "added", "removed")}
    for k, nv in new_by.items():
        ov = old_by.get(k)
        row = {"suite": k[0], "case": k[1], "target": k[2], "criterion": k[3],
               "old": ov["status"] if ov else None, "new": nv["status"]}
        if ov is None:
            out["added"].append(row)
        elif ov["criterion_hash"] != nv["criterion_hash"]:
            out["changed_criterion"].append(row)
        elif nv["status"] == "ERROR" and ov["status"] != "ERROR":
            out["new_errors"].append(row)
        elif ov["status"] == "ERROR" and nv["status"] != "ERROR":
            out["fixed_errors"].append(row)
        elif _RANK.get(nv["status"], 0) < _RANK.get(ov["status"], 0):
            out["regressed"].append(row)
        elif _RANK.get(nv["status"], 0) > _RANK.get(ov["status"], 0):
            out["improved"].append(row)
    for k, ov in old_by.items():
        if k not in new_by:
            out["removed"].append({"suite": k[0], "case": k[1], "target": k[2], "criterion": k[3],
                                   "old": ov["status"], "new": None})
    return out


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("old", required=False, default="-2")
@click.argument("new", required=False, default="-1")
@db_option
@click.option("--json", "as_json", is_flag=True, help="Output JSON.")
@click.option("--fail-on-regression", is_flag=True, help="Exit 1 when a criterion regressed or newly errors.")
def command(old: str, new: str, db_path: Path | None, as_json: bool, fail_on_regression: bool) -> None:
    """Compare two runs per criterion: regressions, improvements, new errors.

    OLD and NEW are run ids, unique prefixes or -N (default: -2 and -1, the two newest runs).

    \b
    Examples:
        rubrictest compare                       # previous run against the newest
        rubrictest compare 20261120T0900 -1 --fail-on-regression
    """
    store = open_store(db_path)
    try:
        old_id, new_id = store.resolve_run(old), store.resolve_run(new)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None
    diff = compare_runs(store.verdicts(old_id), store.verdicts(new_id))
    if as_json:
        click.echo(json.dumps({"old": old_id, "new": new_id, **diff}, indent=2))
    else:
        click.echo(f"old {old_id}  ->  new {new_id}")
        for section, rows in diff.items():
            click.echo(f"\n{section.replace('_', ' ')}: {len(rows)}")
            if rows and section not in ("added", "removed"):
                for line in table(["suite", "case", "criterion", "old", "new"],
                                  [[r["suite"], r["case"] + (f"[{r['target']}]" if r["target"] else ""),
                                    r["criterion"], str(r["old"]), str(r["new"])] for r in rows]):
                    click.echo("  " + line)
    if fail_on_regression and (diff["regressed"] or diff["new_errors"]):
        raise SystemExit(1)
