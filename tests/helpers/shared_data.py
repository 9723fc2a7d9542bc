"""The real benchmark data beside the repository (``../shared/data``), for tests that read it.

Every test that needs the data gets its path from :func:`require_shared` (or the
``shared_data`` fixture in ``tests/conftest.py``). Where the data is missing the test is
skipped with the reason -- except under ``CI=true``, where it fails: CI must never pass by
not looking. ``RUBRICTEST_SHARED_DATA`` points at the data from elsewhere (a git worktree
whose parent folder has no ``shared/``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ENV = "RUBRICTEST_SHARED_DATA"


def shared_data_root() -> Path:
    """``$RUBRICTEST_SHARED_DATA`` if set, else ``../shared/data`` next to the repository root."""
    given = os.environ.get(ENV)
    return Path(given) if given else REPO.parent / "shared" / "data"


def in_ci() -> bool:
    """Whether the tests run under CI (``CI`` set to true, 1 or yes, as CI services do)."""
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def require_shared(*parts: str) -> Path:
    """The shared-data path ``parts`` (``"LLMBar", "Dataset"``...), or skip -- fail under CI --
    saying where it was looked for."""
    path = shared_data_root().joinpath(*parts)
    if path.exists():
        return path
    message = f"shared benchmark data not found: {path} (../shared/data beside the repository, or set ${ENV})"
    if in_ci():
        pytest.fail(f"{message}; under CI a test that needs it fails instead of skipping", pytrace=False)
    pytest.skip(message)
