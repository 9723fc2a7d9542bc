"""A run's verdicts rolled up once, for every table and plot of its page.

One grouped query (:meth:`ResultsDB.summary_rows`, answered from a covering index) gives the
verdict counts per suite, target, criterion, status, judge and tag set; everything the Run
page shows about the whole run -- per suite and target, per tag, per criterion, the lowest
pass rates, the values its filters can take -- is added up from those few rows here, instead
of each being another pass over 100,000 verdicts.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

STATUSES = ("PASS", "FAIL", "MISSED", "ERROR")


@dataclass
class RunSummary:
    """Totals of one run's verdicts."""

    rows: list[dict[str, Any]]
    by_group: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)
    criteria: list[dict[str, Any]] = field(default_factory=list)
    tags: list[dict[str, Any]] = field(default_factory=list)
    options: dict[str, list[str]] = field(default_factory=dict)


def _tags(text: str | None, cache: dict[str | None, list[str]]) -> list[str]:
    if text not in cache:
        try:
            value = json.loads(text) if text else []
        except ValueError:
            value = []
        cache[text] = [str(t) for t in value] if isinstance(value, list) else []
    return cache[text]


def _zero() -> dict[str, int]:
    return dict.fromkeys(STATUSES, 0)


def matches(
    row: dict[str, Any], status: str, suite: str, target: str | None, judge: str, tag: str, tags: list[str]
) -> bool:
    """Whether a summary row passes the non-text filters of the Run page."""
    return (
        (not status or row["status"] == status)
        and (not suite or row["suite"] == suite)
        and (target is None or row["target"] == target)
        and (not judge or row["judge"] == judge)
        and (not tag or tag in tags)
    )


def criteria_table(rows: list[dict[str, Any]], keep: Any = None) -> list[dict[str, Any]]:
    """Per suite, target and criterion (by hash): counts per status and pass rate, in suite order.

    ``keep(row, tags)`` selects the summary rows that count (a filter); ``None`` keeps all.
    """
    cache: dict[str | None, list[str]] = {}
    table: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for r in rows:
        if keep is not None and not keep(r, _tags(r["tags"], cache)):
            continue
        key = (r["suite"], r["target"], r["criterion_id"], r["criterion_hash"])
        entry = table.get(key)
        if entry is None:
            entry = table[key] = {
                "suite": r["suite"],
                "target": r["target"],
                "criterion_id": r["criterion_id"],
                "criterion_hash": r["criterion_hash"],
                "n": 0,
                "position": r["position"],
                **_zero(),
            }
        entry[r["status"]] = entry.get(r["status"], 0) + r["n"]
        entry["n"] += r["n"]
        entry["position"] = min(entry["position"], r["position"])
    out = sorted(table.values(), key=lambda e: e["position"])
    for e in out:
        judged = e["n"] - e["ERROR"]
        e["pass_rate"] = e["PASS"] / judged if judged else None
    return out


def summarize(rows: list[dict[str, Any]]) -> RunSummary:
    """Roll the grouped rows of :meth:`ResultsDB.summary_rows` up into a :class:`RunSummary`."""
    summary = RunSummary(rows)
    cache: dict[str | None, list[str]] = {}
    by_group: dict[tuple[str, str], dict[str, int]] = defaultdict(_zero)
    by_tag: dict[str, dict[str, int]] = defaultdict(_zero)
    judges: set[str] = set()
    for r in rows:
        by_group[(r["suite"], r["target"])][r["status"]] += r["n"]
        for tag in _tags(r["tags"], cache):
            by_tag[tag][r["status"]] += r["n"]
        if r["judge"]:
            judges.add(r["judge"])
    summary.by_group = dict(by_group)
    summary.criteria = criteria_table(rows)
    summary.tags = [{"tag": t, "n": sum(c.values()), **c} for t, c in sorted(by_tag.items())]
    summary.options = {
        "suite": sorted({r["suite"] for r in rows}),
        "target": sorted({r["target"] for r in rows}),
        "judge": sorted(judges),
        "tag": sorted(by_tag),
        "status": list(STATUSES),
    }
    return summary


def lowest_pass_rates(rows: list[dict[str, Any]], limit: int = 30) -> list[dict[str, Any]]:
    """Pass rate per suite, target and criterion id (errors left out), the ``limit`` lowest first."""
    table: dict[tuple[str, str, str], dict[str, Any]] = {}
    for r in rows:
        if r["status"] == "ERROR":
            continue
        key = (r["suite"], r["target"], r["criterion_id"])
        entry = table.setdefault(key, {"suite": key[0], "target": key[1], "criterion_id": key[2], "n": 0, "passed": 0})
        entry["n"] += r["n"]
        entry["passed"] += r["n"] if r["status"] == "PASS" else 0
    out = [{**e, "pass_rate": e["passed"] / e["n"]} for e in table.values() if e["n"]]
    out.sort(key=lambda e: (e["pass_rate"], -e["n"], e["suite"], e["criterion_id"]))
    return out[:limit]
