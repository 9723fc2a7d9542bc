"""Paths of the benchmark excerpts in tests/data and of the full releases in ../shared/data."""

from __future__ import annotations

from pathlib import Path

import pytest

from ..helpers.shared_data import require_shared


@pytest.fixture
def paperbench_dir() -> Path:
    """The full PaperBench project folder (``project/paperbench``) from the shared data."""
    return require_shared("preparedness", "project", "paperbench")


@pytest.fixture
def drb_dir() -> Path:
    """The full DeepResearch Bench release from the shared data."""
    return require_shared("deep_research_bench")


@pytest.fixture
def hellobench_dir() -> Path:
    """The full HelloBench release from the shared data."""
    return require_shared("HelloBench")
