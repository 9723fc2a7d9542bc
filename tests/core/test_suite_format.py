"""The suite file format (DESIGN.md "Suite files"): loading and resolution, without pytest."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from rubrictest.suite import load_suite


def _write(tmp_path: Path, text: str, name: str = "test_support.rubric.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def test_shorthand_criterion_is_a_text_criterion_with_a_slug_id(tmp_path: Path) -> None:
    suite = load_suite(
        _write(
            tmp_path,
            """
        judge: recorded:labels.jsonl
        cases:
          - id: refund-window
            output: "Returns within 30 days."
            criteria:
              - "States that the return window is 30 days."
    """,
        )
    )
    (crit,) = suite.runs[0].case.criteria
    assert crit.id == "states-that-the-return-window-is-30-days"
    assert crit.text == "States that the return window is 30 days."
    assert crit.check is None and crit.points == 1.0 and crit.must is False
    assert crit.judge is not None and crit.judge.plugin == "recorded"
    assert crit.line == 6


def test_defaults_suite_name_from_file_stem_and_case_ids(tmp_path: Path) -> None:
    suite = load_suite(
        _write(
            tmp_path,
            """
        cases:
          - output: a
            criteria: [{check: contains, with: {value: a}}]
          - output: b
            criteria: [{check: contains, with: {value: b}}]
    """,
        )
    )
    assert suite.name == "support"
    assert [r.case.id for r in suite.runs] == ["case-1", "case-2"]
    assert suite.runs[0].case.criteria[0].id == "contains"


def test_named_rubrics_come_before_the_cases_own_criteria(tmp_path: Path) -> None:
    suite = load_suite(
        _write(
            tmp_path,
            """
        rubrics:
          tone:
            - id: polite
              check: contains
              with: {value: please}
          format:
            - {id: short, check: regex, with: {pattern: "^.{0,80}$"}}
        cases:
          - id: c1
            output: "yes please"
            rubric: [format, tone]
            criteria:
              - {id: own, check: equals, with: {value: "yes please"}}
    """,
        )
    )
    assert [c.id for c in suite.runs[0].case.criteria] == ["short", "polite", "own"]


def test_include_adds_companion_rubrics_and_case_criteria(tmp_path: Path) -> None:
    (tmp_path / "rubrics").mkdir()
    _write(
        tmp_path,
        """
        version: 1
        generated_by: {generator: hand}
        rubrics:
          safety:
            - {id: no-slur, check: regex, with: {pattern: "slur"}, points: -1}
        cases:
          c1:
            - {id: generated, check: contains, with: {value: "30"}}
    """,
        name="rubrics/support.rubrics.yaml",
    )
    suite = load_suite(
        _write(
            tmp_path,
            """
        include: [rubrics/support.rubrics.yaml]
        cases:
          - id: c1
            output: "30 days"
            rubric: [safety]
            criteria:
              - {id: own, check: contains, with: {value: days}}
    """,
        )
    )
    crits = suite.runs[0].case.criteria
    assert [c.id for c in crits] == ["no-slur", "generated", "own"]
    assert crits[0].source is not None and crits[0].source.endswith("support.rubrics.yaml")
    assert crits[0].line == 5


def test_case_threshold_overrides_the_suite_threshold(tmp_path: Path) -> None:
    suite = load_suite(
        _write(
            tmp_path,
            """
        threshold: 0.8
        cases:
          - id: default
            output: a
            criteria: [{check: contains, with: {value: a}}]
          - id: override
            output: a
            threshold: 0.25
            criteria: [{check: contains, with: {value: a}}]
    """,
        )
    )
    assert [r.case.threshold for r in suite.runs] == [0.8, 0.25]


def test_tags_of_suite_case_and_criterion_are_merged(tmp_path: Path) -> None:
    suite = load_suite(
        _write(
            tmp_path,
            """
        tags: [support]
        cases:
          - id: c1
            output: a
            tags: [refunds]
            criteria:
              - {id: x, check: contains, with: {value: a}, tags: [safety]}
    """,
        )
    )
    case = suite.runs[0].case
    assert case.tags == ("support", "refunds")
    assert case.criteria[0].tags == ("support", "refunds", "safety")


def test_several_targets_give_one_run_per_target_keyed_case_target(tmp_path: Path) -> None:
    suite = load_suite(
        _write(
            tmp_path,
            """
        target:
          - {plugin: python, model: "answers:up", name: up}
          - python:answers:low
        cases:
          - id: c1
            input: hi
            criteria: [{check: contains, with: {value: hi}}]
          - id: fixed
            output: "no target call"
            criteria: [{check: contains, with: {value: no}}]
    """,
        )
    )
    assert [r.key for r in suite.runs] == ["c1[up]", "c1[python-answers-low]", "fixed"]
    assert suite.runs[1].target is not None and suite.runs[1].target.model == "answers:low"


def test_criterion_hash_covers_content_not_id_or_tags(tmp_path: Path) -> None:
    def crit_hash(spec: str) -> str:
        path = _write(
            tmp_path,
            f"""
            cases:
              - id: c1
                output: a
                criteria:
                  - {spec}
        """,
        )
        return load_suite(path).runs[0].case.criteria[0].hash

    base = crit_hash("{id: a, check: contains, with: {value: x}}")
    assert len(base) == 16
    assert crit_hash("{id: renamed, check: contains, with: {value: x}, tags: [t]}") == base
    assert crit_hash("{id: a, check: contains, with: {value: y}}") != base
    assert crit_hash("{id: a, check: contains, with: {value: x}, points: 2}") != base
    assert crit_hash("{id: a, check: regex, with: {value: x}}") != base


def test_messages_and_reference_reach_the_case(tmp_path: Path) -> None:
    suite = load_suite(
        _write(
            tmp_path,
            """
        cases:
          - id: chat
            messages: [{role: system, content: be brief}, {role: user, content: hi}]
            reference: "Hello."
            output: "Hello."
            criteria: [{check: equals, with: {value: Hello.}}]
    """,
        )
    )
    case = suite.runs[0].case
    assert case.reference == "Hello."
    assert case.chat_messages() == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hi"},
    ]


@pytest.mark.parametrize("key", ["criteria", "rubric"])
def test_a_case_needs_criteria(tmp_path: Path, key: str) -> None:
    from rubrictest.errors import SuiteError

    with pytest.raises(SuiteError, match="has no criteria"):
        load_suite(
            _write(
                tmp_path,
                f"""
            cases:
              - id: c1
                output: a
                {key}: []
        """,
            )
        )
