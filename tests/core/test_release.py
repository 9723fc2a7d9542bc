"""Release decisions (issue 11): one stored gate per target, a report that says whether a
release passed, ``-N`` run references, and ``compare`` with statistics."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from scipy.stats import binomtest

from rubrictest.cli import build_cli
from rubrictest.store import Store

from ..helpers.pytester import db_path, open_store

REPO = Path(__file__).resolve().parents[2]

TWO_TARGETS = """
    suite: two
    target:
      - {plugin: jsonl, model: good.jsonl, name: good}
      - {plugin: jsonl, model: bad.jsonl, name: bad}
    gate: {min_pass_rate: 0.5, confidence: 0.95}
    cases:
"""


def cli(*args: str) -> Result:
    return CliRunner().invoke(build_cli(), list(args))


@pytest.fixture
def gated(pytester: pytest.Pytester, write_suite: Callable[..., Path]) -> Path:
    """A run of one suite against two targets: ``good`` passes its gate, ``bad`` fails its own."""
    cases = "".join(
        f"      - {{id: c{i}, input: q, criteria: [{{id: ok, check: contains, with: {{value: ok}}}}]}}\n"
        for i in range(6)
    )
    write_suite(TWO_TARGETS + cases)
    (pytester.path / "good.jsonl").write_text("".join(f'{{"id": "c{i}", "output": "ok"}}\n' for i in range(6)))
    (pytester.path / "bad.jsonl").write_text(
        "".join(f'{{"id": "c{i}", "output": "{"ok" if i == 0 else "no"}"}}\n' for i in range(6))
    )
    result = pytester.runpytest("-v")
    result.stdout.fnmatch_lines(["*::gate[[]good[]] PASSED*", "*::gate[[]bad[]] FAILED*"])
    return db_path(pytester)


def test_each_target_has_its_gate_stored_and_reported(gated: Path) -> None:
    store = Store.open(gated, create=False)
    run_id = store.resolve_run(None)
    gates = {g["target"]: g for g in store.gates(run_id)}
    assert set(gates) == {"good", "bad"}
    assert (gates["good"]["status"], gates["good"]["passes"], gates["good"]["total"]) == ("PASS", 6, 6)
    assert (gates["bad"]["status"], gates["bad"]["passes"], gates["bad"]["total"]) == ("FAIL", 1, 6)
    assert gates["bad"]["lower_bound"] == pytest.approx(0.0301, abs=1e-3) and gates["bad"]["min_pass_rate"] == 0.5

    text = cli("report", "--db", str(gated)).output
    assert (
        "== two [good]  gate PASS: 6/6 cases passed (100.0%), Wilson lower bound 0.610 at 95% >= min pass "
        "rate 0.5" in text
    )
    assert (
        "== two [bad]  gate FAIL: 1/6 cases passed (16.7%), Wilson lower bound 0.030 at 95% < min pass rate 0.5" in text
    )
    assert "c1    ok         FAIL    1.00  contains  " in text and "not met: missing ['ok']" in text
    md = cli("report", "--db", str(gated), "--format", "markdown").output
    assert (
        "| two | bad | FAIL: 1/6 cases passed (16.7%), Wilson lower bound 0.030 at 95% &lt; min pass rate 0.5 |" in md
    )
    assert "| two | bad | c1 | ok | FAIL | 1.00 | contains | not met: missing \\['ok'\\] |" in md
    data = json.loads(cli("report", "--db", str(gated), "--json").output)
    by_target = {t["target"]: t for t in data["targets"]}
    assert by_target["bad"]["gate"]["status"] == "FAIL" and by_target["good"]["gate"]["status"] == "PASS"
    assert by_target["bad"]["passed"] == 1 and by_target["bad"]["mean_score"] == pytest.approx(1 / 6)
    assert [c["score"] for c in data["cases"] if c["target"] == "bad"] == [1.0, 0, 0, 0, 0, 0]


def test_run_references_minus_n_and_latest(pytester: pytest.Pytester, gated: Path) -> None:
    for _ in range(2):
        pytester.runpytest()
    store = open_store(pytester)
    newest, second, third = (r["id"] for r in store.runs()[:3])
    db = str(gated)
    assert cli("report", "-2", "--db", db, "--json").output.count(second) >= 1
    assert json.loads(cli("report", "-2", "--db", db, "--json").output)["run"]["id"] == second
    assert json.loads(cli("report", "--db", db, "-3", "--json").output)["run"]["id"] == third
    assert json.loads(cli("report", "latest", "--db", db, "--json").output)["run"]["id"] == newest
    both = json.loads(cli("compare", "-3", "-1", "--db", db, "--json").output)
    assert (both["a"]["run"], both["b"]["run"]) == (third, newest)
    one = json.loads(cli("compare", "-2", "--targets", "good", "bad", "--db", db, "--json").output)
    assert one["a"]["run"] == one["b"]["run"] == second
    # What was typed shows in messages, never the parser's mark.
    missing = cli("report", "-9", "--db", db)
    assert missing.exit_code == 1 and "no run -9 in" in missing.output and "\x1f" not in missing.output
    extra = cli("report", "-1", "-2", "--db", db)
    assert extra.exit_code == 2 and "unexpected extra argument (-2)" in extra.output
    bad = cli("compare", "-2", "-1", "--alpha", "2", "--db", db)
    assert bad.exit_code == 2 and "Invalid value for '--alpha'" in bad.output
    # The --help examples run as written.
    assert cli("report", "-2", "--format", "markdown", "--db", db).exit_code == 0
    assert cli("compare", "-3", "-1", "--fail-on-regression", "--min-effect", "0.05", "--db", db).exit_code == 0


@pytest.fixture(scope="module")
def examples_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example suites, run once: order-status has a baseline and a candidate target."""
    root = tmp_path_factory.mktemp("examples")
    shutil.copytree(REPO / "suites" / "examples", root / "examples")
    db = root / "results.db"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "examples", "-q", "-p", "no:cacheprovider", f"--rubric-db={db}"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return db


def test_compare_targets_separates_a_significant_regression_from_noise(examples_db: Path) -> None:
    args = ["compare", "--targets", "baseline", "candidate", "--db", str(examples_db)]
    data = json.loads(cli(*args, "--json").output)
    crit = {c["criterion_id"]: c for c in data["criteria"]}
    nxt, thanks = crit["next-step"], crit["thanks"]
    assert (nxt["both_pass"], nxt["both_fail"], nxt["fixed"], nxt["broken"]) == (8, 0, 0, 12)
    assert (thanks["both_pass"], thanks["fixed"], thanks["broken"]) == (18, 0, 2)
    # Exact McNemar: a two-sided binomial test on the discordant pairs; Holm over 4 criteria.
    assert nxt["p_value"] == pytest.approx(binomtest(12, 12, 0.5).pvalue)
    assert thanks["p_value"] == pytest.approx(binomtest(2, 2, 0.5).pvalue)
    assert nxt["p_adjusted"] == pytest.approx(4 * nxt["p_value"])
    assert nxt["regression"] and not thanks["regression"] and not thanks["significant"]
    (suite,) = data["suites"]
    assert suite["difference"] == pytest.approx(-14 / 3 / 20) and suite["ci"][1] < 0 and suite["regression"]
    assert data["a"]["gates"][0]["status"] == data["b"]["gates"][0]["status"] == "PASS"

    failed = cli(*args, "--fail-on-regression")
    assert failed.exit_code == 1
    lines = [line for line in failed.output.splitlines() if line.startswith("REGRESSION")]
    assert lines == [
        "REGRESSION order-status::next-step: pass rate 100.0% -> 40.0% (12 broken, 0 fixed of 20 pairs); exact "
        "McNemar p = 0.00049, Holm-adjusted 0.002 < alpha 0.05",
        "REGRESSION order-status (case score): mean 1.000 -> 0.767 (-0.233, 95% bootstrap CI [-0.300, -0.167], "
        "20 paired cases)",
    ]
    assert (
        "not a regression: order-status::thanks: 2 broken, 0 fixed of 20 pairs; adjusted p = 1 >= alpha 0.05"
        in failed.output
    )
    # Larger than --min-effect: a 60-point drop in pass rate is, a 23-point drop in mean score is not, at 0.3.
    half = cli(*args, "--fail-on-regression", "--min-effect", "0.3")
    assert half.exit_code == 1 and [ln for ln in half.output.splitlines() if ln.startswith("REGRESSION")] == lines[:1]
    assert cli(*args, "--fail-on-regression", "--min-effect", "0.7").exit_code == 0
    # A stricter alpha, and Benjamini-Hochberg.
    strict = json.loads(cli(*args, "--json", "--alpha", "0.001").output)
    assert not strict["criteria"][1]["regression"]
    bh = json.loads(cli(*args, "--json", "--fdr").output)
    assert bh["adjustment"] == "fdr_bh" and bh["criteria"][1]["p_adjusted"] == pytest.approx(4 * nxt["p_value"])
    assert bh["criteria"][2]["p_adjusted"] == pytest.approx(1.0)
    # The same database, the same interval (seeded).
    assert json.loads(cli(*args, "--json").output)["suites"] == data["suites"]
    md = cli(*args, "--format", "markdown").output
    assert (
        "| order-status::next-step | 20 | 8 | 0 | 0 | 12 | 0 | 100.0% | 40.0% | 0.000488 | 0.00195 | "
        "**REGRESSION** |" in md
    )


def test_compare_of_a_target_with_itself_has_no_regression(examples_db: Path) -> None:
    result = cli("compare", "--targets", "v1", "v2", "--db", str(examples_db), "--fail-on-regression")
    assert result.exit_code == 0, result.output
    assert result.output.rstrip().endswith("no significant regression")


def _copy(db: Path, tmp_path: Path) -> Path:
    out = tmp_path / "copy.db"
    with sqlite3.connect(db) as src, sqlite3.connect(out) as dest:
        src.backup(dest)
    return out


def test_fail_on_regression_refuses_a_run_that_did_not_finish(examples_db: Path, tmp_path: Path) -> None:
    db = _copy(examples_db, tmp_path)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE runs SET status = 'interrupted'")
    result = cli("compare", "--targets", "baseline", "candidate", "--db", str(db), "--fail-on-regression")
    assert result.exit_code == 2
    assert "did not finish (status interrupted)" in result.output and "Traceback" not in result.output
    # Without the flag it only reports.
    assert cli("compare", "--targets", "baseline", "candidate", "--db", str(db)).exit_code == 0


def test_fail_on_regression_refuses_different_suites_unless_allowed(examples_db: Path, tmp_path: Path) -> None:
    root = tmp_path / "r"
    shutil.copytree(REPO / "suites" / "examples", root / "examples")
    db = _copy(examples_db, tmp_path)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "examples/test_versions.rubric.yaml",
            "-q",
            "-p",
            "no:cacheprovider",
            f"--rubric-db={db}",
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout
    refused = cli("compare", "-2", "-1", "--db", str(db), "--fail-on-regression")
    assert refused.exit_code == 2
    assert "the two sides ran different suites or rubrics: suites on one side only:" in refused.output
    assert "--allow-different-rubrics" in refused.output
    allowed = cli("compare", "-2", "-1", "--db", str(db), "--fail-on-regression", "--allow-different-rubrics")
    assert allowed.exit_code == 0 and "note: suites on one side only" in allowed.output
    nothing = cli("compare", "--targets", "v1", "nosuch", "--db", str(db))
    assert nothing.exit_code == 2 and "nothing to compare" in nothing.output


def test_compare_appends_to_the_github_step_summary(
    examples_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    cli("compare", "--targets", "baseline", "candidate", "--db", str(examples_db))
    assert "### rubrictest compare: baseline → candidate" in summary.read_text()
