"""Rubric trees (issue 13, "What to build" 1): nested criteria with weights, only leaves judged,
every inner node's score stored and reported, ``must``/``threshold`` on nodes, ``-k`` on a
subtree, tags inherited, and bad input named by file, line and node."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from rubrictest.cli import build_cli
from rubrictest.errors import SuiteError
from rubrictest.suite import load_suite

from ..helpers.fakes import FakeJudgeState
from ..helpers.pytester import db_path, open_store, outcomes

TREE = """
    threshold: 0.5
    cases:
      - id: c1
        output: "alpha beta"
        criteria:
          - id: paper
            text: The paper is replicated.
            criteria:
              - id: method
                weight: 3
                tags: [code]
                criteria:
                  - {id: a, check: contains, with: {value: alpha}}
                  - {id: g, check: contains, with: {value: gamma}}
              - id: style
                criteria:
                  - {id: b, check: contains, with: {value: beta}, weight: 2}
                  - {id: d, check: contains, with: {value: delta}}
          - {id: flat, check: contains, with: {value: beta}}
"""
# paper.method = 1/2, paper.style = 2/3, paper = (3 * 1/2 + 2/3) / 4, case = (paper + 1) / 2
METHOD, STYLE = 0.5, 2 / 3
PAPER = (3 * METHOD + STYLE) / 4
CASE = (PAPER + 1) / 2


def test_only_leaves_are_items_and_inner_nodes_score_the_weighted_mean(
    pytester: pytest.Pytester, write_suite: Callable[..., Path]
) -> None:
    write_suite(TREE)
    result = pytester.runpytest("-v")
    result.stdout.fnmatch_lines(
        ["*::c1::paper.method.a PASSED*", "*::c1::paper.style.d MISSED*", "*::c1::flat PASSED*", "*::c1::score PASSED*"]
    )
    assert outcomes(result) == {"passed": 4, "missed": 2}
    store = open_store(pytester)
    run_id = store.resolve_run(None)
    (case,) = store.cases(run_id)
    assert case["score"] == pytest.approx(CASE, abs=1e-12)
    nodes = {n["node_id"]: n for n in store.nodes(run_id)}
    assert {k: n["score"] for k, n in nodes.items()} == pytest.approx(
        {"paper": PAPER, "paper.method": METHOD, "paper.style": STYLE}, abs=1e-12
    )
    assert nodes["paper.method"]["parent_id"] == "paper" and nodes["paper.method"]["depth"] == 1
    assert nodes["paper"]["leaves"] == 4 and nodes["paper"]["text"] == "The paper is replicated."
    parents = {v["criterion_id"]: v["parent_id"] for v in store.verdicts(run_id)}
    assert parents == {
        "paper.method.a": "paper.method",
        "paper.method.g": "paper.method",
        "paper.style.b": "paper.style",
        "paper.style.d": "paper.style",
        "flat": None,
    }
    # Tree order: a node before its leaves, siblings as written.
    order = [r["node_id"] for r in sorted(store.nodes(run_id), key=lambda r: r["position"])]
    assert order == ["paper", "paper.method", "paper.style"]


def test_report_shows_the_tree_indented_in_text_and_nested_in_json(
    pytester: pytest.Pytester, write_suite: Callable[..., Path]
) -> None:
    write_suite(TREE)
    pytester.runpytest()
    db = str(db_path(pytester))
    text = CliRunner().invoke(build_cli(), ["report", "--db", db]).output
    assert f"s :: c1  score {CASE:.4f}  (passed)" in text
    assert (
        f"\n  paper  {PAPER:.4f}  (weight 1, 4 leaves)\n    method  {METHOD:.4f}  (weight 3, 2 leaves)\n"
        "      PASS    a  (1)\n      MISSED  g  (1)\n" in text
    )
    assert "\n  PASS    flat  (1)\n" in text
    data = json.loads(CliRunner().invoke(build_cli(), ["report", "--db", db, "--json"]).output)
    (tree,) = data["trees"]
    assert tree["score"] == pytest.approx(CASE)
    paper, flat = tree["children"]
    assert (paper["kind"], paper["id"], flat["kind"], flat["id"]) == ("node", "paper", "leaf", "flat")
    method, style = paper["children"]
    assert [leaf["id"] for leaf in method["children"]] == ["paper.method.a", "paper.method.g"]
    assert [leaf["status"] for leaf in style["children"]] == ["PASS", "MISSED"]
    assert style["score"] == pytest.approx(STYLE)


def test_k_selects_a_subtree(pytester: pytest.Pytester, write_suite: Callable[..., Path]) -> None:
    write_suite(TREE)
    result = pytester.runpytest("-v", "-k", "paper.method")
    result.stdout.fnmatch_lines(["*::c1::paper.method.a PASSED*", "*::c1::paper.method.g MISSED*"])
    assert outcomes(result) == {"passed": 1, "missed": 1, "deselected": 4}


def _hard_style(threshold: str) -> str:
    at = "              - id: style\n"
    assert at in TREE
    return TREE.replace(at, at + f"                must: true\n                threshold: {threshold}\n")


def test_a_hard_rule_subtree_that_does_not_pass_fails_the_case(
    pytester: pytest.Pytester, write_suite: Callable[..., Path]
) -> None:
    write_suite(_hard_style("0.9"))
    result = pytester.runpytest()
    assert outcomes(result) == {"passed": 3, "missed": 2, "failed": 1}
    result.stdout.fnmatch_lines(
        ["*hard rule failed: paper.style*", "*style  score 0.667  (weight 1, hard rule, threshold 0.9)  NOT PASSED*"]
    )
    store = open_store(pytester)
    run_id = store.resolve_run(None)
    assert store.cases(run_id)[0]["outcome"] == "failed"
    assert {n["node_id"]: n["outcome"] for n in store.nodes(run_id)}["paper.style"] == "failed"


def test_a_node_threshold_passes_a_subtree_with_misses(
    pytester: pytest.Pytester, write_suite: Callable[..., Path]
) -> None:
    write_suite(_hard_style("0.6"))
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.OK
    store = open_store(pytester)
    nodes = {n["node_id"]: n["outcome"] for n in store.nodes(store.resolve_run(None))}
    # Without a threshold a node passes only when every leaf under it does.
    assert nodes == {"paper": "failed", "paper.method": "failed", "paper.style": "passed"}


def test_tags_and_judges_of_a_node_reach_its_leaves(
    pytester: pytest.Pytester, write_suite: Callable[..., Path], fake_judge_factory: Callable[..., FakeJudgeState]
) -> None:
    other = fake_judge_factory("other")
    fake_judge_factory("fake")
    write_suite("""
        judge: fake
        cases:
          - id: c1
            output: fine
            criteria:
              - id: part
                judge: other
                tags: [cat-a]
                criteria: ["say yes", {text: "yes again", tags: [extra]}]
    """)
    result = pytester.runpytest("-m", "cat_a or cat-a", "-v")
    assert outcomes(result)["passed"] == 2
    assert [c.id for r in other.calls for c in r.criteria] == ["part.say-yes", "part.yes-again"]
    store = open_store(pytester)
    run_id = store.resolve_run(None)
    assert {v["criterion_id"]: v["tags"] for v in store.verdicts(run_id)} == {
        "part.say-yes": ["cat-a"],
        "part.yes-again": ["cat-a", "extra"],
    }
    data = json.loads(CliRunner().invoke(build_cli(), ["report", "--db", str(db_path(pytester)), "--json"]).output)
    assert data["tags"] == {"cat-a": {"PASS": 2}, "extra": {"PASS": 1}}


def test_a_leaf_without_a_verdict_leaves_the_nodes_above_it_unscored(
    pytester: pytest.Pytester, write_suite: Callable[..., Path], fake_judge: FakeJudgeState
) -> None:
    fake_judge.behaviour = "error_verdict"
    write_suite("""
        judge: fake
        cases:
          - id: c1
            output: fine
            criteria:
              - id: part
                criteria: ["say yes", {id: ok, check: contains, with: {value: fine}}]
    """)
    pytester.runpytest()
    store = open_store(pytester)
    (node,) = store.nodes(store.resolve_run(None))
    assert (node["node_id"], node["score"], node["outcome"]) == ("part", None, "error")


def test_deductions_and_scores_inside_a_node_follow_the_points_rule(tmp_path: Path) -> None:
    from rubrictest import Verdict, score_tree

    path = tmp_path / "test_s.rubric.yaml"
    path.write_text("""
cases:
  - id: c1
    output: x
    criteria:
      - id: n
        criteria:
          - {id: a, check: contains, with: {value: x}, weight: 2}
          - {id: b, check: contains, with: {value: y}, weight: 2}
          - {id: bad, check: contains, with: {value: x}, points: -1}
""")
    case = load_suite(path).runs[0].case
    met = {"n.a": "met", "n.b": "not_met", "n.bad": "met"}
    tree = score_tree(case, {k: Verdict(k, v) for k, v in met.items()})  # type: ignore[arg-type]
    assert tree.nodes["n"].score == pytest.approx((2 - 1) / 4)
    assert tree.score == pytest.approx(0.25)
    assert tree.failed == ["n.b", "n.bad"]


def test_named_rubrics_as_children_and_the_schema_accepts_trees(tmp_path: Path) -> None:
    import jsonschema
    import yaml

    from rubrictest.suite import json_schema

    text = """
judge: fake
rubrics:
  style: ["Is concise.", {id: tone, text: Is polite., weight: 2}]
cases:
  - id: c1
    output: x
    criteria:
      - id: answer
        criteria: ["Is right."]
        rubric: [style]
"""
    path = tmp_path / "test_s.rubric.yaml"
    path.write_text(text)
    jsonschema.validate(yaml.safe_load(text), json_schema())
    case = load_suite(path).runs[0].case
    assert [c.id for c in case.criteria] == ["answer.is-right", "answer.is-concise", "answer.tone"]
    assert case.nodes[0].children == ("answer.is-right", "answer.is-concise", "answer.tone")
    assert [c.points for c in case.criteria] == [1, 1, 2]


@pytest.mark.parametrize(
    ("text", "line", "key", "message"),
    [
        (
            "      - id: a\n        criteria:\n          - {id: b, check: equals, with: {value: x}, weight: 0}\n",
            5,
            "cases[0].criteria[0]",
            "node 'a': its children's weights sum to 0",
        ),
        (
            "      - id: a\n        check: equals\n        with: {value: x}\n        criteria: [{check: equals, with: "
            "{value: x}}]\n",
            5,
            "cases[0].criteria[0]",
            "an inner node of a rubric tree: it is scored from its children, never judged, so it cannot have `check`",
        ),
        (
            "      - id: a.b\n        criteria: [{id: c, check: equals, with: {value: x}}]\n",
            5,
            "cases[0].criteria[0].id",
            "an id inside a rubric tree may not contain '.'",
        ),
        (
            "      - id: a\n        criteria: [{id: c.d, check: equals, with: {value: x}}]\n",
            6,
            "cases[0].criteria[0].criteria[0].id",
            "an id inside a rubric tree may not contain '.'",
        ),
        (
            "      - id: a\n        points: 2\n        criteria: [{check: equals, with: {value: x}}]\n",
            5,
            "cases[0].criteria[0]",
            "an inner node takes `weight` (>= 0), not `points`",
        ),
        (
            "      - {id: a, check: equals, with: {value: x}, points: 2, weight: 2}\n",
            5,
            "cases[0].criteria[0]",
            "give `weight` or `points`, not both",
        ),
        (
            "      - {id: a, check: equals, with: {value: x}, threshold: 0.5}\n",
            5,
            "cases[0].criteria[0]",
            "`threshold` applies to an inner node",
        ),
        ("      - {id: a, criteria: []}\n", 5, "cases[0].criteria[0]", "`criteria` is empty"),
        (
            "      - {id: a, check: equals, with: {value: x}, weight: -1}\n",
            5,
            "cases[0].criteria[0].weight",
            "greater than or equal to 0",
        ),
        (
            "      - id: a\n        criteria:\n          - {id: b, check: equals, with: {value: x}}\n"
            "          - {id: b, check: equals, with: {value: y}}\n",
            8,
            "cases[0].criteria[0].criteria[1]",
            "duplicate criterion id 'a.b'",
        ),
    ],
)
def test_bad_trees_name_the_file_the_line_and_the_node(
    tmp_path: Path, text: str, line: int, key: str, message: str
) -> None:
    path = tmp_path / "test_s.rubric.yaml"
    path.write_text("cases:\n  - id: c1\n    output: x\n    criteria:\n" + text)
    with pytest.raises(SuiteError) as info:
        load_suite(path)
    assert (info.value.path, info.value.line, info.value.key) == (str(path), line, key), str(info.value)
    assert message in str(info.value)


def test_a_rubric_that_contains_itself_is_a_cycle(tmp_path: Path) -> None:
    path = tmp_path / "test_s.rubric.yaml"
    path.write_text("""
rubrics:
  a: [{id: n, rubric: [b]}]
  b: [{id: m, rubric: [a]}]
cases:
  - {id: c1, output: x, rubric: [a]}
""")
    with pytest.raises(SuiteError) as info:
        load_suite(path)
    assert "rubric 'a' contains itself (a cycle: a -> b -> a) at node 'n.m'" in str(info.value)
    assert (info.value.line, info.value.key) == (4, "rubrics.b[0].rubric[0]")


def test_a_cycle_through_an_included_file_names_that_file(tmp_path: Path) -> None:
    (tmp_path / "test_s.generated.yaml").write_text(
        "version: 1\nrubrics:\n  extra:\n    - id: x\n      rubric: [base]\n"
    )
    path = tmp_path / "test_s.rubric.yaml"
    path.write_text(
        "include: [test_s.generated.yaml]\nrubrics:\n  base: [{id: y, rubric: [extra]}]\n"
        "cases:\n  - {id: c1, output: x, rubric: [base]}\n"
    )
    with pytest.raises(SuiteError) as info:
        load_suite(path)
    assert "a cycle: base -> extra -> base" in str(info.value)
    assert info.value.path == str(tmp_path / "test_s.generated.yaml") and info.value.line == 5


def test_a_yaml_alias_inside_itself_is_a_cycle(tmp_path: Path) -> None:
    path = tmp_path / "test_s.rubric.yaml"
    path.write_text(
        "cases:\n  - id: c1\n    output: x\n    criteria:\n      - &n\n        id: a\n        criteria: [*n]\n"
    )
    with pytest.raises(SuiteError) as info:
        load_suite(path)
    assert "recursive YAML alias (a node that contains itself)" in str(info.value)
    assert info.value.key == "cases[0].criteria[0].criteria[0]"
