"""``rubrictest import paperbench``: PaperBench's human-graded rubric trees as suites whose run
stores, as each case score, the root score PaperBench computes from the human grades."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from rubrictest_importers.paperbench import find_graded, read_tree
from rubrictest_importers.paperbench_suites import child_ids, short_id

from rubrictest import Importer, Register, hookimpl
from rubrictest.cli import build_cli

from ..helpers.paths import REPO
from ..helpers.pytester import db_path, open_store, outcomes

EXCERPT = REPO / "tests" / "data" / "paperbench" / "data" / "judge_eval"


def _import(source: Path, out: Path, *options: str) -> str:
    result = CliRunner().invoke(build_cli(), ["import", "paperbench", str(source), "-o", str(out), *options])
    assert result.exit_code == 0, result.output
    return result.output


def _case_scores(pytester: pytest.Pytester) -> dict[str, float]:
    store = open_store(pytester)
    run_id = store.resolve_run(None)
    return {c["case_id"]: c["score"] for c in store.cases(run_id)}


def test_the_excerpt_imports_and_runs_to_its_human_root_score(pytester: pytest.Pytester) -> None:
    tree = read_tree(EXCERPT / "semantic-self-consistency" / "0" / "grading" / "expected_result.json")
    output = _import(EXCERPT, pytester.path / "pb")
    assert "test_semantic_self_consistency.rubric.yaml" in output and "pytest" in output
    result = pytester.runpytest("pb")
    leaves = list(tree.leaves())
    met = sum(1 for leaf in leaves if leaf.score == 1)
    assert outcomes(result) == {"passed": met + 1, "missed": len(leaves) - met}  # + the score item
    assert tree.score is not None
    assert _case_scores(pytester) == {"semantic-self-consistency-0": pytest.approx(tree.score, abs=1e-9)}
    # Every inner node is stored with PaperBench's own score of that node.
    store = open_store(pytester)
    nodes = {n["node_id"]: n["score"] for n in store.nodes(store.resolve_run(None))}
    expected: dict[str, float] = {}

    def visit(node: object, path: str) -> None:
        assert hasattr(node, "children")
        for child, cid in zip(node.children, child_ids(node), strict=True):  # type: ignore[attr-defined]
            if child.children:
                expected[f"{path}{cid}"] = child.score
                visit(child, f"{path}{cid}.")

    visit(tree, "")
    assert nodes == pytest.approx(expected, abs=1e-9)
    # task_category became tags: the report counts each category's leaves.
    report = json.loads(CliRunner().invoke(build_cli(), ["report", "--db", str(db_path(pytester)), "--json"]).output)
    by_tag = {tag: sum(c.values()) for tag, c in report["tags"].items()}
    categories = Counter(leaf.category.lower().replace(" ", "-") for leaf in leaves if leaf.category)
    assert by_tag == dict(categories)


def test_k_selects_one_subtree_of_an_imported_paper(pytester: pytest.Pytester) -> None:
    tree = read_tree(EXCERPT / "semantic-self-consistency" / "0" / "grading" / "expected_result.json")
    _import(EXCERPT, pytester.path / "pb")
    first = tree.children[0]
    subtree = short_id(first.id)
    result = pytester.runpytest("pb", "-k", subtree)
    counts = outcomes(result)
    assert counts["passed"] + counts.get("missed", 0) == sum(1 for _ in first.leaves())


def test_all_five_graded_papers_store_their_human_root_scores(paperbench_dir: Path, pytester: pytest.Pytester) -> None:
    source = paperbench_dir / "data" / "judge_eval"
    expected = {f"{example.replace('/', '-')}": read_tree(file).score for example, file in find_graded(source).items()}
    assert len(expected) == 5
    _import(source, pytester.path / "pb", "--option", "rationales=no")
    result = pytester.runpytest("pb", "-q")
    assert outcomes(result)["passed"] >= 5
    scores = _case_scores(pytester)
    assert set(scores) == set(expected)
    for case, score in expected.items():
        assert score is not None
        assert scores[case] == pytest.approx(score, abs=1e-9), case
    # The published root scores (experiments' human grades), pinned.
    assert {k: round(v, 4) for k, v in scores.items()} == {
        "all-in-one-0": 0.7139,
        "pinn-0": 0.8342,
        "rice-0": 0.1857,
        "semantic-self-consistency-0": 0.91,
        "stay-on-topic-with-classifier-free-guidance-0": 0.4815,
    }


def test_bad_sources_and_outputs_are_one_message_and_write_nothing(tmp_path: Path) -> None:
    cli = build_cli()
    out = tmp_path / "out"
    wrong = CliRunner().invoke(cli, ["import", "paperbench", str(tmp_path), "-o", str(out)])
    assert wrong.exit_code == 2 and "not a PaperBench judge_eval directory" in wrong.output
    assert not out.exists()
    # A truncated graded tree: named, nothing written (not even a staging folder).
    graded = tmp_path / "src" / "p" / "0" / "grading" / "expected_result.json"
    graded.parent.mkdir(parents=True)
    text = (EXCERPT / "semantic-self-consistency" / "0" / "grading" / "expected_result.json").read_text()
    graded.write_text(text[: len(text) // 2])
    cut = CliRunner().invoke(cli, ["import", "paperbench", str(tmp_path / "src"), "-o", str(out)])
    assert cut.exit_code == 2 and str(graded) in cut.output and "truncated" in cut.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src"]
    # An unknown option lists the known ones; a folder someone else wrote is never replaced.
    bad = CliRunner().invoke(cli, ["import", "paperbench", str(EXCERPT), "-o", str(out), "--option", "x=1"])
    assert bad.exit_code == 2 and "no option 'x'" in bad.output and "threshold" in bad.output
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    for extra in ([], ["--force"]):
        refused = CliRunner().invoke(cli, ["import", "paperbench", str(EXCERPT), "-o", str(mine), *extra])
        assert refused.exit_code == 2 and "mine" in refused.output
    assert (mine / "notes.txt").read_text() == "keep"
    # --force replaces a folder an earlier import wrote.
    assert CliRunner().invoke(cli, ["import", "paperbench", str(EXCERPT), "-o", str(out)]).exit_code == 0
    again = CliRunner().invoke(cli, ["import", "paperbench", str(EXCERPT), "-o", str(out)])
    assert again.exit_code == 2 and "not empty" in again.output
    assert CliRunner().invoke(cli, ["import", "paperbench", str(EXCERPT), "-o", str(out), "--force"]).exit_code == 0


class _LoadOnly(Importer):
    """An importer for ``calibrate --from`` only."""


class _LoadOnlyPlugin:
    @staticmethod
    @hookimpl
    def register_importers(register: Register) -> None:
        register("load-only", _LoadOnly)


def test_an_importer_without_suites_says_so(tmp_path: Path, register_plugin: Callable[[Any, str], Any]) -> None:
    register_plugin(_LoadOnlyPlugin, "load-only-importer")
    result = CliRunner().invoke(build_cli(), ["import", "load-only", str(tmp_path), "-o", str(tmp_path / "o")])
    assert result.exit_code == 2 and "writes no suites" in result.output
