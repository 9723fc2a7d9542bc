"""The repeats of a stored run (``--rubric-repeat K``) as reports show them: per criterion the
majority verdict, every repeat's outcome, the flip rate, and whether the run marked it unstable."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .database import Store

_SHORT = {"met": "M", "not_met": "n", "error": "E"}


def run_repeats(store: Store, run_id: str, verdicts: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The repeats section of a run's report (``None`` when the run judged every criterion once)."""
    if not any(v.get("repeats") for v in verdicts):
        return None
    return repeat_section(verdicts, store.repeat_verdicts(run_id))


def repeat_section(verdicts: list[dict[str, Any]], repeat_rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The repeats section from a run's ``verdicts`` rows and its ``repeat_verdicts`` rows (in
    repeat order): shared by ``rubrictest report`` and the viewer's Run page."""
    repeated = [v for v in verdicts if v.get("repeats")]
    if not repeated:
        return None
    outcomes: dict[tuple[str, str, str, str], list[str]] = defaultdict(list)
    for r in repeat_rows:
        outcomes[(r["suite"], r["case_id"], r["target"] or "", r["criterion_id"])].append(r["outcome"])
    criteria = [
        {
            "suite": v["suite"],
            "case_id": v["case_id"],
            "target": v["target"] or "",
            "criterion_id": v["criterion_id"],
            "majority": v["outcome"],
            "status": v["status"],
            "repeats": v["repeats"],
            "flip_rate": v["flip_rate"],
            "unstable": bool(v["unstable"]),
            "outcomes": outcomes.get((v["suite"], v["case_id"], v["target"] or "", v["criterion_id"]), []),
        }
        for v in repeated
    ]
    return {
        "repeats": max(c["repeats"] for c in criteria),
        "criteria": criteria,
        "unstable": sum(c["unstable"] for c in criteria),
        "flipped": sum(bool(c["flip_rate"]) for c in criteria),
    }


def _name(c: dict[str, Any]) -> str:
    return f"{c['case_id']}::{c['criterion_id']}" + (f"[{c['target']}]" if c["target"] else "")


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _majority(c: dict[str, Any]) -> str:
    return "tie/ERROR" if c["majority"] == "error" else c["majority"]


def repeat_rows(section: dict[str, Any], only_flipped: bool = False) -> list[list[str]]:
    """One row per criterion: suite, criterion, majority, status, flip rate, outcomes, mark."""
    return [
        [
            c["suite"],
            _name(c),
            _majority(c),
            c["status"],
            _rate(c["flip_rate"]),
            "".join(_SHORT.get(o, "?") for o in c["outcomes"]),
            "UNSTABLE" if c["unstable"] else "",
        ]
        for c in section["criteria"]
        if not only_flipped or c["flip_rate"] or c["majority"] == "error"
    ]


HEADERS = ["suite", "criterion", "majority", "status", "flip rate", "repeats (M met, n not, E error)", ""]


def headline(section: dict[str, Any]) -> str:
    """One line: how many repeats, how many criteria flipped, how many are unstable."""
    n = len(section["criteria"])
    return (
        f"repeats: {section['repeats']} per criterion; {section['flipped']} of {n} criteria flipped at least "
        f"once, {section['unstable']} unstable"
    )


def repeat_markdown(section: dict[str, Any]) -> list[str]:
    """The repeats as a Markdown table (every repeated criterion)."""
    out = [
        "",
        f"**{headline(section)}**",
        "",
        "| " + " | ".join(h or "stability" for h in HEADERS) + " |",
        "|" + "---|" * len(HEADERS),
    ]
    out += ["| " + " | ".join(cell or " " for cell in row) + " |" for row in repeat_rows(section)]
    return out
