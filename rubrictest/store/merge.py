"""``rubrictest merge OUT.db IN.db...``: the shard databases of one sharded run, as one run.

Each input holds a run of one shard (``--rubric-shard K/N``). The merge checks that the
shards belong together before writing anything: every one finished, one fingerprint (the
same suites, cases, criterion hashes and gates), one ``N``, each ``K`` once, no case run in
two shards. It then writes a new database holding one run with every shard's cases,
verdicts, panel members' verdicts, rubric-tree nodes and model calls (with the calls that
cached verdicts point to: the cache travels too), usage summed, counts recomputed, and each
suite's gate decided over the merged cases. The output is built in a temporary file next to
``OUT`` and moved into place at the end: a refused or failed merge leaves nothing behind.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..engine.gate import disagreement_from_counts, gate_from_counts
from ..errors import StoreError

# What a shard's run owns, copied row by row (``gates`` are decided again, ``runs`` written anew).
RUN_TABLES = ("cases", "verdicts", "member_verdicts", "repeat_verdicts", "nodes", "sentinel_verdicts")
FINISHED = ("passed", "failed")


class MergeError(StoreError):
    """The shards cannot be merged (the message says why); nothing was written."""


@dataclass
class ShardRun:
    """The run of one shard in an input database."""

    path: Path
    row: dict[str, Any]

    @property
    def index(self) -> int:
        return int(str(self.row["shard"]).split("/")[0])

    @property
    def count(self) -> int:
        return int(str(self.row["shard"]).split("/")[1])


def _ro_uri(path: Path) -> str:
    return path.resolve().as_uri() + "?mode=ro"


def _connect_ro(path: Path) -> sqlite3.Connection:
    if not path.is_file():
        raise MergeError(f"{path}: no such file")
    conn = sqlite3.connect(_ro_uri(path), uri=True)
    conn.row_factory = sqlite3.Row
    try:
        cols = {r["name"] for r in conn.execute("PRAGMA table_info(runs)")}
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise MergeError(f"{path} is not a rubrictest results database: {exc}") from None
    if "shard" not in cols:
        conn.close()
        raise MergeError(f"{path} holds no sharded run (not a rubrictest database, or written by an older rubrictest)")
    return conn


def read_shard(path: Path) -> ShardRun:
    """The newest sharded run of the database at ``path``."""
    conn = _connect_ro(path)
    try:
        row = conn.execute(
            "SELECT * FROM runs WHERE shard IS NOT NULL ORDER BY started_at DESC, id DESC LIMIT 1"
        ).fetchone()
    finally:
        conn.close()
    if row is None:
        raise MergeError(f"{path} holds no sharded run (run pytest with --rubric-shard K/N)")
    return ShardRun(path, dict(row))


def check(shards: Sequence[ShardRun]) -> None:
    """Refuse shards that are not one complete sharded run.

    Raises:
        MergeError: with the reason, naming the files.
    """
    for s in shards:
        if s.row["status"] not in FINISHED:
            raise MergeError(
                f"{s.path}: shard {s.row['shard']} (run {s.row['id']}) did not finish "
                f"({s.row['status']}): resume it (--rubric-resume) or run it again"
            )
    first = shards[0]
    for s in shards[1:]:
        if s.row["fingerprint"] != first.row["fingerprint"]:
            raise MergeError(
                f"{s.path} and {first.path} judged different suites or criteria (cases, criterion "
                "hashes or gates differ): shards must run the same suites at the same commit"
            )
        if s.count != first.count:
            raise MergeError(
                f"{s.path} is shard {s.row['shard']} but {first.path} is shard {first.row['shard']}: "
                "shards of one run share N"
            )
    seen: dict[int, Path] = {}
    for s in shards:
        if s.index in seen:
            raise MergeError(f"shard {s.row['shard']} given twice ({seen[s.index]} and {s.path})")
        seen[s.index] = s.path
    missing = [str(k) for k in range(1, first.count + 1) if k not in seen]
    if missing:
        raise MergeError(
            f"shard(s) {', '.join(f'{k}/{first.count}' for k in missing)} missing: a merge needs "
            "every shard (the gates are decided over every case)"
        )


def _columns(conn: sqlite3.Connection, table: str, schema: str = "main") -> list[str]:
    return [r[1] for r in conn.execute(f"PRAGMA {schema}.table_info([{table}])")]


def _add_usage(a: Any, b: Any) -> Any:
    """The sum of two usage records (numbers added, mappings merged key by key)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return {
            k: _add_usage(a.get(k), b.get(k)) if k in a and k in b else (a[k] if k in a else b[k]) for k in {**a, **b}
        }
    if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool):
        return a + b
    return a if a is not None else b


def merge(out: Path, inputs: Sequence[Path], *, force: bool = False, version: str = "") -> dict[str, Any]:
    """Merge the shard databases ``inputs`` into a new database ``out``; returns the merged run row.

    Raises:
        MergeError: the shards do not belong together, ``out`` exists (without ``force``) or
            is one of the inputs; nothing is written.
    """
    from .database import Store, new_run_id

    if not inputs:
        raise MergeError("no shard database given")
    resolved = {p.resolve() for p in inputs}
    if out.resolve() in resolved:
        raise MergeError(f"{out} is one of the inputs: write the merged run to a new file")
    if len(resolved) != len(inputs):
        raise MergeError("a shard database is given twice")
    if out.exists() and not force:
        raise MergeError(f"{out} exists: choose a new file, or pass --force to replace it")
    shards = sorted((read_shard(p) for p in inputs), key=lambda s: s.index)
    check(shards)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.merging-{os.getpid()}")
    _remove(tmp)
    try:
        run = _write(tmp, shards, new_run_id(), version, Store)
        os.replace(tmp, out)
    finally:
        _remove(tmp)
    return run


def _remove(path: Path) -> None:
    for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
        p.unlink(missing_ok=True)


def _write(tmp: Path, shards: Sequence[ShardRun], run_id: str, version: str, store_cls: Any) -> dict[str, Any]:
    store = store_cls.open(tmp)
    conn: sqlite3.Connection = store.db.conn
    try:
        first = shards[0].row
        usage: Any = None
        for s in shards:
            usage = _add_usage(usage, json.loads(s.row["usage"]) if s.row["usage"] else None)
        conn.execute(
            "INSERT INTO runs (id, started_at, finished_at, status, rootdir, argv, version, kind, shard, fingerprint, "
            "suites) VALUES (?, ?, ?, 'running', ?, ?, ?, 'pytest', NULL, ?, ?)",
            [
                run_id,
                min(s.row["started_at"] for s in shards),
                max(s.row["finished_at"] or "" for s in shards),
                first["rootdir"],
                json.dumps(["rubrictest", "merge"] + [f"{s.path.name}:{s.row['id']}" for s in shards]),
                version or first["version"],
                first["fingerprint"],
                first["suites"],
            ],
        )
        deferred: dict[tuple[str, str], dict[str, Any]] = {}
        seen_cases: dict[tuple[str, str, str], Path] = {}
        for s in shards:
            _copy_shard(conn, s, run_id, seen_cases, deferred)
    except BaseException:
        store.close()
        raise
    try:
        failed_gates = _decide_gates(store, run_id, deferred)
        counts = store.status_counts(run_id)
        failed = failed_gates or any(s.row["status"] == "failed" for s in shards)
        store.update(
            "runs", run_id, {"status": "failed" if failed else "passed", "counts": counts, "usage": usage or {}}
        )
        run: dict[str, Any] = store.run(run_id)
    finally:
        store.close()
    return run


def _copy_shard(
    conn: sqlite3.Connection,
    s: ShardRun,
    run_id: str,
    seen_cases: dict[tuple[str, str, str], Path],
    deferred: dict[tuple[str, str], dict[str, Any]],
) -> None:
    src_id = s.row["id"]
    # One transaction per shard: the output is a temporary file until every shard is in.
    # A plain path, not a read-only URI: a build of SQLite without URI names would attach a new,
    # empty file by that name, and the shard would merge as nothing.
    conn.execute("ATTACH DATABASE ? AS src", [str(s.path.resolve())])
    conn.execute("BEGIN IMMEDIATE")
    try:
        for suite, case_id, target in conn.execute(
            "SELECT suite, case_id, target FROM src.cases WHERE run_id = ? UNION "
            "SELECT suite, case_id, target FROM src.verdicts WHERE run_id = ?",
            [src_id, src_id],
        ):
            key = (suite, case_id, target or "")
            if key in seen_cases:
                raise MergeError(
                    f"case {suite}::{case_id}"
                    + (f"[{target}]" if target else "")
                    + f" is in two shards ({seen_cases[key]} and {s.path}): shards must not overlap"
                )
            seen_cases[key] = s.path
        # Model calls keep their order; ids move past the ones already merged. The calls that
        # cached verdicts point to (made by earlier runs of the shard's database) come along
        # without a run, so the cache of the merged database answers them too.
        offset = conn.execute("SELECT coalesce(max(id), 0) FROM main.judge_calls").fetchone()[0]
        cols = [c for c in _columns(conn, "judge_calls") if c in _columns(conn, "judge_calls", "src")]
        picked = ", ".join(
            "id + ?" if c == "id" else ("CASE WHEN run_id = ? THEN ? ELSE NULL END" if c == "run_id" else f"[{c}]")
            for c in cols
        )
        params: list[Any] = []
        for c in cols:
            params += [offset] if c == "id" else ([src_id, run_id] if c == "run_id" else [])
        referring = [t for t in RUN_TABLES if "judge_call_id" in _columns(conn, t, "src")]
        refs = "".join(f" OR id IN (SELECT judge_call_id FROM src.[{t}] WHERE run_id = ?)" for t in referring)
        conn.execute(
            f"INSERT INTO main.judge_calls ({', '.join(f'[{c}]' for c in cols)}) SELECT {picked} FROM src.judge_calls "
            f"WHERE run_id = ?{refs} ORDER BY id",
            [*params, src_id, *[src_id] * len(referring)],
        )
        for table in RUN_TABLES:
            cols = [c for c in _columns(conn, table) if c != "id" and c in _columns(conn, table, "src")]
            picked = ", ".join(
                "?" if c == "run_id" else ("judge_call_id + ?" if c == "judge_call_id" else f"[{c}]") for c in cols
            )
            params = [run_id if c == "run_id" else offset for c in cols if c in ("run_id", "judge_call_id")]
            conn.execute(
                f"INSERT INTO main.[{table}] ({', '.join(f'[{c}]' for c in cols)}) SELECT {picked} "
                f"FROM src.[{table}] WHERE run_id = ? ORDER BY id",
                [*params, src_id],
            )
        for row in conn.execute(
            "SELECT suite, suite_path, target, min_pass_rate, confidence, total, "
            "max_disagreement FROM src.gates WHERE run_id = ? AND status = 'DEFERRED' AND "
            "(min_pass_rate IS NOT NULL OR max_disagreement IS NOT NULL)",
            [src_id],
        ):
            deferred.setdefault(
                (row[0], row[2] or ""),
                {
                    "suite_path": row[1],
                    "min_pass_rate": row[3],
                    "confidence": row[4],
                    "total": row[5],
                    "max_disagreement": row[6],
                },
            )
        conn.execute("COMMIT")
    finally:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        conn.execute("DETACH DATABASE src")


def _decide_gates(store: Any, run_id: str, deferred: dict[tuple[str, str], dict[str, Any]]) -> bool:
    """Decide every suite gate over the merged cases; ``True`` when one did not pass."""
    failed = False
    for (suite, target), g in sorted(deferred.items()):
        rows = store.db.execute(
            "SELECT case_id, outcome FROM cases WHERE run_id = ? AND suite = ? AND target = ?", [run_id, suite, target]
        ).fetchall()
        passes = sum(1 for _, outcome in rows if outcome == "passed")
        errors = [case_id for case_id, outcome in rows if outcome not in ("passed", "failed")]
        total = g["total"] if g["total"] is not None else len(rows)
        if len(rows) < total:  # a shard judged a selection (-k, -m) of its cases
            errors.append(f"{total - len(rows)} case run(s) without a stored outcome")
        outcome = (
            gate_from_counts(passes, max(total, len(rows)), errors, g["min_pass_rate"], g["confidence"])
            if g["min_pass_rate"] is not None
            else None
        )
        disagreement = None
        if g.get("max_disagreement") is not None:
            # the sentinel's verdicts over the merged cases, as an unsharded run's gate sees them
            sentinel = {
                r[0]: r[1:]
                for r in store.db.execute(
                    "SELECT case_id, score, rubric_score, disagreement FROM sentinel_verdicts WHERE run_id = ? AND "
                    "suite = ? AND target = ?",
                    [run_id, suite, target],
                ).fetchall()
            }
            unseen = [
                case_id
                for case_id, _ in rows
                if case_id not in sentinel or sentinel[case_id][0] is None or sentinel[case_id][1] is None
            ]
            if len(rows) < total:
                unseen.append(f"{total - len(rows)} case run(s) without a stored outcome")
            flagged = [case_id for case_id, _ in rows if case_id in sentinel and sentinel[case_id][2]]
            disagreement = disagreement_from_counts(flagged, max(total, len(rows)), unseen, g["max_disagreement"])
        failed = failed or any(d is not None and not d.passed for d in (outcome, disagreement))
        store.record_gate(
            run_id, suite=suite, suite_path=g["suite_path"], target=target, gate=outcome, disagreement=disagreement
        )
    store.flush()
    return failed
