"""Verdict semantics (DESIGN.md "Semantics"): PASS / FAIL / MISSED / ERROR, deductions,
``must``, the ``points`` and ``strict`` aggregators, the gate, and failure rendering."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest

from rubrictest.engine.gate import wilson_lower_bound

from ..helpers.fakes import FakeJudgeState
from ..helpers.pytester import assert_no_traceback, failure_text, open_store, outcomes


def _statuses(pytester: pytest.Pytester) -> dict[str, str]:
    store = open_store(pytester)
    run_id = store.resolve_run(None)
    return {f"{v['case_id']}::{v['criterion_id']}": v["status"] for v in store.verdicts(run_id)}


def _scores(pytester: pytest.Pytester) -> dict[str, tuple[float | None, str]]:
    store = open_store(pytester)
    run_id = store.resolve_run(None)
    return {c["case_id"]: (c["score"], c["outcome"]) for c in store.cases(run_id)}


def test_without_threshold_every_criterion_must_pass_and_deductions_pass_when_not_met(
    pytester: pytest.Pytester, write_suite: Callable[..., Path]
) -> None:
    write_suite("""
        cases:
          - id: c1
            output: "We refund within 30 days."
            criteria:
              - {id: met, check: contains, with: {value: "30 days"}}
              - {id: not-met, check: contains, with: {value: "60 days"}}
              - {id: deduction-not-met, check: contains, with: {value: "lifetime"}, points: -5}
              - {id: deduction-met, check: contains, with: {value: refund}, points: -2}
    """)
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=2, failed=2)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert _statuses(pytester) == {
        "c1::met": "PASS",
        "c1::not-met": "FAIL",
        "c1::deduction-not-met": "PASS",
        "c1::deduction-met": "FAIL",
    }
    # a met deduction says so when it fails
    result.stdout.fnmatch_lines(["*deduction: passes when NOT met*"])


def test_scored_mode_misses_do_not_fail_the_run(pytester: pytest.Pytester, write_suite: Callable[..., Path]) -> None:
    write_suite("""
        threshold: 0.5
        cases:
          - id: c1
            output: "alpha beta"
            criteria:
              - {id: a, check: contains, with: {value: alpha}}
              - {id: b, check: contains, with: {value: beta}}
              - {id: g, check: contains, with: {value: gamma}}
    """)
    result = pytester.runpytest("-v")
    assert result.ret == pytest.ExitCode.OK
    assert outcomes(result) == {"passed": 3, "missed": 1}
    result.stdout.fnmatch_lines(["*::c1::g MISSED*"])
    assert _statuses(pytester)["c1::g"] == "MISSED"
    score, outcome = _scores(pytester)["c1"]
    assert score == pytest.approx(2 / 3) and outcome == "passed"


def test_a_failed_must_fails_the_item_and_the_score_whatever_the_score(
    pytester: pytest.Pytester, write_suite: Callable[..., Path]
) -> None:
    write_suite("""
        threshold: 0.1
        cases:
          - id: c1
            output: "alpha beta gamma"
            criteria:
              - {id: a, check: contains, with: {value: alpha}, points: 10}
              - {id: b, check: contains, with: {value: beta}, points: 10}
              - {id: rule, check: contains, with: {value: delta}, must: true}
    """)
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines(["*::c1::rule FAILED*", "*::c1::score FAILED*", "*hard rule failed: rule*"])
    score, outcome = _scores(pytester)["c1"]
    assert score == pytest.approx(20 / 21) and outcome == "failed"


@pytest.mark.parametrize(
    ("criteria", "expected"),
    [
        # earned 2 + 1 of possible 2 + 1 + 1 (the deduction is not met, so it takes nothing)
        ("[[2, true], [1, false], [1, true], [-5, false]]", 0.75),
        # a met deduction subtracts its points: (2 + 1 - 1) / 4
        ("[[2, true], [1, false], [1, true], [-1, true]]", 0.5),
        # clipped at 0: 2 - 5 < 0
        ("[[2, true], [1, false], [-5, true]]", 0.0),
        # every positive criterion met and no deduction: exactly 1
        ("[[3, true], [0.5, true], [-5, false]]", 1.0),
    ],
)
def test_points_aggregator_is_the_clipped_ratio(
    pytester: pytest.Pytester, write_suite: Callable[..., Path], criteria: str, expected: float
) -> None:
    import yaml

    lines = []
    for i, (points, met) in enumerate(yaml.safe_load(criteria)):
        value = "present" if met else "absent"
        lines.append(f"      - {{id: k{i}, check: contains, with: {{value: {value}}}, points: {points}}}")
    write_suite("threshold: 0.6\ncases:\n  - id: c1\n    output: present\n    criteria:\n" + "\n".join(lines) + "\n")
    result = pytester.runpytest("--junitxml=out.xml")
    assert _scores(pytester)["c1"][0] == pytest.approx(expected)
    root = ET.parse(pytester.path / "out.xml").getroot()
    (score_case,) = [tc for tc in root.iter("testcase") if tc.get("name") == "score"]
    props = {p.get("name"): p.get("value") for p in score_case.iter("property")}
    assert float(props["score"] or "nan") == pytest.approx(expected)
    assert (result.ret == 0) is (expected >= 0.6)


def test_score_equal_to_threshold_passes_and_case_threshold_overrides(
    pytester: pytest.Pytester, write_suite: Callable[..., Path]
) -> None:
    write_suite("""
        threshold: 0.5
        cases:
          - id: at-threshold
            output: "alpha"
            criteria:
              - {id: a, check: contains, with: {value: alpha}}
              - {id: b, check: contains, with: {value: beta}}
          - id: stricter
            output: "alpha"
            threshold: 0.9
            criteria:
              - {id: a, check: contains, with: {value: alpha}}
              - {id: b, check: contains, with: {value: beta}}
    """)
    result = pytester.runpytest("-v")
    result.stdout.fnmatch_lines(
        ["*::at-threshold::score PASSED*", "*::stricter::score FAILED*", "*score*0.500 (threshold 0.9)*"]
    )


def test_strict_aggregator_fails_a_case_with_any_failed_criterion(
    pytester: pytest.Pytester, write_suite: Callable[..., Path]
) -> None:
    write_suite("""
        aggregator: strict
        threshold: 0.5
        cases:
          - id: one-miss
            output: "alpha"
            criteria:
              - {id: a, check: contains, with: {value: alpha}}
              - {id: b, check: contains, with: {value: alpha}}
              - {id: c, check: contains, with: {value: beta}}
          - id: all-pass
            output: "alpha"
            criteria:
              - {id: a, check: contains, with: {value: alpha}}
    """)
    result = pytester.runpytest("-v")
    result.stdout.fnmatch_lines(["*::one-miss::score FAILED*", "*::all-pass::score PASSED*"])
    scores = _scores(pytester)
    assert scores["one-miss"][0] == pytest.approx(2 / 3) and scores["one-miss"][1] == "failed"
    assert scores["all-pass"] == (1.0, "passed")


def _gate_suite(passes: int, total: int, min_pass_rate: float, confidence: float) -> str:
    cases = []
    for i in range(total):
        output = "ok" if i < passes else "wrong"
        cases.append(f"  - {{id: c{i}, output: '{output}', criteria: [{{id: k, check: equals, with: {{value: ok}}}}]}}")
    return f"gate: {{min_pass_rate: {min_pass_rate}, confidence: {confidence}}}\ncases:\n" + "\n".join(cases) + "\n"


def _wilson_by_hand(k: int, n: int, z: float) -> float:
    p = k / n
    return (p + z * z / (2 * n) - z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))) / (1 + z * z / n)


def test_wilson_lower_bound_matches_independent_computations() -> None:
    # 8/10 at 95 %: the textbook value of the Wilson interval's lower end is 0.4902.
    assert wilson_lower_bound(8, 10, 0.95) == pytest.approx(0.49016, abs=1e-5)
    assert wilson_lower_bound(8, 10, 0.95) == pytest.approx(_wilson_by_hand(8, 10, 1.959963984540054))
    assert wilson_lower_bound(45, 50, 0.99) == pytest.approx(_wilson_by_hand(45, 50, 2.5758293035489004))
    assert wilson_lower_bound(0, 5, 0.95) == pytest.approx(0.0, abs=1e-12)
    stats = pytest.importorskip("scipy.stats")
    for k, n, conf in [(8, 10, 0.95), (45, 50, 0.99), (3, 7, 0.9), (100, 100, 0.95)]:
        low = stats.binomtest(k, n).proportion_ci(confidence_level=conf, method="wilson").low
        assert wilson_lower_bound(k, n, conf) == pytest.approx(low, abs=1e-9)


@pytest.mark.parametrize(("min_pass_rate", "passes_gate"), [(0.49, True), (0.50, False)])
def test_gate_compares_the_wilson_lower_bound_to_min_pass_rate(
    pytester: pytest.Pytester, write_suite: Callable[..., Path], min_pass_rate: float, passes_gate: bool
) -> None:
    # 8 of 10 cases pass: the pass rate 0.8 is far above both thresholds, but the Wilson lower
    # bound (0.4902) lies between them.
    write_suite(_gate_suite(8, 10, min_pass_rate, 0.95))
    result = pytester.runpytest("-v", "--junitxml=out.xml")
    result.stdout.fnmatch_lines([f"*::gate {'PASSED' if passes_gate else 'FAILED'}*"])
    if not passes_gate:
        result.stdout.fnmatch_lines(["*8/10 cases passed*lower bound*0.490 < min_pass_rate 0.5*"])
    root = ET.parse(pytester.path / "out.xml").getroot()
    (gate,) = [tc for tc in root.iter("testcase") if tc.get("name") == "gate"]
    props = {p.get("name"): p.get("value") for p in gate.iter("property")}
    assert float(props["lower_bound"] or "nan") == pytest.approx(0.49016, abs=1e-5)
    assert (props["passes"], props["cases"]) == ("8", "10")


def test_gate_counts_scored_cases_by_their_score_item(
    pytester: pytest.Pytester, write_suite: Callable[..., Path]
) -> None:
    write_suite("""
        threshold: 0.5
        gate: {min_pass_rate: 0.2, confidence: 0.95}
        cases:
          - {id: half, output: a, criteria: [{id: x, check: equals, with: {value: a}},
                                             {id: y, check: equals, with: {value: b}}]}
          - {id: none, output: a, criteria: [{id: x, check: equals, with: {value: b}}]}
    """)
    result = pytester.runpytest("--junitxml=out.xml")
    root = ET.parse(pytester.path / "out.xml").getroot()
    (gate,) = [tc for tc in root.iter("testcase") if tc.get("name") == "gate"]
    props = {p.get("name"): p.get("value") for p in gate.iter("property")}
    assert (props["passes"], props["cases"]) == ("1", "2")
    assert float(props["lower_bound"] or "nan") == pytest.approx(wilson_lower_bound(1, 2, 0.95))
    result.stdout.fnmatch_lines(["*gate FAILED: 1/2 cases passed*"])


@pytest.mark.parametrize("behaviour", ["raise", "crash", "error_verdict", "missing"])
def test_a_judge_without_a_verdict_makes_the_item_error_never_fail(
    pytester: pytest.Pytester, write_suite: Callable[..., Path], fake_judge: FakeJudgeState, behaviour: str
) -> None:
    fake_judge.behaviour = behaviour
    write_suite("""
        judge: fake:m1
        threshold: 0.5
        gate: {min_pass_rate: 0.0}
        cases:
          - id: c1
            output: "some answer"
            criteria:
              - {id: judged, text: "yes it answers"}
              - {id: checked, check: contains, with: {value: some}}
    """)
    result = pytester.runpytest("-v")
    found = outcomes(result)
    assert found.get("failed", 0) == 0
    # the judged criterion, the case score and the gate have no verdict; the check passes
    assert found == {"passed": 1, "errors": 3}
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    reason = {
        "raise": "HTTP 503 after 3 retries",
        "crash": "RuntimeError: fake judge bug",
        "error_verdict": "malformed judge output after 2 retries",
        "missing": "gave no verdict for it",
    }[behaviour]
    result.stdout.fnmatch_lines(["*ERROR at setup of c1::judged*", "*ERROR: *c1::judged*", f"*reason*{reason}*"])
    assert _statuses(pytester) == {"c1::judged": "ERROR", "c1::checked": "PASS"}
    assert _scores(pytester)["c1"][1] == "error"


def test_error_items_render_the_reason_without_a_traceback(
    pytester: pytest.Pytester, write_suite: Callable[..., Path], fake_judge: FakeJudgeState
) -> None:
    fake_judge.behaviour = "raise"
    write_suite("""
        judge: fake:m1
        cases:
          - id: c1
            output: "some answer"
            criteria:
              - {id: judged, text: "yes it answers"}
    """)
    result = pytester.runpytest()
    result.stdout.fnmatch_lines(["*reason*HTTP 503 after 3 retries*"])
    assert_no_traceback(failure_text(result))


def test_failure_shows_criterion_response_verdict_evidence_rationale_and_no_traceback(
    pytester: pytest.Pytester, write_suite: Callable[..., Path], fake_judge: FakeJudgeState
) -> None:
    write_suite("""
        judge: fake:m1
        cases:
          - id: refund-window
            input: "Can I return shoes after 40 days?"
            output: "Sure, any time at all."
            criteria:
              - id: states-window
                text: "States that the return window is 30 days."
    """)
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "FAIL  refund-window::states-window",
            "criterion   States that the return window is 30 days.",
            "judge       fake:m1",
            "verdict     not met (confidence 0.88)",
            'evidence    "Sure, any ti"  [[]found in the response[]]',
            "rationale   fake rationale for states-window",
            "input       Can I return shoes after 40 days?",
            "response    Sure, any time at all.",
            "where       test_s.rubric.yaml:7",
        ]
    )
    assert "states-window" in failure_text(result)
    assert_no_traceback(failure_text(result))
