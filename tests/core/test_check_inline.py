"""Isolated checks try small responses on the engine's loop first (a thread hop costs more than
most checks) and go to a thread only when that quick try runs out of time (issue 15 item 1)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rubrictest import Case, Check, CheckTimedOut, ComponentContext, ComponentSpec, Criterion, JudgeRequest
from rubrictest.plugins import registry


class Recording(Check):
    """Times out in the quick try when the response says so; records where each call ran."""

    inline_bytes = 64

    def __init__(self, spec: ComponentSpec, context: ComponentContext) -> None:
        super().__init__(spec, context)
        self.calls: list[tuple[str, Any, bool]] = []

    def inline_params(self, criterion: Criterion) -> Mapping[str, Any] | None:
        return {**criterion.params, "quick": True}

    def check(self, response: str, params: Mapping[str, Any], request: JudgeRequest) -> bool:
        quick = bool(params.get("quick"))
        self.calls.append((response, threading.current_thread().name, quick))
        if quick and "slow" in response:
            raise CheckTimedOut("ran out of its quick slice")
        return "yes" in response


def judge(check: Recording, response: str) -> str:
    crit = Criterion(id="k", check="rec", params={"x": 1})
    case = Case(suite="s", id="c", input="q", criteria=(crit,))
    result = asyncio.run(check.judge(JudgeRequest(case=case, response=response, criteria=(crit,))))
    return result.verdicts[0].outcome


def test_a_quick_check_runs_on_the_loop_and_a_slow_one_again_on_a_thread(tmp_path: Path) -> None:
    spec = ComponentSpec.model_validate({"plugin": "rec"})
    check = Recording(spec, ComponentContext(base_dir=tmp_path, rootdir=tmp_path))
    here = threading.current_thread().name
    assert judge(check, "yes") == "met"
    assert check.calls == [("yes", here, True)]  # one call, on the loop's thread
    check.calls.clear()
    assert judge(check, "yes but slow") == "met"
    (first, second) = check.calls
    assert first == ("yes but slow", here, True)
    assert second[2] is False and second[1] != here and second[1].startswith("rubrictest check")
    check.calls.clear()
    long = "yes " + "x" * 100  # over inline_bytes: straight to a thread, no quick try
    assert judge(check, long) == "met"
    assert [(quick, name == here) for _, name, quick in check.calls] == [(False, False)]


def test_the_regex_check_falls_back_to_its_full_timeout(tmp_path: Path) -> None:
    """The first-party regex check: a match is found in the quick try; a backtracking pattern
    runs out of the quick slice, then of its own ``timeout`` on a thread: an ERROR naming it."""
    context = ComponentContext(base_dir=tmp_path, rootdir=tmp_path)
    regex = registry().get("judges", "regex").factory(ComponentSpec.model_validate({"plugin": "regex"}), context)
    assert isinstance(regex, Check) and regex.inline_bytes > 0
    ok = Criterion(id="ok", check="regex", params={"pattern": r"\d+ days"})
    bad = Criterion(id="bad", check="regex", params={"pattern": "(a|aa)+$", "timeout": 0.2})
    case = Case(suite="s", id="c", input="q", criteria=(ok, bad))
    response = "Returns within 30 days. " + "a" * 40 + "!"
    result = asyncio.run(regex.judge(JudgeRequest(case=case, response=response, criteria=(ok, bad))))
    by_id = {v.criterion_id: v for v in result.verdicts}
    assert by_id["ok"].outcome == "met"
    assert by_id["bad"].outcome == "error" and "took more than 0.2 s" in (by_id["bad"].error or "")
