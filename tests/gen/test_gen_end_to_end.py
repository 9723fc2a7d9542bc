"""End to end: generate -> review -> run the suite with pytest -> rubric-quality report."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from rubrictest.cli import build_cli

from .rubrictest_gen_fakes import MODEL, SUITE, write_jsonl


def test_generate_review_run_and_measure(pytester: pytest.Pytester, script, keyword_judge) -> None:  # type: ignore[no-untyped-def]
    suite = pytester.path / "test_support.rubric.yaml"
    suite.write_text(SUITE, encoding="utf-8")
    pairs = write_jsonl(
        pytester.path / "pairs.jsonl",
        [
            {"case": "refund", "chosen": "Only within 30 days, sorry.", "rejected": "Any time, no problem!"},
            {"case": "shipping", "chosen": "Express takes 2 days.", "rejected": "It is fast, sorry."},
        ],
    )
    script(
        lambda prompt: json.dumps(
            {
                "checklist": [
                    {
                        "question": "Does the response state the `30 days` window?"
                        if "return shoes" in prompt
                        else "Does the response give `2 days`?"
                    },
                    {"question": "Does the response apologise (`sorry`)?"},
                ]
            }
        )
    )
    cli = build_cli()

    result = CliRunner().invoke(cli, ["generate", str(suite), "-g", "checklist", "--model", MODEL, "--review", "--yes"])
    assert result.exit_code == 0, result.output
    assert "+    text: Does the response give `2 days`?" in result.output
    assert "include: [test_support.generated.yaml]" in result.output
    # the user adds the include line the command printed
    suite.write_text(SUITE + "include: [test_support.generated.yaml]\n", encoding="utf-8")

    run = pytester.runpytest("-v", "--rubric-no-store", "-p", "no:cacheprovider")
    out = run.stdout.str()
    assert "test_support.rubric.yaml::refund::checklist-does-the-response-state-the-30-days-window PASSED" in out
    assert "test_support.rubric.yaml::shipping::checklist-does-the-response-give-2-days PASSED" in out
    assert "test_support.rubric.yaml::refund::checklist-does-the-response-apologise-sorry FAILED" in out
    assert "test_support.rubric.yaml::refund::polite FAILED" in out
    run.assert_outcomes(passed=2, failed=3)

    report = CliRunner().invoke(cli, ["rubric-quality", str(suite), "--pairs", str(pairs), "--json"])
    assert report.exit_code == 0, report.output
    assert report.stderr == ""  # the companion is as generated
    by = {c["name"]: c for c in json.loads(report.stdout)["criteria"]}
    window = by["checklist-does-the-response-state-the-30-days-window"]
    assert window["auroc"] == 1.0 and window["agreement"] == 1.0
    sorry = by["checklist-does-the-response-apologise-sorry"]  # favours the chosen once, the rejected once
    assert (sorry["auroc"], sorry["agreement"], sorry["separated"]) == (0.5, 0.5, 2)
    assert by["polite"]["status"] == "unreachable"

    # a hand edit is reported by rubric-quality too
    companion = pytester.path / "test_support.generated.yaml"
    companion.write_text(companion.read_text().replace("apologise (`sorry`)", "apologise (`sorry`) twice"))
    report = CliRunner().invoke(cli, ["rubric-quality", str(suite), "--pairs", str(pairs)])
    assert report.exit_code == 0 and "was edited by hand" in report.stderr
