"""Collection and pytest integration (DESIGN.md "Node ids"): node ids, markers, -k, --lf,
-x, -v and JUnit XML properties."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

SUPPORT = """
    version: 1
    suite: support-bot
    threshold: 0.5
    gate: {min_pass_rate: 0.0, confidence: 0.95}
    tags: [support]
    rubrics:
      tone:
        - {id: polite, check: contains, with: {value: please}}
    cases:
      - id: refund-window
        input: "Can I return shoes after 40 days?"
        output: "Please note: returns are accepted within 30 days."
        rubric: [tone]
        tags: [refunds]
        criteria:
          - id: states-window
            check: contains
            with: {value: "30 days"}
          - id: no-false-promise
            check: contains
            with: {value: "refund after"}
            points: -5
            tags: [safety]
      - id: greeting
        output: "Hello"
        threshold: 0.0
        criteria:
          - {id: says-hello, check: equals, with: {value: Hello}}
"""


def test_node_ids_are_file_case_criterion_score_and_gate(
    pytester: pytest.Pytester, write_suite: Callable[..., Path]
) -> None:
    write_suite(SUPPORT, name="suites/test_support.rubric.yaml")
    result = pytester.runpytest("--collect-only", "-q", "suites")
    result.stdout.fnmatch_lines(
        [
            "suites/test_support.rubric.yaml::refund-window::polite",
            "suites/test_support.rubric.yaml::refund-window::states-window",
            "suites/test_support.rubric.yaml::refund-window::no-false-promise",
            "suites/test_support.rubric.yaml::refund-window::score",
            "suites/test_support.rubric.yaml::greeting::says-hello",
            "suites/test_support.rubric.yaml::greeting::score",
            "suites/test_support.rubric.yaml::gate",
            "7 tests collected*",
        ]
    )


def test_several_targets_put_the_target_in_brackets(
    pytester: pytest.Pytester, write_suite: Callable[..., Path]
) -> None:
    pytester.makepyfile(answers="def up(text):\n    return text.upper()\n\ndef same(text):\n    return text\n")
    write_suite("""
        target:
          - {plugin: python, model: "answers:up", name: gpt-4o}
          - {plugin: python, model: "answers:same", name: small}
        cases:
          - id: refund-window
            input: "hello"
            criteria:
              - {id: shouts, check: equals, with: {value: HELLO}}
    """)
    result = pytester.runpytest("-v", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(
        [
            "test_s.rubric.yaml::refund-window::shouts[[]gpt-4o[]] PASSED*",
            "test_s.rubric.yaml::refund-window::shouts[[]small[]] FAILED*",
        ]
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_only_rubric_files_are_collected(pytester: pytest.Pytester, write_suite: Callable[..., Path]) -> None:
    write_suite(SUPPORT, name="test_other.yaml")  # not a rubric file: ignored
    write_suite(SUPPORT, name="config.rubric.yaml")  # no test_ prefix: ignored
    write_suite(SUPPORT, name="test_b.rubric.yml")  # the .yml spelling counts
    result = pytester.runpytest("--collect-only", "-q")
    result.stdout.fnmatch_lines(["test_b.rubric.yml::gate", "7 tests collected*"])


def test_rubric_files_ini_option_changes_the_pattern(
    pytester: pytest.Pytester, write_suite: Callable[..., Path]
) -> None:
    pytester.makeini("[pytest]\nrubric_files = eval_*.yaml\n")
    write_suite(SUPPORT, name="eval_support.yaml")
    write_suite(SUPPORT, name="test_s.rubric.yaml")
    result = pytester.runpytest("--collect-only", "-q")
    result.stdout.fnmatch_lines(["eval_support.yaml::gate", "7 tests collected*"])


def test_tags_become_markers_for_dash_m(pytester: pytest.Pytester, write_suite: Callable[..., Path]) -> None:
    write_suite(SUPPORT)
    result = pytester.runpytest("--collect-only", "-q", "-m", "safety")
    result.stdout.fnmatch_lines(["test_s.rubric.yaml::refund-window::no-false-promise", "1/7 tests collected*"])
    result = pytester.runpytest("--collect-only", "-q", "-m", "refunds and not safety")
    # a case's tags mark its score item too
    result.stdout.fnmatch_lines(
        [
            "*::refund-window::polite",
            "*::refund-window::states-window",
            "*::refund-window::score",
            "3/7 tests collected*",
        ]
    )
    result = pytester.runpytest("--collect-only", "-q", "-m", "support")
    result.stdout.fnmatch_lines(["6/7 tests collected*"])
    # tags are registered markers: --strict-markers accepts them
    result = pytester.runpytest("--strict-markers", "-m", "safety")
    result.assert_outcomes(passed=1, deselected=6)


def test_dash_k_selects_by_case_and_criterion(pytester: pytest.Pytester, write_suite: Callable[..., Path]) -> None:
    write_suite(SUPPORT)
    result = pytester.runpytest("-v", "-k", "greeting and hello")
    result.stdout.fnmatch_lines(["*::greeting::says-hello PASSED*", "*1 passed, 6 deselected*"])


def _failing_suite() -> str:
    return """
        cases:
          - id: a
            output: "alpha"
            criteria:
              - {id: ok, check: contains, with: {value: alpha}}
              - {id: bad, check: contains, with: {value: omega}}
          - id: b
            output: "beta"
            criteria:
              - {id: bad, check: contains, with: {value: omega}}
              - {id: ok, check: contains, with: {value: beta}}
    """


def test_dash_x_stops_at_the_first_failure(pytester: pytest.Pytester, write_suite: Callable[..., Path]) -> None:
    write_suite(_failing_suite())
    result = pytester.runpytest("-x", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*stopping after 1 failures*"])


def test_last_failed_reruns_only_the_failed_criteria(
    pytester: pytest.Pytester, write_suite: Callable[..., Path]
) -> None:
    write_suite(_failing_suite())
    pytester.runpytest().assert_outcomes(passed=2, failed=2)
    result = pytester.runpytest("--lf", "-v")
    result.assert_outcomes(failed=2, deselected=2)
    result.stdout.fnmatch_lines(["*::a::bad FAILED*", "*::b::bad FAILED*"])


def test_verbose_prints_one_status_line_per_item(pytester: pytest.Pytester, write_suite: Callable[..., Path]) -> None:
    write_suite("""
        threshold: 0.5
        cases:
          - id: c1
            output: "alpha"
            criteria:
              - {id: hit, check: contains, with: {value: alpha}}
              - {id: miss, check: contains, with: {value: omega}}
    """)
    result = pytester.runpytest("-v", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(
        [
            "test_s.rubric.yaml::c1::hit PASSED*",
            "test_s.rubric.yaml::c1::miss MISSED*",
            "test_s.rubric.yaml::c1::score PASSED*",
        ]
    )
    assert result.ret == pytest.ExitCode.OK


def test_junitxml_carries_verdict_properties(
    pytester: pytest.Pytester, write_suite: Callable[..., Path], fake_judge: object
) -> None:
    write_suite("""
        judge: fake:m1
        threshold: 0.5
        cases:
          - id: c1
            output: "good answer"
            criteria:
              - {id: judged, text: "yes it is good"}
              - {id: checked, check: contains, with: {value: good}}
    """)
    from rubrictest.protocol import criterion_hash

    result = pytester.runpytest("--junitxml=out.xml")
    assert result.ret == 0
    root = ET.parse(pytester.path / "out.xml").getroot()
    cases = {tc.get("name"): tc for tc in root.iter("testcase")}
    assert set(cases) == {"judged", "checked", "score"}

    def props(name: str) -> dict[str, str]:
        return {p.get("name"): p.get("value") for p in cases[name].iter("property")}  # type: ignore[misc]

    judged = props("judged")
    assert judged["status"] == "PASS"
    assert judged["judge"] == "fake:m1"
    assert judged["confidence"] == "0.875"
    assert judged["criterion_hash"] == criterion_hash("yes it is good", None, {}, 1.0, False)
    assert props("checked")["judge"] == "contains"
    assert props("score")["score"] == "1.0"


def _xdist_run(pytester: pytest.Pytester, write_suite: Callable[..., Path]) -> tuple[pytest.RunResult, Any]:
    pytest.importorskip("xdist")
    cases = "\n".join(
        f"  - {{id: c{i}, output: 'a{i}', criteria: [{{id: x, check: contains, with: {{value: a}}}},"
        f" {{id: y, check: regex, with: {{pattern: '{i}$'}}}}]}}"
        for i in range(10)
    )
    write_suite("threshold: 0.5\ngate: {min_pass_rate: 0.5}\ncases:\n" + cases + "\n")
    result = pytester.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider")
    from rubrictest.store import Store

    return result, Store.open(pytester.path / ".rubrictest" / "rubrictest.db", create=False)


def test_xdist_workers_share_one_run(pytester: pytest.Pytester, write_suite: Callable[..., Path]) -> None:
    result, store = _xdist_run(pytester, write_suite)
    result.assert_outcomes(passed=31)
    (run,) = store.runs()
    assert run["status"] == "passed"
    assert {(v["case_id"], v["criterion_id"]) for v in store.verdicts(run["id"])} == {
        (f"c{i}", k) for i in range(10) for k in "xy"
    }


def test_xdist_judges_and_stores_each_criterion_once(
    pytester: pytest.Pytester, write_suite: Callable[..., Path]
) -> None:
    result, store = _xdist_run(pytester, write_suite)
    (run,) = store.runs()
    assert len(store.verdicts(run["id"])) == 20
    assert len(store.cases(run["id"])) == 10


def test_collect_only_writes_nothing_and_the_plugin_can_be_turned_off(
    pytester: pytest.Pytester, write_suite: Callable[..., Path]
) -> None:
    write_suite(SUPPORT)
    pytester.runpytest("--collect-only", "-q").stdout.fnmatch_lines(["7 tests collected*"])
    assert not (pytester.path / ".rubrictest").exists()
    result = pytester.runpytest("-p", "no:rubrictest")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_missed_items_are_junit_passes_with_status_missed(
    pytester: pytest.Pytester, write_suite: Callable[..., Path]
) -> None:
    write_suite("""
        threshold: 0.5
        cases:
          - {id: c1, output: a, criteria: [{id: hit, check: equals, with: {value: a}},
                                           {id: miss, check: equals, with: {value: b}}]}
    """)
    assert pytester.runpytest("--junitxml=out.xml").ret == 0
    root = ET.parse(pytester.path / "out.xml").getroot()
    (miss,) = [tc for tc in root.iter("testcase") if tc.get("name") == "miss"]
    assert miss.find("failure") is None and miss.find("error") is None
    props = {p.get("name"): p.get("value") for p in miss.iter("property")}
    assert (props["status"], props["outcome"]) == ("MISSED", "not_met")
    assert root.find("testsuite").get("failures") == "0"  # type: ignore[union-attr]


def test_xdist_session_without_suites_writes_nothing(pytester: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    pytester.makepyfile(test_plain="def test_one():\n    assert True\n\ndef test_two():\n    assert True\n")
    result = pytester.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    assert not (pytester.path / ".rubrictest").exists()
    assert not any(line.startswith("=") and " rubrictest " in line for line in result.stdout.lines)


def test_a_generated_id_cut_short_is_never_silent(pytester: pytest.Pytester) -> None:
    long_text = "The reply states the exact return window of thirty days and names the form to fill in online."
    pytester.makefile(
        ".rubric.yaml",
        test_long=f"""
        version: 1
        judge: recorded:labels.jsonl
        cases:
          - id: c1
            output: "thirty days"
            criteria:
              - {long_text}
              - Short enough.
    """,
    )
    result = pytester.runpytest("--collect-only", "-q", "--rubric-no-store", "-W", "always")
    cut = "the-reply-states-the-exact-return-window-of-thirty-days-and"
    result.stdout.fnmatch_lines(
        [
            f"test_long.rubric.yaml::c1::{cut}",
            "*RubricIdWarning: 1 generated criterion id(s) cut to 60 characters: "
            f"test_long.rubric.yaml:7: '{cut}' (from '{cut}-names-the-form*",
        ]
    )
    assert "short-enough" not in result.stdout.str().split("warnings summary")[-1]
