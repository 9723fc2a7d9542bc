"""Rubric trees: inner nodes, and the score of every node from the verdicts on the leaves.

A criterion may hold criteria of its own (a rubric tree, as in PaperBench). Only the leaves are
judged: they are a case's :attr:`~rubrictest.Case.criteria`, each with the id of its
:attr:`~rubrictest.Criterion.parent`. The inner nodes are :attr:`~rubrictest.Case.nodes`
(:class:`RubricNode`), never judged: each scores what its children earn, and the case scores
what the top-level criteria earn.

Ids carry their path, joined by :data:`SEPARATOR`: the leaf ``impl`` under ``method`` under
``paper`` is ``paper.method.impl``, and its node id ``file::case::paper.method.impl``.

A node's score follows the ``points`` rule at every level (the case's score is the same rule
over the top level), so a flat rubric scores exactly as it always has::

    score = clip((Σ pᵢ·sᵢ) / (Σ pᵢ over children with pᵢ > 0), 0, 1)

where ``pᵢ`` is a child's weight (its ``weight``, or its ``points``; negative for a
deduction) and ``sᵢ`` its score: 1 or 0 for a met or not-met leaf, the normalised level of a
leaf graded on a scale, the score of an inner node. With no deductions this is the weighted
mean of the children, Σ wᵢ·sᵢ / Σ wᵢ.

Aggregator plugins use :func:`score_tree` to score a case the standard way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .records import Case, Criterion, Verdict

SEPARATOR = "."
"""Joins the ids along a path in a rubric tree (an id inside a tree never contains it)."""


@dataclass(frozen=True)
class RubricNode:
    """An inner node of a rubric tree: scored from its children, never judged.

    Attributes:
        id: its path from the top of the case's rubric (``paper.method``).
        text: what the node stands for (shown in reports), if written.
        weight: its weight among its siblings (>= 0).
        parent: the id of its parent node, ``None`` at the top level.
        children: the ids of its children (leaves and nodes), in the order written.
        must: a hard rule: when the subtree does not pass, the case fails.
        threshold: the subtree passes when its score reaches this; ``None``: when every leaf
            under it passes.
        tags: its tags (its leaves carry them too).
        line, source, key: where it is written.
        meta: free-form provenance (not scored).
    """

    id: str
    text: str | None = None
    weight: float = 1.0
    parent: str | None = None
    children: tuple[str, ...] = ()
    must: bool = False
    threshold: float | None = None
    tags: tuple[str, ...] = ()
    line: int | None = None
    source: str | None = None
    key: str | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The last part of its id."""
        return self.id.rsplit(SEPARATOR, 1)[-1] if self.parent is not None else self.id

    @property
    def description(self) -> str:
        """Its text, else its id."""
        return self.text or self.id


@dataclass(frozen=True)
class NodeScore:
    """The score of one inner node in one case run.

    Attributes:
        id: the node's id.
        score: in [0, 1]; ``None`` when a leaf under it has no verdict (ERROR).
        passed: whether the subtree passes (see :attr:`RubricNode.threshold`); ``None`` when
            it cannot be told.
        leaves: how many leaves it has.
        detail: what an aggregator wants shown beside the score (e.g. the target's and the
            reference's raw scores of a relative aggregator).
    """

    id: str
    score: float | None
    passed: bool | None
    leaves: int = 0
    detail: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class TreeScore:
    """A case scored by :func:`score_tree`.

    Attributes:
        score: the case's score (the root's), ``None`` when a verdict is missing.
        nodes: the score of every inner node, by id.
        failed_musts: ids of the ``must`` leaves and subtrees that did not pass, in tree order.
        failed: ids of the leaves that did not pass.
    """

    score: float | None
    nodes: dict[str, NodeScore]
    failed_musts: list[str]
    failed: list[str]


def leaf_score(criterion: Criterion, verdict: Verdict) -> float | None:
    """A judged leaf's score in [0, 1]: 1 when met and 0 when not (for a deduction too: its
    negative weight makes it subtract), the verdict's normalised level on a scale; ``None``
    for an error."""
    if verdict.outcome == "error":
        return None
    if criterion.scale is not None:
        return verdict.score
    return 1.0 if verdict.outcome == "met" else 0.0


def combine(parts: Sequence[tuple[float, float | None]], *, empty: float | None = None) -> float | None:
    """The points rule over ``(points, score)`` pairs: clip(Σ p·s / Σ positive p, 0, 1).

    Args:
        parts: each child's weight (negative for a deduction) and score (``None``: unknown).
        empty: the score when no child has a positive weight (the top level of a rubric of
            deductions only); ``None`` computes it from the deductions (1 when none is met).

    Returns:
        The score, or ``None`` when a child's score is unknown.
    """
    if any(s is None for _, s in parts):
        return None
    earned = sum(p * s for p, s in parts if s is not None)
    possible = sum(p for p, _ in parts if p > 0)
    if possible > 0:
        return min(1.0, max(0.0, earned / possible))
    if empty is not None:
        return empty
    return 1.0 if earned >= 0 else 0.0


def top_level(case: Case) -> tuple[str, ...]:
    """The ids of the case's top-level criteria and nodes, in the order written."""
    if case.top_level:
        return case.top_level
    return tuple(c.id for c in case.criteria if c.parent is None)


def outline(case: Case) -> list[str]:
    """Every id of the case's rubric (leaves and inner nodes) in tree order, parents first."""
    nodes = {n.id: n for n in case.nodes}
    out: list[str] = []

    def visit(node_id: str) -> None:
        out.append(node_id)
        node = nodes.get(node_id)
        if node is not None:
            for child in node.children:
                visit(child)

    for node_id in top_level(case):
        visit(node_id)
    return out


def count_leaves(case: Case) -> dict[str, int]:
    """How many leaves each inner node has."""
    nodes = {n.id: n for n in case.nodes}
    counts: dict[str, int] = {}

    def visit(node_id: str) -> int:
        node = nodes.get(node_id)
        if node is None:
            return 1
        counts[node_id] = sum(visit(c) for c in node.children)
        return counts[node_id]

    for node_id in top_level(case):
        visit(node_id)
    return counts


def score_tree(case: Case, verdicts: Mapping[str, Verdict]) -> TreeScore:
    """Score every node of ``case``'s rubric from the verdicts on its leaves.

    Args:
        case: the case (its leaves, ``criteria``, and inner ``nodes``).
        verdicts: the verdict of each leaf, by criterion id; a leaf without one, or with an
            ERROR verdict, leaves every node above it unscored (``None``).
    """
    leaves = {c.id: c for c in case.criteria}
    nodes = {n.id: n for n in case.nodes}
    counts = count_leaves(case)
    scores: dict[str, NodeScore] = {}
    failed_musts: list[str] = []
    failed: list[str] = []

    def visit(node_id: str) -> tuple[float, float | None, bool | None]:
        """(points, score, passed) of one child."""
        node = nodes.get(node_id)
        if node is None:
            crit = leaves[node_id]
            verdict = verdicts.get(node_id)
            if verdict is None or verdict.outcome == "error":
                return crit.points, None, None
            passed = crit.passes(verdict.outcome)
            if passed is False:
                failed.append(node_id)
                if crit.must:
                    failed_musts.append(node_id)
            return crit.points, leaf_score(crit, verdict), passed
        parts = [visit(child) for child in node.children]
        score = combine([(p, s) for p, s, _ in parts])
        if node.threshold is not None:
            passed_node = None if score is None else score >= node.threshold
        else:
            oks = [ok for _, _, ok in parts]
            passed_node = None if any(ok is None for ok in oks) else all(oks)
        if node.must and passed_node is False:
            failed_musts.append(node_id)
        scores[node_id] = NodeScore(node_id, score, passed_node, counts.get(node_id, 0))
        return node.weight, score, passed_node

    top = [visit(node_id) for node_id in top_level(case)]
    root = combine([(p, s) for p, s, _ in top])
    order = {node_id: i for i, node_id in enumerate(outline(case))}
    failed_musts.sort(key=lambda i: order.get(i, 0))
    failed.sort(key=lambda i: order.get(i, 0))
    return TreeScore(root, scores, failed_musts, failed)
