"""Several processes creating the same new results database at once (pytest-xdist workers)."""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path
from typing import Any

import pytest

from rubrictest.store import Store
from rubrictest.store.migrations import migrations


def _open(path: str, barrier: mp.synchronize.Barrier, out: mp.Queue) -> None:  # type: ignore[type-arg]
    barrier.wait()
    try:
        store = Store.open(path)
        store.start_run(rootdir=".", argv=[], version="t", run_id="shared")
        store.close()
        out.put("ok")
    except Exception as exc:  # reported to the test
        out.put(f"{type(exc).__name__}: {exc}")


def test_concurrent_first_opens_all_succeed(tmp_path: Path) -> None:
    ctx = mp.get_context("spawn")
    for round_ in range(3):
        path = str(tmp_path / f"r{round_}.db")
        barrier = ctx.Barrier(4)
        out = ctx.Queue()
        procs = [ctx.Process(target=_open, args=(path, barrier, out)) for _ in range(4)]
        for p in procs:
            p.start()
        results = [out.get(timeout=60) for _ in procs]
        for p in procs:
            p.join(timeout=60)
        assert results == ["ok"] * 4, results
        store = Store.open(path, create=False)
        assert [r["id"] for r in store.runs()] == ["shared"]


def test_a_loser_that_reruns_an_idempotent_migration_retries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A migration that can run twice (an index made ``if not exists``) fails the loser only on
    its record in ``_sqlite_migrations``: a lost race, retried, never an unusable database."""
    path = tmp_path / "r.db"
    Store.open(path).close()
    stale = [True]
    real_pending = migrations.pending

    def pending(db: Any) -> list[Any]:
        if stale:  # the loser's first look: it saw nothing applied, the winner has done it all since
            stale.clear()
            return [m for m in migrations._migrations if m.name == "m004_view_covering_index"]
        return list(real_pending(db))

    real_applied = migrations.applied
    calls = [0]

    def applied(db: Any) -> list[Any]:
        calls[0] += 1  # the first look is open()'s "is this rubrictest's?", then the loser's stale view
        return list(real_applied(db)) if calls[0] == 1 or not stale else []

    monkeypatch.setattr(migrations, "pending", pending)
    monkeypatch.setattr(migrations, "applied", applied)
    Store.open(path).close()
    assert not stale
