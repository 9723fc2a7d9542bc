"""The shipped suites run as the README promises."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from rubrictest.cli import build_cli

SUITES = Path(__file__).resolve().parent.parent / "suites"


@pytest.fixture
def suites_copy(tmp_path: Path) -> Path:
    dest = tmp_path / "suites"
    shutil.copytree(SUITES, dest)
    return dest


def test_examples_pass_offline(pytester: pytest.Pytester, suites_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    db = pytester.path / "results.db"
    result = pytester.runpytest_subprocess(str(suites_copy / "examples"), "-v", f"--rubric-db={db}",
                                           "-p", "no:cacheprovider")
    assert result.ret == 0, result.stdout.str()
    out = result.stdout.str()
    assert "test_support.rubric.yaml::refund-window::no-false-promise PASSED" in out
    assert "test_support.rubric.yaml::shipping-time::mentions-express MISSED" in out
    assert "test_support.rubric.yaml::refund-window::score PASSED" in out
    assert "test_support.rubric.yaml::gate PASSED" in out
    assert "test_versions.rubric.yaml::capital::canberra[v2] PASSED" in out
    report = CliRunner().invoke(build_cli(), ["report", "--db", str(db), "--json"])
    assert report.exit_code == 0, report.output
    data = json.loads(report.output)
    statuses = [c["status"] for c in data["criteria"]]
    assert statuses.count("MISSED") == 1 and statuses.count("FAIL") == 0 and statuses.count("ERROR") == 0
    assert {s["suite"] for s in data["suites"]} == {"support-bot", "order-app", "model-versions"}


def test_demo_failures_render_verdicts_not_tracebacks(pytester: pytest.Pytester, suites_copy: Path) -> None:
    result = pytester.runpytest_subprocess(str(suites_copy / "demo-failures"), "--rubric-no-store",
                                           "-p", "no:cacheprovider")
    assert result.ret == 1
    result.assert_outcomes(failed=2, errors=2)
    out = result.stdout.str()
    assert "Traceback" not in out and "def from_call" not in out
    assert "NOT FOUND" not in out and "[found in the response]" in out
    assert "no recorded verdict for case 'wrong-capital', criterion 'unlabelled'" in out
    assert "outputs.jsonl has no output for case 'missing-output'" in out


def test_release_template_skips_without_key(pytester: pytest.Pytester, suites_copy: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    result = pytester.runpytest_subprocess(str(suites_copy / "release"), "--rubric-no-store", "-rs",
                                           "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED or result.ret == 0
    result.stdout.fnmatch_lines(["*OPENAI_API_KEY not set (requires_env)*"])
