"""Rubric-induced drift: how an edit to a rubric moves a judge's verdicts, per tag.

A rubric edit can look harmless and still move a judge a long way on one kind of case
while aggregate accuracy barely changes. :func:`run_drift` re-judges the same responses
under the old and the new version of every edited criterion and counts the verdicts that
flipped, by direction -- ``to_met`` (the new wording is more lenient) and ``to_not_met``
(stricter) -- overall and per tag. With gold labels it also reports each version's
accuracy per tag.

A version is a suite file, or a git revision of the suite (:func:`load_version`).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..engine import ModelCalls
from ..errors import RubricTestError
from ..protocol import Case, ComponentSpec, Criterion
from ..suite import Suite, load_suite
from .calibration import metrics
from .judging import JudgePool, Question


class DriftError(RubricTestError):
    """A suite version that cannot be read."""


def load_version(ref: str, suite_path: Path) -> Suite:
    """The suite as of ``ref``: a file path when one exists, else a git revision of ``suite_path``.

    A revision's text is written to a hidden temporary file beside ``suite_path`` (so its
    relative paths resolve as in the working tree) and removed at once.
    """
    if Path(ref).is_file():
        return load_suite(Path(ref))
    folder = suite_path.resolve().parent
    try:
        top = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"], cwd=folder, capture_output=True, text=True, check=True
        ).stdout.strip()
        rel = suite_path.resolve().relative_to(Path(top).resolve()).as_posix()
        text = subprocess.run(
            ["git", "show", f"{ref}:{rel}"], cwd=top, capture_output=True, text=True, check=True
        ).stdout
    except (OSError, ValueError) as exc:
        raise DriftError(f"{ref}: not a file, and git cannot read {suite_path} ({exc})") from None
    except subprocess.CalledProcessError as exc:
        reason = (exc.stderr or "").strip().splitlines()[-1:] or ["git failed"]
        raise DriftError(f"{ref}: not a file, and not a git revision holding {suite_path}: {reason[0]}") from None
    fd, tmp = tempfile.mkstemp(prefix=f".{suite_path.name}.", suffix=".drift.yaml", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        return load_suite(Path(tmp), display_path=f"{ref}:{rel}")
    finally:
        Path(tmp).unlink(missing_ok=True)


@dataclass(frozen=True)
class Comparison:
    """One criterion judged on one response under both rubric versions."""

    case: str
    criterion: str
    tags: tuple[str, ...]
    old_met: bool | None
    new_met: bool | None
    gold: bool | None = None

    @property
    def direction(self) -> str | None:
        """``to_met``, ``to_not_met``, ``same``, or ``None`` when either verdict failed."""
        if self.old_met is None or self.new_met is None:
            return None
        if self.old_met == self.new_met:
            return "same"
        return "to_met" if self.new_met else "to_not_met"


@dataclass
class DriftReport:
    """What an edit did to the verdicts."""

    comparisons: list[Comparison] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    threshold: float | None = None
    #: ``case::criterion: why`` for each edited criterion that could not be compared.
    skipped: list[str] = field(default_factory=list)

    def nothing_measured(self, all_criteria: bool = False) -> str | None:
        """Why no verdict pair was compared although there was something to compare, else ``None``.

        An edit that changed no criterion (and no ``all_criteria``) has nothing that could
        drift: that is an answer, not a failure to measure.
        """
        if not (self.changed or all_criteria) or any(c.direction is not None for c in self.comparisons):
            return None
        errors = sum(c.direction is None for c in self.comparisons)
        reasons = [f"{len(self.changed)} criteria changed, 0 verdict pairs compared"]
        if errors:
            reasons.append(f"{errors} judged with an ERROR under either version")
        reasons += self.skipped[:5] + ([f"... {len(self.skipped) - 5} more"] if len(self.skipped) > 5 else [])
        return "; ".join(reasons)

    def group(self, rows: Sequence[Comparison]) -> dict[str, Any]:
        """Flip counts, rate with a Wilson interval, net direction and accuracies of ``rows``."""
        judged = [r for r in rows if r.direction is not None]
        to_met = sum(r.direction == "to_met" for r in judged)
        to_not = sum(r.direction == "to_not_met" for r in judged)
        n = len(judged)
        out: dict[str, Any] = {
            "n": n,
            "errors": len(rows) - n,
            "flips": to_met + to_not,
            "to_met": to_met,
            "to_not_met": to_not,
            "flip_rate": (to_met + to_not) / n if n else None,
            "flip_rate_ci": list(ci) if (ci := metrics.wilson_interval(to_met + to_not, n)) else None,
            "net_direction": (to_met - to_not) / n if n else None,
        }
        labelled = [r for r in judged if r.gold is not None]
        if labelled:
            gold = [bool(r.gold) for r in labelled]
            out["accuracy_old"] = metrics.accuracy([bool(r.old_met) for r in labelled], gold)
            out["accuracy_new"] = metrics.accuracy([bool(r.new_met) for r in labelled], gold)
        if self.threshold is not None:
            out["failed"] = out["flip_rate"] is not None and out["flip_rate"] > self.threshold
        return out

    def by_tag(self) -> dict[str, dict[str, Any]]:
        tags = sorted({t for c in self.comparisons for t in c.tags})
        return {t: self.group([c for c in self.comparisons if t in c.tags]) for t in tags}

    def as_dict(self) -> dict[str, Any]:
        overall = self.group(self.comparisons)
        by_tag = self.by_tag()
        failed = [name for name, g in [("overall", overall), *by_tag.items()] if g.get("failed")]
        return {
            "changed": self.changed,
            "added": self.added,
            "removed": self.removed,
            "skipped": self.skipped,
            "overall": overall,
            "by_tag": by_tag,
            "failed": failed,
            "flips": [
                {"case": c.case, "criterion": c.criterion, "direction": c.direction, "tags": list(c.tags)}
                for c in self.comparisons
                if c.direction in ("to_met", "to_not_met")
            ],
        }


def _criteria(suite: Suite) -> dict[tuple[str, str], tuple[Case, Criterion]]:
    return {(run.case.id, crit.id): (run.case, crit) for run in suite.runs for crit in run.case.criteria}


async def run_drift(
    old: Suite,
    new: Suite,
    *,
    judge: ComponentSpec | None = None,
    responses: Mapping[str, str] | None = None,
    gold: Mapping[tuple[str, str], bool] | None = None,
    all_criteria: bool = False,
    threshold: float | None = None,
    calls: ModelCalls | None = None,
    base_dir: Path | None = None,
) -> DriftReport:
    """Judge every edited criterion under both versions on the same responses.

    Args:
        old: the suite before the edit.
        new: the suite after it.
        judge: judge for text criteria (default: each version's own judge for it).
        responses: response per case id (default: the cases' fixed outputs, new version first).
        gold: gold label per ``(case, criterion)``, for accuracies.
        all_criteria: also re-judge criteria whose hash did not change.
        threshold: flip rate above which a group fails.
        base_dir: where judges resolve relative paths (default: the new suite's folder).
    """
    report = DriftReport(threshold=threshold)
    old_c, new_c = _criteria(old), _criteria(new)
    report.added = sorted(f"{c}::{k}" for c, k in set(new_c) - set(old_c))
    report.removed = sorted(f"{c}::{k}" for c, k in set(old_c) - set(new_c))
    folder = base_dir or new.path.parent
    questions: list[Question] = []
    keys: list[tuple[str, str, tuple[str, ...]]] = []
    for key in sorted(set(old_c) & set(new_c)):
        (old_case, old_crit), (new_case, new_crit) = old_c[key], new_c[key]
        if old_crit.hash != new_crit.hash:
            report.changed.append(f"{key[0]}::{key[1]}")
        elif not all_criteria:
            continue
        fixed = new_case.output if new_case.output is not None else old_case.output
        response = (responses or {}).get(key[0], fixed)
        if response is None:
            report.skipped.append(f"{key[0]}::{key[1]}: no response (give the case an output, or --responses)")
            continue
        specs = [judge if (judge and not c.check) else c.judge for c in (old_crit, new_crit)]
        if specs[0] is None or specs[1] is None:
            report.skipped.append(f"{key[0]}::{key[1]}: no judge (give --judge)")
            continue
        questions.append(Question(specs[0], old_case, old_crit, response, base_dir=folder))
        questions.append(Question(specs[1], new_case, new_crit, response, base_dir=folder))
        keys.append((key[0], key[1], new_crit.tags))
    pool = JudgePool(calls)
    try:
        answers = await pool.ask_all(questions)
    finally:
        await pool.aclose()
    for i, (case, crit, tags) in enumerate(keys):
        report.comparisons.append(
            Comparison(case, crit, tags, answers[2 * i], answers[2 * i + 1], (gold or {}).get((case, crit)))
        )
    return report
