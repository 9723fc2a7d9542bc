"""Fixtures for the core tests: suite writing, fake judges and targets, store access.

Fakes are registered on rubrictest's plugin manager for one test and unregistered after
(the ``register_plugin`` fixture), so no test depends on an installed third-party plugin
and nothing reaches the network.
"""

from __future__ import annotations

import asyncio
import textwrap
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from rubrictest import (
    CallRecord,
    ComponentContext,
    ComponentSpec,
    Judge,
    JudgeError,
    JudgeRequest,
    JudgeResult,
    Register,
    Usage,
    Verdict,
    hookimpl,
)
from rubrictest.plugins import pm
from rubrictest.store import Store


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "plugin_install: pip-installs the fake plugin package (a few seconds)")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No outside configuration leaks into a test."""
    for var in ("RUBRICTEST_DB", "RUBRICTEST_LOAD_PLUGINS", "RUBRICTEST_TRACE_PLUGINS"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def write_suite(pytester: pytest.Pytester) -> Callable[..., Path]:
    """Write a suite file (dedented) into the pytester directory and return its path."""

    def write(text: str, name: str = "test_s.rubric.yaml") -> Path:
        path = pytester.path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return write


def outcomes(result: pytest.RunResult) -> dict[str, int]:
    """The outcome counts of a pytester run's summary line, without the warnings count."""
    found = result.parseoutcomes()
    found.pop("warnings", None)
    return found


def failure_text(result: pytest.RunResult) -> str:
    """The FAILURES and ERRORS sections of a pytester run's output (what a user reads)."""
    lines = result.stdout.lines
    start = next(
        (
            i
            for i, line in enumerate(lines)
            if line.startswith("=") and (" ERRORS " in line or " FAILURES " in line)
        ),
        len(lines),
    )
    end = next(
        (
            i
            for i, line in enumerate(lines)
            if i > start and line.startswith("=") and not (" ERRORS " in line or " FAILURES " in line)
        ),
        len(lines),
    )
    return "\n".join(lines[start:end])


def assert_no_traceback(text: str) -> None:
    """A rendered rubric failure is a verdict, never Python code or a traceback."""
    for marker in ("Traceback", "def ", "raise ", ".py:", "self.", "^^^^"):
        assert marker not in text, f"{marker!r} in the failure text:\n{text}"


def db_path(pytester: pytest.Pytester) -> Path:
    """The default results database of a pytester run."""
    return pytester.path / ".rubrictest" / "rubrictest.db"


def open_store(pytester: pytest.Pytester) -> Store:
    """Open the default results database of a pytester run (it must exist)."""
    return Store.open(db_path(pytester), create=False)


class FakeJudgeState:
    """What every instance of a fake judge shares with the test that registered it.

    Attributes:
        latency: seconds each request takes (``asyncio.sleep``).
        calls: every request received, in order.
        in_flight / max_in_flight: concurrency actually reached.
        cost: USD reported per call (for ``--rubric-max-cost``).
        behaviour: ``"ok"``; ``"raise"`` (JudgeError); ``"crash"`` (RuntimeError);
            ``"error_verdict"`` (an outcome ``error``); ``"missing"`` (no verdict at all).
        release: when set, requests whose case id is in ``hold`` wait for it.
    """

    def __init__(self) -> None:
        self.latency = 0.0
        self.calls: list[JudgeRequest] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.cost: float | None = None
        self.behaviour = "ok"
        self.hold: set[str] = set()
        self.release = threading.Event()
        self.lock = threading.Lock()


def make_fake_judge(state: FakeJudgeState, *, batch: bool = True) -> type[Judge]:
    """A judge class bound to ``state``.

    A criterion is *met* when its text contains the word ``yes`` (case-insensitive) and
    the response is not ``"bad"``; otherwise not met.
    """

    class FakeJudge(Judge):
        """Fake model judge for tests (met when the criterion text says 'yes')."""

        supports_batch_criteria = batch
        default_concurrency = 4

        def __init__(self, spec: ComponentSpec, context: ComponentContext) -> None:
            super().__init__(spec, context)

        async def judge(self, request: JudgeRequest) -> JudgeResult:
            with state.lock:
                state.calls.append(request)
                state.in_flight += 1
                state.max_in_flight = max(state.max_in_flight, state.in_flight)
            try:
                if state.latency:
                    await asyncio.sleep(state.latency)
                if request.case.id in state.hold:
                    ok = await asyncio.to_thread(state.release.wait, 10)
                    if not ok:
                        raise JudgeError("held request was never released")
            finally:
                with state.lock:
                    state.in_flight -= 1
            if state.behaviour == "raise":
                raise JudgeError("the fake provider refused: HTTP 503 after 3 retries")
            if state.behaviour == "crash":
                raise RuntimeError("fake judge bug")
            if state.behaviour == "missing":
                return JudgeResult([])
            verdicts = []
            for crit in request.criteria:
                if state.behaviour == "error_verdict":
                    verdicts.append(Verdict.failed(crit.id, "malformed judge output after 2 retries"))
                    continue
                met = "yes" in (crit.text or "").lower() and request.response != "bad"
                verdicts.append(
                    Verdict(
                        crit.id,
                        "met" if met else "not_met",
                        confidence=0.875,
                        evidence=request.response[:12] or None,
                        evidence_supported=True,
                        rationale=f"fake rationale for {crit.id}",
                    )
                )
            call = CallRecord(
                request={"criteria": [c.id for c in request.criteria]},
                response={"ok": True},
                usage=Usage(10, 5, state.cost, None),
                model="fake-1",
            )
            return JudgeResult(verdicts, [call])

    return FakeJudge


class _JudgePlugin:
    """A rubrictest plugin object registering a fake judge under ``name``."""

    def __init__(self, name: str, factory: type[Judge]) -> None:
        self.name = name
        self.factory = factory

    @hookimpl
    def register_judges(self, register: Register) -> None:
        register(self.name, self.factory)


@pytest.fixture
def register_plugin() -> Iterator[Callable[[Any, str], Any]]:
    """Register plugin objects on rubrictest's plugin manager; unregister them after the test."""
    names: list[str] = []

    def register(plugin: Any, name: str) -> Any:
        pm.register(plugin, name=name)
        names.append(name)
        return plugin

    yield register
    for name in reversed(names):
        if pm.get_plugin(name) is not None:
            pm.unregister(name=name)


@pytest.fixture
def fake_judge(register_plugin: Callable[[Any, str], Any]) -> FakeJudgeState:
    """A fake model judge registered as ``fake`` (batches criteria) for this test."""
    state = FakeJudgeState()
    register_plugin(_JudgePlugin("fake", make_fake_judge(state)), "test-fake-judge")
    return state


@pytest.fixture
def fake_judge_factory(register_plugin: Callable[[Any, str], Any]) -> Callable[..., FakeJudgeState]:
    """Register more fake judges: ``fake_judge_factory("name", batch=False)``."""

    def make(name: str, *, batch: bool = True) -> FakeJudgeState:
        state = FakeJudgeState()
        register_plugin(_JudgePlugin(name, make_fake_judge(state, batch=batch)), f"test-judge-{name}")
        return state

    return make
