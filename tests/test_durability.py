"""Nothing received is lost: rows reach the file within the flush interval, the ``.db`` file
alone is complete after a run, a killed run is marked ``abandoned`` by the next open, and a
re-run of it asks only for what is missing."""

from __future__ import annotations

import shutil
import signal
import sqlite3
import sys
import time
from pathlib import Path

import pytest

from rubrictest.store import Store
from rubrictest.store.database import FLUSH_INTERVAL_S, FLUSH_ROWS
from tests.helpers.killed import CASES, Session, write_project

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="sends POSIX signals")


def _rows(path: Path, table: str) -> int:
    """Rows of ``table`` as another process sees them (a connection of its own)."""
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    finally:
        conn.close()


def _row(i: int, run_id: str) -> dict[str, object]:
    return {"run_id": run_id, "suite": "s", "case_id": f"c{i}", "target": "", "criterion_id": "k", "status": "PASS"}


def test_a_buffered_row_reaches_the_file_within_the_flush_interval(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "r.db")
    run_id = store.start_run(rootdir=str(tmp_path), argv=[], version="0")
    store.insert("verdicts", _row(0, run_id))
    assert _rows(tmp_path / "r.db", "verdicts") == 0  # buffered
    time.sleep(FLUSH_INTERVAL_S * 2.5)
    assert _rows(tmp_path / "r.db", "verdicts") == 1
    store.close()


def test_a_few_hundred_rows_are_written_at_once(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "r.db")
    run_id = store.start_run(rootdir=str(tmp_path), argv=[], version="0")
    for i in range(FLUSH_ROWS):
        store.insert("verdicts", _row(i, run_id))
    assert _rows(tmp_path / "r.db", "verdicts") == FLUSH_ROWS
    store.close()


def test_after_a_run_the_db_file_alone_holds_every_verdict(tmp_path: Path) -> None:
    write_project(tmp_path)
    session = Session(tmp_path, slow=False)
    code, out = session.finish(timeout=120)
    assert code == 0, out
    copy = tmp_path / "artifact"
    copy.mkdir()
    shutil.copy(session.db, copy / "r.db")  # as a CI job uploads it: without -wal or -shm
    store = Store.open(copy / "r.db", create=False)
    run = store.run(store.resolve_run(None))
    assert run["status"] == "passed"
    assert run["counts"] == {"PASS": CASES}
    assert len(store.verdicts(run["id"])) == CASES
    store.close()


@posix_only
@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["plain", "xdist"])
def test_kill_9_keeps_the_verdicts_received_and_the_next_open_marks_the_run_abandoned(
    tmp_path: Path, xdist: list[str]
) -> None:
    write_project(tmp_path)
    session = Session(tmp_path, *xdist)
    received = session.wait_passed(3 if not xdist else 2)
    time.sleep(FLUSH_INTERVAL_S + 1.0)  # what arrived is on disk within the flush interval
    received = session.passed() | received
    session.signal(signal.SIGKILL)  # the controller and its workers, as a CI runner's kill does
    session.finish()
    conn = sqlite3.connect(session.db)
    assert conn.execute("SELECT status FROM runs").fetchall() == [("running",)]
    conn.close()
    store = Store.open(session.db)
    run = store.run(store.resolve_run(None))
    assert run["status"] == "abandoned"
    stored = {v["case_id"] for v in store.verdicts(run["id"]) if v["status"] == "PASS"}
    assert received <= stored
    assert run["counts"] == {"PASS": len(stored)}
    store.close()

    # The re-run asks the judge only about the cases without a stored answer.
    asked_before = len(session.calls())
    rerun = Session(tmp_path, slow=False)
    code, out = rerun.finish(timeout=120)
    assert code == 0, out
    again = rerun.calls()[asked_before:]
    assert sorted(again) == sorted({f"c{i}" for i in range(CASES)} - stored), out


def test_a_run_whose_owner_lives_stays_running(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "r.db")
    run_id = store.start_run(rootdir=str(tmp_path), argv=[], version="0")
    again = Store.open(tmp_path / "r.db")
    assert again.run(run_id)["status"] == "running"
    again.close()
    store.close()
