"""The shipped suites run as the README promises."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from sklearn.metrics import cohen_kappa_score

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
    result = pytester.runpytest_subprocess(
        str(suites_copy / "examples"), "-v", f"--rubric-db={db}", "-p", "no:cacheprovider"
    )
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
    statuses = [c["status"] for c in data["criteria"] if c["suite"] != "order-status"]
    assert statuses.count("MISSED") == 2 and statuses.count("FAIL") == 0 and statuses.count("ERROR") == 0
    assert {s["suite"] for s in data["suites"]} == {
        "support-bot",
        "order-app",
        "model-versions",
        "panel-review",
        "order-status",
    }
    # The release example: each target its gate, both pass; the candidate misses 14 criteria.
    assert "test_order_status.rubric.yaml::gate[baseline] PASSED" in out
    assert "test_order_status.rubric.yaml::gate[candidate] PASSED" in out
    release = [c["status"] for c in data["criteria"] if c["suite"] == "order-status" and c["target"] == "candidate"]
    assert release.count("MISSED") == 14 and release.count("PASS") == 66


def test_panel_example_reports_votes_agreement_and_a_disagreement(pytester: pytest.Pytester, suites_copy: Path) -> None:
    """The panel example: three recorded members, a recorded sentinel, offline; the report
    shows member votes, the panel's verdict, its agreement and the flagged disagreement, and
    the run still passes (the disagreement is reported, not gated, there)."""
    db = pytester.path / "results.db"
    result = pytester.runpytest_subprocess(
        str(suites_copy / "examples" / "test_panel.rubric.yaml"), f"--rubric-db={db}", "-p", "no:cacheprovider"
    )
    assert result.ret == 0, result.stdout.str()
    result.stdout.fnmatch_lines(
        [
            "*sentinel: recorded:panel/sentinel.jsonl (rubric-free)*",
            "panel agreement: split on 2 of 9 criteria (22%), kappa 0.00..0.61; rubric problems (the panel splits): "
            "panel-review::concise",
            "sentinel: 1 of 3 cases a rubric-holistic disagreement: panel-review::ocean-blue "
            "(rubric_only: rubric 1.00, sentinel 0.05)",
        ]
    )
    report = CliRunner().invoke(build_cli(), ["report", "--db", str(db)])
    assert report.exit_code == 0, report.output
    lines = [" ".join(line.split()) for line in report.output.splitlines()]
    assert "panel-review sunset-red concise not_met met not_met not_met (MISSED)" in lines
    assert "gpt-4.1 qwen3-32b 9 89% 0.61" in lines
    assert any(line.startswith("panel-review concise 3 2 67% RUBRIC PROBLEM") for line in lines)
    assert any(line.startswith("panel-review ocean-blue 1.00 0.05 not_met") and "RUBRIC ONLY" in line for line in lines)
    github = CliRunner().invoke(build_cli(), ["report", "--db", str(db), "--format", "github"])
    assert github.exit_code == 0, github.output
    assert "- rubric problem: the panel splits on panel-review · concise (2 of 3)" in github.output
    assert (
        "| panel-review | ocean-blue | fixed outputs | 1.00 | 0.05 | rubric passes, sentinel fails |" in github.output
    )
    # calibrate against gold labels shows the members' agreement beside the panel's accuracy
    gold = pytester.path / "gold.jsonl"
    gold.write_text(
        "".join(
            json.dumps({"case": c, "criterion": k, "met": c != "ocean-blue" or k == "names-cause"}) + "\n"
            for c in ("sky-blue", "sunset-red", "ocean-blue")
            for k in ("names-cause", "says-why", "concise")
        )
    )
    cal = CliRunner().invoke(
        build_cli(), ["calibrate", "--db", str(db), "--labels", str(gold), "--resamples", "0", "--json"]
    )
    assert cal.exit_code == 0, cal.output
    data = json.loads(cal.output)
    assert data["pointwise"]["overall"]["n"] == 9 and data["panel_agreement"]["flagged"] == ["panel-review::concise"]
    assert {(p["a"], p["b"]): p["n"] for p in data["panel_agreement"]["pairs"]}[("gpt-4.1", "claude-sonnet")] == 9
    # each member against the labels (what a weighted panel's weights come from), by hand:
    # gold met on all but ocean-blue's says-why and concise; gpt-4.1 misses sunset-red's concise and
    # meets both of ocean-blue's
    gold = [1, 1, 1, 1, 1, 1, 1, 0, 0]
    gpt = [1, 1, 1, 1, 1, 0, 1, 1, 1]
    vs = data["panel_agreement"]["members_vs_labels"]["gpt-4.1"]
    assert vs["n"] == 9 and vs["accuracy"] == pytest.approx(6 / 9)
    assert vs["kappa"] == pytest.approx(cohen_kappa_score(gpt, gold))


def test_demo_failures_render_verdicts_not_tracebacks(pytester: pytest.Pytester, suites_copy: Path) -> None:
    result = pytester.runpytest_subprocess(
        str(suites_copy / "demo-failures"), "--rubric-no-store", "-p", "no:cacheprovider"
    )
    assert result.ret == 1
    result.assert_outcomes(failed=2, errors=2)
    out = result.stdout.str()
    assert "Traceback" not in out and "def from_call" not in out
    assert "NOT FOUND" not in out and "[found in the response]" in out
    assert "no recorded verdict for case 'wrong-capital', criterion 'unlabelled'" in out
    assert "outputs.jsonl has no output for case 'missing-output'" in out


def test_release_template_skips_without_key(
    pytester: pytest.Pytester, suites_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    result = pytester.runpytest_subprocess(
        str(suites_copy / "release"), "--rubric-no-store", "-rs", "-p", "no:cacheprovider"
    )
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED or result.ret == 0
    result.stdout.fnmatch_lines(["*OPENAI_API_KEY not set (requires_env)*"])


@pytest.mark.parametrize("repeat", [None, "2"])
def test_the_terminal_summary_reads_what_the_full_report_reads(
    pytester: pytest.Pytester, suites_copy: Path, repeat: str | None
) -> None:
    """The end-of-run summary reads no row per verdict unless panels or repeats need them;
    what it reads equals the same parts of the full report (examples: panels, a sentinel,
    gates, two targets; with and without --rubric-repeat)."""
    from collections import Counter

    from rubrictest.store import Store
    from rubrictest.store.report import run_report, summary_report

    db = pytester.path / "results.db"
    args = [str(suites_copy / "examples"), "-q", f"--rubric-db={db}", "-p", "no:cacheprovider"]
    result = pytester.runpytest_subprocess(*args, *(["--rubric-repeat", repeat] if repeat else []))
    assert result.ret == 0, result.stdout.str()
    store = Store.open(db)
    try:
        run_id = store.resolve_run("latest")
        full, summary = run_report(store, run_id), summary_report(store, run_id)
    finally:
        store.close()
    assert summary["counts"] == dict(Counter(c["status"] for c in full["criteria"]))
    for key in ("targets", "suites", "panel_agreement", "sentinel", "repeats", "usage"):
        assert summary[key] == full[key], key
    assert summary["panel_agreement"] is not None and (summary["repeats"] is not None) == bool(repeat)
