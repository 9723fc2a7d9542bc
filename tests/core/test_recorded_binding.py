"""Recorded labels know their response (issue 11, item 7): a label bound to a response by
``response_sha256`` (or ``response``) is ERROR on another response, never a stale PASS; and
``rubrictest stamp-labels`` writes the hashes from a stored run."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from rubrictest import response_sha256
from rubrictest.cli import build_cli

from ..helpers.pytester import outcomes

OLD = "Returns are accepted within 30 days."
NEW = "Returns are accepted whenever you like."

SUITE = """
    judge: recorded:labels.jsonl
    target: jsonl:outputs.jsonl
    cases:
      - id: refund
        input: Can I return shoes?
        criteria:
          - {id: window, text: "States the 30-day window."}
          - {id: polite, text: "Is polite."}
"""


def _outputs(pytester: pytest.Pytester, text: str) -> None:
    (pytester.path / "outputs.jsonl").write_text(json.dumps({"id": "refund", "output": text}) + "\n")


def _labels(pytester: pytest.Pytester, *rows: dict[str, object]) -> Path:
    path = pytester.path / "labels.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_a_label_for_another_response_is_an_error(pytester: pytest.Pytester, write_suite: Callable[..., Path]) -> None:
    write_suite(SUITE)
    _labels(
        pytester,
        {
            "case": "refund",
            "criterion": "window",
            "met": True,
            "evidence": "within 30 days",
            "response_sha256": response_sha256(OLD),
        },
        {"case": "refund", "criterion": "polite", "met": True, "response": OLD},
    )
    _outputs(pytester, OLD)
    assert outcomes(pytester.runpytest()) == {"passed": 2}
    # The app's answer regressed: before, both criteria still PASSED on the old labels.
    _outputs(pytester, NEW)
    result = pytester.runpytest("-v")
    assert outcomes(result) == {"errors": 2}
    result.stdout.fnmatch_lines(
        [
            f"*label is for another response: *labels.jsonl:1 was recorded for response sha256 "
            f"{response_sha256(OLD)[:12]}…, the response under test is sha256 {response_sha256(NEW)[:12]}…*",
            "*label is for another response: *labels.jsonl:2 *",
        ]
    )


def test_unbound_labels_keep_working_and_bad_hashes_are_named(
    pytester: pytest.Pytester, write_suite: Callable[..., Path]
) -> None:
    write_suite(SUITE)
    _outputs(pytester, NEW)
    _labels(
        pytester,
        {"case": "refund", "criterion": "window", "met": True},
        {"case": "refund", "criterion": "polite", "met": True},
    )
    assert outcomes(pytester.runpytest()) == {"passed": 2}  # the documented risk of an unbound label
    _labels(pytester, {"case": "refund", "criterion": "window", "met": True, "response_sha256": "abc"})
    result = pytester.runpytest()
    assert outcomes(result) == {"errors": 2}
    result.stdout.fnmatch_lines(["*labels.jsonl:1: response_sha256 'abc' is not a SHA-256 hex digest*"])


def test_stamp_labels_binds_labels_to_the_run_and_finds_stale_ones(
    pytester: pytest.Pytester, write_suite: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(pytester.path)
    monkeypatch.delenv("RUBRICTEST_DB", raising=False)
    write_suite(SUITE)
    _outputs(pytester, OLD)
    labels = _labels(
        pytester,
        {"case": "refund", "criterion": "window", "met": True},
        {"case": "refund", "criterion": "polite", "met": True},
    )
    assert outcomes(pytester.runpytest()) == {"passed": 2}
    cli = build_cli()
    check = CliRunner().invoke(cli, ["stamp-labels", str(labels), "--check"])
    assert check.exit_code == 1 and "2 to stamp" in check.output
    stamped = CliRunner().invoke(cli, ["stamp-labels", str(labels)])
    assert stamped.exit_code == 0, stamped.output
    rows = [json.loads(line) for line in labels.read_text().splitlines()]
    assert [r["response_sha256"] for r in rows] == [response_sha256(OLD)] * 2
    assert CliRunner().invoke(cli, ["stamp-labels", str(labels), "--check"]).exit_code == 0

    _outputs(pytester, NEW)  # the response changes: the labels are now for another response
    assert outcomes(pytester.runpytest()) == {"errors": 2}
    stale = CliRunner().invoke(cli, ["stamp-labels", str(labels), "--json"])
    assert stale.exit_code == 1
    assert json.loads(stale.stdout)["stale"] == ["refund::window", "refund::polite"]
    # A human judges the new response: the window is no longer stated; politeness still holds.
    rows[0]["met"] = False
    labels.write_text("".join(json.dumps(r) + "\n" for r in rows))
    again = CliRunner().invoke(
        cli, ["stamp-labels", str(labels), "--restamp", "refund::window", "--restamp", "refund::polite"]
    )
    assert again.exit_code == 0, again.output
    result = pytester.runpytest("-v")
    result.stdout.fnmatch_lines(["*::refund::window FAILED*", "*::refund::polite PASSED*"])
