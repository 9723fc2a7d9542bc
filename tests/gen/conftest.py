"""Fixtures of the generator tests: a scripted model, a keyword judge (``shared_data``: tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from . import rubrictest_gen_fakes as fakes
from .rubrictest_gen_fakes import SUITE


@pytest.fixture(autouse=True)
def _commands_cwd(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Commands record their model calls in a run, in ``.rubrictest`` under the working
    directory: a directory of the test's, never the checkout."""
    monkeypatch.delenv("RUBRICTEST_DB", raising=False)
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))


@pytest.fixture
def script() -> Iterator[Callable[[list[str] | Callable[[str], str]], list[str]]]:
    """Set the scripted model's replies; returns the list the prompts are recorded in."""

    def set_script(replies: list[str] | Callable[[str], str]) -> list[str]:
        fakes.SCRIPT = list(replies) if isinstance(replies, list) else replies
        return fakes.PROMPTS

    fakes.PROMPTS.clear()
    yield set_script
    fakes.SCRIPT = []
    fakes.PROMPTS.clear()


@pytest.fixture
def keyword_judge(register_plugin: Callable[[Any, str], Any]) -> type[fakes.KeywordJudge]:
    """Register the ``gen-keyword`` judge for one test."""
    register_plugin(fakes.Plugin(), "gen-keyword-judge")
    fakes.KeywordJudge.calls = []
    return fakes.KeywordJudge


@pytest.fixture
def suite_file(tmp_path: Path) -> Path:
    path = tmp_path / "test_support.rubric.yaml"
    path.write_text(SUITE, encoding="utf-8")
    return path
