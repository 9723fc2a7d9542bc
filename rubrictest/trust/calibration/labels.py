"""Gold labels and judge verdicts as JSONL, in the ``recorded`` judge's format.

One JSON object per line::

    {"case": "refund-window", "criterion": "states-window", "met": true,
     "target": "gpt-4o", "suite": "support-bot", "confidence": 0.9, "score": 0.75, "tags": ["billing"]}

The verdict is ``met`` (true/false), or ``outcome`` (``met`` / ``not_met``), or ``label``
(1/0, yes/no, pass/fail). ``target``, ``suite`` (when one run holds several suites with the
same case ids), ``confidence`` and ``score`` (both in [0, 1]), ``tags`` and ``response_sha256``
(or ``response``: the response the label judged; a stored verdict of another response is then
an error, not a silent disagreement) are optional; other
keys (``rationale``, ``evidence``) are ignored. A value outside this schema is an error naming
the file, the line and the key.

For a criterion graded on a scale a line gives its ``level`` (``{"case": ..., "criterion": ...,
"level": 4}``), with or without ``met``; ``calibrate`` compares levels (weighted kappa,
Spearman, mean absolute error) and, where ``met`` is given too, the outcomes.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...jsonl import read_jsonl
from ...protocol import response_sha256
from .importers import ImporterError

_TRUE = {True, "1", "met", "yes", "true", "pass"}
_FALSE = {False, "0", "not_met", "no", "false", "fail"}

Key = tuple[str, str, str | None, str | None]


class LabelError(ImporterError):
    """A labels or verdicts file that does not follow the schema."""


@dataclass(frozen=True)
class Record:
    """One line of a labels or verdicts file."""

    case: str
    criterion: str
    met: bool | None  # None: a level alone (read with ``levels=True``)
    target: str | None = None
    confidence: float | None = None
    score: float | None = None
    tags: tuple[str, ...] = ()
    suite: str | None = None
    line: int = 0
    level: float | None = None
    response_sha256: str | None = None  # the response the label judged, when it says

    @property
    def key(self) -> Key:
        return (self.case, self.criterion, self.target, self.suite)


def parse_met(row: dict[str, Any], where: str) -> bool:
    """The met / not-met value of a row (``met``, ``outcome`` or ``label``)."""
    for key in ("met", "outcome", "label"):
        if key in row:
            value = row[key]
            norm = value.lower() if isinstance(value, str) else value
            # bool is an int: 1 == True, so {1, True} membership covers both spellings.
            if isinstance(norm, (bool, int, str)) and norm in _TRUE:
                return True
            if isinstance(norm, (bool, int, str)) and norm in _FALSE:
                return False
            raise LabelError(
                f"{where}: {key}: {value!r} is not a verdict (use true/false, met/not_met, 1/0, yes/no, pass/fail)"
            )
    raise LabelError(f"{where}: no `met`, `outcome` or `label` key")


def _response_hash(row: dict[str, Any], where: str) -> str | None:
    """The SHA-256 of the response a line is about (``response_sha256``, or of ``response``)."""
    value = row.get("response_sha256")
    if value is not None:
        if not isinstance(value, str) or not re.fullmatch(r"[0-9a-fA-F]{64}", value):
            raise LabelError(f"{where}: response_sha256: {value!r} is not a SHA-256 hex digest (64 hex digits)")
        return value.lower()
    if row.get("response") is not None:
        if not isinstance(row["response"], str):
            raise LabelError(f"{where}: response: expected a string")
        return response_sha256(row["response"])
    return None


def _unit(row: dict[str, Any], key: str, where: str) -> float | None:
    value = row.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise LabelError(f"{where}: {key}: {value!r} is not a number in [0, 1]")
    return float(value)


def _level(row: dict[str, Any], where: str) -> float | None:
    value = row.get("level")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise LabelError(f"{where}: level: {value!r} is not a number")
    return float(value)


def read_records(path: Path, levels: bool = False) -> list[Record]:
    """Read and validate a JSONL of labels or verdicts; a repeated key is an error.

    Args:
        path: the file.
        levels: accept a line that gives a ``level`` and no ``met`` (its ``met`` is ``None``);
            otherwise every line needs a verdict.
    """
    out: list[Record] = []
    seen: dict[Key, int] = {}
    for n, row in read_jsonl(path, error=LabelError):
        where = f"{path}:{n}"
        for key in ("case", "criterion"):
            if not isinstance(row.get(key), str) or not row[key]:
                raise LabelError(f"{where}: {key}: expected a non-empty string")
        for key in ("target", "suite"):
            if row.get(key) is not None and not isinstance(row[key], str):
                raise LabelError(f"{where}: {key}: expected a string")
        target = row.get("target")
        tags = row.get("tags", [])
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise LabelError(f"{where}: tags: expected a list of strings")
        level = _level(row, where)
        has_met = any(key in row for key in ("met", "outcome", "label"))
        met = parse_met(row, where) if has_met or not levels or level is None else None
        rec = Record(
            case=row["case"],
            criterion=row["criterion"],
            met=met,
            level=level,
            target=target or None,
            confidence=_unit(row, "confidence", where),
            score=_unit(row, "score", where),
            tags=tuple(tags),
            suite=row.get("suite") or None,
            line=n,
            response_sha256=_response_hash(row, where),
        )
        if rec.key in seen:
            raise LabelError(
                f"{where}: case {rec.case!r}, criterion {rec.criterion!r}"
                f"{f', target {rec.target!r}' if rec.target else ''} "
                f"is already labelled at line {seen[rec.key]}"
            )
        seen[rec.key] = n
        out.append(rec)
    if not out:
        raise LabelError(f"{path}: no records")
    return out
