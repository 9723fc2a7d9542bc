"""First-party plugins through the public protocol: the deterministic checks, the targets
and the ``recorded`` judge (human labels / recorded verdicts)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from rubrictest import ComponentContext, ComponentSpec, Criterion, Judge, JudgeRequest, Verdict
from rubrictest.plugins import registry

from ..helpers.pytester import outcomes


def _verdict(check: str, params: Mapping[str, Any], response: str, base_dir: Path | None = None) -> Verdict:
    spec = ComponentSpec.model_validate({"plugin": check})
    context = ComponentContext(base_dir=base_dir or Path.cwd(), rootdir=Path.cwd())
    judge = registry().get("judges", check).factory(spec, context)
    assert isinstance(judge, Judge)
    crit = Criterion(id="k", check=check, params=dict(params))
    judge.validate_criterion(crit)
    from rubrictest.protocol import Case

    request = JudgeRequest(case=Case(suite="s", id="c1"), response=response, criteria=(crit,))
    (verdict,) = asyncio.run(judge.judge(request)).verdicts
    return verdict


@pytest.mark.parametrize(
    ("check", "params", "response", "outcome"),
    [
        ("contains", {"value": "30 Days"}, "within 30 days", "met"),
        ("contains", {"value": "30 Days", "case_sensitive": True}, "within 30 days", "not_met"),
        ("contains", {"values": ["30", "refund"]}, "30 days", "not_met"),
        ("contains", {"values": ["30", "refund"], "mode": "any"}, "30 days", "met"),
        ("regex", {"pattern": r"\d+ days"}, "within 30 days", "met"),
        ("regex", {"pattern": r"\d+ days", "fullmatch": True}, "within 30 days", "not_met"),
        ("regex", {"pattern": "^WITHIN", "flags": "i"}, "within 30 days", "met"),
        ("equals", {"value": "Yes"}, "  Yes\n", "met"),
        ("equals", {"value": "Yes"}, "yes", "not_met"),
        ("equals", {"value": "Yes", "case_sensitive": False}, "yes", "met"),
        ("json_schema", {"schema": {"type": "object", "required": ["a"]}}, '{"a": 1}', "met"),
        ("json_schema", {"schema": {"type": "object", "required": ["a"]}}, '```json\n{"a": 1}\n```', "met"),
        ("json_schema", {"schema": {"type": "object", "required": ["a"]}}, '{"b": 1}', "not_met"),
        ("json_schema", {"schema": {"type": "object"}}, "not json", "not_met"),
    ],
)
def test_deterministic_checks(check: str, params: dict[str, Any], response: str, outcome: str) -> None:
    verdict = _verdict(check, params, response)
    assert verdict.outcome == outcome
    assert verdict.confidence == 1.0 and verdict.rationale


def test_json_schema_failure_names_the_violation() -> None:
    verdict = _verdict(
        "json_schema",
        {"schema": {"type": "object", "properties": {"n": {"type": "integer"}}}},
        '{"n": "seven"}',
    )
    assert verdict.rationale == "schema violation at n: 'seven' is not of type 'integer'"


def test_python_check_gets_params_and_the_case(tmp_path: Path) -> None:
    (tmp_path / "rt_checks_mod.py").write_text(
        "def longer_than(response, n, case):\n    return len(response) > n, f'{case.id}: {len(response)}'\n"
    )
    verdict = _verdict("python", {"function": "rt_checks_mod:longer_than", "n": 3}, "hello", base_dir=tmp_path)
    assert (verdict.outcome, verdict.rationale) == ("met", "c1: 5")


RECORDED_SUITE = """
    judge: recorded:labels.jsonl
    cases:
      - id: refund
        output: "Returns are accepted within 30 days."
        criteria:
          - {id: window, text: "States the 30-day window."}
          - {id: promise, text: "Promises a refund after the window.", points: -5}
          - {id: polite, text: "Is polite."}
          - {id: unlabelled, text: "Has no label."}
"""


def test_recorded_judge_reads_labels_and_checks_evidence(
    pytester: pytest.Pytester, write_suite: Callable[..., Path]
) -> None:
    rows = [
        {
            "case": "refund",
            "criterion": "window",
            "met": True,
            "confidence": 0.9,
            "evidence": "within 30 days",
            "rationale": "says 30 days",
        },
        {"case": "refund", "criterion": "promise", "outcome": "not_met"},
        {"case": "refund", "criterion": "polite", "label": 0, "evidence": "Thank you so much!"},
    ]
    (pytester.path / "labels.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    write_suite(RECORDED_SUITE)
    result = pytester.runpytest("-v")
    result.stdout.fnmatch_lines(
        [
            "*::refund::window PASSED*",
            "*::refund::promise PASSED*",
            "*::refund::polite FAILED*",
            "*::refund::unlabelled ERROR*",
        ]
    )
    assert outcomes(result) == {"passed": 2, "failed": 1, "errors": 1}
    result.stdout.fnmatch_lines(
        [
            "*reason*no recorded verdict for case 'refund', criterion 'unlabelled'*",
            'evidence    "Thank you so much!"  [[]NOT FOUND in the response (unsupported)[]]',
        ]
    )


def test_recorded_judge_with_a_broken_file_errors_its_items(
    pytester: pytest.Pytester, write_suite: Callable[..., Path]
) -> None:
    (pytester.path / "labels.jsonl").write_text('{"case": "refund", "criterion": "window", "met": "perhaps"}\n')
    write_suite(RECORDED_SUITE)
    result = pytester.runpytest()
    assert outcomes(result) == {"errors": 4}
    result.stdout.fnmatch_lines(["*labels.jsonl:1: met='perhaps' is not a verdict*"])


def test_python_target_sync_async_and_case_argument(
    pytester: pytest.Pytester, write_suite: Callable[..., Path]
) -> None:
    (pytester.path / "rt_targets_mod.py").write_text(
        "async def shout(text):\n    return text.upper()\n\n"
        "def with_case(case):\n    return f'{case.id}:{case.reference}'\n"
    )
    write_suite("""
        cases:
          - {id: a, input: hi, target: "python:rt_targets_mod:shout",
             criteria: [{check: equals, with: {value: HI}}]}
          - {id: b, input: hi, reference: ref, target: "python:rt_targets_mod:with_case",
             criteria: [{check: equals, with: {value: "b:ref"}}]}
    """)
    pytester.runpytest().assert_outcomes(passed=2)


@pytest.mark.parametrize(
    ("evidence", "supported"),
    [
        ("within 30 days", True),
        ("WITHIN   30\ndays", True),  # whitespace and case are normalised
        ("\u201cReturns are accepted\u201d", True),  # typographic quotes around the quote
        ("Returns ... 30 days", True),  # an ellipsis joins fragments that occur in order
        ("30 days ... Returns", False),  # ... but not out of order
        ("within 60 days", False),
        ("", None),
        (None, None),
    ],
)
def test_evidence_is_checked_against_the_response(evidence: str | None, supported: bool | None) -> None:
    from rubrictest import check_evidence

    assert check_evidence(evidence, "Returns are accepted within 30 days.") is supported
