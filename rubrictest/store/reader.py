"""The viewer's read-only connection to a results database (the base of its query classes).

The file is opened with ``mode=ro`` and ``PRAGMA query_only``: no page of the viewer can
change a database, and a database is never migrated by looking at it. Opening refuses, with
the reason, a file that is missing, unreadable, not SQLite or not rubrictest's.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Self
from urllib.parse import quote

from ..errors import StoreError

STATUSES = ("PASS", "FAIL", "MISSED", "ERROR")
# JSON columns decoded on read; a judge call's request/response/result are decoded in
# ``ResultsDB.calls`` only, since ``cases.response`` is text even when it looks like JSON.
_JSON = {"argv", "counts", "usage", "tags", "votes"}
CALL_JSON = ("request", "response", "result")


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


def all_statuses(counts: Any) -> dict[str, int]:
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


class ReadOnlyDatabase:
    """A results database opened for reading only; one connection per thread (the web server
    answers from a thread pool). Use :meth:`open`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._tables: set[str] | None = None

    @classmethod
    def open(cls, path: str | Path) -> Self:
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

    def has_index(self, name: str) -> bool:
        """Whether the database has the index ``name`` (an older one may lack a later migration's)."""
        row = self.conn().execute("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?", [name]).fetchone()
        return row is not None

    def columns(self, table: str) -> set[str]:
        """Names of the columns of ``table`` (a database from an older version may lack some)."""
        return {r[1] for r in self.conn().execute(f"PRAGMA table_info([{table}])")}

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """All rows of a query, as dicts with the JSON columns decoded."""
        return [_decode(r) or {} for r in self.conn().execute(sql, tuple(params))]

    def one(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        """The first row of a query, or ``None``."""
        return _decode(self.conn().execute(sql, tuple(params)).fetchone())

    def close(self) -> None:
        """Close this thread's connection."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
