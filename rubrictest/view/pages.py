"""What each page shows, as plain data: shared by the web app and the HTML report.

A page function takes the read-only database and the page's parameters and returns the
context its template renders. Nothing here knows about HTTP or files, so the same Run, Case
and Compare pages are served by ``rubrictest view`` and written by ``rubrictest report --html``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..store import comparison
from ..store.queries import STATUSES, Pair, ResultsDB, RunFilter, VerdictFilter
from . import charts
from .highlight import segments


class NotFound(LookupError):
    """The page's subject (a run, a case, a criterion) is not in the database."""


@dataclass
class Side:
    """One side of a comparison, as shown in headings."""

    run_id: str
    target: str | None
    label: str


def runs_page(db: ResultsDB, flt: RunFilter, page: int, per_page: int = 50) -> dict[str, Any]:
    """The runs list."""
    return {"runs": db.runs(flt, page, per_page), "filter": flt, "options": db.run_options()}


def run_page(
    db: ResultsDB, run_id: str, flt: VerdictFilter, page: int = 1, criteria_page: int = 1, per_page: int = 50
) -> dict[str, Any]:
    """A run: per suite and target, gates, tags, criteria, filtered verdicts and the plots, and
    under ``--rubric-repeat`` the criteria whose repeats flipped (the unstable ones marked)."""
    run = db.run(run_id)
    if run is None:
        raise NotFound(f"no run {run_id!r}")
    groups = db.groups(run_id)
    return {
        "run": run,
        "groups": groups,
        "gates": db.gates(run_id),
        "tags": db.tag_counts(run_id),
        "trust": db.trust(run_id),
        "repeats": db.repeats(run_id),
        "usage": db.usage(run_id),
        "filter": flt,
        "options": db.filter_options(run_id),
        "criteria": db.criteria(run_id, flt, criteria_page, per_page),
        "verdicts": db.verdicts(run_id, flt, page, per_page),
        "charts": {
            "scores": charts.score_distribution(db.score_bins(run_id)),
            "pass_rates": charts.pass_rates(db.pass_rates(run_id)),
        },
        "target_pairs": db.target_pairs(run_id)[:3],
        "previous": db.previous_run(run_id),
        "statuses": STATUSES,
    }


def case_page(db: ResultsDB, run_id: str, suite: str, case_id: str, target: str) -> dict[str, Any]:
    """A case: input, reference, the response with evidence highlighted, every verdict and its call."""
    run = db.run(run_id)
    case = db.case(run_id, suite, case_id, target)
    if run is None or case is None:
        raise NotFound(f"no case {suite}/{case_id} [{target}] in run {run_id!r}")
    verdicts = case["verdicts"]
    response = case["response"] or ""
    segs, located = segments(response, [v["evidence"] for v in verdicts])
    calls = {c["id"]: c for c in case["calls"]}
    for index, v in enumerate(verdicts):
        v["mark"] = index + 1
        v["located"] = located[index]
        v["call"] = calls.get(v["judge_call_id"])
    return {
        "run": run,
        "case": case,
        "segments": segs,
        "verdicts": verdicts,
        "other_targets": [t for t in db.case_targets(run_id, suite, case_id) if t != target],
    }


def make_pair(run_a: str, run_b: str, target_a: str | None, target_b: str | None) -> Pair:
    """A comparison of two runs (targets matched by label) or of two targets of one run."""
    same = run_a == run_b
    if same and (target_a is None or target_b is None):
        raise NotFound("comparing a run with itself needs two targets")
    return comparison.make_pair(run_a, run_b, target_a, target_b)


def compare_page(
    db: ResultsDB, pair: Pair, page: int = 1, per_page: int = 50, options: comparison.CompareOptions | None = None
) -> dict[str, Any]:
    """Two runs or two targets side by side: per criterion the paired table with its exact
    McNemar p-value (raw and adjusted), per suite the case-score difference with its bootstrap
    interval, the regressions (all from :func:`rubrictest.store.comparison.compare`, as
    ``rubrictest compare`` prints them) and the flipped cases."""
    runs = {r: db.run(r) for r in {pair.run_a, pair.run_b}}
    missing = [r for r, row in runs.items() if row is None]
    if missing:
        raise NotFound(f"no run {missing[0]!r}")
    options = options or comparison.CompareOptions()
    key = ("compare", pair.run_a, pair.run_b, pair.target_a, pair.target_b, options)
    stats = db.kept(key, (pair.run_a, pair.run_b), lambda: comparison.compare(db, pair, options))
    table = stats["criteria"]
    totals = {
        k: sum(r[k] or 0 for r in table)
        for k in ("pairs", "both_pass", "both_fail", "fixed", "broken", "errors", "changed")
    }
    totals["n"] = totals.pop("pairs")
    raw = db.paired_table(pair)
    totals["flips"] = sum(r["flips"] or 0 for r in raw)
    return {
        "pair": pair,
        "run_a": runs[pair.run_a],
        "run_b": runs[pair.run_b],
        "table": table,
        "totals": totals,
        "flipped": db.flipped(pair, totals["flips"], page, per_page),
        "unpaired": {"a": stats["differences"]["only_a"], "b": stats["differences"]["only_b"]},
        "chart": charts.paired(
            [{**r, "target": ""} for r in raw] if pair.target_a is not None else raw, pair.label_a, pair.label_b
        ),
        "scores": stats["suites"],
        "stats": stats,
        "differs": comparison.differs(stats),
    }


def pair_case_page(db: ResultsDB, pair: Pair, suite: str, case_id: str) -> dict[str, Any]:
    """One case from both sides of a comparison, responses side by side."""
    sides = []
    for run_id, target in ((pair.run_a, pair.target_a), (pair.run_b, pair.target_b)):
        found = db.case(run_id, suite, case_id, target) if target is not None else None
        if target is None:  # two runs: the case under the same target label on both sides
            for t in db.case_targets(pair.run_a, suite, case_id)[:1] or [""]:
                found = db.case(run_id, suite, case_id, t)
        sides.append(found)
    if sides[0] is None and sides[1] is None:
        raise NotFound(f"no case {suite}/{case_id} in either run")
    cases = []
    for side in sides:
        if side is not None:
            segs, located = segments(side["response"] or "", [v["evidence"] for v in side["verdicts"]])
            for index, v in enumerate(side["verdicts"]):
                v["mark"] = index + 1
                v["located"] = located[index]
            side["segments"] = segs
            side["truncated"] = 0
        cases.append(side)
    statuses: dict[str, list[str | None]] = {}
    for i, side in enumerate(cases):
        for v in (side or {}).get("verdicts", []):
            statuses.setdefault(v["criterion_id"], [None, None])[i] = v["status"]
    return {
        "pair": pair,
        "suite": suite,
        "case_id": case_id,
        "sides": cases,
        "statuses": [{"criterion_id": k, "a": a, "b": b} for k, (a, b) in statuses.items()],
    }


def trends_page(db: ResultsDB, text: str, page: int, per_page: int = 50) -> dict[str, Any]:
    """Criteria that can be followed across runs, and the judges."""
    judges = db.judges()
    for j in judges:
        j["calibrations"] = len(db.calibrations(j["judge"]) or [])
    return {"criteria": db.trend_criteria(text, page, per_page), "text": text, "judges": judges}


def trend_page(db: ResultsDB, criterion_hash: str) -> dict[str, Any]:
    """One criterion (by hash) across runs: its pass rate over time per target."""
    rows = db.trend(criterion_hash)
    if not rows:
        raise NotFound(f"no verdicts for criterion hash {criterion_hash!r}")
    for r in rows:
        judged = r["n"] - (r["errors"] or 0)
        r["pass_rate"] = (r["passed"] or 0) / judged if judged else None
    return {"hash": criterion_hash, "rows": rows, "first": rows[0], "chart": charts.trend(rows)}


def judge_page(db: ResultsDB, judge: str) -> dict[str, Any]:
    """A judge: how confident it is and how often it says met, and its stored calibrations."""
    rows = [j for j in db.judges() if j["judge"] == judge]
    if not rows:
        raise NotFound(f"no verdict of judge {judge!r}")
    calibrations = db.calibrations(judge)
    latest = calibrations[0] if calibrations else None
    return {
        "judge": rows[0],
        "chart": charts.confidence_profile(db.confidence_bins(judge), judge),
        "calibrations": calibrations,
        "reliability": charts.reliability(
            (latest or {}).get("reliability") or [], f"Reliability, calibration of {latest['created_at'][:10]}"
        )
        if latest
        else None,
    }
