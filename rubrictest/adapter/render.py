"""Failures as a person reads them: the criterion, the verdict, evidence, rationale and
response of a FAIL or ERROR item, instead of a traceback."""

from __future__ import annotations

import json
import textwrap

from ..engine import CaseOutcome, VerdictInfo
from ..engine.panel import MemberVerdict
from ..protocol.tree import SEPARATOR, outline
from ..suite import CaseRun

_EXCERPT = 600


def _excerpt(text: str | None, limit: int = _EXCERPT) -> str:
    if text is None:
        return "(no response)"
    text = text.strip()
    return text if len(text) <= limit else text[:limit] + f" ... [{len(text) - limit} more characters]"


def one_line(text: str, limit: int = 160) -> str:
    """``text`` flattened to one line of at most ``limit`` characters (for pytest's summary lines)."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def _block(label: str, text: str) -> str:
    body = textwrap.indent(text, " " * 12).lstrip()
    return f"{label:<11} {body}"


def item_id(run: CaseRun, name: str) -> str:
    """``case::name``, with ``[target]`` at the end when the suite has several targets (as node ids)."""
    return f"{run.case.id}::{name}" + (f"[{run.target_label}]" if run.target_label else "")


def render_verdict(run: CaseRun, info: VerdictInfo, response: str | None, *, headline: str) -> str:
    """A failed or errored criterion as a person reads it: no traceback."""
    c, v = info.criterion, info.verdict
    kind = "deduction: passes when NOT met" if c.is_deduction else ("hard rule" if c.must else "")
    lines = [f"{headline}  {item_id(run, c.id)}", ""]
    points = f"{c.points:g} point" + ("" if abs(c.points) == 1 else "s")
    lines.append(_block("criterion", c.description + f"\n({points}{', ' + kind if kind else ''})"))
    lines.append(_block("judge", (info.judge or "-") + ("  [cached]" if info.cached else "")))
    if v.outcome == "error":
        lines.append(_block("reason", v.error or "unknown"))
    else:
        conf = f" (confidence {v.confidence:.2f})" if v.confidence is not None else ""
        lines.append(_block("verdict", f"{v.outcome.replace('_', ' ')}{conf}"))
        if v.votes and not info.members:
            lines.append(_block("votes", ", ".join(v.votes)))
    if info.members:
        lines.append(_block("members", "\n".join(_member_line(m) for m in info.members)))
    if v.evidence:
        mark = {True: "found in the response", False: "NOT FOUND in the response (unsupported)", None: "not checked"}[
            v.evidence_supported
        ]
        lines.append(_block("evidence", f"{json.dumps(v.evidence, ensure_ascii=False)}  [{mark}]"))
    if v.rationale:
        lines.append(_block("rationale", v.rationale))
    lines.append(_block("input", _excerpt(run.case.prompt, 300)))
    lines.append(_block("response", _excerpt(response)))
    lines.append(_block("where", f"{c.source or run.case.path}:{c.line}"))
    return "\n".join(lines)


def _member_line(m: MemberVerdict) -> str:
    v = m.verdict
    if v.outcome == "error":
        return f"{m.member}: ERROR ({v.error})"
    conf = f" ({v.confidence:.2f})" if v.confidence is not None else ""
    note = "" if m.counted else "  [did not count]"
    return f"{m.member}: {v.outcome.replace('_', ' ')}{conf}{note}"


def render_score(outcome: CaseOutcome) -> str:
    """A failed score item: the score, the threshold and each criterion's status."""
    score = outcome.score
    assert score is not None
    case = outcome.run.case
    lines = [
        f"FAIL  {item_id(outcome.run, 'score')}",
        "",
        _block("score", f"{(score.score or 0):.3f} (threshold {case.threshold:g})"),
        _block("reason", score.reason or "below threshold"),
    ]
    lines += (
        _tree_lines(outcome)
        if case.nodes
        else [f"  {info.status:<7} {cid}  ({info.criterion.points:g} pts)" for cid, info in outcome.verdicts.items()]
    )
    lines.append(_block("response", _excerpt(outcome.response)))
    return "\n".join(lines)


_TREE_LINES = 120


def _tree_lines(outcome: CaseOutcome) -> list[str]:
    """The case's rubric tree, indented: each inner node with its score, each leaf with its status."""
    case = outcome.run.case
    nodes = {n.id: n for n in case.nodes}
    depth: dict[str, int] = {}
    out: list[str] = []
    ids = outline(case)
    for node_id in ids[:_TREE_LINES]:
        node = nodes.get(node_id)
        parent = (
            node.parent
            if node is not None
            else outcome.verdicts[node_id].criterion.parent
            if node_id in outcome.verdicts
            else None
        )
        depth[node_id] = depth[parent] + 1 if parent is not None and parent in depth else 0
        pad = "  " * depth[node_id]
        name = node_id.rsplit(SEPARATOR, 1)[-1] if parent is not None else node_id
        if node is not None:
            got = outcome.nodes.get(node_id)
            score = f"{got.score:.3f}" if got is not None and got.score is not None else "-"
            flags = ", hard rule" if node.must else ""
            flags += f", threshold {node.threshold:g}" if node.threshold is not None else ""
            failed = "  NOT PASSED" if got is not None and got.passed is False and (node.must or node.threshold) else ""
            out.append(f"  {pad}{name}  score {score}  (weight {node.weight:g}{flags}){failed}")
        else:
            info = outcome.verdicts.get(node_id)
            status = info.status if info is not None else "-"
            points = info.criterion.points if info is not None else 0
            out.append(f"  {pad}{status:<7} {name}  ({points:g} pts)")
    if len(ids) > _TREE_LINES:
        out.append(f"  ... {len(ids) - _TREE_LINES} more (rubrictest report shows the whole tree)")
    return out
