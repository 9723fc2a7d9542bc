"""The collected objects are frozen for the run (``gc.freeze``: pytest's collections skip them)
and unfrozen once the session is over (issue 15 item 1)."""

from __future__ import annotations

import gc
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
