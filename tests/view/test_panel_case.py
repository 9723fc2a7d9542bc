"""The case page of a run judged by a panel and a sentinel: each member's vote beside the
panel's verdict, and the sentinel's holistic verdict with the disagreement flagged."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rubrictest.store.queries import ResultsDB

from ..helpers.view import REPO, run_suites

pytest.importorskip("starlette", reason="the view extra (starlette) is not installed")
from starlette.testclient import TestClient  # noqa: E402

from rubrictest.view.app import create_app  # noqa: E402


def test_case_page_shows_member_votes_and_the_sentinel(tmp_path: Path) -> None:
    examples = tmp_path / "examples"
    examples.mkdir()
    shutil.copy(REPO / "suites" / "examples" / "test_panel.rubric.yaml", examples)
    shutil.copytree(REPO / "suites" / "examples" / "panel", examples / "panel")
    db = tmp_path / "results.db"
    result = run_suites(db, examples / "test_panel.rubric.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    reader = ResultsDB.open(db)
    run = reader.rows("SELECT id FROM runs")[0]["id"]
    client = TestClient(create_app(reader))
    page = client.get(f"/runs/{run}/case?suite=panel-review&case=sunset-red&target=-")
    assert page.status_code == 200
    assert "gpt-4.1: not met</span><span" in page.text and "claude-sonnet: met</span>" in page.text
    assert "sentinel passes" not in page.text and "rubric passes, sentinel fails" not in page.text
    gamed = client.get(f"/runs/{run}/case?suite=panel-review&case=ocean-blue&target=-").text
    assert "data-sentinel" in gamed and "rubric passes, sentinel fails" in gamed
    assert "score 0.05" in gamed and "rubric score 1.00" in gamed
    assert "Lists keywords without explaining anything" in gamed
    # the run page: the criterion the panel splits on, and the disagreement with a link to its case
    page = client.get(f"/runs/{run}").text
    assert "Judge panel: split on <b>2</b> of 9 criteria judged" in page
    assert "data-rubric-problems" in page and "sky-blue, sunset-red" in page
    assert "<b>1</b> rubric-holistic disagreement(s) in 3 cases" in page
    assert "case=ocean-blue" in page and "rubric passes, sentinel fails" in page
