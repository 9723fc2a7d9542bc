"""How far a judge panel's members agree, and where the rubric and the sentinel disagree.

Read from a stored run (``member_verdicts``, ``verdicts``, ``sentinel_verdicts``) for
``rubrictest report``, the terminal summary and ``rubrictest calibrate``:

* **pairwise agreement**: for every two members that judged the same criteria, the share of
  those criteria where they gave the same outcome and Cohen's kappa (agreement beyond chance;
  undefined when both gave one and the same outcome throughout);
* **splits**: the share of panel-judged criteria where the members who answered did not all
  give the same outcome -- overall, per criterion (a criterion of a named rubric counts once
  per case it is judged on) and per tag. A criterion the panel splits on at least
  ``flag_split`` of the times it is judged is flagged as a *rubric problem*: judges reading
  the same words and the same response disagree, so the words are ambiguous or the criterion
  asks for a judgement the rubric does not pin down;
* **rubric-holistic disagreements** (:mod:`rubrictest.protocol.sentinel`): the cases whose rubric score
  is high while the sentinel's is low, or the reverse.

Members that ERRORed on a criterion are left out of its figures (they did not vote).
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

FLAG_SPLIT = 0.25
"""Default share of a criterion's judgements the panel must split on for it to be flagged."""

_Key = tuple[str, str, str, str]  # suite, case, target, criterion


def _ballots(members: Iterable[dict[str, Any]]) -> dict[_Key, dict[str, str]]:
    """Each panel-judged criterion of each case run: the outcome of every member that answered."""
    out: dict[_Key, dict[str, str]] = defaultdict(dict)
    for m in members:
        key = (m["suite"], m["case_id"], m["target"] or "", m["criterion_id"])
        out.setdefault(key, {})
        if m["outcome"] in ("met", "not_met"):
            out[key][m["member"]] = m["outcome"]
    return out


def _pairs(items: Sequence[dict[str, str]]) -> list[dict[str, Any]]:
    # imported here: numpy is the `stats` extra, and commands import the report module
    from ..trust.calibration.metrics import cohen_kappa

    names = list(dict.fromkeys(name for votes in items for name in votes))
    out = []
    for a, b in itertools.combinations(names, 2):
        both = [(v[a], v[b]) for v in items if a in v and b in v]
        if not both:
            continue
        pa, pb = [x for x, _ in both], [y for _, y in both]
        out.append(
            {
                "a": a,
                "b": b,
                "n": len(both),
                "agreement": sum(x == y for x, y in both) / len(both),
                "kappa": cohen_kappa(pa, pb),
            }
        )
    return out


def _splits(items: Sequence[dict[str, str]]) -> dict[str, Any]:
    judged = [v for v in items if len(v) >= 2]
    split = sum(1 for v in judged if len(set(v.values())) > 1)
    return {"n": len(judged), "split": split, "split_share": split / len(judged) if judged else None}


def panel_agreement(
    members: Sequence[dict[str, Any]], verdicts: Sequence[dict[str, Any]], flag_split: float = FLAG_SPLIT
) -> dict[str, Any] | None:
    """Agreement between the panel members of a run (``None`` when no panel judged).

    Args:
        members: the run's ``member_verdicts`` rows.
        verdicts: the run's ``verdicts`` rows (for the criteria's tags and texts).
        flag_split: a criterion split on at least this share of its judgements is flagged.

    Returns:
        ``members`` (labels), overall ``n`` / ``split`` / ``split_share``, ``pairs`` (each two
        members: ``n``, ``agreement``, ``kappa``), ``by_criterion`` (rows with ``suite``,
        ``criterion_id``, ``text``, ``n``, ``split``, ``split_share``, ``flagged``, ``cases_split``),
        ``by_tag`` (per tag: the split figures and ``pairs``), ``flag_split`` and ``flagged``
        (``suite::criterion`` of every flagged criterion).
    """
    ballots = _ballots(members)
    if not ballots:
        return None
    info = {(v["suite"], v["case_id"], v["target"] or "", v["criterion_id"]): v for v in verdicts}
    texts: dict[tuple[str, str], str | None] = {}
    for v in verdicts:  # one pass: a criterion's text, by suite and criterion id
        texts.setdefault((v["suite"], v["criterion_id"]), v.get("criterion_text"))
    by_criterion: dict[tuple[str, str], list[tuple[str, dict[str, str]]]] = defaultdict(list)
    by_tag: dict[str, list[dict[str, str]]] = defaultdict(list)
    for key, votes in ballots.items():
        suite, case_id, target, crit = key
        by_criterion[(suite, crit)].append((case_id + (f"[{target}]" if target else ""), votes))
        for tag in (info.get(key) or {}).get("tags") or []:
            by_tag[tag].append(votes)
    criteria = []
    for (suite, crit), rows in by_criterion.items():
        figures = _splits([v for _, v in rows])
        text = texts.get((suite, crit))
        share = figures["split_share"]
        criteria.append(
            {
                "suite": suite,
                "criterion_id": crit,
                "text": text,
                **figures,
                "flagged": share is not None and share > 0 and share >= flag_split - 1e-12,
                "cases_split": [c for c, v in rows if len(v) >= 2 and len(set(v.values())) > 1],
            }
        )
    every = list(ballots.values())
    return {
        "members": list(dict.fromkeys(name for v in every for name in v)),
        **_splits(every),
        "pairs": _pairs(every),
        "by_criterion": criteria,
        "by_tag": {tag: {**_splits(items), "pairs": _pairs(items)} for tag, items in sorted(by_tag.items())},
        "flag_split": flag_split,
        "flagged": [f"{c['suite']}::{c['criterion_id']}" for c in criteria if c["flagged"]],
    }


def sentinel_summary(rows: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """The run's sentinel verdicts and rubric-holistic disagreements (``None`` without a sentinel).

    Returns:
        ``cases`` (every sentinel row: suite, case, target, judge, outcome, score,
        rubric_score, disagreement, rationale, error), ``n`` (cases compared), ``errors``,
        ``disagreements`` (the flagged rows) and ``rate`` (flagged over compared).
    """
    if not rows:
        return None
    keys = (
        "suite",
        "case_id",
        "target",
        "judge",
        "outcome",
        "confidence",
        "score",
        "rubric_score",
        "disagreement",
        "rationale",
        "error",
        "cached",
    )
    cases = [{k: r.get(k) for k in keys} for r in rows]
    compared = [c for c in cases if c["score"] is not None and c["rubric_score"] is not None]
    flagged = [c for c in cases if c["disagreement"]]
    return {
        "cases": cases,
        "n": len(compared),
        "errors": sum(1 for c in cases if c["outcome"] == "error"),
        "disagreements": flagged,
        "rate": len(flagged) / len(compared) if compared else None,
    }


def member_votes(members: Sequence[dict[str, Any]]) -> dict[_Key, list[dict[str, Any]]]:
    """Each panel-judged criterion's member verdicts (label, outcome, confidence, counted, error),
    in member order."""
    out: dict[_Key, list[dict[str, Any]]] = defaultdict(list)
    for m in sorted(members, key=lambda r: r["member_index"]):
        out[(m["suite"], m["case_id"], m["target"] or "", m["criterion_id"])].append(
            {
                "member": m["member"],
                "outcome": m["outcome"],
                "confidence": m["confidence"],
                "counted": bool(m["counted"]),
                "error": m["error"],
            }
        )
    return dict(out)


__all__ = ["FLAG_SPLIT", "member_votes", "panel_agreement", "sentinel_summary"]
