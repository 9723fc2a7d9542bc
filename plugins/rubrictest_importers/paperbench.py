"""PaperBench (openai/preparedness, ``project/paperbench``): hierarchical weighted rubric trees.

A rubric (``data/papers/<paper>/rubric.json``) is a tree of requirements; every node has an
``id``, ``requirements``, a positive ``weight`` and ``sub_tasks``; leaves carry a
``task_category`` (Code Development, Code Execution, Result Analysis). A graded tree
(``data/judge_eval/<paper>/<n>/grading/expected_result.json``, or a judge's output) adds
``score``, ``valid_score`` and ``explanation`` to every node: a leaf scores 0 or 1, an inner
node the weighted mean of its children, exactly as PaperBench's
``paperbench.judge.graded_task_node.score_from_children`` computes it.

:func:`read_tree` reads either kind and checks it as PaperBench's ``TaskNode`` does (positive
weights, no category on an inner node), with messages naming the file and the node's place
in the tree. :func:`score_tree` recomputes every node's score from the leaves.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ._common import ImporterError, load_json, require_dir

#: The leaf categories PaperBench's published judge-evaluation tables break scores down by.
CATEGORIES = ("Code Development", "Code Execution", "Result Analysis")


@dataclass(frozen=True)
class Node:
    """One node of a PaperBench rubric tree.

    Attributes:
        id: the node's id (a UUID in the released rubrics; siblings may share one).
        requirements: what the node asks for.
        weight: its weight among its siblings (positive).
        children: its sub-tasks, in file order.
        category: ``task_category`` (leaves only).
        fine_category: ``finegrained_task_category`` (rubric.json leaves).
        score: the recorded score of a graded tree (``None`` in a rubric).
        valid: the recorded ``valid_score`` of a graded tree (``None`` in a rubric).
        explanation: the grader's explanation of a graded tree.
        path: child indices from the root (``()`` for the root).
    """

    id: str
    requirements: str
    weight: float
    children: tuple[Node, ...] = ()
    category: str | None = None
    fine_category: str | None = None
    score: float | None = None
    valid: bool | None = None
    explanation: str | None = None
    path: tuple[int, ...] = ()

    @property
    def is_leaf(self) -> bool:
        """Whether the node has no sub-tasks."""
        return not self.children

    def walk(self) -> Iterator[Node]:
        """This node and every descendant, depth first, parents before children."""
        yield self
        for child in self.children:
            yield from child.walk()

    def leaves(self) -> Iterator[Node]:
        """The leaves under this node (itself if it is one), depth first."""
        return (node for node in self.walk() if node.is_leaf)

    def find(self, node_id: str) -> Node | None:
        """The first node with ``node_id``, depth first (PaperBench's ``TaskNode.find``)."""
        return next((node for node in self.walk() if node.id == node_id), None)


def place(path: tuple[int, ...]) -> str:
    """A node's place in the tree for messages: ``root`` or ``sub_tasks[2].sub_tasks[0]``."""
    return ".".join(f"sub_tasks[{i}]" for i in path) or "root"


def _where(file: Path, path: tuple[int, ...], node_id: Any = None) -> str:
    named = f" (id {node_id!r})" if isinstance(node_id, str) else ""
    return f"{file}: node {place(path)}{named}"


def _read_node(data: Any, file: Path, path: tuple[int, ...], graded: bool) -> Node:
    if not isinstance(data, dict):
        raise ImporterError(f"{_where(file, path)}: expected an object, got {type(data).__name__}")
    where = _where(file, path, data.get("id"))
    for key in ("id", "requirements", "weight", "sub_tasks"):
        if key not in data:
            raise ImporterError(f"{where}: missing key {key!r}")
    node_id, weight, subs = data["id"], data["weight"], data["sub_tasks"]
    if not isinstance(node_id, str) or not node_id:
        raise ImporterError(f"{where}: id: expected a non-empty string, got {node_id!r}")
    if not isinstance(data["requirements"], str):
        raise ImporterError(f"{where}: requirements: expected a string")
    if isinstance(weight, bool) or not isinstance(weight, int | float) or weight <= 0:
        raise ImporterError(f"{where}: weight: expected a positive number, got {weight!r}")
    if not isinstance(subs, list):
        raise ImporterError(f"{where}: sub_tasks: expected a list, got {type(subs).__name__}")
    category = data.get("task_category")
    if category is not None and not isinstance(category, str):
        raise ImporterError(f"{where}: task_category: expected a string or null, got {category!r}")
    if subs and category:
        raise ImporterError(f"{where}: an inner node cannot have a task_category ({category!r})")
    children = tuple(_read_node(child, file, (*path, i), graded) for i, child in enumerate(subs))
    fine = data.get("finegrained_task_category")
    node = Node(
        id=node_id,
        requirements=data["requirements"],
        weight=float(weight),
        children=children,
        category=category,
        fine_category=fine if isinstance(fine, str) else None,
        path=path,
    )
    return _with_grade(node, data, where) if graded else node


def _with_grade(node: Node, data: dict[str, Any], where: str) -> Node:
    for key in ("score", "valid_score"):
        if key not in data:
            raise ImporterError(f"{where}: missing key {key!r} (a graded tree has a score on every node)")
    score, valid = data["score"], data["valid_score"]
    if isinstance(score, bool) or not isinstance(score, int | float) or not 0 <= score <= 1:
        raise ImporterError(f"{where}: score: expected a number in [0, 1], got {score!r}")
    # PaperBench tests it for truth; some released trees write it as 1.0.
    if valid not in (True, False, 0, 1):
        raise ImporterError(f"{where}: valid_score: expected true or false, got {valid!r}")
    explanation = data.get("explanation")
    return replace(
        node, score=float(score), valid=bool(valid), explanation=explanation if isinstance(explanation, str) else None
    )


def tree_from_json(data: Any, file: Path, *, graded: bool | None = None) -> Node:
    """A tree from its parsed JSON (``file`` names it in messages).

    Args:
        data: the root object.
        file: where it came from.
        graded: require (``True``) or ignore (``False``) scores; ``None``: graded when the
            root has a ``score``.
    """
    if graded is None:
        graded = isinstance(data, dict) and "score" in data
    return _read_node(data, file, (), graded)


def read_tree(file: Path, *, graded: bool | None = None) -> Node:
    """Read a ``rubric.json`` or a graded tree (``expected_result.json``, a judge's output).

    Raises:
        ImporterError: the file is missing, not JSON (or cut short), or a node is invalid;
            the message names the file and the node (``sub_tasks[1].sub_tasks[0] (id ...)``).
    """
    return tree_from_json(load_json(file), file, graded=graded)


def weighted_mean(scores: list[float], weights: list[float]) -> float:
    """Σ wᵢ·sᵢ / Σ wᵢ; 0 when the weights sum to 0 (PaperBench's ``score_from_children``)."""
    total = sum(weights)
    if total == 0:
        return 0.0
    return sum(s * w for s, w in zip(scores, weights, strict=True)) / total


def score_tree(node: Node, leaf_scores: dict[tuple[int, ...], float] | None = None) -> dict[tuple[int, ...], float]:
    """Every node's score, keyed by path, computed bottom-up from the leaves.

    Args:
        node: the (sub)tree.
        leaf_scores: the leaves' scores by path; default: the scores recorded in a graded tree.

    Raises:
        ImporterError: a leaf has no score.
    """
    out: dict[tuple[int, ...], float] = {}

    def visit(n: Node) -> float:
        if n.is_leaf:
            score = leaf_scores.get(n.path) if leaf_scores is not None else n.score
            if score is None:
                raise ImporterError(f"leaf {place(n.path)} (id {n.id!r}) has no score")
            out[n.path] = score
            return score
        scores = [visit(child) for child in n.children]
        out[n.path] = weighted_mean(scores, [child.weight for child in n.children])
        return out[n.path]

    visit(node)
    return out


def category_counts(node: Node) -> dict[str | None, int]:
    """How many leaves each ``task_category`` has."""
    return dict(Counter(leaf.category for leaf in node.leaves()))


def sibling_keys(node: Node) -> list[str]:
    """Unique keys for ``node``'s children: their ids, with ``-2``, ``-3``... added to repeats.

    Released rubrics have siblings sharing an id (three pairs in bridging-data-gaps), so an
    id alone does not name a node.
    """
    seen: Counter[str] = Counter()
    keys = []
    for child in node.children:
        seen[child.id] += 1
        keys.append(child.id if seen[child.id] == 1 else f"{child.id}-{seen[child.id]}")
    return keys


def find_graded(root: Path) -> dict[str, Path]:
    """The human-graded trees at or below ``root``, by example id (``paper/0``).

    ``root`` may be the PaperBench repository, its ``data`` or ``data/judge_eval`` folder, a
    paper's folder or one example's folder.

    Raises:
        ImporterError: ``root`` is not a directory, or holds no ``grading/expected_result.json``.
    """
    require_dir(root, "a PaperBench judge_eval folder (…/data/judge_eval) or one of its examples")
    files = sorted(root.rglob("grading/expected_result.json"))
    if not files:
        raise ImporterError(
            f"{root}: not a PaperBench judge_eval directory: no <paper>/<n>/grading/expected_result.json at or below it"
        )
    return {f"{f.parents[2].name}/{f.parents[1].name}": f for f in files}


def find_rubrics(root: Path) -> dict[str, Path]:
    """The rubrics (``<paper>/rubric.json``) at or below ``root``, by paper id.

    Raises:
        ImporterError: ``root`` is not a directory, or holds no ``rubric.json``.
    """
    require_dir(root, "a PaperBench papers folder (…/data/papers) or one paper's folder")
    files = sorted(root.rglob("rubric.json"))
    if not files:
        raise ImporterError(f"{root}: not a PaperBench papers directory: no <paper>/rubric.json at or below it")
    return {f.parent.name: f for f in files}
