"""PaperBench's human-graded rubric trees as suites (``rubrictest import paperbench``).

Each graded example (``data/judge_eval/<paper>/<n>/grading/expected_result.json``) becomes one
case of the suite ``paperbench-<paper>``, whose criteria mirror the rubric tree: every inner
node a criterion with ``criteria``, every leaf a judged criterion, each with PaperBench's
``weight``; a leaf's ``task_category`` becomes a tag (``code-development``...), so reports break
scores down by category. The human grades become a ``recorded`` judge (``grades.jsonl``):
running the suite stores, as the case score, the root score PaperBench computes from them.

Ids: a node's id is the first 8 characters of its PaperBench UUID (the whole id when it is not
a UUID, slugged), with ``-2``, ``-3``... added to siblings that would share one; leaf ids join
the path with '.' (``2f1c0a9e.77b0c3d1``). The full UUID is kept in the node's ``meta``. The
root's children are the case's top-level criteria, so the case score is the root's score.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rubrictest import ImporterError, write_jsonl, write_suite

from .paperbench import Node, find_graded, place, read_tree

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_NOT_ID = re.compile(r"[^A-Za-z0-9_-]+")

OPTIONS = {
    "threshold": "the case's pass mark on the root score (default 0: PaperBench has none; the score is stored)",
    "rationales": "keep the graders' explanations as recorded rationales: yes (default) or no",
}


def short_id(node_id: str) -> str:
    """A node's id in a suite: a UUID's first 8 characters, else the id slugged (at most 40)."""
    if _UUID.fullmatch(node_id):
        return node_id[:8].lower()
    return _NOT_ID.sub("-", node_id).strip("-")[:40] or "node"


def child_ids(node: Node) -> list[str]:
    """Ids for ``node``'s children, unique among them (``-2``, ``-3``... on repeats)."""
    seen: Counter[str] = Counter()
    out = []
    for child in node.children:
        base = short_id(child.id)
        seen[base] += 1
        key = base if seen[base] == 1 else f"{base}-{seen[base]}"
        while key in out:  # a later sibling's own id may already be "<base>-2"
            seen[base] += 1
            key = f"{base}-{seen[base]}"
        out.append(key)
    return out


def _tag(category: str) -> str:
    return _NOT_ID.sub("-", category.lower()).strip("-")


def _criterion(
    node: Node, local: str, path: str, grades: list[dict[str, Any]], case: str, rationales: bool, file: Path
) -> dict[str, Any]:
    meta: dict[str, Any] = {"paperbench_id": node.id}
    out: dict[str, Any] = {"id": local, "text": node.requirements.strip() or f"(node {node.id})", "weight": node.weight}
    if node.is_leaf:
        if node.score not in (0.0, 1.0):
            raise ImporterError(
                f"{file}: node {place(node.path)} (id {node.id!r}): a leaf's human grade is "
                f"{node.score!r}; expected 0 or 1"
            )
        if node.category:
            out["tags"] = [_tag(node.category)]
            meta["task_category"] = node.category
        if node.fine_category:
            meta["finegrained_task_category"] = node.fine_category
        row: dict[str, Any] = {"case": case, "criterion": path, "met": node.score == 1.0}
        if rationales and node.explanation:
            row["rationale"] = node.explanation
        grades.append(row)
    out["meta"] = meta
    if not node.is_leaf:
        out["criteria"] = [
            _criterion(child, cid, f"{path}.{cid}", grades, case, rationales, file)
            for child, cid in zip(node.children, child_ids(node), strict=True)
        ]
    return out


def _threshold(options: Mapping[str, str]) -> float:
    raw = options.get("threshold", "0")
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 1:
        raise ImporterError(f"option threshold={raw!r}: expected a number in [0, 1]")
    return value


def _flag(options: Mapping[str, str], key: str) -> bool:
    raw = options.get(key, "yes").lower()
    if raw not in ("yes", "no"):
        raise ImporterError(f"option {key}={options[key]!r}: expected yes or no")
    return raw == "yes"


def write_suites(source: Path, out: Path, options: Mapping[str, str]) -> list[Path]:
    """One suite per paper with graded examples at or below ``source`` (see the module doc)."""
    threshold, rationales = _threshold(options), _flag(options, "rationales")
    by_paper: dict[str, list[tuple[str, Path]]] = {}
    for example, file in find_graded(source).items():
        paper, n = example.split("/")
        by_paper.setdefault(paper, []).append((n, file))
    written = []
    for paper, examples in sorted(by_paper.items()):
        slug = _tag(paper)
        cases: list[dict[str, Any]] = []
        grades: list[dict[str, Any]] = []
        for n, file in examples:
            tree = read_tree(file, graded=True)
            case = f"{slug}-{_tag(n)}"
            if tree.is_leaf:
                raise ImporterError(f"{file}: the rubric's root has no sub_tasks: nothing to grade")
            cases.append(
                {
                    "id": case,
                    "input": f"Reproduce the paper {paper!r} (PaperBench).",
                    "output": f"(the PaperBench submission graded in judge_eval/{paper}/{n}; not included)",
                    "metadata": {
                        "paperbench_example": f"{paper}/{n}",
                        "root_id": tree.id,
                        "root_requirements": tree.requirements,
                        "human_root_score": tree.score,
                    },
                    "criteria": [
                        _criterion(child, cid, cid, grades, case, rationales, file)
                        for child, cid in zip(tree.children, child_ids(tree), strict=True)
                    ],
                }
            )
        write_jsonl(out / f"{slug}.grades.jsonl", grades)
        written.append(
            write_suite(
                out / f"test_{slug.replace('-', '_')}.rubric.yaml",
                {
                    "version": 1,
                    "suite": f"paperbench-{slug}",
                    "judge": f"recorded:{slug}.grades.jsonl",
                    "threshold": threshold,
                    "cases": cases,
                },
                header=f"PaperBench {paper}: the rubric tree and its human grades (judge_eval), written by\n"
                "`rubrictest import paperbench`. The case score is the rubric's root score.",
            )
        )
    return written
