"""Ctrl-C and SIGTERM stop a run within seconds, keep every verdict received and mark the run
``interrupted`` with its counts, also under pytest-xdist; a second Ctrl-C exits at once."""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

import pytest

from rubrictest.store import Store
from tests.helpers.killed import Session, write_project

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="sends POSIX signals")

# The run stops within 1-4 s (bench/bench_robustness.py, docs/reliability.md); the bound leaves room
# for a loaded machine (several test processes on 2 cores took over 10 s once).
STOP_WITHIN_S = 20


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["plain", "xdist"])
def test_a_signal_stops_the_run_and_keeps_the_verdicts_received(tmp_path: Path, sig: int, xdist: list[str]) -> None:
    write_project(tmp_path)
    session = Session(tmp_path, *xdist)
    received = session.wait_passed(3 if not xdist else 2)
    sent = session.signal(sig)  # to the process group, as a terminal's Ctrl-C (and most CI runners) do
    code, out = session.finish()
    took = time.monotonic() - sent
    assert took < STOP_WITHIN_S, f"the run took {took:.1f} s to stop:\n{out}"
    assert code == pytest.ExitCode.INTERRUPTED, out
    store = Store.open(session.db, create=False)
    run = store.run(store.resolve_run(None))
    assert run["status"] == "interrupted", out
    verdicts = store.verdicts(run["id"])
    passed = {v["case_id"] for v in verdicts if v["status"] == "PASS"}
    assert received <= passed
    assert "FAIL" not in {v["status"] for v in verdicts}
    counts: dict[str, int] = {}
    for v in verdicts:
        counts[v["status"]] = counts.get(v["status"], 0) + 1
    assert run["counts"] == counts and counts.get("PASS", 0) >= len(received), out
    store.close()


def test_a_second_ctrl_c_exits_at_once_without_a_traceback(tmp_path: Path) -> None:
    write_project(tmp_path)
    session = Session(tmp_path, close_slow=True)  # the judge takes a minute to close
    received = session.wait_passed(3)
    session.signal(signal.SIGINT)
    time.sleep(1.5)  # the session is closing its components
    sent = session.signal(signal.SIGINT)
    code, out = session.finish()
    assert time.monotonic() - sent < 3, "the second Ctrl-C did not exit at once"
    assert code == pytest.ExitCode.INTERRUPTED, out
    assert "SIGINT again: exiting now" in out
    assert "Traceback" not in out, out
    store = Store.open(session.db, create=False)
    stored = {v["case_id"] for v in store.verdicts(store.resolve_run(None)) if v["status"] == "PASS"}
    assert received <= stored
    store.close()


SIGNAL_ANOTHER_THREAD = """
import signal, threading

_passed = []

def pytest_runtest_logreport(report):
    if report.when == "call" and report.passed:
        _passed.append(report.nodeid)
        if len(_passed) == 3:
            # The kernel may hand a Ctrl-C sent to the process group to any thread: here, always
            # to the engine's, while the main thread waits for a verdict a minute away.
            engine = next(t for t in threading.enumerate() if t.name == "rubrictest-engine")
            threading.Timer(0.5, signal.pthread_kill, (engine.ident, signal.SIGINT)).start()
"""


def test_ctrl_c_handled_by_another_thread_still_stops_the_run(tmp_path: Path) -> None:
    """The main thread, blocked waiting for a slow verdict, wakes to run the SIGINT handler that
    another thread received (it hung until the model answered, 1 time in 20, before)."""
    write_project(tmp_path)
    conftest = tmp_path / "conftest.py"
    conftest.write_text(conftest.read_text() + SIGNAL_ANOTHER_THREAD)
    session = Session(tmp_path)
    session.wait_passed(3)
    started = time.monotonic()
    code, out = session.finish()
    assert time.monotonic() - started < STOP_WITHIN_S, out
    assert code == pytest.ExitCode.INTERRUPTED, out
