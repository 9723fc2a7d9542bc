"""Fixtures of the judge-trust tests: the shared real data, found relative to the repository."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ..helpers.shared_data import require_shared


@pytest.fixture(autouse=True)
def _commands_cwd(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Commands record their model calls in a run, in ``.rubrictest`` under the working
    directory: a directory of the test's, never the checkout."""
    monkeypatch.delenv("RUBRICTEST_DB", raising=False)
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))


@pytest.fixture
def llmbar_dir() -> Path:
    """The LLMBar release (princeton-nlp/LLMBar) in the shared data: skipped where absent, failed under CI."""
    return require_shared("LLMBar", "Dataset").parent


@pytest.fixture
def scripted_judge(register_plugin: Callable[[Any, str], Any]) -> None:
    """Register the scripted judge plugin (``judge: scripted``) for one test."""
    from . import scripted

    register_plugin(scripted, "trust-scripted")
