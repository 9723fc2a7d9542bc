"""Rubric trees in reports: every stored inner-node score with the verdicts of its leaves,
nested (``rubrictest report --json``: ``trees``) or as an indented tree (text)."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .database import Store

_Key = tuple[str, str, str]


def run_trees(
    store: Store, run_id: str, verdicts: list[dict[str, Any]], cases: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """One entry per case run that has a rubric tree: its score and its top-level children,
    each inner node holding its ``children`` (nodes and leaves) in tree order."""
    node_rows = store.nodes(run_id)
    if not node_rows:
        return []
    entries: dict[_Key, list[tuple[int, dict[str, Any]]]] = defaultdict(list)
    for row in node_rows:
        entries[(row["suite"], row["case_id"], row["target"] or "")].append(
            (
                row["position"],
                {
                    "kind": "node",
                    "id": row["node_id"],
                    "parent": row["parent_id"],
                    "text": row["text"],
                    "score": row["score"],
                    "outcome": row["outcome"],
                    "weight": row["weight"],
                    "must": bool(row["must"]),
                    "threshold": row["threshold"],
                    "leaves": row["leaves"],
                    "detail": row["detail"],
                    "tags": row["tags"],
                    "children": [],
                },
            )
        )
    for v in verdicts:
        key = (v["suite"], v["case_id"], v["target"] or "")
        if key in entries:
            entries[key].append(
                (
                    v["position"],
                    {
                        "kind": "leaf",
                        "id": v["criterion_id"],
                        "parent": v.get("parent_id"),
                        "text": v["criterion_text"],
                        "status": v["status"],
                        "outcome": v["outcome"],
                        "points": v["points"],
                        "must": bool(v["must"]),
                        "level": v.get("level"),
                        "tags": v["tags"],
                    },
                )
            )
    scores = {(c["suite"], c["case_id"], c["target"] or ""): c for c in cases}
    out = []
    for key, items in entries.items():
        by_id = {item["id"]: item for _, item in items}
        top: list[dict[str, Any]] = []
        for _, item in sorted(items, key=lambda pair: pair[0]):
            parent = by_id.get(item.pop("parent") or "")
            (parent["children"] if parent is not None else top).append(item)
        case = scores.get(key, {})
        out.append(
            {
                "suite": key[0],
                "case_id": key[1],
                "target": key[2],
                "score": case.get("score"),
                "outcome": case.get("outcome"),
                "children": top,
            }
        )
    return out


def tree_lines(trees: list[dict[str, Any]]) -> list[str]:
    """The trees as indented text: a node's name, score and weight; a leaf's status."""
    lines: list[str] = []
    for tree in trees:
        target = f"[{tree['target']}]" if tree["target"] else ""
        score = f"{tree['score']:.4f}" if tree["score"] is not None else "-"
        lines.append(f"{tree['suite']} :: {tree['case_id']}{target}  score {score}  ({tree['outcome']})")
        for child in tree["children"]:
            _lines(child, 1, lines)
        lines.append("")
    return lines


def _lines(item: dict[str, Any], depth: int, out: list[str]) -> None:
    pad = "  " * depth
    name = item["id"].rsplit(".", 1)[-1] if depth > 1 else item["id"]
    if item["kind"] == "leaf":
        level = f"  level {item['level']:g}" if item.get("level") is not None else ""
        out.append(f"{pad}{item['status']:<7} {name}  ({item['points']:g}){level}")
        return
    score = f"{item['score']:.4f}" if item["score"] is not None else "-"
    flags = "  hard rule" if item["must"] else ""
    out.append(
        f"{pad}{name}  {score}  (weight {item['weight']:g}, {item['leaves']} leaves){flags}"
        + ("  NOT PASSED" if item["outcome"] == "failed" and (item["must"] or item["threshold"]) else "")
    )
    for child in item["children"]:
        _lines(child, depth + 1, out)
