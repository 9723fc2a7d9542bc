"""PaperBench rubric trees: reading them, and the human-graded root scores recomputed from the leaves.

The expected root score of each graded paper is the ``score`` the PaperBench authors stored
at the root of ``judge_eval/<paper>/0/grading/expected_result.json``; the test recomputes it
(and every inner node's) from the 0/1 leaf grades alone.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rubrictest_importers.paperbench import (
    Node,
    category_counts,
    find_graded,
    find_rubrics,
    read_tree,
    score_tree,
    sibling_keys,
)

from rubrictest import ImporterError

from ..helpers.paths import EXCERPTS

GRADED_EXCERPT = EXCERPTS / "paperbench/data/judge_eval/semantic-self-consistency/0/grading/expected_result.json"
PAPERS = ("all-in-one", "pinn", "rice", "semantic-self-consistency", "stay-on-topic-with-classifier-free-guidance")


def _recorded_scores(tree: Node) -> dict[tuple[int, ...], float]:
    return {node.path: node.score for node in tree.walk() if node.score is not None}


def _assert_scores_recomputed(tree: Node) -> None:
    recomputed = score_tree(tree, {leaf.path: leaf.score for leaf in tree.leaves() if leaf.score is not None})
    recorded = _recorded_scores(tree)
    assert set(recomputed) == set(recorded)
    worst = max(abs(recomputed[p] - recorded[p]) for p in recorded)
    assert worst < 1e-9, f"an inner node differs from its recorded score by {worst}"


def test_excerpt_tree_is_read_and_rescored() -> None:
    tree = read_tree(GRADED_EXCERPT)
    assert tree.score is not None and tree.valid
    assert category_counts(tree) == {"Code Development": 50, "Code Execution": 23, "Result Analysis": 6}
    assert all(leaf.score in (0.0, 1.0) for leaf in tree.leaves())
    root = json.loads(GRADED_EXCERPT.read_text(encoding="utf-8"))["score"]
    assert score_tree(tree)[()] == pytest.approx(root, abs=1e-12)
    _assert_scores_recomputed(tree)


def test_find_graded_names_examples_by_paper_and_run() -> None:
    assert find_graded(EXCERPTS / "paperbench") == {"semantic-self-consistency/0": GRADED_EXCERPT}
    assert list(find_graded(GRADED_EXCERPT.parents[1])) == ["semantic-self-consistency/0"]


@pytest.mark.parametrize("paper", PAPERS)
def test_human_graded_root_scores_reproduced(paperbench_dir: Path, paper: str) -> None:
    """(a) Each graded paper's root score, from its leaf grades, equals the published root score."""
    file = paperbench_dir / "data" / "judge_eval" / paper / "0" / "grading" / "expected_result.json"
    published_root = json.loads(file.read_text(encoding="utf-8"))["score"]
    tree = read_tree(file)
    assert score_tree(tree)[()] == pytest.approx(published_root, abs=1e-9)
    _assert_scores_recomputed(tree)


def test_the_five_graded_examples_and_their_leaves(paperbench_dir: Path) -> None:
    graded = find_graded(paperbench_dir)
    assert sorted(graded) == [f"{p}/0" for p in PAPERS]
    trees = [read_tree(f) for f in graded.values()]
    # The published judge tables pool these leaves: accuracy x count is a whole number for them
    # (test_paperbench_judge_eval checks that against the tables).
    assert sum(sum(category_counts(t).values()) for t in trees) == 2693


def test_every_rubric_reads(paperbench_dir: Path) -> None:
    rubrics = {paper: read_tree(f) for paper, f in find_rubrics(paperbench_dir / "data" / "papers").items()}
    assert len(rubrics) == 10
    assert all(node.score is None for tree in rubrics.values() for node in tree.walk())
    leaves = {paper: sum(1 for _ in tree.leaves()) for paper, tree in rubrics.items()}
    assert min(leaves.values()) == 69 and max(leaves.values()) == 361
    assert all(leaf.category for tree in rubrics.values() for leaf in tree.leaves())


def test_siblings_sharing_an_id_get_distinct_keys(paperbench_dir: Path) -> None:
    tree = read_tree(paperbench_dir / "data" / "papers" / "bridging-data-gaps" / "rubric.json")
    repeated = 0
    for node in tree.walk():
        keys = sibling_keys(node)
        assert len(set(keys)) == len(keys)
        repeated += sum(key.endswith("-2") for key in keys)
    assert repeated == 3


# ----------------------------------------------------------------------------- bad input


def _node(**overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "id": "leaf",
        "requirements": "r",
        "weight": 1,
        "sub_tasks": [],
        "task_category": "Code Development",
        "score": 1.0,
        "valid_score": True,
    }
    return {**base, **overrides}


def _root(*children: dict[str, object]) -> dict[str, object]:
    return _node(id="root", task_category=None, sub_tasks=list(children))


@pytest.mark.parametrize(
    ("tree", "message"),
    [
        (_root(_node(), _node(id="bad", weight=0)), "node sub_tasks[1] (id 'bad'): weight: expected a positive number"),
        (
            _root(_root(_node()) | {"id": "x", "task_category": "Code Execution"}),
            "node sub_tasks[0] (id 'x'): an inner node cannot have a task_category",
        ),
        (_root(_node(score=1.5)), "node sub_tasks[0] (id 'leaf'): score: expected a number in [0, 1]"),
        (
            _root({"id": "nosub", "requirements": "r", "weight": 1}),
            "node sub_tasks[0] (id 'nosub'): missing key 'sub_tasks'",
        ),
        (_root(_node(valid_score="yes")), "valid_score: expected true or false"),
        ([], "node root: expected an object"),
    ],
)
def test_invalid_trees_name_the_file_and_node(tmp_path: Path, tree: object, message: str) -> None:
    file = tmp_path / "expected_result.json"
    file.write_text(json.dumps(tree), encoding="utf-8")
    with pytest.raises(ImporterError) as info:
        read_tree(file, graded=True)
    assert str(info.value).startswith(f"{file}: ")
    assert message in str(info.value)


def test_truncated_file_says_so(tmp_path: Path) -> None:
    file = tmp_path / "expected_result.json"
    text = GRADED_EXCERPT.read_text(encoding="utf-8")
    file.write_text(text[: len(text) // 2], encoding="utf-8")
    with pytest.raises(ImporterError, match=r"expected_result\.json:\d+: invalid JSON: .*truncated"):
        read_tree(file)


def test_wrong_directory_is_named(tmp_path: Path) -> None:
    with pytest.raises(ImporterError, match=f"{tmp_path}: not a PaperBench judge_eval directory"):
        find_graded(tmp_path)
    with pytest.raises(ImporterError, match="does not exist"):
        find_graded(tmp_path / "missing")
    with pytest.raises(ImporterError, match=f"{tmp_path}: not a PaperBench papers directory"):
        find_rubrics(tmp_path)
