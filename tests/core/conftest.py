"""Fixtures for the core tests: suite writing, fake judges and targets, store access.

Fakes are registered on rubrictest's plugin manager for one test and unregistered after
(the ``register_plugin`` fixture), so no test depends on an installed third-party plugin
and nothing reaches the network.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ..helpers.fakes import FakeJudgeState, JudgePlugin, make_fake_judge


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "plugin_install: pip-installs the fake plugin package (a few seconds)")


@pytest.fixture
def write_suite(pytester: pytest.Pytester) -> Callable[..., Path]:
    """Write a suite file (dedented) into the pytester directory and return its path."""

    def write(text: str, name: str = "test_s.rubric.yaml") -> Path:
        path = pytester.path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return write


@pytest.fixture
def fake_judge(register_plugin: Callable[[Any, str], Any]) -> FakeJudgeState:
    """A fake model judge registered as ``fake`` (batches criteria) for this test."""
    state = FakeJudgeState()
    register_plugin(JudgePlugin("fake", make_fake_judge(state)), "test-fake-judge")
    return state


@pytest.fixture
def fake_judge_factory(register_plugin: Callable[[Any, str], Any]) -> Callable[..., FakeJudgeState]:
    """Register more fake judges: ``fake_judge_factory("name", batch=False)``."""

    def make(name: str, *, batch: bool = True) -> FakeJudgeState:
        state = FakeJudgeState()
        register_plugin(JudgePlugin(name, make_fake_judge(state, batch=batch)), f"test-judge-{name}")
        return state

    return make
