"""Where judge verdicts come from, and how they meet their gold labels.

Verdicts come from a run in the results database (table ``verdicts``) or from a JSONL file
in the ``recorded`` format (:mod:`.labels`). :func:`join` pairs each labelled criterion with
the judge's verdict on it (the outcomes, and the levels where the label gives a level); a
label naming a case or criterion the verdicts do not have is an error (a typo in a labels
file must not silently shrink the sample).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ...errors import StoreError
from ...protocol import response_sha256
from ...store import Store
from .judged import LabelledVerdict, ScaleVerdict
from .labels import LabelError, Record


@dataclass(frozen=True)
class JudgedRow:
    """A judge's verdict on one criterion, wherever it came from."""

    case: str
    criterion: str
    outcome: str  # met | not_met | error | graded (a level alone, from a JSONL line)
    target: str | None = None
    confidence: float | None = None
    score: float | None = None
    tags: tuple[str, ...] = ()
    judge: str | None = None
    suite: str | None = None
    level: float | None = None
    response_sha256: str | None = None  # of the response judged, when known (a stored run)


def from_records(records: Sequence[Record]) -> list[JudgedRow]:
    """Verdicts read from a JSONL file."""
    return [
        JudgedRow(
            case=r.case,
            criterion=r.criterion,
            outcome="graded" if r.met is None else "met" if r.met else "not_met",
            target=r.target,
            confidence=r.confidence,
            score=r.score,
            tags=r.tags,
            suite=r.suite,
            level=r.level,
        )
        for r in records
    ]


def from_store(
    db_path: Path,
    run_id: str | None = None,
    judge: str | None = None,
    include_checks: bool = False,
    suite: str | None = None,
) -> tuple[str, list[JudgedRow]]:
    """The verdicts of one run (default: the latest) in the results database.

    Args:
        db_path: the SQLite file.
        run_id: the run; ``None`` for the most recent one.
        judge: keep only verdicts of this judge label.
        include_checks: also keep deterministic checks' verdicts.
        suite: keep only verdicts of this suite name.

    Returns:
        The run id and its verdicts.
    """
    try:
        store = Store.open(db_path, create=False)
    except StoreError as exc:
        raise LabelError(str(exc)) from None
    try:
        run_id = store.resolve_run(run_id)
        responses = {
            (c["suite"], c["case_id"], c["target"] or ""): response_sha256(c["response"])
            for c in store.cases(run_id)
            if c["response"] is not None
        }
        rows = [
            JudgedRow(
                case=r["case_id"],
                criterion=r["criterion_id"],
                outcome=r["outcome"],
                target=r["target"] or None,
                confidence=r["confidence"],
                score=r["score"],
                tags=tuple(r["tags"] or ()),
                judge=r["judge"],
                suite=r["suite"],
                level=r.get("level"),
                response_sha256=responses.get((r["suite"], r["case_id"], r["target"] or "")),
            )
            for r in store.verdicts(run_id)
            if (include_checks or not r["check_name"])
            and (judge is None or r["judge"] == judge)
            and (suite is None or r["suite"] == suite)
        ]
    except StoreError as exc:
        raise LabelError(str(exc)) from None
    finally:
        store.close()
    return run_id, rows


@dataclass
class Joined:
    """Verdicts paired with labels, and what could not be paired."""

    rows: list[LabelledVerdict] = field(default_factory=list)
    scale: list[ScaleVerdict] = field(default_factory=list)  # levels beside gold levels
    errors: int = 0  # labelled criteria whose verdict is an ERROR
    unlabelled: int = 0  # verdicts with no label


def join(
    verdicts: Sequence[JudgedRow], labels: Sequence[Record], labels_path: Path, what: str = "the verdicts"
) -> Joined:
    """Pair every label with its verdict.

    A label without ``target`` matches the verdicts of every target for its case and
    criterion. Raises :class:`LabelError` naming the labels file and line when a label's
    case, criterion or target has no verdict.
    """
    by_key: dict[tuple[str, str], list[JudgedRow]] = {}
    for v in verdicts:
        by_key.setdefault((v.case, v.criterion), []).append(v)
    cases = {v.case for v in verdicts}
    out = Joined()
    used: set[int] = set()
    for label in labels:
        where = f"{labels_path}:{label.line}"
        if label.case not in cases:
            raise LabelError(f"{where}: case {label.case!r} does not exist in {what}")
        matches = by_key.get((label.case, label.criterion))
        if not matches:
            raise LabelError(f"{where}: case {label.case!r} has no criterion {label.criterion!r} in {what}")
        if label.suite is not None:
            matches = [m for m in matches if m.suite == label.suite]
            if not matches:
                raise LabelError(
                    f"{where}: case {label.case!r}, criterion {label.criterion!r} has no "
                    f"verdict in suite {label.suite!r} in {what}"
                )
        if label.target is not None:
            matches = [m for m in matches if m.target == label.target]
            if not matches:
                raise LabelError(
                    f"{where}: case {label.case!r}, criterion {label.criterion!r} has no "
                    f"verdict for target {label.target!r} in {what}"
                )
        for m in matches:
            used.add(id(m))
            if label.response_sha256 and m.response_sha256 and label.response_sha256 != m.response_sha256:
                # A gold label of another response would count as a judge's disagreement.
                raise LabelError(
                    f"{where}: label is for another response: it was recorded for response sha256 "
                    f"{label.response_sha256[:12]}…, the response of case {m.case!r}"
                    f"{f' (target {m.target})' if m.target else ''} in {what} is sha256 "
                    f"{m.response_sha256[:12]}…; judge that response and re-label it "
                    "(rubrictest stamp-labels --restamp)"
                )
            if m.outcome == "error":
                out.errors += 1
                continue
            if label.level is not None:
                if m.level is None:
                    raise LabelError(
                        f"{where}: case {label.case!r}, criterion {label.criterion!r}: the label gives "
                        f"a level, but the verdict in {what} has none (the criterion is not "
                        "graded on a scale)"
                    )
                out.scale.append(
                    ScaleVerdict(
                        case=m.case,
                        criterion=m.criterion,
                        level=m.level,
                        gold_level=label.level,
                        target=m.target,
                        tags=m.tags or label.tags,
                    )
                )
            if label.met is None or m.outcome == "graded":
                continue  # levels only: no outcome to compare
            out.rows.append(
                LabelledVerdict(
                    case=m.case,
                    criterion=m.criterion,
                    target=m.target,
                    judged_met=m.outcome == "met",
                    gold_met=label.met,
                    confidence=m.confidence,
                    score=m.score,
                    gold_score=label.score,
                    tags=m.tags or label.tags,
                )
            )
    out.unlabelled = sum(id(v) not in used for v in verdicts)
    return out
