"""Fixtures of the remote judge/target tests: a scripted server and component builders."""

from __future__ import annotations

from collections.abc import Iterator

import anthropic  # noqa: F401 - see below
import openai  # noqa: F401
import pytest

from rubrictest.plugins import registry

from ..helpers.remote import SENTINEL_KEY
from .fake_provider import FakeProvider

# Import the SDKs and load the plugins now, before any test: pytester restores sys.modules
# after each test, and SDK classes imported inside one test would not match those of the next.
registry()


@pytest.fixture
def provider() -> Iterator[FakeProvider]:
    with FakeProvider() as server:
        yield server


@pytest.fixture
def api_keys(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("OPENAI_API_KEY", SENTINEL_KEY)
    monkeypatch.setenv("ANTHROPIC_API_KEY", SENTINEL_KEY)
    return SENTINEL_KEY
