"""The engine (DESIGN.md "The run is a pipeline, not a loop"): concurrency, batching of a
case's criteria, the cache, the cost budget, and items waiting only for their own verdict.

Concurrency is asserted on the largest number of requests in flight, not on wall time.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from rubrictest import Case, Target, TargetResult, hookimpl

from ..helpers.fakes import FakeJudgeState
from ..helpers.pytester import open_store, outcomes


def _suite(cases: int, criteria: int = 3, judge: str = "fake:m1", **extra: Any) -> str:
    lines = [f"judge: {judge}"] + [f"{k}: {v}" for k, v in extra.items()] + ["cases:"]
    for i in range(cases):
        crits = ", ".join(f"{{id: k{j}, text: 'yes criterion {j}'}}" for j in range(criteria))
        lines.append(f"  - {{id: c{i}, input: 'question {i}', output: 'answer {i}', criteria: [{crits}]}}")
    return "\n".join(lines) + "\n"


def test_judge_calls_run_concurrently_up_to_the_spec_limit(
    pytester: pytest.Pytester, write_suite: Callable[..., Path], fake_judge: FakeJudgeState
) -> None:
    fake_judge.latency = 0.05
    write_suite(_suite(12, judge="{plugin: fake, model: m1, concurrency: 3}"))
    pytester.runpytest().assert_outcomes(passed=36)
    assert len(fake_judge.calls) == 12  # one request per case: its three criteria together
    assert fake_judge.max_in_flight == 3


def test_every_case_is_in_flight_at_once_when_the_limit_allows(
    pytester: pytest.Pytester, write_suite: Callable[..., Path], fake_judge: FakeJudgeState
) -> None:
    fake_judge.latency = 0.3  # long enough that all ten overlap even on a loaded machine
    write_suite(_suite(10, criteria=1, judge="{plugin: fake, model: m1, concurrency: 50}"))
    pytester.runpytest().assert_outcomes(passed=10)
    assert fake_judge.max_in_flight == 10


def test_the_judge_class_default_concurrency_applies(
    pytester: pytest.Pytester, write_suite: Callable[..., Path], fake_judge: FakeJudgeState
) -> None:
    fake_judge.latency = 0.1
    write_suite(_suite(10, criteria=1))
    pytester.runpytest().assert_outcomes(passed=10)
    assert fake_judge.max_in_flight == 4  # FakeJudge.default_concurrency


def test_batch_criteria_off_in_the_spec_makes_one_request_per_criterion(
    pytester: pytest.Pytester, write_suite: Callable[..., Path], fake_judge: FakeJudgeState
) -> None:
    write_suite(_suite(4, judge="{plugin: fake, model: m1, batch_criteria: false}"))
    pytester.runpytest().assert_outcomes(passed=12)
    assert len(fake_judge.calls) == 12
    assert all(len(r.criteria) == 1 for r in fake_judge.calls)


def test_a_judge_that_cannot_batch_gets_one_criterion_per_request(
    pytester: pytest.Pytester,
    write_suite: Callable[..., Path],
    fake_judge_factory: Callable[..., FakeJudgeState],
) -> None:
    single = fake_judge_factory("single", batch=False)
    write_suite(_suite(3, judge="single:m"))
    pytester.runpytest().assert_outcomes(passed=9)
    assert sorted(len(r.criteria) for r in single.calls) == [1] * 9


def test_criteria_with_different_judges_are_grouped_per_judge(
    pytester: pytest.Pytester,
    write_suite: Callable[..., Path],
    fake_judge: FakeJudgeState,
    fake_judge_factory: Callable[..., FakeJudgeState],
) -> None:
    other = fake_judge_factory("other")
    write_suite("""
        judge: fake:m1
        cases:
          - id: c1
            output: answer
            criteria:
              - {id: a, text: "yes a"}
              - {id: b, text: "yes b", judge: "other:m2"}
              - {id: c, text: "yes c"}
              - {id: d, check: contains, with: {value: answer}}
    """)
    pytester.runpytest().assert_outcomes(passed=4)
    assert [[c.id for c in r.criteria] for r in fake_judge.calls] == [["a", "c"]]
    assert [[c.id for c in r.criteria] for r in other.calls] == [["b"]]


def test_cache_second_run_makes_no_judge_call(
    pytester: pytest.Pytester, write_suite: Callable[..., Path], fake_judge: FakeJudgeState
) -> None:
    write_suite(_suite(5))
    pytester.runpytest().assert_outcomes(passed=15)
    assert len(fake_judge.calls) == 5
    result = pytester.runpytest("--junitxml=out.xml")
    result.assert_outcomes(passed=15)
    assert len(fake_judge.calls) == 5, "the second run called the judge again"
    store = open_store(pytester)
    run_id = store.resolve_run(None)
    verdicts = store.verdicts(run_id)
    assert all(v["cached"] == 1 for v in verdicts) and len(verdicts) == 15
    assert all(v["outcome"] == "met" and v["rationale"].startswith("fake rationale") for v in verdicts)
    assert '<property name="cached" value="True"' in (pytester.path / "out.xml").read_text()
    result.stdout.fnmatch_lines(["model calls: 0  cache hits: 5*"])


def test_cache_is_keyed_by_content(
    pytester: pytest.Pytester, write_suite: Callable[..., Path], fake_judge: FakeJudgeState
) -> None:
    path = write_suite(_suite(3))
    pytester.runpytest().assert_outcomes(passed=9)
    # a changed response (case c1) and a changed criterion text (all cases' k0) miss the cache
    path.write_text(path.read_text().replace("answer 1", "answer one").replace("yes criterion 0", "yes criterion zero"))
    pytester.runpytest().assert_outcomes(passed=9)
    assert len(fake_judge.calls) == 6


def test_cache_off_and_refresh(
    pytester: pytest.Pytester, write_suite: Callable[..., Path], fake_judge: FakeJudgeState
) -> None:
    write_suite(_suite(4))
    pytester.runpytest().assert_outcomes(passed=12)
    assert len(fake_judge.calls) == 4
    pytester.runpytest("--rubric-cache=off").assert_outcomes(passed=12)
    assert len(fake_judge.calls) == 8
    pytester.runpytest("--rubric-cache=refresh").assert_outcomes(passed=12)
    assert len(fake_judge.calls) == 12
    store = open_store(pytester)
    assert not any(v["cached"] for v in store.verdicts(store.resolve_run(None)))
    pytester.runpytest().assert_outcomes(passed=12)
    assert len(fake_judge.calls) == 12


def test_judge_errors_are_not_cached(
    pytester: pytest.Pytester, write_suite: Callable[..., Path], fake_judge: FakeJudgeState
) -> None:
    write_suite(_suite(2, criteria=1))
    fake_judge.behaviour = "raise"
    assert outcomes(pytester.runpytest()) == {"errors": 2}
    fake_judge.behaviour = "ok"
    pytester.runpytest().assert_outcomes(passed=2)
    assert len(fake_judge.calls) == 4


BUDGET_SUITE = """
    judge: fake:m1
    cases:
      - id: c1
        output: answer
        criteria:
          - {id: judged, text: "yes"}
          - {id: checked, check: contains, with: {value: answer}}
"""


def test_max_cost_zero_makes_every_judged_item_error(
    pytester: pytest.Pytester, write_suite: Callable[..., Path], fake_judge: FakeJudgeState
) -> None:
    write_suite(BUDGET_SUITE)
    result = pytester.runpytest("--rubric-max-cost", "0", "-v")
    assert fake_judge.calls == []
    assert outcomes(result).get("failed", 0) == 0
    result.stdout.fnmatch_lines(["*::c1::judged ERROR*", "*reason*cost budget exceeded*"])


def test_max_cost_does_not_stop_deterministic_checks(
    pytester: pytest.Pytester, write_suite: Callable[..., Path], fake_judge: FakeJudgeState
) -> None:
    write_suite(BUDGET_SUITE)
    result = pytester.runpytest("--rubric-max-cost", "0", "-v")
    assert outcomes(result) == {"passed": 1, "errors": 1}
    result.stdout.fnmatch_lines(["*::c1::checked PASSED*"])


def test_max_cost_stops_calls_once_the_budget_is_spent(
    pytester: pytest.Pytester, write_suite: Callable[..., Path], fake_judge: FakeJudgeState
) -> None:
    fake_judge.cost = 1.0
    fake_judge.latency = 0.01  # a real judge awaits its provider: requests interleave
    write_suite(_suite(10, criteria=1, judge="{plugin: fake, model: m1, concurrency: 1}"))
    result = pytester.runpytest("--rubric-max-cost", "2.5")
    # each call reserves its worst case ($1): $0 and $1 spent before the first two, $2 + $1 > $2.5 stops the rest
    assert len(fake_judge.calls) == 2
    assert outcomes(result) == {"passed": 2, "errors": 8}


def test_usage_is_summed_in_the_store(
    pytester: pytest.Pytester, write_suite: Callable[..., Path], fake_judge: FakeJudgeState
) -> None:
    fake_judge.cost = 0.25
    write_suite(_suite(4, criteria=2))
    pytester.runpytest().assert_outcomes(passed=8)
    store = open_store(pytester)
    run = store.run(store.resolve_run(None))
    assert run["usage"]["total"] == {
        "calls": 4,
        "cache_hits": 0,
        "input_tokens": 40,
        "output_tokens": 20,
        "cost_usd": 1.0,
    }


class _Releaser:
    """pytest plugin: releases the held judge requests once ``nodeid`` has a call report."""

    def __init__(self, state: FakeJudgeState, nodeid: str) -> None:
        self.state = state
        self.nodeid = nodeid

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.nodeid == self.nodeid and report.when == "call":
            self.state.release.set()


def test_items_wait_only_for_their_own_verdict(
    pytester: pytest.Pytester, write_suite: Callable[..., Path], fake_judge: FakeJudgeState
) -> None:
    # c-slow's judge request is held until c-fast's item has been reported. If items waited
    # for anything but their own verdict, c-fast's report would never come: the held request
    # would time out and c-slow would ERROR.
    fake_judge.hold = {"c-slow"}
    fake_judge.latency = 0.3
    write_suite("""
        judge: fake:m1
        cases:
          - {id: c-fast, output: answer, criteria: [{id: k, text: "yes"}]}
          - {id: c-slow, output: answer, criteria: [{id: k, text: "yes"}]}
    """)
    result = pytester.runpytest("-v", plugins=[_Releaser(fake_judge, "test_s.rubric.yaml::c-fast::k")])
    result.stdout.fnmatch_lines(["*::c-fast::k PASSED*", "*::c-slow::k PASSED*"])
    # both requests were in flight together: c-slow's was sent before c-fast's item ran
    assert fake_judge.max_in_flight == 2


class _SlowTarget(Target):
    """A fake async target with latency that tracks how many calls are in flight."""

    default_concurrency = 6
    cacheable = False
    in_flight = 0
    max_in_flight = 0
    lock = threading.Lock()

    async def generate(self, case: Case) -> TargetResult:
        cls = type(self)
        with cls.lock:
            cls.in_flight += 1
            cls.max_in_flight = max(cls.max_in_flight, cls.in_flight)
        await asyncio.sleep(0.2)
        with cls.lock:
            cls.in_flight -= 1
        return TargetResult(f"answer to {case.input}")


def test_target_calls_run_concurrently_and_feed_the_judges(
    pytester: pytest.Pytester,
    write_suite: Callable[..., Path],
    fake_judge: FakeJudgeState,
    register_plugin: Callable[[Any, str], Any],
) -> None:
    class Plugin:
        @hookimpl
        def register_targets(self, register: Any) -> None:
            register("slow", _SlowTarget)

    register_plugin(Plugin(), "test-slow-target")
    lines = ["target: slow:m", "judge: fake:m1", "cases:"]
    lines += [f"  - {{id: c{i}, input: 'q{i}', criteria: [{{id: k, text: 'yes'}}]}}" for i in range(12)]
    write_suite("\n".join(lines) + "\n")
    pytester.runpytest().assert_outcomes(passed=12)
    assert _SlowTarget.max_in_flight == 6
    assert sorted(r.response for r in fake_judge.calls) == sorted(f"answer to q{i}" for i in range(12))
