"""Fixtures shared by every test package: environment isolation, plugin registration, the
shared data. Helpers (functions and classes) live in :mod:`tests.helpers`, not here."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy  # noqa: F401
import pytest
import yaml  # noqa: F401

from .helpers.shared_data import require_shared

# numpy and PyYAML are C extensions that rubrictest imports lazily. Imported here, before any
# pytester in-process run: such a run drops the modules it imported when it ends, and the next
# run would load them again -- numpy refuses ("cannot load module more than once per process")
# and PyYAML's C loader builds nodes of the dropped module ("could not determine a constructor
# for the tag None").


@pytest.fixture
def shared_data() -> Path:
    """``../shared/data`` (see :mod:`tests.helpers.shared_data`): skipped where absent, failed under CI."""
    return require_shared()


# Configuration a developer's shell may carry that must not reach a test.
_OUTSIDE = (
    "RUBRICTEST_DB",
    "RUBRICTEST_LOAD_PLUGINS",
    "RUBRICTEST_TRACE_PLUGINS",
    "RUBRICTEST_PRICES",
    "GITHUB_STEP_SUMMARY",
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "OPENAI_BASE_URL",
    "ANTHROPIC_BASE_URL",
)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No outside configuration leaks into a test (a test sets what it needs)."""
    for var in _OUTSIDE:
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def register_plugin() -> Iterator[Callable[[Any, str], Any]]:
    """The one way tests register a plugin object: ``register_plugin(obj, "name")`` puts it on
    rubrictest's plugin manager (after the installed plugins) and removes it after the test."""
    from rubrictest.plugins import load_plugins, pm

    load_plugins()
    names: list[str] = []

    def register(plugin: Any, name: str) -> Any:
        pm.register(plugin, name=name)
        names.append(name)
        return plugin

    yield register
    for name in reversed(names):
        if pm.get_plugin(name) is not None:
            pm.unregister(name=name)
