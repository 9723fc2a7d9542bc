"""PaperBench's judge evaluation (JudgeEval): a judge's leaf grades against the human grades.

The protocol is PaperBench's own (``paperbench/judge/judge_eval/evaluate.py`` and
``paperbench/scripts/run_judge_eval.py`` in openai/preparedness):

* for every example, walk the judge's graded tree; a node the judge marked
  ``valid_score: false`` is left out with its whole subtree; every other leaf gives one pair
  (judge's score, the human score of the expected tree's first node with the same id);
* pool the pairs of all examples, overall and per leaf ``task_category``;
* report accuracy and the **macro** average over the two classes (0 and 1) of precision,
  recall and F1, with ``zero_division=0`` -- scikit-learn's ``precision_recall_fscore_support``,
  the function PaperBench calls.

The published tables (``experiments/judge_eval/tables/*.csv``) are these figures for one run
of each judge over the five human-graded examples. :func:`random_judge` is PaperBench's
``RandomJudge`` (each leaf 0 or 1 with equal chance) with a seed.

``rubrictest calibrate --from paperbench PATH`` reads a judge's grades (PaperBench's
``results.json`` from ``run_judge_eval``, or one graded tree with ``-o example=paper/0``)
against the human grades in ``-o expected=…/data/judge_eval``; given the ``judge_eval``
folder itself it grades with a baseline judge, ``-o judge=random -o seed=N`` or
``-o judge=human`` (the human grades themselves: every figure is 1). PaperBench's table is
printed first (``tables`` in ``--json``), then calibrate's own metrics of "met" per category.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from rubrictest import ImportedData, Importer, LabelledVerdict

from ._common import ImporterError, load_json
from .paperbench import CATEGORIES, Node, find_graded, place, read_tree, score_tree, tree_from_json
from .paperbench_suites import OPTIONS as SUITE_OPTIONS
from .paperbench_suites import write_suites

OVERALL = "Overall"


@dataclass(frozen=True)
class LeafGrade:
    """One leaf graded by a judge and by the humans.

    Attributes:
        example: the example id (``paper/0``).
        leaf: the leaf's id.
        category: its ``task_category``.
        judged: the judge's grade (0 or 1).
        human: the human grade (0 or 1).
    """

    example: str
    leaf: str
    category: str | None
    judged: int
    human: int


@dataclass(frozen=True)
class Metrics:
    """PaperBench's judge figures for one group of leaves (``compute_metrics``)."""

    accuracy: float
    precision: float
    recall: float
    f1: float
    num_positives: int
    num_negatives: int
    num_samples: int


def _binary(score: float | None, example: str, node: Node, whose: str) -> int:
    if score not in (0.0, 1.0):
        raise ImporterError(
            f"{example}: leaf {place(node.path)} (id {node.id!r}): {whose} score {score!r} is not a leaf grade (0 or 1)"
        )
    return int(score)


def leaf_grades(judged: Node, expected: Node, example: str) -> list[LeafGrade]:
    """The (judge, human) grade pairs of one example, in PaperBench's order.

    Raises:
        ImporterError: a judged leaf has no node with its id in the expected tree, or a grade
            is not 0 or 1.
    """
    out: list[LeafGrade] = []
    first: dict[str, Node] = {}
    for node in expected.walk():  # the first node with an id, depth first, as TaskNode.find
        first.setdefault(node.id, node)

    def visit(node: Node) -> None:
        if not node.valid:
            return
        if not node.is_leaf:
            for child in node.children:
                visit(child)
            return
        human = first.get(node.id)
        if human is None:
            raise ImporterError(
                f"{example}: leaf {place(node.path)} (id {node.id!r}): no node with this id in the human-graded tree"
            )
        out.append(
            LeafGrade(
                example,
                node.id,
                node.category,
                _binary(node.score, example, node, "judge's"),
                _binary(human.score, example, human, "human"),
            )
        )

    visit(judged)
    return out


def compute_metrics(human: Sequence[int], judged: Sequence[int]) -> Metrics | None:
    """Accuracy and macro precision/recall/F1 (``None`` for no leaves), as PaperBench computes them."""
    if not human:
        return None
    try:
        from sklearn.metrics import accuracy_score, precision_recall_fscore_support
    except ImportError:  # pragma: no cover - the stats extra is part of dev
        raise ImporterError("PaperBench judge figures need scikit-learn: pip install 'rubrictest[stats]'") from None
    precision, recall, f1, _ = precision_recall_fscore_support(human, judged, average="macro", zero_division=0)
    positives = sum(human)
    return Metrics(
        accuracy=float(accuracy_score(human, judged)),
        precision=float(precision),
        recall=float(recall),
        f1=float(f1),
        num_positives=positives,
        num_negatives=len(human) - positives,
        num_samples=len(human),
    )


def judge_eval(grades: Iterable[LeafGrade]) -> dict[str, Metrics | None]:
    """The published table: ``Overall`` and one row per category, pooled over every example."""
    rows = list(grades)
    groups: dict[str, list[LeafGrade]] = {OVERALL: rows}
    for category in CATEGORIES:
        groups[category] = [g for g in rows if g.category == category]
    return {
        name: compute_metrics([g.human for g in group], [g.judged for g in group]) for name, group in groups.items()
    }


def regrade(tree: Node, leaf_scores: Mapping[tuple[int, ...], float]) -> Node:
    """``tree`` with new leaf scores, every inner score recomputed, every node valid."""
    scores = score_tree(tree, dict(leaf_scores))

    def rebuild(node: Node) -> Node:
        return replace(
            node, score=scores[node.path], valid=True, children=tuple(rebuild(child) for child in node.children)
        )

    return rebuild(tree)


def random_judge(tree: Node, rng: random.Random) -> Node:
    """PaperBench's ``RandomJudge``: every leaf 0 or 1 with equal chance (``rng.randint(0, 1)``)."""
    return regrade(tree, {leaf.path: float(rng.randint(0, 1)) for leaf in tree.leaves()})


def read_published(file: Path) -> dict[str, dict[str, float]]:
    """A published table: ``perf_table.csv`` (F1 by judge and category) or a
    ``metrics_table_<judge>.csv`` (accuracy/precision/recall/F1 by category).

    Returns:
        ``{row name: {column: value}}``.

    Raises:
        ImporterError: the file is missing or a value is not a number.
    """
    try:
        with file.open(encoding="utf-8", newline="") as fh:
            rows = list(csv.reader(fh))
    except OSError as exc:
        raise ImporterError(f"{file}: cannot read: {exc.strerror}") from None
    if len(rows) < 2:
        raise ImporterError(f"{file}: expected a header and at least one row")
    header, out = rows[0], {}
    for n, row in enumerate(rows[1:], 2):
        if len(row) != len(header):
            raise ImporterError(f"{file}:{n}: {len(row)} columns, the header has {len(header)}")
        try:
            out[row[0]] = {col: float(value) for col, value in zip(header[1:], row[1:], strict=True)}
        except ValueError as exc:
            raise ImporterError(f"{file}:{n}: {exc}") from None
    return out


def read_judge_results(file: Path) -> dict[str, Node]:
    """A judge's graded trees from PaperBench's ``run_judge_eval`` output (``results.json``).

    Raises:
        ImporterError: not that format, or a tree is invalid (file and node named).
    """
    data = load_json(file)
    results = data.get("results") if isinstance(data, dict) else None
    if not isinstance(results, list):
        raise ImporterError(f"{file}: not a PaperBench judge-eval results file: no `results` list")
    out: dict[str, Node] = {}
    for i, row in enumerate(results):
        if not isinstance(row, dict) or not isinstance(row.get("example_id"), str) or "graded_task_tree" not in row:
            raise ImporterError(f"{file}: results[{i}]: expected `example_id` and `graded_task_tree`")
        out[row["example_id"]] = tree_from_json(row["graded_task_tree"], file, graded=True)
    return out


def _judged_trees(path: Path, options: Mapping[str, str], expected: dict[str, Node]) -> tuple[str, dict[str, Node]]:
    judge = options.get("judge")
    if judge is not None:
        if judge == "human":
            return "human", dict(expected)
        if judge == "random":
            seed = options.get("seed", "0")
            if not seed.lstrip("-").isdigit():
                raise ImporterError(f"option seed={seed!r}: expected an integer")
            rng = random.Random(int(seed))
            return f"random (seed {seed})", {k: random_judge(t, rng) for k, t in sorted(expected.items())}
        raise ImporterError(f"option judge={judge!r}: expected random or human")
    if path.is_file() and "example" in options:
        return str(path), {options["example"]: read_tree(path, graded=True)}
    if path.is_file():
        return str(path), read_judge_results(path)
    raise ImporterError(
        f"{path}: give a judge's results.json (PaperBench run_judge_eval), a graded tree "
        "with -o example=PAPER/N, or the judge_eval folder with -o judge=random|human"
    )


class PaperBenchImporter(Importer):
    """A judge's PaperBench leaf grades against the human grades of JudgeEval."""

    options = {
        "expected": "the human-graded examples (…/data/judge_eval); default: PATH itself",
        "judge": "grade with a baseline instead of reading PATH: random or human",
        "seed": "seed of the random judge (default 0)",
        "example": "the example id (paper/0) when PATH is one graded tree",
    }

    suite_options = SUITE_OPTIONS

    def write_suites(self, path: Path, out: Path, options: Mapping[str, str]) -> list[Path]:
        """The human-graded rubric trees at or below ``path`` as suites
        (:mod:`rubrictest_importers.paperbench_suites`)."""
        return write_suites(path, out, options)

    def load(self, path: Path, options: Mapping[str, str]) -> ImportedData:
        if "expected" not in options and not path.is_dir():
            raise ImporterError(
                f"{path}: give the human grades with -o expected=…/data/judge_eval (PATH is a judge's grades)"
            )
        expected_dir = Path(options.get("expected", path))
        expected = {k: read_tree(f, graded=True) for k, f in find_graded(expected_dir).items()}
        name, judged = _judged_trees(path, options, expected)
        grades: list[LeafGrade] = []
        for example, tree in sorted(judged.items()):
            if example not in expected:
                raise ImporterError(
                    f"{path}: example {example!r} has no human grades in {expected_dir} "
                    f"(it has {', '.join(sorted(expected))})"
                )
            grades.extend(leaf_grades(tree, expected[example], example))
        table = {group: (asdict(m) if m else None) for group, m in judge_eval(grades).items()}
        rows = [
            LabelledVerdict(
                case=g.example,
                criterion=g.leaf,
                judged_met=g.judged == 1,
                gold_met=g.human == 1,
                tags=(g.category,) if g.category else (),
            )
            for g in grades
        ]
        return ImportedData(
            pointwise=rows,
            source=str(path),
            by_criterion=False,
            details={
                "importer": "paperbench",
                "judge": name,
                "examples": sorted(judged),
                "tables": {"paperbench_judge_eval": table},
            },
        )
