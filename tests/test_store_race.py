"""Several processes creating the same new results database at once (pytest-xdist workers)."""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path

from rubrictest.store import Store


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
