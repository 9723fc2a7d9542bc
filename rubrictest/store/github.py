"""The run as a GitHub Actions job summary (Markdown), link-free.

Written after a run to the file ``$GITHUB_STEP_SUMMARY`` names (when that variable is set),
and printed by ``rubrictest report --format github``. Per suite and target: the gate, the
case and criterion pass rates, and the first failures with their reasons; then the criteria a
judge panel split on and the rubric-holistic disagreements a sentinel found. Text from models
is flattened to one line, cut, and escaped so it cannot break the table or inject markup.
"""

from __future__ import annotations

import re
from typing import Any

from .queries import STATUSES, ResultsDB

TOP_FAILURES = 5
_REASON_CHARS = 160


def md_cell(text: Any, limit: int = _REASON_CHARS) -> str:
    """``text`` as one Markdown table cell: one line, at most ``limit`` characters, with the
    characters Markdown or HTML would act on escaped."""
    flat = re.sub(r"\s+", " ", str(text if text is not None else "")).strip()
    if len(flat) > limit:
        flat = flat[: limit - 1] + "…"
    flat = flat.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(r"([\\`*_\[\]|#~!])", r"\\\1", flat)


def _rate(part: int, whole: int) -> str:
    return f"{part}/{whole} ({100 * part / whole:.0f}%)" if whole else "–"


def _gate_cell(gates: list[dict[str, Any]] | None, suite: str, target: str) -> str:
    if gates is None:
        return "no gate stored"
    mine = [g for g in gates if g.get("suite") == suite and (g.get("target") or "") == target]
    if not mine:
        return "no gate"
    g = mine[0]
    bound = g.get("lower_bound")
    return f"**{g.get('status')}**" + (
        f" (lower bound {bound:.3f} vs {g.get('min_pass_rate')})" if bound is not None else ""
    )


def _failure_lines(db: ResultsDB, run_id: str, group: dict[str, Any]) -> list[str]:
    suite, target = group["suite"], group["target"] or ""
    rows, total = db.failures(run_id, suite, target, TOP_FAILURES)
    cases = db.failed_cases(run_id, suite, target, TOP_FAILURES)
    if not rows and not cases:
        return []
    lines = [
        "",
        f"**Failures — {md_cell(suite, 60)} · {md_cell(target or 'fixed outputs', 60)}**",
        "",
        "| case | criterion | status | reason |",
        "|---|---|---|---|",
    ]
    for r in rows:
        reason = (
            r["error"]
            or r["rationale"]
            or (f"evidence: {r['evidence']}" if r["evidence"] else "")
            or r["criterion_text"]
        )
        lines.append(
            f"| {md_cell(r['case_id'], 60)} | {md_cell(r['criterion_id'], 60)} | {r['status']} | {md_cell(reason)} |"
        )
    for c in cases:
        reason = f"score {c['score']:.3f}: " + (c["reason"] or "below threshold")
        lines.append(f"| {md_cell(c['case_id'], 60)} | score | {c['outcome'].upper()} | {md_cell(reason)} |")
    if total > len(rows):
        lines.append(f"\n… and {total - len(rows)} more failing criteria (`rubrictest report {run_id}`)")
    return lines


def github_summary(db: ResultsDB, run_id: str) -> str:
    """The job summary of ``run_id``."""
    run = db.run(run_id)
    if run is None:
        raise LookupError(f"no run {run_id!r}")
    counts = run["counts"]
    total = (run.get("usage") or {}).get("total") or {}
    tokens = (total.get("input_tokens") or 0) + (total.get("output_tokens") or 0)
    out = [
        f"### rubrictest run `{run_id}`: {run['status']}",
        "",
        " · ".join(f"**{counts.get(s, 0)}** {s}" for s in STATUSES)
        + f" · {total.get('calls', 0)} model calls · {tokens:,} tokens · ${total.get('cost_usd') or 0:.4f}",
        "",
        "| suite | target | gate | cases passed | criteria passed | mean score |",
        "|---|---|---|---|---|---|",
    ]
    groups = db.groups(run_id)
    gates = db.gates(run_id)
    for g in groups:
        mean = f"{g['mean_score']:.3f}" if g["mean_score"] is not None else "–"
        out.append(
            f"| {md_cell(g['suite'], 60)} | {md_cell(g['target'] or 'fixed outputs', 60)} | "
            f"{_gate_cell(gates, g['suite'], g['target'] or '')} | {_rate(g['passed'] or 0, g['cases'])} | "
            f"{_rate(g['criteria']['PASS'], g['verdicts'])} | {mean} |"
        )
    for g in groups:
        out += _failure_lines(db, run_id, g)
    out += _trust_lines(db, run_id)
    return "\n".join(out) + "\n"


_KINDS = {"rubric_only": "rubric passes, sentinel fails", "holistic_only": "sentinel passes, rubric fails"}


def _trust_lines(db: ResultsDB, run_id: str) -> list[str]:
    """Criteria a judge panel split on (rubric problems) and rubric-holistic disagreements."""
    trust = db.trust(run_id)
    out: list[str] = []
    agreement = trust["agreement"]
    if agreement is not None:
        out += ["", f"**Judge panel**: split on {agreement['split']} of {agreement['n']} criteria judged"]
        for c in agreement["by_criterion"]:
            if c["flagged"]:
                out.append(
                    f"- rubric problem: the panel splits on {md_cell(c['suite'], 60)} · "
                    f"{md_cell(c['criterion_id'], 60)} ({c['split']} of {c['n']})"
                )
    flagged = trust["disagreements"]
    if flagged:
        out += [
            "",
            "**Rubric-holistic disagreements** (rubric-free sentinel)",
            "",
            "| suite | case | target | rubric score | sentinel score | kind |",
            "|---|---|---|---|---|---|",
        ]
        out += [
            f"| {md_cell(r['suite'], 60)} | {md_cell(r['case_id'], 60)} | "
            f"{md_cell(r['target'] or 'fixed outputs', 60)} | {r['rubric_score']:.2f} | {r['score']:.2f} | "
            f"{_KINDS.get(r['disagreement'], r['disagreement'])} |"
            for r in flagged
        ]
    return out
