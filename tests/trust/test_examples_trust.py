"""The judge-trust commands end to end on the example suites: run, store, calibrate, lock, probe, drift."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy  # noqa: F401 - loaded before pytester snapshots sys.modules: numpy cannot load twice
import pytest
import scipy.stats  # noqa: F401 - same reason
from click.testing import CliRunner

from rubrictest.cli.commands import calibrate, drift, lock, probe

from ..helpers.paths import REPO

EXAMPLES = REPO / "suites" / "examples"


@pytest.fixture
def examples(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    if not (EXAMPLES / "test_support.rubric.yaml").is_file():
        pytest.skip(f"example suites not found at {EXAMPLES}")
    dst = tmp_path / "examples"
    shutil.copytree(EXAMPLES, dst)
    monkeypatch.chdir(tmp_path)
    return dst


def _invoke(cmd: object, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cmd, list(args))  # type: ignore[arg-type]
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def test_run_then_calibrate_the_stored_run(examples: Path, pytester: pytest.Pytester) -> None:
    shutil.copytree(examples, pytester.path / "examples")
    result = pytester.runpytest_subprocess("examples", "-p", "no:cacheprovider")
    assert result.ret == 0, result.stdout.str()
    db = pytester.path / ".rubrictest" / "rubrictest.db"
    code, out = _invoke(
        calibrate.command,
        "--db",
        str(db),
        "--labels",
        str(examples / "support_labels.jsonl"),
        "--suite",
        "support-bot",
        "--min-kappa",
        "0.6",
        "--json",
        "--resamples",
        "100",
    )
    assert code == 0, out
    overall = json.loads(out)["pointwise"]["overall"]
    # the suite's judge replays these very labels, so the agreement is perfect
    assert overall["n"] == 9 and overall["accuracy"] == 1.0 and overall["kappa"] == 1.0


def test_lock_then_check_the_examples(examples: Path) -> None:
    assert _invoke(lock.command, "examples")[0] == 0
    assert _invoke(lock.command, "--check", "examples")[0] == 0
    suite = examples / "test_support.rubric.yaml"
    suite.write_text(suite.read_text().replace("Apologises for the delay.", "Apologises sincerely for the delay."))
    code, out = _invoke(lock.command, "--check", "examples")
    assert code == 1 and "changed  examples/test_support.rubric.yaml::angry-customer::apologises" in out


def test_probe_and_drift_run_on_the_examples(examples: Path, scripted_judge: None) -> None:
    suite = examples / "test_support.rubric.yaml"
    code, out = _invoke(probe.command, str(suite), "--judge", "scripted", "--json")
    assert code == 0, out
    data = json.loads(out)
    assert data["items"] == 9 and set(data["probes"]) == {
        "position",
        "length-pad",
        "length-trim",
        "injection",
        "self-preference",
    }
    old = examples / "v1.yaml"
    shutil.copy(suite, old)
    suite.write_text(suite.read_text().replace("Apologises for the delay.", "Apologises sincerely for the delay."))
    code, out = _invoke(drift.command, "--old", str(old), str(suite), "--judge", "scripted", "--json")
    assert code == 0, out
    assert json.loads(out)["changed"] == ["angry-customer::apologises"]
