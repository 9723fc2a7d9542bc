"""The engine on its own, without pytest's collection: a suite loaded, validated against a
:class:`ComponentPool`, run through :class:`ModelCalls` and :class:`Engine`, finished by its
:class:`Run` -- the path the pytest adapter, ``evaluate()`` and the commands share."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import pytest

from rubrictest import (
    CallRecord,
    Judge,
    JudgeError,
    JudgeRequest,
    JudgeResult,
    Register,
    RunEnd,
    RunStart,
    Usage,
    Verdict,
    VerdictEvent,
    hookimpl,
)
from rubrictest.engine import ComponentPool, Engine, ModelCalls, ObserverWarning, Run
from rubrictest.store import Store
from rubrictest.suite import load_suite


class CountingJudge(Judge):
    """Met when the criterion's last word is in the response; counts its requests."""

    requests: ClassVar[list[JudgeRequest]] = []
    in_flight: ClassVar[int] = 0
    max_in_flight: ClassVar[int] = 0

    async def judge(self, request: JudgeRequest) -> JudgeResult:
        cls = CountingJudge
        cls.requests.append(request)
        cls.in_flight += 1
        cls.max_in_flight = max(cls.max_in_flight, cls.in_flight)
        try:
            await asyncio.sleep(0.02)
            if "explode" in request.response:
                raise JudgeError("the judge gave up")
        finally:
            cls.in_flight -= 1
        verdicts = [
            Verdict(c.id, "met" if (c.text or "").split()[-1] in request.response else "not_met")
            for c in request.criteria
        ]
        return JudgeResult(verdicts, [CallRecord(request={"n": len(verdicts)}, usage=Usage(3, 1, 0.001))])


class Observer:
    """Records every observer event; raises on verdicts when told to."""

    def __init__(self, raise_on_verdict: bool = False) -> None:
        self.events: list[object] = []
        self.raise_on_verdict = raise_on_verdict

    @hookimpl
    def register_judges(self, register: Register) -> None:
        register("counting", CountingJudge)

    @hookimpl
    def on_run_start(self, event: RunStart) -> None:
        self.events.append(event)

    @hookimpl
    def on_verdict(self, event: VerdictEvent) -> None:
        self.events.append(event)
        if self.raise_on_verdict:
            raise RuntimeError("observer bug")

    @hookimpl
    def on_run_end(self, event: RunEnd) -> None:
        self.events.append(event)


@pytest.fixture
def observer(register_plugin: Callable[[Any, str], Any]) -> Observer:
    CountingJudge.requests = []
    CountingJudge.max_in_flight = 0
    return register_plugin(Observer(), "engine-alone")  # type: ignore[no-any-return]


SUITE = """\
version: 1
suite: alone
judge: {plugin: counting, concurrency: 2}
cases:
  - {id: a, output: "red apple", criteria: ["is red", "is an apple", {check: contains, with: {value: red}}]}
  - {id: b, output: "green pear", criteria: ["is red"]}
  - {id: c, output: "explode", criteria: ["is red"]}
  - {id: d, output: "red", criteria: ["is red"]}
"""


def _engine(tmp_path: Path, store: Store | None) -> tuple[Engine, list[str]]:
    path = tmp_path / "test_alone.rubric.yaml"
    path.write_text(SUITE, encoding="utf-8")
    suite = load_suite(path)
    pool = ComponentPool(tmp_path)
    pool.validate(suite)
    run = Run.start(store, kind="pytest", rootdir=str(tmp_path), argv=[], version="test")
    run.announce([str(path)], 6)
    engine = Engine(ModelCalls(pool, run))
    keys = []
    for case_run in suite.runs:
        key = f"{path.name}::{case_run.key}"
        engine.add(suite, case_run, key)
        keys.append(key)
    return engine, keys


def test_a_suite_runs_through_the_engine_without_pytest(tmp_path: Path, observer: Observer) -> None:
    store = Store.open(tmp_path / "r.db")
    engine, keys = _engine(tmp_path, store)
    engine.schedule(keys)
    statuses = {
        (k.rsplit("::", 1)[1], cid): engine.verdict(k, cid).status for k in keys for cid in engine.units[k].index
    }
    assert statuses == {
        ("a", "is-red"): "PASS",
        ("a", "is-an-apple"): "PASS",
        ("a", "contains"): "PASS",
        ("b", "is-red"): "FAIL",
        ("c", "is-red"): "ERROR",
        ("d", "is-red"): "PASS",
    }
    assert engine.case(keys[2]).error == "no verdict for is-red"
    gate = engine.gate(str(tmp_path / "test_alone.rubric.yaml"), "", 0.1, 0.95)
    assert gate.passed is None and gate.errors == ["c"]  # a gate that did not see every case is undecided
    engine.close()
    counts = engine.run.finish(None, engine.calls.usage_summary())
    assert counts == {"PASS": 4, "FAIL": 1, "ERROR": 1}
    # one request per case: a's two text criteria in one call; the check makes none
    assert sorted(len(r.criteria) for r in CountingJudge.requests) == [1, 1, 1, 2]
    assert CountingJudge.max_in_flight == 2  # the spec's concurrency
    db = sqlite3.connect(tmp_path / "r.db")
    assert db.execute("SELECT kind, status FROM runs").fetchall() == [("pytest", "failed")]
    assert db.execute("SELECT count(*) FROM verdicts").fetchone()[0] == 6
    assert db.execute("SELECT count(*) FROM judge_calls WHERE request IS NOT NULL").fetchone()[0] == 3


def test_observers_fire_once_each_off_the_event_loop(tmp_path: Path, observer: Observer) -> None:
    engine, keys = _engine(tmp_path, None)
    engine.schedule(keys)
    for key in keys:
        engine.case(key)
    engine.close()
    engine.run.finish(None, engine.calls.usage_summary())
    kinds = [type(e).__name__ for e in observer.events]
    assert kinds[0] == "RunStart" and kinds[-1] == "RunEnd"
    assert kinds.count("RunStart") == 1 and kinds.count("RunEnd") == 1 and kinds.count("VerdictEvent") == 6
    end = observer.events[-1]
    assert isinstance(end, RunEnd) and end.counts == {"PASS": 4, "FAIL": 1, "ERROR": 1}


def test_an_observer_that_raises_is_a_warning_naming_it(tmp_path: Path, observer: Observer) -> None:
    observer.raise_on_verdict = True
    engine, keys = _engine(tmp_path, None)
    engine.schedule(keys)
    for key in keys:
        engine.case(key)
    engine.close()
    with pytest.warns(ObserverWarning, match="'engine-alone' raised in on_verdict: RuntimeError: observer bug"):
        engine.run.finish(None, engine.calls.usage_summary())
    assert sum(isinstance(e, VerdictEvent) for e in observer.events) == 6  # the run went on


class JudgeOnly:
    """The counting judge with no observer hook."""

    @hookimpl
    def register_judges(self, register: Register) -> None:
        register("counting", CountingJudge)


def test_events_nobody_observes_start_no_observer_thread(
    tmp_path: Path, register_plugin: Callable[[Any, str], Any]
) -> None:
    register_plugin(JudgeOnly(), "engine-alone-judge")
    engine, keys = _engine(tmp_path, None)
    engine.schedule(keys)
    for key in keys:
        engine.case(key)
    engine.close()
    observers = engine.run._observers
    assert observers._thread is None and observers._queue.empty()  # six verdicts, no thread woken
    assert engine.run.finish(None, engine.calls.usage_summary()) == {"PASS": 4, "FAIL": 1, "ERROR": 1}
