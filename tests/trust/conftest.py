"""Fixtures of the judge-trust tests: the shared real data, found relative to the repository."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO.parent / "shared" / "data"
LLMBAR = SHARED_DATA / "LLMBar"


@pytest.fixture
def llmbar_dir() -> Path:
    """The LLMBar release (princeton-nlp/LLMBar), or a skip saying where it was looked for."""
    if not (LLMBAR / "Dataset").is_dir():
        pytest.skip(f"LLMBar data not found at {LLMBAR} (the shared data folder beside the repository)")
    return LLMBAR


@pytest.fixture
def scripted_judge() -> Iterator[None]:
    """Register the scripted judge plugin (``judge: scripted``) for one test."""
    from rubrictest.plugins import load_plugins, pm

    from . import scripted

    load_plugins()
    pm.register(scripted, name="trust-scripted")
    try:
        yield
    finally:
        pm.unregister(name="trust-scripted")
