"""Fixtures of the vllm plugin tests: a fake ``vllm`` executable on PATH, and process checks."""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from rubrictest.plugins import registry

from ..helpers.vllm import FAKE, FakeVLLM

registry()  # load the plugins before any test (pytester restores sys.modules after each)


@pytest.fixture
def fake_vllm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeVLLM]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "vllm"
    script.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE}" "$@"\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    out_dir = tmp_path / "servers"
    out_dir.mkdir()
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("FAKE_VLLM_DIR", str(out_dir))
    fake = FakeVLLM(bin_dir, out_dir, dict(os.environ))
    yield fake
    fake.kill_all()  # a failing test must not leave servers behind either
