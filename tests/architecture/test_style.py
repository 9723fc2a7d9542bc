"""One style for the whole tree: ``ruff check`` and ``ruff format --check`` pass on the code
(the dev extra pins ruff's minor version, so a new release's style cannot turn CI red)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ..helpers.paths import REPO

PATHS = ["rubrictest", "plugins", "tests", "bench", "conftest.py"]


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]], ids=["lint", "format"])
def test_ruff_is_clean(command: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ruff", *command, *PATHS], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
