"""The ``relative`` aggregator: a response scored against a reference response, as RACE
(DeepResearch Bench) scores a report, target / (target + reference).

A case under ``aggregator: relative`` has a rubric tree whose top level is exactly two nodes,
``target`` and ``reference``, holding the same criteria (the same ids below them, the same
weights): every criterion is judged once for the response under test and once for the
reference response. Each side is scored the standard way (:func:`rubrictest.score_tree`: a
node is the weighted mean of its children, a leaf on a scale its normalised level), and

    score = T / (T + R)          (0 when both are 0)

with T and R the two sides' scores. Every inner node below ``target`` is shown with its own
relative score t / (t + r) against its twin below ``reference`` (RACE's per-dimension figures),
with both raw scores in its ``detail``; the nodes below ``reference`` keep their raw scores.
A score of 0.5 means "as good as the reference". The case passes when the score reaches the
case ``threshold`` and no ``must`` node or leaf failed on the target side (without a threshold:
when every target-side criterion passes; the reference side never fails a case).

Because a normalised level is the level divided by the scale's span, the ratio is the same
as RACE's over raw 0-10 scores: ``relative`` reproduces ``race_scores`` of
:mod:`rubrictest_importers.deepresearch` exactly.
"""

from __future__ import annotations

from collections.abc import Sequence

from rubrictest import (
    Aggregator,
    Case,
    CaseScore,
    ConfigError,
    Criterion,
    NodeScore,
    Verdict,
    score_tree,
)

TARGET, REFERENCE = "target", "reference"


def _ratio(target: float, reference: float) -> float:
    return target / (target + reference) if target + reference > 0 else 0.0


def _structure(case: Case, side: str) -> dict[str, float]:
    """Every node and leaf below ``side``, by its path below it, with its weight."""
    out: dict[str, float] = {}
    prefix = side + "."
    for node in case.nodes:
        if node.id.startswith(prefix):
            out[node.id[len(prefix) :]] = node.weight
    for crit in case.criteria:
        if crit.id.startswith(prefix):
            out[crit.id[len(prefix) :]] = crit.points
    return out


def check_case(case: Case) -> None:
    """Raise :class:`rubrictest.ConfigError` unless ``case``'s top level is exactly the nodes
    ``target`` and ``reference`` with the same criteria and weights below them."""
    top = sorted(n.id for n in case.nodes if n.parent is None)
    loose = [c.id for c in case.criteria if c.parent is None]
    if top != sorted((TARGET, REFERENCE)) or loose:
        found = ", ".join([*top, *loose]) or "nothing"
        raise ConfigError(
            f"case {case.id!r}: the relative aggregator needs a rubric tree whose top level is "
            f"exactly `{TARGET}` and `{REFERENCE}` (found {found})"
        )
    target, reference = _structure(case, TARGET), _structure(case, REFERENCE)
    if target != reference:
        differ = sorted(set(target) ^ set(reference)) or sorted(k for k in target if target[k] != reference[k])
        raise ConfigError(
            f"case {case.id!r}: `{TARGET}` and `{REFERENCE}` must hold the same criteria with the "
            f"same weights; they differ at {', '.join(differ[:5])}"
        )


class RelativeAggregator(Aggregator):
    """target / (target + reference), side by side down the tree (see the module docstring)."""

    name = "relative"

    def aggregate(self, case: Case, results: Sequence[tuple[Criterion, Verdict]], threshold: float | None) -> CaseScore:
        check_case(case)
        tree = score_tree(case, {c.id: v for c, v in results})
        nodes = dict(tree.nodes)
        t, r = nodes[TARGET].score, nodes[REFERENCE].score
        if t is None or r is None:  # the engine makes a case with an ERROR verdict ERROR first
            return CaseScore(None, False, "a verdict is missing", nodes)
        for node_id, node in tree.nodes.items():
            if node_id == TARGET or node_id.startswith(TARGET + "."):
                twin = tree.nodes[REFERENCE + node_id[len(TARGET) :]]
                if node.score is not None and twin.score is not None:
                    nodes[node_id] = NodeScore(
                        node_id,
                        _ratio(node.score, twin.score),
                        node.passed,
                        node.leaves,
                        {TARGET: node.score, REFERENCE: twin.score},
                    )
        score = _ratio(t, r)
        failed = [m for m in tree.failed_musts if m == TARGET or m.startswith(TARGET + ".")]
        if failed:
            return CaseScore(score, False, f"hard rule failed: {', '.join(failed)}", nodes)
        if threshold is not None and score < threshold:
            return CaseScore(
                score,
                False,
                f"relative score {score:.3f} < threshold {threshold:g} (target {t:.3f}, reference {r:.3f})",
                nodes,
            )
        missed = [f for f in tree.failed if f.startswith(TARGET + ".")]
        if threshold is None and missed:
            return CaseScore(score, False, f"a criterion failed: {', '.join(missed[:5])}", nodes)
        return CaseScore(score, True, nodes=nodes)
