"""Graded scales (issue 13, "What to build" 2): a criterion judged on levels, met from
``pass_at`` up, contributing its normalised level to the case score; levels stored; bad scales
named by file, line and key."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from rubrictest import Scale
from rubrictest.errors import SuiteError
from rubrictest.suite import load_suite

from ..helpers.fakes import FakeJudgeState
from ..helpers.pytester import open_store, outcomes


def five(indent: int = 16) -> str:
    """A 1-5 scale with a description per level, as lines indented for a criterion's keys."""
    pad = " " * indent
    return (
        f"{pad}scale:\n{pad}  range: [1, 5]\n"
        f"{pad}  levels: {{1: Useless., 2: Poor., 3: Fair., 4: Good., 5: Excellent.}}\n{pad}  pass_at: 4"
    )


def _labels(pytester: pytest.Pytester, rows: list[dict[str, object]]) -> None:
    (pytester.path / "labels.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_levels_pass_from_pass_at_and_score_normalised(
    pytester: pytest.Pytester, write_suite: Callable[..., Path]
) -> None:
    write_suite(f"""
        judge: recorded:labels.jsonl
        threshold: 0.5
        cases:
          - id: c1
            output: an answer
            criteria:
              - id: helpful
                text: Is it helpful?
                weight: 3
{five()}
              - id: quarters
                text: Does it follow the checklist item?
                scale:
                  levels: {{0: not at all, 0.25: barely, 0.5: partly, 0.75: mostly, 1: fully}}
                  pass_at: 0.75
    """)
    _labels(
        pytester,
        [
            {"case": "c1", "criterion": "helpful", "level": 4, "rationale": "good"},
            {"case": "c1", "criterion": "quarters", "level": 0.5},
        ],
    )
    result = pytester.runpytest("-v")
    result.stdout.fnmatch_lines(["*::c1::helpful PASSED*", "*::c1::quarters MISSED*", "*::c1::score PASSED*"])
    store = open_store(pytester)
    run_id = store.resolve_run(None)
    (case,) = store.cases(run_id)
    # (3 * (4-1)/(5-1) + 1 * 0.5) / 4
    assert case["score"] == pytest.approx((3 * 0.75 + 0.5) / 4, abs=1e-12)
    got = {v["criterion_id"]: (v["level"], v["score"], v["outcome"]) for v in store.verdicts(run_id)}
    assert got == {"helpful": (4.0, 0.75, "met"), "quarters": (0.5, 0.5, "not_met")}


def test_a_scale_inside_a_tree_scores_its_node(pytester: pytest.Pytester, write_suite: Callable[..., Path]) -> None:
    write_suite(f"""
        judge: recorded:labels.jsonl
        threshold: 0
        cases:
          - id: c1
            output: x
            criteria:
              - id: part
                criteria:
                  - {{id: flat, check: contains, with: {{value: x}}}}
                  - id: graded
                    text: Graded.
{five(20)}
    """)
    _labels(pytester, [{"case": "c1", "criterion": "part.graded", "level": 2}])
    pytester.runpytest()
    store = open_store(pytester)
    run_id = store.resolve_run(None)
    (node,) = store.nodes(run_id)
    assert node["score"] == pytest.approx((1 + 0.25) / 2)
    assert store.cases(run_id)[0]["score"] == pytest.approx((1 + 0.25) / 2)


def test_a_level_off_the_scale_or_a_judge_without_levels_is_an_error(
    pytester: pytest.Pytester, write_suite: Callable[..., Path], fake_judge: FakeJudgeState
) -> None:
    write_suite(f"""
        judge: recorded:labels.jsonl
        cases:
          - id: c1
            output: x
            criteria:
              - id: outside
                text: Off the scale.
{five()}
              - id: missing
                text: No level recorded.
{five()}
              - id: binary
                text: A judge that answers met / not met.
                judge: fake
{five()}
    """)
    _labels(
        pytester,
        [{"case": "c1", "criterion": "outside", "level": 7}, {"case": "c1", "criterion": "missing", "met": True}],
    )
    result = pytester.runpytest("-v")
    assert outcomes(result) == {"errors": 3}
    store = open_store(pytester)
    errors = {v["criterion_id"]: v["error"] for v in store.verdicts(store.resolve_run(None))}
    assert "level 7 is not on the scale (1, 2, 3, 4, 5)" in errors["outside"]
    assert "has no `level`" in errors["missing"]
    assert "gave no level" in errors["binary"]


@pytest.mark.parametrize(
    ("scale", "line", "key", "message"),
    [
        (
            "{range: [1, 5], levels: {1: a, 6: b}, pass_at: 4}",
            5,
            "cases[0].criteria[0].scale",
            "level 6 is outside the range [1, 5]",
        ),
        (
            "{range: [1, 3], levels: {1: a, 3: c}, pass_at: 3}",
            5,
            "cases[0].criteria[0].scale",
            "level 2 has no description",
        ),
        ("{range: [1, 5], pass_at: 6}", 5, "cases[0].criteria[0].scale", "pass_at 6 is not a level"),
        ("{range: [5, 1], pass_at: 3}", 5, "cases[0].criteria[0].scale", "must be above the first"),
        ("{levels: {1: only}, pass_at: 1}", 5, "cases[0].criteria[0].scale", "at least two `levels`"),
        ("{levels: {0: none, 1: ''}, pass_at: 1}", 5, "cases[0].criteria[0].scale", "level 1 has an empty description"),
    ],
)
def test_bad_scales_name_the_file_line_and_key(tmp_path: Path, scale: str, line: int, key: str, message: str) -> None:
    path = tmp_path / "test_s.rubric.yaml"
    path.write_text(
        "judge: recorded:l.jsonl\ncases:\n  - output: x\n    criteria:\n"
        f"      - text: Graded.\n        scale: {scale}\n"
    )
    with pytest.raises(SuiteError) as info:
        load_suite(path)
    assert (info.value.path, info.value.key) == (str(path), key), str(info.value)
    assert info.value.line in (line, line + 1)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("criterion", "message"),
    [
        ("{check: contains, with: {value: x}, scale: {range: [1, 2], pass_at: 2}}", "a `check` is met or not met"),
        ("{id: n, criteria: [a], scale: {range: [1, 2], pass_at: 2}}", "a `scale` belongs on a leaf"),
        ("{text: t, points: -1, scale: {range: [1, 2], pass_at: 2}}", "cannot be a deduction"),
    ],
)
def test_a_scale_only_on_a_judged_leaf(tmp_path: Path, criterion: str, message: str) -> None:
    path = tmp_path / "test_s.rubric.yaml"
    path.write_text(f"judge: recorded:l.jsonl\ncases:\n  - output: x\n    criteria:\n      - {criterion}\n")
    with pytest.raises(SuiteError, match=None) as info:
        load_suite(path)
    assert message in str(info.value) and info.value.line == 5


def test_the_scale_is_part_of_the_criterion_hash(tmp_path: Path) -> None:
    def hash_of(extra: str) -> str:
        path = tmp_path / "test_s.rubric.yaml"
        path.write_text(f"judge: recorded:l.jsonl\ncases:\n  - output: x\n    criteria:\n      - {{text: t{extra}}}\n")
        return load_suite(path).runs[0].case.criteria[0].hash

    plain = hash_of("")
    five = hash_of(", scale: {range: [1, 5], pass_at: 4}")
    assert len({plain, five, hash_of(", scale: {range: [1, 5], pass_at: 3}")}) == 3
    assert plain == hash_of("")


def test_scale_api() -> None:
    scale = Scale(levels=(1.0, 2.0, 3.0), pass_at=2.0, descriptions={1.0: "bad", 3.0: "good"})
    assert scale.normalise(2) == 0.5 and scale.level_of(0.49) == 2.0 and scale.parse("3") == 3.0
    assert scale.describe() == "1: bad\n2\n3: good"
    verdict = scale.verdict("c", 1, rationale="r")
    assert (verdict.outcome, verdict.score, verdict.level, verdict.rationale) == ("not_met", 0.0, 1.0, "r")
    assert scale.verdict("c", True).outcome == "error"
    with pytest.raises(ValueError, match="pass_at 4 is not a level"):
        Scale(levels=(1.0, 2.0), pass_at=4.0)
