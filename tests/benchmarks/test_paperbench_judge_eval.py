"""PaperBench's judge evaluation reproduced: a judge's leaf grades against the human grades.

Published figures are read from ``experiments/judge_eval/tables/*.csv`` of the PaperBench
release: ``perf_table.csv`` (macro F1 by judge, overall and per category, with the
``Random Baseline`` row) and ``metrics_table_<judge>.csv`` (accuracy, precision, recall, F1).
"""

from __future__ import annotations

import json
import random
import statistics
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from rubrictest_importers.paperbench import Node, find_graded, read_tree
from rubrictest_importers.paperbench_eval import (
    OVERALL,
    LeafGrade,
    Metrics,
    compute_metrics,
    judge_eval,
    leaf_grades,
    random_judge,
    read_published,
    regrade,
)

from rubrictest import ImporterError
from rubrictest.cli.commands.calibrate import command as calibrate

from ..helpers.paths import EXCERPTS

GROUPS = (OVERALL, "Code Development", "Code Execution", "Result Analysis")
EXCERPT = EXCERPTS / "paperbench"
#: Seeds of the random judge: enough for the mean and spread of its F1 to be stable to ~0.002.
SEEDS = 40


def _human(root: Path) -> dict[str, Node]:
    return {k: read_tree(f, graded=True) for k, f in find_graded(root).items()}


def _figures(judged: dict[str, Node], expected: dict[str, Node]) -> dict[str, Metrics | None]:
    return judge_eval(g for k in sorted(judged) for g in leaf_grades(judged[k], expected[k], k))


def test_macro_averaged_over_both_classes() -> None:
    """PaperBench's F1 is sklearn's macro average over grades 0 and 1, not the F1 of grade 1."""
    m = compute_metrics([1, 1, 0, 0], [1, 0, 0, 0])
    assert m is not None
    # grade 1: P 1, R 1/2, F1 2/3; grade 0: P 2/3, R 1, F1 4/5
    assert (m.accuracy, m.precision, m.recall) == pytest.approx((0.75, 5 / 6, 0.75))
    assert m.f1 == pytest.approx((2 / 3 + 4 / 5) / 2)
    assert (m.num_positives, m.num_negatives, m.num_samples) == (2, 2, 4)
    assert compute_metrics([], []) is None


def test_perfect_judge_on_the_excerpt() -> None:
    expected = _human(EXCERPT)
    figures = _figures(expected, expected)
    for group in GROUPS:
        m = figures[group]
        assert m is not None and (m.accuracy, m.precision, m.recall, m.f1) == (1.0, 1.0, 1.0, 1.0)


def test_perfect_judge_scores_one_everywhere(paperbench_dir: Path) -> None:
    """(b) The human grades judged against themselves: every figure is 1, over all 2,693 leaves."""
    expected = _human(paperbench_dir / "data" / "judge_eval")
    figures = _figures(expected, expected)
    assert figures[OVERALL] is not None and figures[OVERALL].num_samples == 2693
    for group in GROUPS:
        m = figures[group]
        assert m is not None and (m.accuracy, m.precision, m.recall, m.f1) == (1.0, 1.0, 1.0, 1.0)


def test_random_judge_reproduces_the_published_baseline(paperbench_dir: Path) -> None:
    """(b) The published ``Random Baseline`` row (macro F1 0.5040 overall) lies within the spread
    of a seeded random judge's figures: within 3 standard deviations of their mean, in every
    column."""
    published = read_published(paperbench_dir / "experiments/judge_eval/tables/perf_table.csv")["Random Baseline"]
    expected = _human(paperbench_dir / "data" / "judge_eval")
    f1: dict[str, list[float]] = {group: [] for group in GROUPS}
    for seed in range(SEEDS):
        rng = random.Random(seed)
        judged = {k: random_judge(t, rng) for k, t in sorted(expected.items())}
        for group, m in _figures(judged, expected).items():
            assert m is not None
            f1[group].append(m.f1)
    for group in GROUPS:
        mean, sd = statistics.mean(f1[group]), statistics.stdev(f1[group])
        assert abs(published[group] - mean) <= 3 * sd, (group, published[group], mean, sd)
    # The spread is that of one run over 2,693 leaves (about 0.01), not an artefact of few seeds.
    assert 0.005 < statistics.stdev(f1[OVERALL]) < 0.02


def test_random_judge_is_seeded() -> None:
    tree = _human(EXCERPT)["semantic-self-consistency/0"]
    a, b = random_judge(tree, random.Random(7)), random_judge(tree, random.Random(7))
    assert [leaf.score for leaf in a.leaves()] == [leaf.score for leaf in b.leaves()]
    assert {leaf.score for leaf in a.leaves()} == {0.0, 1.0}


def test_published_tables_pool_the_leaves_we_read(paperbench_dir: Path) -> None:
    """A judge that graded every leaf has accuracy = correct / leaves: a whole number of correct
    leaves for the leaf counts our reader finds (2,693 overall, 516 / 2,100 / 77 per category)."""
    expected = _human(paperbench_dir / "data" / "judge_eval")
    figures = _figures(expected, expected)
    counts = {group: m.num_samples for group, m in figures.items() if m is not None}
    assert counts == {OVERALL: 2693, "Code Development": 516, "Code Execution": 2100, "Result Analysis": 77}
    tables = sorted((paperbench_dir / "experiments/judge_eval/tables").glob("metrics_table_*.csv"))
    whole = 0
    for table in tables:
        rows = read_published(table)
        correct = {group: rows[group]["accuracy"] * counts[group] for group in GROUPS}
        if all(abs(c - round(c)) < 1e-6 for c in correct.values()):
            whole += 1
    # o1-mini's run left some leaves without a valid grade (left out, as PaperBench does): its
    # accuracy 0.80704 is 1903/2358. Every other published judge graded all 2,693 leaves.
    assert (len(tables), whole) == (5, 4)


def test_invalid_subtrees_are_left_out() -> None:
    leaf = {"requirements": "r", "weight": 1, "sub_tasks": [], "task_category": "Code Development", "valid_score": True}
    human = {
        "id": "root",
        "requirements": "r",
        "weight": 1,
        "score": 0.5,
        "valid_score": True,
        "sub_tasks": [{**leaf, "id": "a", "score": 1.0}, {**leaf, "id": "b", "score": 0.0}],
    }
    judged = json.loads(json.dumps(human))
    judged["sub_tasks"][1].update(valid_score=False, score=1.0)
    from rubrictest_importers.paperbench import tree_from_json

    grades = leaf_grades(tree_from_json(judged, Path("judged.json")), tree_from_json(human, Path("h.json")), "x/0")
    assert grades == [LeafGrade("x/0", "a", "Code Development", 1, 1)]


def test_regrade_recomputes_inner_scores() -> None:
    tree = _human(EXCERPT)["semantic-self-consistency/0"]
    zeros = regrade(tree, {leaf.path: 0.0 for leaf in tree.leaves()})
    assert all(node.score == 0.0 for node in zeros.walk())


# ----------------------------------------------------------------------------- calibrate


def _calibrate(*args: str) -> dict[str, Any]:
    result = CliRunner().invoke(calibrate, ["--from", "paperbench", *args, "--resamples", "0", "--json"])
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.output)
    return data


def test_calibrate_with_baseline_judges() -> None:
    judge_eval_dir = str(EXCERPT / "data" / "judge_eval")
    human = _calibrate(judge_eval_dir, "-o", "judge=human")
    table = human["tables"]["paperbench_judge_eval"]
    assert isinstance(table, dict) and table[OVERALL]["f1"] == 1.0 and table[OVERALL]["num_samples"] == 79
    randomly = _calibrate(judge_eval_dir, "-o", "judge=random", "-o", "seed=3")
    expected = _human(EXCERPT)
    direct = _figures({k: random_judge(t, random.Random(3)) for k, t in sorted(expected.items())}, expected)
    assert randomly["judge"] == "random (seed 3)"
    table = randomly["tables"]["paperbench_judge_eval"]
    assert isinstance(table, dict) and direct[OVERALL] is not None
    assert table[OVERALL]["f1"] == pytest.approx(direct[OVERALL].f1)
    pointwise = randomly["pointwise"]
    assert isinstance(pointwise, dict) and pointwise["overall"]["n"] == 79
    assert set(pointwise["by_tag"]) == {"Code Development", "Code Execution", "Result Analysis"}
    assert "by_criterion" not in pointwise  # every leaf is one case's: a group per leaf says nothing


def test_calibrate_prints_paperbench_table_first() -> None:
    run = CliRunner().invoke(calibrate, ["--from", "paperbench", str(EXCERPT), "-o", "judge=human", "--resamples", "0"])
    assert run.exit_code == 0, run.output
    lines = run.output.splitlines()
    assert lines[2] == "paperbench_judge_eval:"
    assert lines[3].split() == [
        "group",
        "accuracy",
        "precision",
        "recall",
        "f1",
        "num_positives",
        "num_negatives",
        "num_samples",
    ]
    assert lines[5].split()[:5] == ["Overall", "1.000", "1.000", "1.000", "1.000"]
    assert "per criterion:" not in run.output and "per tag:" in run.output


def test_calibrate_reads_a_judge_eval_results_file(tmp_path: Path) -> None:
    """PaperBench's ``run_judge_eval`` output: a judge that flipped one leaf grade."""
    raw = json.loads(
        (EXCERPT / "data/judge_eval/semantic-self-consistency/0/grading/expected_result.json").read_text(
            encoding="utf-8"
        )
    )
    node = raw
    while node["sub_tasks"]:
        node = node["sub_tasks"][0]
    node["score"] = 1.0 - node["score"]
    results = tmp_path / "results.json"
    results.write_text(
        json.dumps({"results": [{"example_id": "semantic-self-consistency/0", "graded_task_tree": raw}]}),
        encoding="utf-8",
    )
    data = _calibrate(str(results), "-o", f"expected={EXCERPT}")
    table = data["tables"]["paperbench_judge_eval"]
    assert isinstance(table, dict) and table[OVERALL]["accuracy"] == pytest.approx(78 / 79)
    assert 0 < table[OVERALL]["f1"] < 1


def test_calibrate_bad_input_is_one_message(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    results.write_text(json.dumps({"results": [{"example_id": "nope/0", "graded_task_tree": {}}]}), encoding="utf-8")
    run = CliRunner().invoke(calibrate, ["--from", "paperbench", str(results), "-o", f"expected={EXCERPT}"])
    assert run.exit_code != 0 and "Traceback" not in run.output
    assert f"{results}: node root: missing key 'id'" in run.output
    run = CliRunner().invoke(calibrate, ["--from", "paperbench", str(results)])
    assert run.exit_code != 0 and f"{results}: give the human grades with -o expected=" in run.output
    run = CliRunner().invoke(calibrate, ["--from", "paperbench", str(tmp_path)])
    assert run.exit_code != 0 and f"{tmp_path}: not a PaperBench judge_eval directory" in run.output
    run = CliRunner().invoke(calibrate, ["--from", "paperbench", str(EXCERPT), "-o", "judge=oracle"])
    assert run.exit_code != 0 and "judge='oracle': expected random or human" in run.output


def test_leaf_grade_must_be_binary() -> None:
    tree = _human(EXCERPT)["semantic-self-consistency/0"]
    half = regrade(tree, {leaf.path: 0.5 for leaf in tree.leaves()})
    with pytest.raises(ImporterError, match=r"semantic-self-consistency/0: leaf sub_tasks\[0\].*judge's score 0.5"):
        leaf_grades(half, tree, "semantic-self-consistency/0")
