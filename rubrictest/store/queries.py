"""Read-only queries over a results database, for ``rubrictest view`` and the HTML report.

Every SQL statement the viewer runs is in this module, :mod:`.history` (comparisons, trends)
and :mod:`.reader` (the read-only connection), so the viewer deals in plain rows. Lists
are paged with ``LIMIT``/``OFFSET`` in index order (migration ``m002_read_indexes``); what
the Run page shows about a whole run comes from one pass over a covering index
(``m003_view_covering_indexes``), rolled up in :mod:`.rollup` and kept for finished runs.

Tables that a later rubrictest adds (stored gates) are read when they exist and reported
as absent otherwise, so a database from an older version opens too.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..errors import StoreError
from .history import HistoryQueries
from .query_params import Page, Pair, RunFilter, VerdictFilter, like_pattern
from .reader import CALL_JSON, STATUSES, all_statuses, duration_s
from .rollup import RunSummary, criteria_table, lowest_pass_rates, matches, summarize

__all__ = ["STATUSES", "Page", "Pair", "ResultsDB", "RunFilter", "VerdictFilter"]


def gate_row(row: dict[str, Any]) -> dict[str, Any]:
    """A stored gate outcome in the fields the pages show (suite, target, status PASS/FAIL/ERROR,
    passes of total cases, pass rate, Wilson lower bound, min pass rate, confidence)."""
    passed = row.get("passed")
    status = str(
        row.get("status") or row.get("outcome") or ("ERROR" if passed is None else ("PASS" if passed else "FAIL"))
    ).upper()
    status = {"PASSED": "PASS", "FAILED": "FAIL"}.get(status, status)
    passes, total = row.get("passes"), row.get("total", row.get("cases"))
    rate = row.get("pass_rate")
    if rate is None and passes is not None and total:
        rate = passes / total
    return {
        "suite": row.get("suite"),
        "target": row.get("target") or "",
        "status": status,
        "passes": passes,
        "total": total,
        "pass_rate": rate,
        "lower_bound": row.get("lower_bound"),
        "min_pass_rate": row.get("min_pass_rate"),
        "confidence": row.get("confidence"),
        "max_disagreement": row.get("max_disagreement"),
        "disagreement_rate": row.get("disagreement_rate"),
    }


class ResultsDB(HistoryQueries):
    """A results database opened for reading only: runs, a run, a case (and, from
    :class:`~rubrictest.store.history.HistoryQueries`, comparisons and trends)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self._summaries: dict[str, tuple[tuple[str, str | None], RunSummary]] = {}

    # ---------------------------------------------------------------- runs

    def resolve_run(self, ref: str | None) -> str:
        """A run id from an id, a unique prefix, ``latest`` or ``-N`` (N-th newest)."""
        if ref in (None, "", "latest", "last"):
            ref = "-1"
        assert ref is not None
        if ref.startswith("-") and ref[1:].isdigit():
            row = self.one("SELECT id FROM runs ORDER BY started_at DESC, id DESC LIMIT 1 OFFSET ?", [int(ref[1:]) - 1])
            if row is None:
                raise StoreError(f"no run {ref} in {self.path}")
            return str(row["id"])
        rows = self.rows("SELECT id FROM runs WHERE id LIKE ? ESCAPE '\\' LIMIT 6", [like_pattern(ref, "prefix")])
        if len(rows) == 1:
            return str(rows[0]["id"])
        if not rows:
            raise StoreError(f"no run {ref!r} in {self.path}")
        raise StoreError(f"run prefix {ref!r} is ambiguous: {', '.join(r['id'] for r in rows[:5])}")

    def runs(self, flt: RunFilter, page: int = 1, per_page: int = 50) -> Page:
        """Runs, newest first, with their suites and targets."""
        where, params = "1 = 1", []
        if flt.status:
            where += " AND r.status = ?"
            params.append(flt.status)
        if flt.kind and "kind" in self.columns("runs"):
            where += " AND r.kind = ?"
            params.append(flt.kind)
        if flt.suite:
            where += " AND EXISTS (SELECT 1 FROM cases c WHERE c.run_id = r.id AND c.suite = ?)"
            params.append(flt.suite)
        if flt.target is not None:
            where += " AND EXISTS (SELECT 1 FROM cases c WHERE c.run_id = r.id AND c.target = ?)"
            params.append(flt.target)
        total = self.one(f"SELECT count(*) AS n FROM runs r WHERE {where}", params)
        items = self.rows(
            f"SELECT * FROM runs r WHERE {where} ORDER BY started_at DESC, id DESC LIMIT ? OFFSET ?",
            [*params, per_page, (page - 1) * per_page],
        )
        by_run: dict[str, list[dict[str, Any]]] = {}
        if items:
            marks = ",".join("?" * len(items))
            for row in self.rows(
                f"SELECT run_id, suite, target, count(*) AS cases FROM cases WHERE run_id IN ({marks}) "
                "GROUP BY run_id, suite, target ORDER BY min(position)",
                [r["id"] for r in items],
            ):
                by_run.setdefault(row["run_id"], []).append(row)
        for run in items:
            groups = by_run.get(run["id"], [])
            run["suites"] = list(dict.fromkeys(g["suite"] for g in groups))
            run["targets"] = [t for t in dict.fromkeys(g["target"] for g in groups) if t]
            run["cases"] = sum(g["cases"] for g in groups)
            run["duration_s"] = duration_s(run["started_at"], run["finished_at"])
            run["gates"] = self.gates(run["id"])
            run["counts"] = all_statuses(run.get("counts"))
        return Page(items, int(total["n"]) if total else 0, page, per_page)

    def run(self, run_id: str) -> dict[str, Any] | None:
        """One run row with its duration."""
        run = self.one("SELECT * FROM runs WHERE id = ?", [run_id])
        if run is not None:
            run["duration_s"] = duration_s(run["started_at"], run["finished_at"])
            if not run.get("counts"):  # a run that never finished: count what was stored
                run["counts"] = {
                    r["status"]: r["n"]
                    for r in self.rows(
                        "SELECT status, count(*) AS n FROM verdicts WHERE run_id = ? GROUP BY status", [run_id]
                    )
                }
            run["counts"] = all_statuses(run["counts"])
        return run

    def previous_run(self, run_id: str) -> str | None:
        """The run started just before ``run_id``."""
        row = self.one(
            "SELECT p.id FROM runs p, runs r WHERE r.id = ? AND (p.started_at, p.id) < (r.started_at, r.id) "
            "ORDER BY p.started_at DESC, p.id DESC LIMIT 1",
            [run_id],
        )
        return str(row["id"]) if row else None

    def run_options(self) -> dict[str, list[str]]:
        """Suites, targets and statuses to filter the runs list by."""
        return {
            "suite": [r["suite"] for r in self.rows("SELECT DISTINCT suite FROM cases ORDER BY suite")],
            "target": [r["target"] for r in self.rows("SELECT DISTINCT target FROM cases ORDER BY target")],
            "status": [r["status"] for r in self.rows("SELECT DISTINCT status FROM runs ORDER BY status")],
            "kind": [r["kind"] for r in self.rows("SELECT DISTINCT kind FROM runs ORDER BY kind")]
            if "kind" in self.columns("runs")
            else [],
        }

    def usage(self, run_id: str) -> list[dict[str, Any]]:
        """Calls, tokens, cost and latency of a run per component."""
        return self.rows(
            "SELECT kind, component, count(*) AS calls, sum(input_tokens) AS input_tokens, "
            "sum(output_tokens) AS output_tokens, sum(cost_usd) AS cost_usd, avg(latency_s) AS mean_latency_s "
            "FROM judge_calls WHERE run_id = ? AND request IS NOT NULL GROUP BY kind, component "
            "ORDER BY kind, component",
            [run_id],
        )

    # ---------------------------------------------------------------- a run

    def summary(self, run_id: str) -> RunSummary:
        """The run's verdicts rolled up (:mod:`.rollup`); kept once the run has finished."""
        run = self.one("SELECT status, finished_at FROM runs WHERE id = ?", [run_id])
        key = (run_id, run["finished_at"] if run else None)
        cached = self._summaries.get(run_id)
        if cached is not None and cached[0] == key:
            return cached[1]
        # One pass over the covering index idx_verdicts_run_summary, grouped in its order.
        rows = self.rows(
            "SELECT suite, target, criterion_id, criterion_hash, status, judge, tags, count(*) AS n, "
            "min(position) AS position FROM verdicts WHERE run_id = ? "
            "GROUP BY suite, target, criterion_id, criterion_hash, status, judge, tags",
            [run_id],
        )
        for r in rows:  # tags are decoded by the roll-up, once per distinct value
            if not isinstance(r["tags"], str) and r["tags"] is not None:
                r["tags"] = json.dumps(r["tags"])
        summary = summarize(rows)
        if run is not None and run["status"] != "running":
            self._summaries[run_id] = (key, summary)
        return summary

    def groups(self, run_id: str) -> list[dict[str, Any]]:
        """Per suite and target: case outcomes, mean score, and verdict counts per status."""
        cases = self.rows(
            "SELECT suite, target, min(suite_path) AS path, count(*) AS cases, sum(outcome = 'passed') AS passed, "
            "sum(outcome = 'failed') AS failed, sum(outcome = 'error') AS errors, avg(score) AS mean_score, "
            "min(position) AS position FROM cases WHERE run_id = ? GROUP BY suite, target ORDER BY position",
            [run_id],
        )
        by_group = self.summary(run_id).by_group
        for group in cases:
            counts = by_group.get((group["suite"], group["target"]), dict.fromkeys(STATUSES, 0))
            group["criteria"] = counts
            group["verdicts"] = sum(counts.values())
        return cases

    def criteria(self, run_id: str, flt: VerdictFilter, page: int = 1, per_page: int = 50) -> Page:
        """Per suite, target and criterion (by hash): verdict counts per status, in suite order."""
        summary = self.summary(run_id)
        if not flt.active():
            table = summary.criteria
        elif not flt.text:

            def keep(row: dict[str, Any], tags: list[str]) -> bool:
                return matches(row, flt.status, flt.suite, flt.target, flt.judge, flt.tag, tags)

            table = criteria_table(summary.rows, keep)
        else:
            where, params = flt.where()
            table = criteria_table(self._grouped(run_id, where, params))
        start = (page - 1) * per_page
        items = [dict(r) for r in table[start : start + per_page]]
        for r in items:  # what the criterion says, from one of its verdicts (same hash, same content)
            r.update(
                self.one(
                    "SELECT criterion_text AS text, check_name, points, must FROM verdicts "
                    "WHERE criterion_hash = ? LIMIT 1",
                    [r["criterion_hash"]],
                )
                or {}
            )
        return Page(items, len(table), page, per_page)

    def _grouped(self, run_id: str, where: str, params: list[Any]) -> list[dict[str, Any]]:
        """Verdict counts of the rows that pass a text filter, grouped like the summary."""
        return self.rows(
            "SELECT v.suite, v.target, v.criterion_id, v.criterion_hash, v.status, v.judge, NULL AS tags, "
            f"count(*) AS n, min(v.position) AS position FROM verdicts v WHERE v.run_id = ?{where} "
            "GROUP BY v.suite, v.target, v.criterion_id, v.criterion_hash, v.status, v.judge",
            [run_id, *params],
        )

    def verdicts(self, run_id: str, flt: VerdictFilter, page: int = 1, per_page: int = 50) -> Page:
        """A run's verdicts in suite order, filtered and paged."""
        where, params = flt.where()
        total = self.one(f"SELECT count(*) AS n FROM verdicts v WHERE v.run_id = ?{where}", [run_id, *params])
        items = self.rows(
            "SELECT v.id, v.suite, v.case_id, v.target, v.criterion_id, v.criterion_text, v.status, v.outcome, "
            "v.confidence, v.judge, v.evidence, v.evidence_supported, v.rationale, v.error, v.cached, v.tags, "
            f"v.criterion_hash FROM verdicts v WHERE v.run_id = ?{where} ORDER BY v.position, v.id LIMIT ? OFFSET ?",
            [run_id, *params, per_page, (page - 1) * per_page],
        )
        return Page(items, int(total["n"]) if total else 0, page, per_page)

    def failures(self, run_id: str, suite: str, target: str, limit: int) -> tuple[list[dict[str, Any]], int]:
        """The first ``limit`` FAIL and ERROR verdicts of one suite and target, and how many there are."""
        where = "run_id = ? AND suite = ? AND target = ? AND status IN ('FAIL', 'ERROR')"
        params = [run_id, suite, target]
        total = self.one(f"SELECT count(*) AS n FROM verdicts WHERE {where}", params)
        rows = self.rows(
            "SELECT case_id, criterion_id, criterion_text, status, evidence, rationale, error "
            f"FROM verdicts WHERE {where} ORDER BY position, id LIMIT ?",
            [*params, limit],
        )
        return rows, int(total["n"]) if total else 0

    def failed_cases(self, run_id: str, suite: str, target: str, limit: int) -> list[dict[str, Any]]:
        """Cases of one suite and target that failed on their score (or had no score)."""
        return self.rows(
            "SELECT case_id, score, outcome, reason FROM cases WHERE run_id = ? AND suite = ? "
            "AND target = ? AND outcome IN ('failed', 'error') AND score IS NOT NULL "
            "ORDER BY position LIMIT ?",
            [run_id, suite, target, limit],
        )

    def tag_counts(self, run_id: str) -> list[dict[str, Any]]:
        """Verdict counts per status for each tag."""
        return self.summary(run_id).tags

    def filter_options(self, run_id: str) -> dict[str, list[str]]:
        """The values each verdict filter can take in this run."""
        return self.summary(run_id).options

    def score_bins(self, run_id: str, bins: int = 10) -> list[dict[str, Any]]:
        """Case-score histogram per target: ``bins`` equal bins over [0, 1]."""
        return self.rows(
            f"SELECT target, min(CAST(score * {bins} AS INTEGER), {bins - 1}) AS bin, count(*) AS n "
            "FROM cases WHERE run_id = ? AND score IS NOT NULL GROUP BY target, bin ORDER BY target, bin",
            [run_id],
        )

    def pass_rates(self, run_id: str, limit: int = 30) -> list[dict[str, Any]]:
        """Pass rate per criterion id and target: the ``limit`` lowest (the ones worth looking at)."""
        return lowest_pass_rates(self.summary(run_id).rows, limit)

    def gates(self, run_id: str) -> list[dict[str, Any]] | None:
        """The run's stored gate outcomes, or ``None`` when this database stores no gates."""
        if "gates" not in self.tables():
            return None
        return [gate_row(r) for r in self.rows("SELECT * FROM gates WHERE run_id = ? ORDER BY rowid", [run_id])]

    def trust(self, run_id: str) -> dict[str, Any]:
        """What judges checking each other found in a run: the criteria a judge panel split on
        (rubric problems; ``None`` without a panel) and the cases a sentinel disagreed on."""
        tables = self.tables()
        out: dict[str, Any] = {"agreement": None, "disagreements": [], "sentinel_cases": 0}
        if "member_verdicts" in tables:
            members = self.rows(
                "SELECT suite, case_id, target, criterion_id, member, member_index, outcome "
                "FROM member_verdicts WHERE run_id = ?",
                [run_id],
            )
            if members:
                from .agreement import panel_agreement

                verdicts = [
                    {**v, "tags": json.loads(v["tags"]) if isinstance(v["tags"], str) else v["tags"]}
                    for v in self.rows(
                        "SELECT suite, case_id, target, criterion_id, tags, criterion_text "
                        "FROM verdicts WHERE run_id = ?",
                        [run_id],
                    )
                ]
                out["agreement"] = panel_agreement(members, verdicts)
        if "sentinel_verdicts" in tables:
            out["sentinel_cases"] = (
                self.one("SELECT count(*) AS n FROM sentinel_verdicts WHERE run_id = ?", [run_id]) or {}
            ).get("n", 0)
            out["disagreements"] = self.rows(
                "SELECT suite, case_id, target, judge, score, rubric_score, disagreement FROM sentinel_verdicts "
                "WHERE run_id = ? AND disagreement IS NOT NULL ORDER BY id",
                [run_id],
            )
        return out

    def repeats(self, run_id: str) -> dict[str, Any] | None:
        """The run's repeats (``--rubric-repeat K``) as ``rubrictest report`` shows them: per
        repeated criterion the majority, the repeats' outcomes, the flip rate and the unstable
        mark, with the counts (:func:`~.repeat_report.repeat_section`); ``None`` without repeats."""
        if "repeat_verdicts" not in self.tables():
            return None
        from .repeat_report import repeat_section

        verdicts = self.rows(
            "SELECT suite, case_id, target, criterion_id, outcome, status, repeats, flip_rate, unstable "
            "FROM verdicts WHERE run_id = ? AND repeats IS NOT NULL ORDER BY position, id",
            [run_id],
        )
        if not verdicts:
            return None
        rows = self.rows(
            "SELECT suite, case_id, target, criterion_id, outcome FROM repeat_verdicts WHERE run_id = ? "
            "ORDER BY suite, case_id, target, criterion_id, repeat",
            [run_id],
        )
        return repeat_section(verdicts, rows)

    # ---------------------------------------------------------------- a case

    def case(self, run_id: str, suite: str, case_id: str, target: str) -> dict[str, Any] | None:
        """One case run with its verdicts (suite order) and the model calls behind them."""
        case = self.one(
            "SELECT * FROM cases WHERE run_id = ? AND suite = ? AND case_id = ? AND target = ?",
            [run_id, suite, case_id, target],
        )
        verdicts = self.rows(
            "SELECT * FROM verdicts WHERE run_id = ? AND suite = ? AND case_id = ? AND target = ? "
            "ORDER BY position, id",
            [run_id, suite, case_id, target],
        )
        if case is None and not verdicts:
            return None
        if case is None:  # verdicts stored, case row not (an interrupted run)
            case = {
                "run_id": run_id,
                "suite": suite,
                "case_id": case_id,
                "target": target,
                "response": None,
                "input": None,
                "reference": None,
                "score": None,
                "outcome": None,
                "reason": None,
                "tags": [],
            }
        case["verdicts"] = verdicts
        tables = self.tables()
        if "member_verdicts" in tables:  # a judge panel's members, beside the panel's verdict
            members = self.rows(
                "SELECT criterion_id, member, outcome, confidence, counted, error, rationale "
                "FROM member_verdicts WHERE run_id = ? AND suite = ? AND case_id = ? AND target = ? "
                "ORDER BY member_index",
                [run_id, suite, case_id, target],
            )
            for v in verdicts:
                v["members"] = [m for m in members if m["criterion_id"] == v["criterion_id"]]
        if "repeat_verdicts" in tables and any(v.get("repeats") for v in verdicts):
            # --rubric-repeat: every repeat's verdict beside the majority's
            repeats = self.rows(
                "SELECT criterion_id, repeat, judge, outcome, confidence, rationale, error, cached "
                "FROM repeat_verdicts WHERE run_id = ? AND suite = ? AND case_id = ? AND target = ? "
                "ORDER BY repeat",
                [run_id, suite, case_id, target],
            )
            for v in verdicts:
                v["repeat_answers"] = [r for r in repeats if r["criterion_id"] == v["criterion_id"]]
        case["sentinel"] = (
            self.one(
                "SELECT judge, outcome, confidence, score, rubric_score, disagreement, rationale, evidence, error "
                "FROM sentinel_verdicts WHERE run_id = ? AND suite = ? AND case_id = ? AND target = ?",
                [run_id, suite, case_id, target],
            )
            if "sentinel_verdicts" in tables
            else None
        )
        call_ids = sorted({v["judge_call_id"] for v in verdicts if v["judge_call_id"] is not None})
        case["calls"] = self.calls(call_ids)
        return case

    def case_keys(self, run_id: str) -> list[dict[str, Any]]:
        """Every case of a run that has a verdict or a case row, in suite order."""
        return self.rows(
            "SELECT suite, case_id, target, min(position) AS position FROM ("
            "SELECT suite, case_id, target, position * 10000 AS position FROM cases WHERE run_id = ? UNION ALL "
            "SELECT suite, case_id, target, position FROM verdicts WHERE run_id = ?) "
            "GROUP BY suite, case_id, target ORDER BY position",
            [run_id, run_id],
        )

    def calls(self, ids: Iterable[int]) -> list[dict[str, Any]]:
        """Model calls by id."""
        ids = list(ids)
        if not ids:
            return []
        calls = self.rows(f"SELECT * FROM judge_calls WHERE id IN ({','.join('?' * len(ids))}) ORDER BY id", ids)
        for call in calls:
            for key in CALL_JSON:
                if isinstance(call.get(key), str):
                    try:
                        call[key] = json.loads(call[key])
                    except ValueError:
                        pass  # stored as text
        return calls

    def case_targets(self, run_id: str, suite: str, case_id: str) -> list[str]:
        """Every target the case ran against in the run."""
        return [
            r["target"]
            for r in self.rows(
                "SELECT target FROM cases WHERE run_id = ? AND suite = ? AND case_id = ? ORDER BY position",
                [run_id, suite, case_id],
            )
        ]
