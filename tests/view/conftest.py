"""Fixtures of the viewer tests: databases made by running the repository's example suites."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..helpers.view import REPO, run_suites, write_flaky_suite, write_hostile_suite


@pytest.fixture(scope="session")
def examples_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Two runs of ``suites/examples`` (a copy) and one of a hostile suite, in one database."""
    root = tmp_path_factory.mktemp("examples")
    suites = root / "suites"
    # The pages' tests were written around the three small suites (one MISSED verdict, refund-window
    # on the first page); the release example (40 case runs) has a database of its own
    # (``release_db``), and the panel example is tested with the report (tests/test_examples.py).
    shutil.copytree(
        REPO / "suites" / "examples",
        suites / "examples",
        ignore=shutil.ignore_patterns("test_order_status.rubric.yaml", "test_panel.rubric.yaml"),
    )
    db = root / "results.db"
    for _ in range(2):
        result = run_suites(db, suites / "examples")
        assert result.returncode == 0, result.stdout + result.stderr
    hostile = write_hostile_suite(root / "hostile")
    result = run_suites(db, hostile)
    assert result.returncode == 1, result.stdout + result.stderr  # the recorded label fails it
    yield db


@pytest.fixture(scope="session")
def release_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One run of the release example (``order-status``: a baseline and a candidate target)."""
    root = tmp_path_factory.mktemp("release")
    shutil.copytree(REPO / "suites" / "examples", root / "examples")
    db = root / "results.db"
    result = run_suites(db, root / "examples" / "test_order_status.rubric.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    yield db


@pytest.fixture(scope="session")
def repeat_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One run of a suite with a flipping criterion under ``--rubric-repeat 3``."""
    root = tmp_path_factory.mktemp("repeat")
    db = root / "results.db"
    result = run_suites(db, write_flaky_suite(root / "flaky"), args=["--rubric-repeat", "3"])
    assert result.returncode == 0, result.stdout + result.stderr
    yield db
