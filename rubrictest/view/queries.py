"""Read-only queries over a results database, for ``rubrictest view`` and the HTML report.

Every SQL statement the viewer runs is here, so the viewer's other modules deal in plain
rows. The connection is opened read-only (``mode=ro``, ``query_only``): no page of the viewer
can change a database, and a database is never migrated by looking at it. Lists are paged
with ``LIMIT``/``OFFSET`` and follow the indexes of migration ``m002_read_indexes``, so a run
of 100,000 verdicts reads as fast as a small one.

Tables that a later rubrictest adds (stored gates) are read when they exist and reported
as absent otherwise, so a database from an older version opens too.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ..errors import StoreError
from .filters import Page, Pair, RunFilter, VerdictFilter, like_pattern

__all__ = ["STATUSES", "Page", "Pair", "ResultsDB", "RunFilter", "VerdictFilter"]

STATUSES = ("PASS", "FAIL", "MISSED", "ERROR")
# JSON columns decoded on read; a judge call's request/response/result are decoded in
# :meth:`ResultsDB.calls` only, since ``cases.response`` is text even when it looks like JSON.
_JSON = {"argv", "counts", "usage", "tags", "votes"}
_CALL_JSON = ("request", "response", "result")


def _decode(row: sqlite3.Row | None) -> dict[str, Any] | None:
    if row is None:
        return None
    out = dict(row)
    for key in _JSON & out.keys():
        if isinstance(out[key], str):
            try:
                out[key] = json.loads(out[key])
            except ValueError:
                pass  # a text response is shown as the text it is
    return out


def _all_statuses(counts: Any) -> dict[str, int]:
    """Stored counts per status, with a zero for each status the run did not have."""
    counts = counts if isinstance(counts, dict) else {}
    return {s: int(counts.get(s) or 0) for s in STATUSES}


def duration_s(started: str | None, finished: str | None) -> float | None:
    """Seconds between two stored ISO times (``None`` when either is missing)."""
    if not started or not finished:
        return None
    try:
        return (datetime.fromisoformat(finished) - datetime.fromisoformat(started)).total_seconds()
    except ValueError:
        return None


class ResultsDB:
    """A results database opened for reading only.

    Use :meth:`open`: it refuses, with the reason, a file that is missing, unreadable, not
    SQLite or not rubrictest's. One connection per thread (the web server answers from a
    thread pool).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._tables: set[str] | None = None

    @classmethod
    def open(cls, path: str | Path) -> ResultsDB:
        """Open ``path`` read-only and check that it is a rubrictest results database.

        Raises:
            StoreError: with a message a person can act on.
        """
        path = Path(path)
        if not path.exists():
            raise StoreError(f"no results database at {path} (run the suites first, or pass --db)")
        if not path.is_file():
            raise StoreError(f"{path} is not a file")
        try:
            with path.open("rb") as fh:
                head = fh.read(16)
        except OSError as exc:
            raise StoreError(f"cannot read {path}: {exc.strerror or exc}") from None
        if head != b"SQLite format 3\x00":
            raise StoreError(f"{path} is not a SQLite database")
        db = cls(path)
        try:
            tables = db.tables()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read {path}: {exc}") from None
        if not {"runs", "cases", "verdicts", "judge_calls"} <= tables:
            raise StoreError(f"{path} is not a rubrictest results database")
        return db

    def conn(self) -> sqlite3.Connection:
        """This thread's read-only connection."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            uri = "file:" + quote(str(self.path.resolve())) + "?mode=ro"
            conn = sqlite3.connect(uri, uri=True, check_same_thread=False, timeout=10)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA query_only = 1")
            self._local.conn = conn
        return conn

    def tables(self) -> set[str]:
        """Names of the tables in the database."""
        if self._tables is None:
            self._tables = {r[0] for r in self.conn().execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        return self._tables

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        return [_decode(r) or {} for r in self.conn().execute(sql, tuple(params))]

    def one(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        return _decode(self.conn().execute(sql, tuple(params)).fetchone())

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # ---------------------------------------------------------------- runs

    def resolve_run(self, ref: str | None) -> str:
        """A run id from an id, a unique prefix, ``latest`` or ``-N`` (N-th newest)."""
        if ref in (None, "", "latest", "last"):
            ref = "-1"
        assert ref is not None
        if ref.startswith("-") and ref[1:].isdigit():
            row = self.one("SELECT id FROM runs ORDER BY started_at DESC, id DESC LIMIT 1 OFFSET ?",
                           [int(ref[1:]) - 1])
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
        if flt.suite:
            where += " AND EXISTS (SELECT 1 FROM cases c WHERE c.run_id = r.id AND c.suite = ?)"
            params.append(flt.suite)
        if flt.target is not None:
            where += " AND EXISTS (SELECT 1 FROM cases c WHERE c.run_id = r.id AND c.target = ?)"
            params.append(flt.target)
        total = self.one(f"SELECT count(*) AS n FROM runs r WHERE {where}", params)
        items = self.rows(f"SELECT * FROM runs r WHERE {where} ORDER BY started_at DESC, id DESC LIMIT ? OFFSET ?",
                          [*params, per_page, (page - 1) * per_page])
        by_run: dict[str, list[dict[str, Any]]] = {}
        if items:
            marks = ",".join("?" * len(items))
            for row in self.rows(
                    f"SELECT run_id, suite, target, count(*) AS cases FROM cases WHERE run_id IN ({marks}) "
                    "GROUP BY run_id, suite, target ORDER BY min(position)", [r["id"] for r in items]):
                by_run.setdefault(row["run_id"], []).append(row)
        for run in items:
            groups = by_run.get(run["id"], [])
            run["suites"] = list(dict.fromkeys(g["suite"] for g in groups))
            run["targets"] = [t for t in dict.fromkeys(g["target"] for g in groups) if t]
            run["cases"] = sum(g["cases"] for g in groups)
            run["duration_s"] = duration_s(run["started_at"], run["finished_at"])
            run["gates"] = self.gates(run["id"])
            run["counts"] = _all_statuses(run.get("counts"))
        return Page(items, int(total["n"]) if total else 0, page, per_page)

    def run(self, run_id: str) -> dict[str, Any] | None:
        """One run row with its duration."""
        run = self.one("SELECT * FROM runs WHERE id = ?", [run_id])
        if run is not None:
            run["duration_s"] = duration_s(run["started_at"], run["finished_at"])
            if not run.get("counts"):  # a run that never finished: count what was stored
                run["counts"] = {r["status"]: r["n"] for r in self.rows(
                    "SELECT status, count(*) AS n FROM verdicts WHERE run_id = ? GROUP BY status", [run_id])}
            run["counts"] = _all_statuses(run["counts"])
        return run

    def previous_run(self, run_id: str) -> str | None:
        """The run started just before ``run_id``."""
        row = self.one("SELECT p.id FROM runs p, runs r WHERE r.id = ? AND (p.started_at, p.id) < (r.started_at, r.id) "
                       "ORDER BY p.started_at DESC, p.id DESC LIMIT 1", [run_id])
        return str(row["id"]) if row else None

    def run_options(self) -> dict[str, list[str]]:
        """Suites, targets and statuses to filter the runs list by."""
        return {"suite": [r["suite"] for r in self.rows("SELECT DISTINCT suite FROM cases ORDER BY suite")],
                "target": [r["target"] for r in self.rows("SELECT DISTINCT target FROM cases ORDER BY target")],
                "status": [r["status"] for r in self.rows("SELECT DISTINCT status FROM runs ORDER BY status")]}

    def usage(self, run_id: str) -> list[dict[str, Any]]:
        """Calls, tokens, cost and latency of a run per component."""
        return self.rows(
            "SELECT kind, component, count(*) AS calls, sum(input_tokens) AS input_tokens, "
            "sum(output_tokens) AS output_tokens, sum(cost_usd) AS cost_usd, avg(latency_s) AS mean_latency_s "
            "FROM judge_calls WHERE run_id = ? AND request IS NOT NULL GROUP BY kind, component "
            "ORDER BY kind, component", [run_id])

    # ---------------------------------------------------------------- a run

    def groups(self, run_id: str) -> list[dict[str, Any]]:
        """Per suite and target: case outcomes, mean score, and verdict counts per status."""
        cases = self.rows(
            "SELECT suite, target, min(suite_path) AS path, count(*) AS cases, sum(outcome = 'passed') AS passed, "
            "sum(outcome = 'failed') AS failed, sum(outcome = 'error') AS errors, avg(score) AS mean_score, "
            "min(position) AS position FROM cases WHERE run_id = ? GROUP BY suite, target ORDER BY position",
            [run_id])
        counts = {(r["suite"], r["target"]): r for r in self.rows(
            "SELECT suite, target, count(*) AS n, " + ", ".join(
                f"sum(status = '{s}') AS {s}" for s in STATUSES) +
            " FROM verdicts WHERE run_id = ? GROUP BY suite, target", [run_id])}
        for group in cases:
            c = counts.get((group["suite"], group["target"]), {})
            group["criteria"] = {s: int(c.get(s) or 0) for s in STATUSES}
            group["verdicts"] = int(c.get("n") or 0)
        return cases

    def filter_options(self, run_id: str) -> dict[str, list[str]]:
        """The values each verdict filter can take in this run."""
        out = {}
        for column in ("suite", "target", "judge"):
            out[column] = [r["v"] for r in self.rows(
                f"SELECT DISTINCT {column} AS v FROM verdicts WHERE run_id = ? ORDER BY v", [run_id])]
        out["tag"] = [r["v"] for r in self.rows(
            "SELECT DISTINCT j.value AS v FROM verdicts, json_each(verdicts.tags) AS j "
            "WHERE verdicts.run_id = ? ORDER BY v", [run_id])]
        out["status"] = list(STATUSES)
        return out

    def criteria(self, run_id: str, flt: VerdictFilter, page: int = 1, per_page: int = 50) -> Page:
        """Per suite, target and criterion (by hash): verdict counts per status, in suite order."""
        where, params = flt.where()
        rows = self.rows(
            "SELECT v.suite, v.target, v.criterion_id, v.criterion_hash, min(v.criterion_text) AS text, "
            "min(v.check_name) AS check_name, min(v.points) AS points, max(v.must) AS must, count(*) AS n, "
            + ", ".join(f"sum(v.status = '{s}') AS {s}" for s in STATUSES) +
            ", count(*) OVER () AS total_rows FROM verdicts v "
            f"WHERE v.run_id = ?{where} GROUP BY v.suite, v.target, v.criterion_id, v.criterion_hash "
            "ORDER BY min(v.position) LIMIT ? OFFSET ?", [run_id, *params, per_page, (page - 1) * per_page])
        total = int(rows[0]["total_rows"]) if rows else self._count_groups(run_id, where, params)
        for r in rows:
            judged = r["n"] - (r["ERROR"] or 0)
            r["pass_rate"] = (r["PASS"] or 0) / judged if judged else None
        return Page(rows, total, page, per_page)

    def _count_groups(self, run_id: str, where: str, params: list[Any]) -> int:
        row = self.one("SELECT count(*) AS n FROM (SELECT 1 FROM verdicts v WHERE v.run_id = ?" + where +
                       " GROUP BY v.suite, v.target, v.criterion_id, v.criterion_hash)", [run_id, *params])
        return int(row["n"]) if row else 0

    def verdicts(self, run_id: str, flt: VerdictFilter, page: int = 1, per_page: int = 50) -> Page:
        """A run's verdicts in suite order, filtered and paged."""
        where, params = flt.where()
        total = self.one(f"SELECT count(*) AS n FROM verdicts v WHERE v.run_id = ?{where}", [run_id, *params])
        items = self.rows(
            "SELECT v.id, v.suite, v.case_id, v.target, v.criterion_id, v.criterion_text, v.status, v.outcome, "
            "v.confidence, v.judge, v.evidence, v.evidence_supported, v.rationale, v.error, v.cached, v.tags, "
            f"v.criterion_hash FROM verdicts v WHERE v.run_id = ?{where} ORDER BY v.position, v.id LIMIT ? OFFSET ?",
            [run_id, *params, per_page, (page - 1) * per_page])
        return Page(items, int(total["n"]) if total else 0, page, per_page)

    def failures(self, run_id: str, suite: str, target: str, limit: int) -> tuple[list[dict[str, Any]], int]:
        """The first ``limit`` FAIL and ERROR verdicts of one suite and target, and how many there are."""
        where = "run_id = ? AND suite = ? AND target = ? AND status IN ('FAIL', 'ERROR')"
        params = [run_id, suite, target]
        total = self.one(f"SELECT count(*) AS n FROM verdicts WHERE {where}", params)
        rows = self.rows("SELECT case_id, criterion_id, criterion_text, status, evidence, rationale, error "
                         f"FROM verdicts WHERE {where} ORDER BY position, id LIMIT ?", [*params, limit])
        return rows, int(total["n"]) if total else 0

    def failed_cases(self, run_id: str, suite: str, target: str, limit: int) -> list[dict[str, Any]]:
        """Cases of one suite and target that failed on their score (or had no score)."""
        return self.rows("SELECT case_id, score, outcome, reason FROM cases WHERE run_id = ? AND suite = ? "
                         "AND target = ? AND outcome IN ('failed', 'error') AND score IS NOT NULL "
                         "ORDER BY position LIMIT ?", [run_id, suite, target, limit])

    def tag_counts(self, run_id: str) -> list[dict[str, Any]]:
        """Verdict counts per status for each tag."""
        return self.rows(
            "SELECT j.value AS tag, count(*) AS n, " + ", ".join(f"sum(v.status = '{s}') AS {s}" for s in STATUSES) +
            " FROM verdicts v, json_each(v.tags) AS j WHERE v.run_id = ? GROUP BY j.value ORDER BY j.value",
            [run_id])

    def score_bins(self, run_id: str, bins: int = 10) -> list[dict[str, Any]]:
        """Case-score histogram per target: ``bins`` equal bins over [0, 1]."""
        return self.rows(
            f"SELECT target, min(CAST(score * {bins} AS INTEGER), {bins - 1}) AS bin, count(*) AS n "
            "FROM cases WHERE run_id = ? AND score IS NOT NULL GROUP BY target, bin ORDER BY target, bin", [run_id])

    def pass_rates(self, run_id: str, limit: int = 30) -> list[dict[str, Any]]:
        """Pass rate per criterion id and target: the ``limit`` lowest (the ones worth looking at)."""
        return self.rows(
            "SELECT suite, target, criterion_id, count(*) AS n, sum(status = 'PASS') AS passed, "
            "CAST(sum(status = 'PASS') AS REAL) / count(*) AS pass_rate FROM verdicts "
            "WHERE run_id = ? AND status != 'ERROR' GROUP BY suite, target, criterion_id "
            "ORDER BY pass_rate, n DESC, suite, criterion_id LIMIT ?", [run_id, limit])

    def gates(self, run_id: str) -> list[dict[str, Any]] | None:
        """The run's stored gate outcomes, or ``None`` when this database stores no gates."""
        if "gates" not in self.tables():
            return None
        return self.rows("SELECT * FROM gates WHERE run_id = ? ORDER BY rowid", [run_id])

    # ---------------------------------------------------------------- a case

    def case(self, run_id: str, suite: str, case_id: str, target: str) -> dict[str, Any] | None:
        """One case run with its verdicts (suite order) and the model calls behind them."""
        case = self.one("SELECT * FROM cases WHERE run_id = ? AND suite = ? AND case_id = ? AND target = ?",
                        [run_id, suite, case_id, target])
        verdicts = self.rows("SELECT * FROM verdicts WHERE run_id = ? AND suite = ? AND case_id = ? AND target = ? "
                             "ORDER BY position, id", [run_id, suite, case_id, target])
        if case is None and not verdicts:
            return None
        if case is None:  # verdicts stored, case row not (an interrupted run)
            case = {"run_id": run_id, "suite": suite, "case_id": case_id, "target": target, "response": None,
                    "input": None, "reference": None, "score": None, "outcome": None, "reason": None, "tags": []}
        case["verdicts"] = verdicts
        call_ids = sorted({v["judge_call_id"] for v in verdicts if v["judge_call_id"] is not None})
        case["calls"] = self.calls(call_ids)
        return case

    def case_keys(self, run_id: str) -> list[dict[str, Any]]:
        """Every case of a run that has a verdict or a case row, in suite order."""
        return self.rows(
            "SELECT suite, case_id, target, min(position) AS position FROM ("
            "SELECT suite, case_id, target, position * 10000 AS position FROM cases WHERE run_id = ? UNION ALL "
            "SELECT suite, case_id, target, position FROM verdicts WHERE run_id = ?) "
            "GROUP BY suite, case_id, target ORDER BY position", [run_id, run_id])

    def calls(self, ids: Iterable[int]) -> list[dict[str, Any]]:
        """Model calls by id."""
        ids = list(ids)
        if not ids:
            return []
        calls = self.rows(f"SELECT * FROM judge_calls WHERE id IN ({','.join('?' * len(ids))}) ORDER BY id", ids)
        for call in calls:
            for key in _CALL_JSON:
                if isinstance(call.get(key), str):
                    try:
                        call[key] = json.loads(call[key])
                    except ValueError:
                        pass  # stored as text
        return calls

    def case_targets(self, run_id: str, suite: str, case_id: str) -> list[str]:
        """Every target the case ran against in the run."""
        return [r["target"] for r in self.rows(
            "SELECT target FROM cases WHERE run_id = ? AND suite = ? AND case_id = ? ORDER BY position",
            [run_id, suite, case_id])]

    # ---------------------------------------------------------------- comparing

    def _paired_from(self, pair: Pair) -> tuple[str, list[Any]]:
        """FROM clause pairing each verdict of side A with the same criterion of the same case on side B."""
        sql = ("FROM verdicts a JOIN verdicts b ON b.run_id = ? AND b.suite = a.suite AND b.case_id = a.case_id "
               "AND b.criterion_id = a.criterion_id")
        params: list[Any] = [pair.run_b]
        if pair.target_a is None:
            sql += " AND b.target = a.target"
        else:
            sql += " AND b.target = ?"
            params.append(pair.target_b)
        sql += " WHERE a.run_id = ?"
        params.append(pair.run_a)
        if pair.target_a is not None:
            sql += " AND a.target = ?"
            params.append(pair.target_a)
        return sql, params

    def paired_table(self, pair: Pair) -> list[dict[str, Any]]:
        """Per criterion: the paired 2x2 counts (both pass, both fail, fixed, broken) and errors."""
        frm, params = self._paired_from(pair)
        ok_a, ok_b = "a.status IN ('PASS')", "b.status IN ('PASS')"
        err = "(a.status = 'ERROR' OR b.status = 'ERROR')"
        return self.rows(
            "SELECT a.suite, a.criterion_id, min(a.criterion_text) AS text, count(*) AS n, "
            f"sum(NOT {err} AND {ok_a} AND {ok_b}) AS both_pass, "
            f"sum(NOT {err} AND NOT {ok_a} AND NOT {ok_b}) AS both_fail, "
            f"sum(NOT {err} AND NOT {ok_a} AND {ok_b}) AS fixed, "
            f"sum(NOT {err} AND {ok_a} AND NOT {ok_b}) AS broken, sum({err}) AS errors, "
            "sum(a.criterion_hash != b.criterion_hash) AS changed "
            f"{frm} GROUP BY a.suite, a.criterion_id ORDER BY min(a.position)", params)

    def flipped(self, pair: Pair, page: int = 1, per_page: int = 50) -> Page:
        """Verdicts whose status differs between the two sides, in suite order."""
        frm, params = self._paired_from(pair)
        cond = " AND a.status != b.status"
        total = self.one(f"SELECT count(*) AS n {frm}{cond}", params)
        items = self.rows(
            "SELECT a.suite, a.case_id, a.target AS target_a, b.target AS target_b, a.criterion_id, "
            "a.status AS status_a, b.status AS status_b, a.criterion_hash != b.criterion_hash AS changed "
            f"{frm}{cond} ORDER BY a.position, a.id LIMIT ? OFFSET ?", [*params, per_page, (page - 1) * per_page])
        return Page(items, int(total["n"]) if total else 0, page, per_page)

    def unpaired(self, pair: Pair) -> dict[str, int]:
        """Verdicts of each side with no partner on the other (added or removed criteria or cases)."""
        frm, params = self._paired_from(pair)
        paired = self.one(f"SELECT count(*) AS n {frm}", params)
        n_paired = int(paired["n"]) if paired else 0
        out = {}
        for side, run, target in (("a", pair.run_a, pair.target_a), ("b", pair.run_b, pair.target_b)):
            sql, p = "SELECT count(*) AS n FROM verdicts WHERE run_id = ?", [run]
            if target is not None:
                sql += " AND target = ?"
                p.append(target)
            row = self.one(sql, p)
            out[side] = (int(row["n"]) if row else 0) - n_paired
        return out

    def case_scores(self, pair: Pair) -> list[dict[str, Any]]:
        """Paired case scores (both sides scored), for the per-suite score difference."""
        sql = ("SELECT a.suite, a.case_id, a.score AS score_a, b.score AS score_b FROM cases a JOIN cases b "
               "ON b.run_id = ? AND b.suite = a.suite AND b.case_id = a.case_id")
        params: list[Any] = [pair.run_b]
        if pair.target_a is None:
            sql += " AND b.target = a.target WHERE a.run_id = ?"
            params.append(pair.run_a)
        else:
            sql += " AND b.target = ? WHERE a.run_id = ? AND a.target = ?"
            params += [pair.target_b, pair.run_a, pair.target_a]
        return self.rows(sql + " AND a.score IS NOT NULL AND b.score IS NOT NULL ORDER BY a.position", params)

    def target_pairs(self, run_id: str) -> list[tuple[str, str]]:
        """Pairs of targets that a suite of the run ran its cases against (the first target of the
        suite against each other one), in suite order: what can be compared."""
        by_suite: dict[str, list[str]] = {}
        for row in self.rows("SELECT suite, target FROM cases WHERE run_id = ? GROUP BY suite, target "
                             "ORDER BY min(position)", [run_id]):
            by_suite.setdefault(row["suite"], []).append(row["target"])
        pairs = [(suite, ts[0], t) for suite, ts in by_suite.items() for t in ts[1:]]
        shared = [(a, b) for suite, a, b in pairs if self.one(
            "SELECT 1 AS x FROM cases a JOIN cases b ON b.run_id = a.run_id AND b.suite = a.suite "
            "AND b.case_id = a.case_id AND b.target = ? WHERE a.run_id = ? AND a.suite = ? AND a.target = ? LIMIT 1",
            [b, run_id, suite, a])]
        return list(dict.fromkeys(shared))

    def run_targets(self, run_id: str) -> list[str]:
        """The targets of a run, in suite order."""
        return [r["target"] for r in self.rows(
            "SELECT target FROM cases WHERE run_id = ? GROUP BY target ORDER BY min(position)", [run_id])]

    # ---------------------------------------------------------------- trends

    def trend(self, criterion_hash: str) -> list[dict[str, Any]]:
        """A criterion's pass rate in every run that judged it, per target, oldest run first."""
        return self.rows(
            "SELECT v.run_id, r.started_at, v.target, count(*) AS n, sum(v.status = 'PASS') AS passed, "
            "sum(v.status = 'ERROR') AS errors, min(v.suite) AS suite, min(v.criterion_id) AS criterion_id, "
            "min(v.criterion_text) AS text FROM verdicts v JOIN runs r ON r.id = v.run_id "
            "WHERE v.criterion_hash = ? GROUP BY v.run_id, v.target ORDER BY r.started_at, v.run_id, v.target",
            [criterion_hash])

    def trend_criteria(self, text: str, page: int = 1, per_page: int = 50) -> Page:
        """Criteria (by hash) with the number of runs that judged them, most runs first."""
        where, params = "", []
        if text:
            columns = ("criterion_id", "criterion_text", "suite")
            where = " WHERE " + " OR ".join(f"{c} LIKE ? ESCAPE '\\'" for c in columns)
            params = [like_pattern(text)] * 3
        rows = self.rows(
            "SELECT criterion_hash, min(suite) AS suite, min(criterion_id) AS criterion_id, "
            "min(criterion_text) AS text, count(DISTINCT run_id) AS runs, count(*) AS n, "
            "CAST(sum(status = 'PASS') AS REAL) / count(*) AS pass_rate, count(*) OVER () AS total_rows "
            f"FROM verdicts{where} GROUP BY criterion_hash ORDER BY runs DESC, suite, criterion_id LIMIT ? OFFSET ?",
            [*params, per_page, (page - 1) * per_page])
        total = int(rows[0]["total_rows"]) if rows else 0
        return Page(rows, total, page, per_page)

    def judges(self) -> list[dict[str, Any]]:
        """Judges with the runs and verdicts they gave and their mean confidence."""
        return self.rows(
            "SELECT judge, count(DISTINCT run_id) AS runs, count(*) AS n, avg(confidence) AS mean_confidence "
            "FROM verdicts WHERE judge != '' AND check_name IS NULL GROUP BY judge ORDER BY judge")

    def calibrations(self, judge: str) -> list[dict[str, Any]] | None:
        """Stored calibrations of ``judge``, newest first, or ``None`` when the database keeps none."""
        if "calibrations" not in self.tables():
            return None
        return self.rows("SELECT * FROM calibrations WHERE judge = ? ORDER BY created_at DESC", [judge])

    def confidence_bins(self, judge: str, bins: int = 10) -> list[dict[str, Any]]:
        """A judge's verdicts by confidence bin: count and share met (for its confidence profile)."""
        return self.rows(
            f"SELECT min(CAST(confidence * {bins} AS INTEGER), {bins - 1}) AS bin, count(*) AS n, "
            "avg(confidence) AS mean_confidence, avg(outcome = 'met') AS met_rate FROM verdicts "
            "WHERE judge = ? AND confidence IS NOT NULL AND outcome != 'error' GROUP BY bin ORDER BY bin", [judge])
