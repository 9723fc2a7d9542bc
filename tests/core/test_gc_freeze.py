"""The collected objects are frozen for the run (``gc.freeze``: pytest's collections skip them)
and unfrozen once the session is over (issue 15 item 1)."""

from __future__ import annotations

import gc
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

SUITE = """
    version: 1
    suite: frozen
    cases:
      - id: one
        output: "Hello"
        criteria:
          - {id: hello, check: equals, with: {value: Hello}}
          - {id: greets, check: contains, with: {value: Hell}}
"""

CONFTEST = """
import gc
import subprocess
import sys
from pathlib import Path

def pytest_runtest_setup(item):
    with (Path(__file__).parent / "frozen.txt").open("a") as out:
        out.write(f"{gc.get_freeze_count()}\\n")
"""


def test_collected_objects_are_frozen_during_the_run_and_unfrozen_after(
    pytester: pytest.Pytester, write_suite: Callable[..., Path]
) -> None:
    write_suite(SUITE)
    pytester.makeconftest(CONFTEST)
    result = pytester.runpytest("-q", "-p", "no:cacheprovider")  # in process: the same collector
    result.assert_outcomes(passed=2)
    counts = [int(line) for line in (pytester.path / "frozen.txt").read_text().split()]
    assert len(counts) == 2 and all(count > 1_000 for count in counts), counts
    assert gc.get_freeze_count() == 0  # the session's cleanup unfroze them


def test_a_session_without_suites_freezes_nothing(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_plain="def test_one():\n    pass\n")
    gc.unfreeze()
    result = pytester.runpytest("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert (pytester.path / "frozen.txt").read_text().split() == ["0"]


GC_PROBE = """
import gc, weakref
from pathlib import Path

OUT = Path(__file__).parent / "gc.txt"
garbage = []

class Cycle:
    pass

def pytest_itemcollected(item):
    if not garbage:  # cyclic garbage made during collection, dropped at once
        c = Cycle(); c.self = c
        garbage.append(weakref.ref(c))
        del c
    with OUT.open("a") as out:
        out.write(f"collect enabled={gc.isenabled()}\\n")

def pytest_runtest_setup(item):
    with OUT.open("a") as out:
        out.write(f"run enabled={gc.isenabled()} garbage_alive={garbage[0]() is not None}\\n")
"""


def test_collection_pauses_the_collector_and_frees_its_garbage_before_the_freeze(
    pytester: pytest.Pytester, write_suite: Callable[..., Path]
) -> None:
    write_suite(SUITE)
    pytester.makeconftest(GC_PROBE)
    was = gc.isenabled()
    result = pytester.runpytest("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    lines = (pytester.path / "gc.txt").read_text().splitlines()
    assert lines[:2] == ["collect enabled=False"] * 2, lines  # paused while the suite's items were made
    # the run collects as usual, and collection's cyclic garbage was freed, not frozen
    assert lines[2:] == ["run enabled=True garbage_alive=False"] * 2, lines
    assert gc.isenabled() is was and gc.get_freeze_count() == 0


def test_a_collection_error_or_collect_only_leaves_the_collector_as_it_was(
    pytester: pytest.Pytester, write_suite: Callable[..., Path]
) -> None:
    write_suite(SUITE)
    assert gc.isenabled()
    pytester.runpytest("-q", "-p", "no:cacheprovider", "--collect-only").assert_outcomes()
    assert gc.isenabled() and gc.get_freeze_count() == 0
    write_suite(
        "version: 1\nsuite: broken\ncases: [{id: a, output: x, criteria: [{check: nope}]}]\n",
        name="test_bad.rubric.yaml",
    )
    result = pytester.runpytest("-q", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.INTERRUPTED  # pytest stops on a collection error
    assert gc.isenabled() and gc.get_freeze_count() == 0


def test_the_outermost_session_leaves_its_objects_frozen_for_the_exit(
    pytester: pytest.Pytester, write_suite: Callable[..., Path]
) -> None:
    """Nothing runs after the outermost session but, usually, the interpreter's exit, whose
    collection would walk every collected object again: they stay frozen. A process that runs
    pytest again (ipytest, a script) unfreezes them when the next session starts, so frozen
    objects do not pile up run after run. (A nested session -- the pytester runs above, inside
    this test session -- unfreezes them for the outer one at once.)"""
    write_suite(SUITE)
    script = (
        "import gc, sys, weakref, pytest\n"
        "class Cycle:\n"
        "    pass\n"
        "refs = []\n"
        "class Probe:\n"
        "    def pytest_collection_finish(self, session):\n"
        "        c = Cycle(); c.me = c; session.config.probe = c  # alive, then garbage with the session\n"
        "        refs.append(weakref.ref(c))\n"
        "for _ in range(3):\n"
        "    code = pytest.main(['-q', '-p', 'no:cacheprovider', '-p', 'no:xdist', sys.argv[1]], plugins=[Probe()])\n"
        "    print('frozen', gc.get_freeze_count(), 'enabled', gc.isenabled(), 'exit', int(code))\n"
        "print('alive', [r() is not None for r in refs])\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, str(pytester.path)], capture_output=True, text=True, timeout=120
    )
    lines = proc.stdout.splitlines()
    rows = [line.split() for line in lines if " enabled " in line and line.startswith("frozen ")]
    assert len(rows) == 3, proc.stdout + proc.stderr
    assert all(int(row[1]) > 1_000 for row in rows), rows  # each session left its objects frozen
    assert all(row[2:] == ["enabled", "True", "exit", "0"] for row in rows), rows
    # The second session's leftovers were unfrozen when the third started, and collected; the
    # third's stay frozen for the exit. (pytest itself keeps the first session's config alive,
    # with or without rubrictest, so the first says nothing.)
    alive = lines[-1].removeprefix("alive ")
    assert alive.endswith("False, True]"), proc.stdout + proc.stderr
