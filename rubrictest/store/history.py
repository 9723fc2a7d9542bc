"""Queries across runs: comparisons (two runs, or two targets of one run) and trends.

A comparison pairs each verdict of side A with the same criterion of the same case on side B
through the unique index of ``verdicts``; the per-criterion table of a comparison of two
finished runs is kept once computed (finished runs never change).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar, cast

from .query_params import Page, Pair, like_pattern
from .reader import ReadOnlyDatabase

T = TypeVar("T")


class HistoryQueries(ReadOnlyDatabase):
    """Comparisons and trends (the half of :class:`~rubrictest.store.queries.ResultsDB` that
    looks across runs)."""

    def __init__(self, path: Any) -> None:
        super().__init__(path)
        self._finished_pairs: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
        self._kept: dict[tuple[Any, ...], Any] = {}

    def kept(self, key: tuple[Any, ...], run_ids: tuple[str, ...], compute: Callable[[], T]) -> T:
        """``compute()``, kept under ``key`` once every run of ``run_ids`` has finished (a
        finished run never changes): a comparison's statistics are computed once per view."""
        if key in self._kept:
            return cast(T, self._kept[key])
        value = compute()
        if self._finished(*run_ids):
            self._kept[key] = value
        return value

    def _paired_from(self, pair: Pair) -> tuple[str, list[Any]]:
        """FROM clause pairing each verdict of side A with the same criterion of the same case on side B."""
        same_target = pair.target_a is None
        sql = (
            "FROM verdicts a JOIN verdicts b ON b.run_id = ? AND b.suite = a.suite AND b.case_id = a.case_id "
            f"AND b.target = {'a.target' if same_target else '?'} AND b.criterion_id = a.criterion_id "
            "WHERE a.run_id = ?"
        )
        params: list[Any] = [pair.run_b] + ([] if same_target else [pair.target_b]) + [pair.run_a]
        if not same_target:
            sql += " AND a.target = ?"
            params.append(pair.target_a)
        return sql, params

    def _finished(self, *run_ids: str) -> bool:
        marks = ",".join("?" * len(run_ids))
        row = self.one(f"SELECT count(*) AS n FROM runs WHERE id IN ({marks}) AND status != 'running'", run_ids)
        return row is not None and row["n"] == len(set(run_ids))

    def paired_table(self, pair: Pair) -> list[dict[str, Any]]:
        """Per criterion (and target of side A): the paired 2x2 counts (both pass, both fail, fixed, broken), errors,
        flips of any kind and changed criteria (hash differs between the sides)."""
        key = (pair.run_a, pair.run_b, pair.target_a, pair.target_b)
        cache = self._finished_pairs
        if key in cache:
            return cache[key]
        frm, params = self._paired_from(pair)
        err = "(a.status = 'ERROR' OR b.status = 'ERROR')"
        rows = self.rows(
            "SELECT a.suite, a.target, a.criterion_id, min(a.criterion_hash) AS criterion_hash, count(*) AS n, "
            f"sum(NOT {err} AND a.status = 'PASS' AND b.status = 'PASS') AS both_pass, "
            f"sum(NOT {err} AND a.status != 'PASS' AND b.status != 'PASS') AS both_fail, "
            f"sum(NOT {err} AND a.status != 'PASS' AND b.status = 'PASS') AS fixed, "
            f"sum(NOT {err} AND a.status = 'PASS' AND b.status != 'PASS') AS broken, sum({err}) AS errors, "
            "sum(a.status != b.status) AS flips, sum(a.criterion_hash != b.criterion_hash) AS changed, "
            f"min(a.position) AS position {frm} GROUP BY a.suite, a.target, a.criterion_id ORDER BY position",
            params,
        )
        for r in rows:  # the text once per criterion, not once per verdict
            text = self.one(
                "SELECT criterion_text FROM verdicts WHERE criterion_hash = ? LIMIT 1", [r["criterion_hash"]]
            )
            r["text"] = text["criterion_text"] if text else None
        if self._finished(pair.run_a, pair.run_b):
            cache[key] = rows
        return rows

    def flipped(self, pair: Pair, total: int, page: int = 1, per_page: int = 50) -> Page:
        """Verdicts whose status differs between the two sides (``total`` of them, from the
        paired table), in index order so a page stops reading once it is full."""
        frm, params = self._paired_from(pair)
        items = self.rows(
            "SELECT a.suite, a.case_id, a.target AS target_a, b.target AS target_b, a.criterion_id, "
            "a.status AS status_a, b.status AS status_b, a.criterion_hash != b.criterion_hash AS changed "
            f"{frm} AND a.status != b.status LIMIT ? OFFSET ?",
            [*params, per_page, (page - 1) * per_page],
        )
        return Page(items, total, page, per_page)

    def side_counts(self, pair: Pair) -> dict[str, int]:
        """Verdicts on each side of the comparison."""
        out = {}
        for side, run, target in (("a", pair.run_a, pair.target_a), ("b", pair.run_b, pair.target_b)):
            sql, p = "SELECT count(*) AS n FROM verdicts WHERE run_id = ?", [run]
            if target is not None:
                sql += " AND target = ?"
                p.append(target)
            row = self.one(sql, p)
            out[side] = int(row["n"]) if row else 0
        return out

    def case_scores(self, pair: Pair) -> list[dict[str, Any]]:
        """Paired case scores (both sides scored), for the per-suite score difference."""
        sql = (
            "SELECT a.suite, a.target, a.case_id, a.score AS score_a, b.score AS score_b FROM cases a JOIN cases b "
            "ON b.run_id = ? AND b.suite = a.suite AND b.case_id = a.case_id"
        )
        params: list[Any] = [pair.run_b]
        if pair.target_a is None:
            sql += " AND b.target = a.target WHERE a.run_id = ?"
            params.append(pair.run_a)
        else:
            sql += " AND b.target = ? WHERE a.run_id = ? AND a.target = ?"
            params += [pair.target_b, pair.run_a, pair.target_a]
        return self.rows(sql + " AND a.score IS NOT NULL AND b.score IS NOT NULL ORDER BY a.position", params)

    def target_pairs(self, run_id: str) -> list[tuple[str, str]]:
        """Pairs of targets that a suite of the run ran the same cases against (the first target
        of the suite against each other one), in suite order: what can be compared."""
        by_suite: dict[str, list[str]] = {}
        for row in self.rows(
            "SELECT suite, target FROM cases WHERE run_id = ? GROUP BY suite, target ORDER BY min(position)", [run_id]
        ):
            by_suite.setdefault(row["suite"], []).append(row["target"])
        pairs = [(suite, ts[0], t) for suite, ts in by_suite.items() for t in ts[1:]]
        shared = [
            (a, b)
            for suite, a, b in pairs
            if self.one(
                "SELECT 1 AS x FROM cases a JOIN cases b ON b.run_id = a.run_id AND b.suite = a.suite "
                "AND b.case_id = a.case_id AND b.target = ? "
                "WHERE a.run_id = ? AND a.suite = ? AND a.target = ? LIMIT 1",
                [b, run_id, suite, a],
            )
        ]
        return list(dict.fromkeys(shared))

    # ---------------------------------------------------------------- trends

    def trend(self, criterion_hash: str) -> list[dict[str, Any]]:
        """A criterion's pass rate in every run that judged it, per target, oldest run first."""
        rows = self.rows(
            "SELECT v.run_id, r.started_at, v.target, count(*) AS n, sum(v.status = 'PASS') AS passed, "
            "sum(v.status = 'ERROR') AS errors FROM verdicts v JOIN runs r ON r.id = v.run_id "
            "WHERE v.criterion_hash = ? GROUP BY v.run_id, v.target ORDER BY r.started_at, v.run_id, v.target",
            [criterion_hash],
        )
        first = self.one(
            "SELECT suite, criterion_id, criterion_text AS text FROM verdicts WHERE criterion_hash = ? LIMIT 1",
            [criterion_hash],
        )
        for r in rows:
            r.update(first or {})
        return rows

    def trend_criteria(self, text: str, page: int = 1, per_page: int = 50) -> Page:
        """Criteria (by hash) with the number of runs that judged them, most runs first."""
        if text:
            columns = ("criterion_id", "criterion_text", "suite")
            hashes = self.rows(
                "SELECT DISTINCT criterion_hash FROM verdicts WHERE "
                + " OR ".join(f"{c} LIKE ? ESCAPE '\\'" for c in columns),
                [like_pattern(text)] * 3,
            )
            if not hashes:
                return Page([], 0, page, per_page)
            where = f" WHERE criterion_hash IN ({','.join('?' * len(hashes))})"
            params = [h["criterion_hash"] for h in hashes]
        else:
            where, params = "", []
        # A scan of the covering index (a third of the time of the hash index plus row reads);
        # names are looked up for the page's rows only.
        hint = " INDEXED BY idx_verdicts_run_summary" if self.has_index("idx_verdicts_run_summary") else ""
        rows = self.rows(
            "SELECT criterion_hash, count(DISTINCT run_id) AS runs, count(*) AS n, "
            "CAST(sum(status = 'PASS') AS REAL) / count(*) AS pass_rate, count(*) OVER () AS total_rows "
            f"FROM verdicts{hint}{where} GROUP BY criterion_hash ORDER BY runs DESC, n DESC, criterion_hash "
            "LIMIT ? OFFSET ?",
            [*params, per_page, (page - 1) * per_page],
        )
        for r in rows:
            r.update(
                self.one(
                    "SELECT suite, criterion_id, criterion_text AS text FROM verdicts WHERE criterion_hash = ? LIMIT 1",
                    [r["criterion_hash"]],
                )
                or {}
            )
        return Page(rows, int(rows[0]["total_rows"]) if rows else 0, page, per_page)

    def judges(self) -> list[dict[str, Any]]:
        """Model judges (checks left out) with the runs and verdicts they gave and their mean confidence."""
        return self.rows(
            "SELECT judge, count(DISTINCT run_id) AS runs, count(*) AS n, avg(confidence) AS mean_confidence "
            "FROM verdicts WHERE judge != '' AND check_name IS NULL GROUP BY judge ORDER BY judge"
        )

    def calibrations(self, judge: str) -> list[dict[str, Any]] | None:
        """Stored calibrations of ``judge``, newest first, or ``None`` when the database keeps none."""
        if "calibrations" not in self.tables():
            return None
        rows = self.rows("SELECT * FROM calibrations WHERE judge = ? ORDER BY created_at DESC", [judge])
        for r in rows:
            if isinstance(r.get("reliability"), str):
                r["reliability"] = json.loads(r["reliability"])
        return rows

    def confidence_bins(self, judge: str, bins: int = 10) -> list[dict[str, Any]]:
        """A judge's verdicts by confidence bin: count and share met (its confidence profile)."""
        return self.rows(
            f"SELECT min(CAST(confidence * {bins} AS INTEGER), {bins - 1}) AS bin, count(*) AS n, "
            "avg(confidence) AS mean_confidence, avg(outcome = 'met') AS met_rate FROM verdicts "
            "WHERE judge = ? AND confidence IS NOT NULL AND outcome != 'error' GROUP BY bin ORDER BY bin",
            [judge],
        )
