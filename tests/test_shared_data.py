"""Tests that need ../shared/data skip where it is missing, and fail under CI."""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers.shared_data import ENV, require_shared


def test_present_data_is_returned(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "LLMBar").mkdir()
    monkeypatch.setenv(ENV, str(tmp_path))
    assert require_shared("LLMBar") == tmp_path / "LLMBar"


def test_missing_data_skips_outside_ci(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(ENV, str(tmp_path))
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="shared benchmark data not found"):
        require_shared("LLMBar")


@pytest.mark.parametrize("value", ["true", "1", "TRUE"])
def test_missing_data_fails_under_ci(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, value: str) -> None:
    monkeypatch.setenv(ENV, str(tmp_path))
    monkeypatch.setenv("CI", value)
    with pytest.raises(pytest.fail.Exception, match="under CI a test that needs it fails instead of skipping"):
        require_shared("LLMBar")
