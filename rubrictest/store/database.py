"""The results database: every run, case, verdict and model call, in SQLite.

One file (default ``.rubrictest/rubrictest.db`` under the pytest rootdir) holds every run.
The schema is created and upgraded by numbered migrations (:mod:`rubrictest.store.migrations`);
a database written by a *newer* rubrictest (a migration this version does not know) is
refused rather than misread.

Writes are buffered and flushed in batches inside one transaction, so storing 10,000
verdicts costs a few dozen transactions, not 10,000. A row reaches the file within
:data:`FLUSH_INTERVAL_S` (a background thread flushes what is buffered) or once
:data:`FLUSH_ROWS` rows are buffered, whichever comes first: a process killed mid-run loses at
most that. The database is opened in WAL mode with a busy timeout so several writers
(pytest-xdist workers) can share it; :meth:`Store.close` checkpoints the WAL into the file,
so the ``.db`` file alone holds every row (a CI artifact of that file is complete).

A run left ``running`` by a process that is gone (killed) is marked ``abandoned`` by the next
:meth:`Store.open` (:mod:`.owner`).

The ``judge_calls`` table doubles as the cache: a call whose ``cache_key`` was answered
without error before is answered from its stored ``result``.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import StoreError
from ..secrets import json_needs_redaction, redact, redact_text
from ..secrets import secrets as secret_values
from . import DEFAULT_DB  # noqa: F401 - the default path, re-exported
from ._sqlite import sqlite_utils
from .migrations import migrations
from .owner import Owner
from .rows import JSONText, RowWriter, utcnow

FLUSH_ROWS = 200
"""Buffered rows that are written at once (a transaction per few hundred rows)."""
FLUSH_INTERVAL_S = 1.0
"""The longest a buffered row waits before it is written."""


def _check_location(path: Path, *, create: bool) -> None:
    """Refuse, with one clear message, a path that cannot hold a results database: a
    directory, a file that is not SQLite, or a parent that is a file (a plain file named
    ``.rubrictest`` in the rootdir)."""
    if path.is_dir():
        raise StoreError(f"{path} is a directory, not a results database file")
    if path.is_file() and path.stat().st_size > 0:
        try:
            with path.open("rb") as fh:
                head = fh.read(16)
        except OSError as exc:
            raise StoreError(f"cannot read {path}: {exc.strerror or exc}") from None
        if head != b"SQLite format 3\x00":
            raise StoreError(f"{path} is not a SQLite database")
    if not create:
        return
    for parent in [*reversed(path.parents)]:
        if parent.exists() and not parent.is_dir():
            raise StoreError(
                f"cannot create the results database {path}: {parent} is a file, not a directory "
                "(move it, or give another --rubric-db)"
            )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot create the directory of the results database {path}: {exc.strerror or exc}") from None


def _foreign_tables(db: sqlite_utils.Database) -> list[str]:
    """Tables of a database that rubrictest did not create (another application's file)."""
    return [t for t in db.table_names() if t != "_sqlite_migrations" and not t.startswith("sqlite_")]


def new_run_id() -> str:
    """A sortable, unique run id: ``20261121T235959Z-3f2a9c``."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


class Store(RowWriter):
    """Access to one results database.

    Use :meth:`open`; call :meth:`flush` (or :meth:`close`) to write buffered rows.
    Thread-safe: the engine's thread and pytest's thread both write through it.
    """

    def __init__(self, db: sqlite_utils.Database, path: Path) -> None:
        self.db = db
        self.path = path
        self._lock = threading.RLock()
        self._buffer: dict[str, list[dict[str, Any]]] = {}
        self._buffered = 0
        self._flusher: threading.Thread | None = None
        self._closing = threading.Event()
        self.closed = False

    @classmethod
    def open(cls, path: str | Path, *, create: bool = True) -> Store:
        """Open (and create or migrate) the database at ``path``.

        Args:
            create: ``False`` for commands that only read results: the file must exist and
                be a rubrictest database (another SQLite file is refused, never migrated).

        Raises:
            StoreError: the file is missing (``create=False``), not SQLite, not rubrictest's,
                locked, or written by a newer schema.
        """
        path = Path(path)
        if not create and not path.exists():
            raise StoreError(f"no results database at {path} (run the suites first, or pass --db)")
        _check_location(path, create=create)
        try:
            conn = sqlite3.connect(str(path), timeout=30, check_same_thread=False, isolation_level=None)
            db = sqlite_utils.Database(conn)
            conn.execute("PRAGMA busy_timeout = 30000")
            store = cls(db, path)
            # The tables first, then the migration records: a process migrating the same new
            # file (an xdist worker) commits a migration's tables and its record at once, so
            # whoever sees the tables also sees the record. In the other order the tables could
            # appear between the two reads and pass for another application's.
            tables = _foreign_tables(db)
            if not migrations.applied(db) and (not create or tables):
                conn.close()
                raise StoreError(
                    f"{path} is not a rubrictest results database"
                    + (
                        f" (it holds the tables {', '.join(tables[:5])} of another application; "
                        "rubrictest does not write to it: choose another --rubric-db)"
                        if tables
                        else ""
                    )
                )
            store._set_up()
            store._mark_abandoned()
        except sqlite3.DatabaseError as exc:
            message = str(exc)
            if "locked" in message or "busy" in message:
                raise StoreError(f"{path} is locked by another process: {message}") from None
            raise StoreError(f"{path} cannot be used as a results database: {message}") from None
        return store

    def _set_up(self, give_up_after: float = 30.0) -> None:
        """Switch to WAL and migrate, tolerating other processes doing the same to the same new
        file at the same moment (pytest-xdist workers starting together): switching the journal
        mode can find the file locked at once, and the loser of a migration race fails on the
        tables, columns or migration records the winner created, is rolled back, and finds
        nothing left to do on the next try.

        A lock that outlasted the busy timeout is held by someone else: no retry for that."""
        busy_s = self.db.conn.execute("PRAGMA busy_timeout").fetchone()[0] / 1000
        deadline = time.monotonic() + give_up_after
        while True:
            started = time.monotonic()
            try:
                self.db.conn.execute("PRAGMA journal_mode = WAL")
                self.db.conn.execute("PRAGMA synchronous = NORMAL")
                self._migrate()
                return
            except (sqlite3.OperationalError, sqlite3.IntegrityError) as exc:
                message = str(exc)
                quick_lock = "locked" in message and time.monotonic() - started < 0.9 * busy_s
                # The winner made the table or column, or recorded the migration first (one that
                # can run twice, such as an index made ``if not exists``, fails only on its record).
                raced = (
                    "already exists" in message
                    or "duplicate column name" in message
                    or "UNIQUE constraint failed: _sqlite_migrations" in message
                )
                if not (raced or quick_lock) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def _mark_abandoned(self) -> None:
        """Mark ``abandoned`` every run still ``running`` whose owner process on this host is
        gone, with the counts of the verdicts it stored. A read-only file is left as it is."""
        rows = self.db.execute(
            "SELECT id, owner_pid, owner_host, owner_started FROM runs WHERE status = 'running' "
            "AND owner_pid IS NOT NULL"
        ).fetchall()
        for run_id, pid, host, started in rows:
            if not Owner(int(pid), str(host), started).gone():
                continue
            try:
                with self._lock, self.db.conn:
                    self.db.conn.execute(
                        "UPDATE runs SET status = 'abandoned', finished_at = ?, counts = ?, usage = ? "
                        "WHERE id = ? AND status = 'running'",
                        (
                            utcnow(),
                            json.dumps(self.status_counts(run_id)),
                            json.dumps({"total": self.usage_totals(run_id), "components": {}}),
                            run_id,
                        ),
                    )
            except sqlite3.OperationalError:  # read-only file or directory: a reader still works
                return

    def _migrate(self) -> None:
        known = {m.name for m in migrations._migrations}
        applied = {m.name for m in migrations.applied(self.db)}
        unknown = sorted(applied - known)
        if unknown:
            raise StoreError(
                f"{self.path} was written by a newer rubrictest (unknown migrations: {', '.join(unknown)}); "
                "upgrade rubrictest or use another --rubric-db"
            )
        if applied != known:
            migrations.apply(self.db)

    # ---------------------------------------------------------------- writing

    def insert(self, table: str, row: dict[str, Any]) -> None:
        """Buffer ``row`` for ``table``; rows are written by :meth:`flush`."""
        with self._lock:
            self._buffer.setdefault(table, []).append(row)
            self._buffered += 1
            if self._buffered >= FLUSH_ROWS:
                self.flush()
            elif self._flusher is None and not self.closed:
                self._flusher = threading.Thread(
                    target=self._flush_every_interval, name="rubrictest-store-flush", daemon=True
                )
                self._flusher.start()

    def _flush_every_interval(self) -> None:
        # Rows wait at most FLUSH_INTERVAL_S: a run killed mid-way keeps what it received.
        while not self._closing.wait(FLUSH_INTERVAL_S):
            try:
                self.flush(keep_on_error=True)
            except StoreError:
                pass  # kept buffered: written by the next flush, or reported by the final one

    def insert_now(self, table: str, row: dict[str, Any]) -> int:
        """Write ``row`` at once and return its rowid (for rows others refer to)."""
        enc = _encode(table, row)
        names = ", ".join(f"[{c}]" for c in enc)
        marks = ", ".join("?" for _ in enc)
        with self._lock:
            # plain SQL: sqlite-utils' insert looks the schema up on every call
            cursor = self.db.conn.execute(f"INSERT INTO [{table}] ({names}) VALUES ({marks})", tuple(enc.values()))
            return int(cursor.lastrowid or 0)

    def flush(self, *, keep_on_error: bool = False) -> None:
        """Write every buffered row, all tables in one transaction.

        Args:
            keep_on_error: on failure keep the rows buffered for the next flush.
        """
        with self._lock:
            if self.closed or not self._buffered:
                return
            buffer, self._buffer, count, self._buffered = self._buffer, {}, self._buffered, 0
            try:
                self.db.conn.execute("BEGIN IMMEDIATE")
                for table, rows in buffer.items():
                    if rows:
                        self._insert_many(table, rows)
                self.db.conn.execute("COMMIT")
            except sqlite3.Error as exc:
                if self.db.conn.in_transaction:
                    self.db.conn.execute("ROLLBACK")
                if keep_on_error:
                    for table, rows in buffer.items():
                        self._buffer[table] = rows + self._buffer.get(table, [])
                    self._buffered += count
                raise StoreError(f"cannot write to {self.path}: {exc}") from None

    def _insert_many(self, table: str, rows: list[dict[str, Any]]) -> None:
        # One prepared statement per set of columns (rows of a table nearly always share
        # theirs): an order of magnitude cheaper than building SQL per batch.
        # OR IGNORE: a row another xdist worker already stored is kept as it is.
        groups: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
        for row in rows:
            enc = _encode(table, row)
            cols = tuple(enc)
            groups.setdefault(cols, []).append(tuple(enc.values()))
        for cols, values in groups.items():
            names = ", ".join(f"[{c}]" for c in cols)
            marks = ", ".join("?" for _ in cols)
            self.db.conn.executemany(f"INSERT OR IGNORE INTO [{table}] ({names}) VALUES ({marks})", values)

    def update(self, table: str, pk: Any, values: dict[str, Any]) -> None:
        """Update one row at once."""
        with self._lock:
            self.flush()
            with self.db.conn:
                self.db.table(table).update(pk, _encode(table, values))

    def close(self) -> None:
        """Flush, checkpoint the WAL into the database file (so the ``.db`` file alone holds
        every row) and close. Closing twice does nothing."""
        self._closing.set()
        if self._flusher is not None:
            self._flusher.join()
        with self._lock:
            if self.closed:
                return
            try:
                self.flush()
            finally:
                self.closed = True
                try:
                    self.db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                except sqlite3.Error:
                    pass  # another process is reading or writing: it checkpoints when it closes
                self.db.conn.close()

    # ---------------------------------------------------------------- runs

    def start_run(
        self,
        *,
        rootdir: str,
        argv: list[str],
        version: str,
        run_id: str | None = None,
        kind: str = "pytest",
        owner: Owner | None = None,
    ) -> str:
        """Record a run and return its id. With ``run_id`` (shared by xdist workers) the row
        is written once, by whichever worker comes first.

        Args:
            owner: the process that owns the run (default: this one; an xdist worker gives
                its controller).
        """
        run_id = run_id or new_run_id()
        owner = owner or Owner.current()
        with self._lock, self.db.conn:
            self.db.table("runs").insert(
                _encode(
                    "runs",
                    {
                        "id": run_id,
                        "started_at": utcnow(),
                        "status": "running",
                        "rootdir": rootdir,
                        "argv": argv,
                        "version": version,
                        "kind": kind,
                        "owner_pid": owner.pid,
                        "owner_host": owner.host,
                        "owner_started": owner.started,
                    },
                ),
                ignore=True,
            )
        return run_id

    def set_run_info(self, run_id: str, *, shard: str | None, fingerprint: str, suites: list[str]) -> None:
        """Record which shard of which suites a run judges (see :mod:`rubrictest.store.merge`)."""
        self.update("runs", run_id, {"shard": shard, "fingerprint": fingerprint, "suites": suites})

    def reopen_run(self, run_id: str) -> None:
        """Mark a run that is resumed as running again (a resume that dies leaves it unfinished)."""
        self.update("runs", run_id, {"status": "running", "finished_at": None})

    def has_run(self, run_id: str) -> bool:
        """Whether a run with this exact id is stored."""
        return self.db.execute("SELECT 1 FROM runs WHERE id = ?", [run_id]).fetchone() is not None

    def status_counts(self, run_id: str) -> dict[str, int]:
        """Verdicts of ``run_id`` per status (``PASS``, ``FAIL``, ``MISSED``, ``ERROR``)."""
        self.flush()
        return {
            row[0]: row[1]
            for row in self.db.execute(
                "SELECT status, count(*) FROM verdicts WHERE run_id = ? GROUP BY status", [run_id]
            )
        }

    def usage_totals(self, run_id: str) -> dict[str, Any]:
        """Calls, cache hits, tokens and cost of ``run_id``, from the stored calls."""
        row = self.db.execute(
            "SELECT count(*), coalesce(sum(input_tokens), 0), coalesce(sum(output_tokens), 0), "
            "coalesce(sum(cost_usd), 0) FROM judge_calls WHERE run_id = ? AND request IS NOT NULL",
            [run_id],
        ).fetchone()
        hits = self.db.execute(
            "SELECT count(DISTINCT judge_call_id) FROM verdicts WHERE run_id = ? AND cached = 1", [run_id]
        ).fetchone()[0]
        return {
            "calls": row[0],
            "cache_hits": hits,
            "input_tokens": row[1],
            "output_tokens": row[2],
            "cost_usd": float(row[3]),
        }

    def finish_run(self, run_id: str, *, status: str, counts: dict[str, int], usage: dict[str, Any]) -> None:
        """Mark ``run_id`` finished with its counts and usage totals."""
        self.update("runs", run_id, {"finished_at": utcnow(), "status": status, "counts": counts, "usage": usage})

    # ---------------------------------------------------------------- budget

    def budget_reserve(self, run_id: str, max_cost: float, amount: float) -> tuple[bool, float, float]:
        """Reserve ``amount`` USD of ``run_id``'s budget if spent plus reserved stays within
        ``max_cost``, in one atomic statement (the run's xdist workers share the row).
        Returns whether it was reserved, and what was spent and reserved before."""
        with self._lock:
            try:
                self.db.conn.execute(
                    "INSERT OR IGNORE INTO budgets (run_id, max_cost, spent, reserved) VALUES (?, ?, 0, 0)",
                    (run_id, max_cost),
                )
                cursor = self.db.conn.execute(
                    "UPDATE budgets SET reserved = reserved + ? WHERE run_id = ? AND spent + reserved + ? <= ? + 1e-12",
                    (amount, run_id, amount, max_cost),
                )
                ok = cursor.rowcount == 1
            except sqlite3.Error as exc:
                raise StoreError(f"cannot use the budget in {self.path}: {exc}") from None
            spent, reserved = self.budget_state(run_id)
        return ok, spent, reserved - amount if ok else reserved

    def budget_settle(self, run_id: str, reserved: float, actual: float) -> None:
        """Replace a reservation of ``run_id`` by its request's ``actual`` cost."""
        with self._lock:
            try:
                self.db.conn.execute(
                    "UPDATE budgets SET reserved = max(0, reserved - ?), spent = spent + ? WHERE run_id = ?",
                    (reserved, actual, run_id),
                )
            except sqlite3.Error as exc:
                raise StoreError(f"cannot use the budget in {self.path}: {exc}") from None

    def budget_state(self, run_id: str) -> tuple[float, float]:
        """USD spent and reserved in ``run_id``'s budget."""
        row = self.db.execute("SELECT spent, reserved FROM budgets WHERE run_id = ?", [run_id]).fetchone()
        return (float(row[0]), float(row[1])) if row else (0.0, 0.0)

    # ---------------------------------------------------------------- cache

    def cached_result(self, cache_key: str, *, run_id: str | None = None) -> tuple[int, Any] | None:
        """The id and stored result of the last error-free call with ``cache_key`` (of ``run_id``
        only, when given)."""
        where = " AND run_id = ?" if run_id is not None else ""
        with self._lock:
            row = self.db.execute(
                "SELECT id, result FROM judge_calls WHERE cache_key = ? AND error IS NULL "
                f"AND result IS NOT NULL{where} ORDER BY id DESC LIMIT 1",
                [cache_key] + ([run_id] if run_id is not None else []),
            ).fetchone()
        if row is None:
            return None
        return int(row[0]), json.loads(row[1])

    # ---------------------------------------------------------------- reading

    def runs(self, limit: int = 20) -> list[dict[str, Any]]:
        """The newest runs, newest first."""
        return [
            _decode("runs", r)
            for r in self.db.query("SELECT * FROM runs ORDER BY started_at DESC, id DESC LIMIT ?", [limit])
        ]

    def resolve_run(self, ref: str | None) -> str:
        """A run id from ``ref``: an id, a unique id prefix, ``latest``/None, or ``-N`` (N runs back)."""
        if ref in (None, "latest", "last"):
            ref = "-1"
        assert ref is not None
        if ref.startswith("-") and ref[1:].isdigit():
            n = int(ref[1:])
            rows = list(
                self.db.query("SELECT id FROM runs ORDER BY started_at DESC, id DESC LIMIT 1 OFFSET ?", [n - 1])
            )
            if not rows:
                raise StoreError(f"no run {ref} in {self.path}")
            return str(rows[0]["id"])
        rows = list(self.db.query("SELECT id FROM runs WHERE id LIKE ? || '%'", [ref]))
        if len(rows) == 1:
            return str(rows[0]["id"])
        if not rows:
            raise StoreError(f"no run {ref!r} in {self.path}")
        raise StoreError(f"run prefix {ref!r} is ambiguous: {', '.join(r['id'] for r in rows[:5])}")

    def run(self, run_id: str) -> dict[str, Any]:
        """One run row, decoded."""
        return _decode("runs", self.db.table("runs").get(run_id))

    def verdicts(self, run_id: str) -> list[dict[str, Any]]:
        """Every verdict of ``run_id``, in insertion order, decoded."""
        return [
            _decode("verdicts", r)
            for r in self.db.query("SELECT * FROM verdicts WHERE run_id = ? ORDER BY position, id", [run_id])
        ]

    def cases(self, run_id: str) -> list[dict[str, Any]]:
        """Every case row of ``run_id``, decoded."""
        rows = self.db.query("SELECT * FROM cases WHERE run_id = ? ORDER BY position, id", [run_id])
        return [_decode("cases", r) for r in rows]

    def member_verdicts(self, run_id: str) -> list[dict[str, Any]]:
        """Every judge-panel member's verdict of ``run_id`` (empty when no panel judged), decoded."""
        self.flush()
        rows = self.db.query("SELECT * FROM member_verdicts WHERE run_id = ? ORDER BY id", [run_id])
        return [_decode("member_verdicts", r) for r in rows]

    def sentinel_verdicts(self, run_id: str) -> list[dict[str, Any]]:
        """Every sentinel verdict of ``run_id`` (empty when no suite named a sentinel), decoded."""
        self.flush()
        rows = self.db.query("SELECT * FROM sentinel_verdicts WHERE run_id = ? ORDER BY id", [run_id])
        return [_decode("sentinel_verdicts", r) for r in rows]

    def has_repeats(self, run_id: str) -> bool:
        """Whether ``run_id`` judged some criterion more than once (``--rubric-repeat``)."""
        self.flush()
        return (
            self.db.execute("SELECT 1 FROM repeat_verdicts WHERE run_id = ? LIMIT 1", [run_id]).fetchone() is not None
        )

    def repeat_verdicts(self, run_id: str) -> list[dict[str, Any]]:
        """Every repeat's verdict of ``run_id`` (empty without ``--rubric-repeat``), decoded."""
        self.flush()
        rows = self.db.query("SELECT * FROM repeat_verdicts WHERE run_id = ? ORDER BY id", [run_id])
        return [_decode("repeat_verdicts", r) for r in rows]

    def nodes(self, run_id: str) -> list[dict[str, Any]]:
        """The inner-node scores of ``run_id``'s rubric trees, in tree order, decoded."""
        rows = self.db.query("SELECT * FROM nodes WHERE run_id = ? ORDER BY position, id", [run_id])
        return [_decode("nodes", r) for r in rows]

    def gates(self, run_id: str) -> list[dict[str, Any]]:
        """The gate outcomes of ``run_id`` (one per gated suite and target), decoded."""
        self.flush()
        rows = self.db.query("SELECT * FROM gates WHERE run_id = ? ORDER BY id", [run_id])
        return [_decode("gates", r) for r in rows]

    def calls(self, run_id: str) -> Iterator[dict[str, Any]]:
        """Every model call made during ``run_id``."""
        for r in self.db.query("SELECT * FROM judge_calls WHERE run_id = ? ORDER BY id", [run_id]):
            yield _decode("judge_calls", r)


# Columns holding JSON, per table: always encoded on write and decoded on read, so a text
# response such as "42" is never mistaken for a number.
JSON_COLUMNS = {
    "runs": {"argv", "counts", "usage", "suites"},
    "cases": {"tags"},
    "verdicts": {"tags", "votes"},
    "nodes": {"tags", "detail"},
    "judge_calls": {"request", "response", "result"},
    "calibrations": {"reliability", "result"},
    "member_verdicts": {"votes", "samples"},
    "sentinel_verdicts": {"tags"},
    "gates": {"errors", "disagreements"},
    "repeat_verdicts": {"votes"},
}


def _encode(table: str, row: dict[str, Any]) -> dict[str, Any]:
    # Every value written is redacted (rubrictest.secrets): no key reaches the file, whichever
    # path brought it here.
    json_cols = JSON_COLUMNS.get(table, set())
    values = secret_values()
    out = {}
    for key, value in row.items():
        if key in json_cols and value is not None:
            value = _json_text(value, values)
        elif isinstance(value, str):
            value = redact_text(value, values)
        elif isinstance(value, bool):
            value = int(value)
        out[key] = value
    return out


def _json_text(value: Any, values: list[str]) -> str:
    # The text of plain JSON data is searched for secrets once; only data that holds one (or
    # is not plain JSON) is walked by redact() -- a request of many kilobytes is stored with
    # every call, and arrives encoded already (JSONText) from the component that sent it.
    if isinstance(value, JSONText):
        if not json_needs_redaction(value, values):
            return str(value)
        value = json.loads(value)
    text: str | None
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = None
    if text is None or json_needs_redaction(text, values):
        return json.dumps(redact(value, values), ensure_ascii=False, default=str)
    return text


def _decode(table: str, row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    for key in JSON_COLUMNS.get(table, set()) & out.keys():
        if isinstance(out[key], str):
            out[key] = json.loads(out[key])
    return out
