"""Commands that only read results never migrate someone else's SQLite file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from rubrictest.cli import build_cli
from rubrictest.errors import StoreError
from rubrictest.store import Store


def _foreign(tmp_path: Path) -> Path:
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE notes (x)")
    conn.commit()
    conn.close()
    return path


def _tables(path: Path) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        conn.close()


def test_open_for_reading_refuses_a_foreign_database(tmp_path: Path) -> None:
    path = _foreign(tmp_path)
    with pytest.raises(StoreError, match="not a rubrictest results database"):
        Store.open(path, create=False)
    assert _tables(path) == {"notes"}


@pytest.mark.parametrize("args", [["report"], ["compare"], ["calibrate", "--labels", "labels.jsonl"]])
def test_read_only_commands_leave_a_foreign_database_untouched(tmp_path: Path, args: list[str]) -> None:
    path = _foreign(tmp_path)
    (tmp_path / "labels.jsonl").write_text('{"case": "c", "criterion": "k", "met": true}\n')
    argv = [a if a != "labels.jsonl" else str(tmp_path / a) for a in args]
    result = CliRunner().invoke(build_cli(), [*argv, "--db", str(path)])
    assert result.exit_code != 0
    assert "not a rubrictest results database" in result.output
    assert _tables(path) == {"notes"}
