"""The hostile-input corpus (issue 10): every entry under ``corpus/`` is a project directory
that a user could write -- malformed YAML, bombs, invisible ids, hung or exiting user code,
a database path that cannot work -- and ``expect.json`` says what the user must see.

Each one, run by pytest with rubrictest, produces one clear line naming file, line and key
(``kind: collection``, or ``usage`` for a bad command-line option) or ERROR items with their
reason (``kind: items``), within 10 s, with no traceback and nothing half-written: a suite
that does not load writes no database, a refused database file is left as it was, and a run
that started is finished in the database. docs/reliability.md lists every input ``class``.

``expect.json`` keys: ``class`` (the row of the docs table), ``kind``, ``lines`` (fnmatch
patterns that the output must contain, in order), ``args`` (more pytest arguments),
``outcomes`` (for ``items``), ``setup`` (a function below) and ``sparse`` (files extended to
a size without writing it).
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

import rubrictest.suite  # noqa: F401 - loads PyYAML in this process: its C parser cannot be re-imported by a run
from rubrictest.store import Store

CORPUS = Path(__file__).parent / "corpus"
ENTRIES = sorted(p.name for p in CORPUS.iterdir() if (p / "expect.json").is_file())
TRACEBACK_MARKERS = ("Traceback (most recent call last)", "^^^^", "raise ", "    def ", "INTERNALERROR")


def _foreign_db(root: Path) -> None:
    conn = sqlite3.connect(root / "app.db")
    conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
    conn.execute("INSERT INTO users (name) VALUES ('ada')")
    conn.commit()
    conn.close()


SETUPS = {"foreign_db": _foreign_db}


def _snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.stat().st_size < 1_000_000
    }


def test_the_corpus_is_large_enough() -> None:
    assert len(ENTRIES) >= 40


@pytest.mark.parametrize("name", ENTRIES)
def test_hostile_input(name: str, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RUBRICTEST_DB", raising=False)
    source = CORPUS / name
    expect: dict[str, Any] = json.loads((source / "expect.json").read_text(encoding="utf-8"))
    root = pytester.path
    for path in source.rglob("*"):
        if path.is_file() and path.name != "expect.json":
            target = root / path.relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
    for file, size in expect.get("sparse", {}).items():
        with open(root / file, "r+b") as fh:
            fh.truncate(size)
    if "setup" in expect:
        SETUPS[expect["setup"]](root)
    before = _snapshot(root)
    args = ["-p", "no:cacheprovider", "-rA", *expect.get("args", [])]
    started = time.monotonic()
    if expect.get("subprocess"):
        result = pytester.runpytest_subprocess(*args, timeout=60)
    else:
        result = pytester.runpytest(*args)
    elapsed = time.monotonic() - started
    output = result.stdout.str() + "\n" + result.stderr.str()
    assert elapsed < 10, f"{name} took {elapsed:.1f} s"
    for marker in TRACEBACK_MARKERS:
        assert marker not in output, f"{marker!r} in the output of {name}:\n{output}"
    lines = result.stderr if expect["kind"] == "usage" else result.stdout
    lines.fnmatch_lines(expect["lines"])
    db = root / ".rubrictest" / "rubrictest.db"
    if expect["kind"] == "collection":
        assert result.ret == pytest.ExitCode.INTERRUPTED, output
        assert not db.exists(), "a suite that does not load must write nothing"
    elif expect["kind"] == "usage":
        assert result.ret == pytest.ExitCode.USAGE_ERROR, output
        assert _snapshot(root) == before, "a refused database location must be left as it was"
    else:
        outcomes = result.parseoutcomes()
        outcomes.pop("warnings", None)
        assert outcomes == expect["outcomes"], output
        store = Store.open(db, create=False)
        try:
            run = store.run(store.resolve_run(None))
            assert run["status"] in ("passed", "failed"), run
            assert sum(run["counts"].values()) == sum(expect["outcomes"].values()) - expect.get("not_criteria", 0)
        finally:
            store.close()
