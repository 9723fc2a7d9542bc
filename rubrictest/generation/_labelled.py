"""Labelled responses and preference pairs, read from JSONL, for generators that learn from them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..jsonl import read_jsonl
from ._base import GenerationError


@dataclass(frozen=True)
class LabelledPair:
    """Two responses to one case and which is better.

    Attributes:
        case_id: the suite case the responses answer.
        chosen: the preferred response.
        rejected: the other one.
        id: a name for the pair (``line-N`` by default), used as the judge request's target.
    """

    case_id: str
    chosen: str
    rejected: str
    id: str = ""


@dataclass(frozen=True)
class LabelledResponse:
    """One response to a case labelled good (``True``) or bad (``False``)."""

    case_id: str
    response: str
    good: bool
    id: str = ""


_GOOD = {"good": True, "bad": False, "1": True, "0": False, "true": True, "false": False, "pass": True, "fail": False}


def read_labelled(
    path: str | Path, *, case_ids: Iterable[str] | None = None
) -> tuple[list[LabelledPair], list[LabelledResponse]]:
    """Read a labelled-responses file (JSONL, one object a line).

    Accepted rows:

    * ``{"case": ID, "chosen": TEXT, "rejected": TEXT}`` -- a preference pair;
    * ``{"case": ID, "output_1": TEXT, "output_2": TEXT, "label": 1 | 2}`` -- LLMBar's form,
      ``label`` names the better output;
    * ``{"case": ID, "response": TEXT, "label": good | bad | 1 | 0 | true | false}``.

    An optional ``id`` names the row. Blank lines are skipped.

    Args:
        path: the file.
        case_ids: when given, a row naming any other case is an error.

    Raises:
        GenerationError: naming the file and line of a missing field, a wrong type, a label
            outside the allowed values, or an unknown case.
    """
    path = Path(path)
    known = set(case_ids) if case_ids is not None else None
    pairs: list[LabelledPair] = []
    singles: list[LabelledResponse] = []
    for n, row in read_jsonl(path, error=GenerationError):
        item = _labelled_row(row, f"{path}:{n}", str(row.get("id") or f"line-{n}"), known)
        if isinstance(item, LabelledPair):
            pairs.append(item)
        else:
            singles.append(item)
    if not pairs and not singles:
        raise GenerationError(f"{path}: no labelled responses in the file")
    return pairs, singles


def _text_field(row: dict[str, Any], name: str, where: str) -> str:
    if name not in row:
        raise GenerationError(f"{where}: missing field {name!r}")
    if not isinstance(row[name], str):
        raise GenerationError(f"{where}: field {name!r} must be a string")
    return str(row[name])


def _labelled_row(
    row: dict[str, Any], where: str, row_id: str, known: set[str] | None
) -> LabelledPair | LabelledResponse:
    """One row of a labelled file: a preference pair (two shapes) or a single labelled response."""
    case_id = _text_field(row, "case", where)
    if known is not None and case_id not in known:
        raise GenerationError(f"{where}: unknown case {case_id!r}; the suite's cases: {', '.join(sorted(known))}")
    if "chosen" in row or "rejected" in row:
        return LabelledPair(case_id, _text_field(row, "chosen", where), _text_field(row, "rejected", where), row_id)
    if "output_1" in row or "output_2" in row:
        first, second = _text_field(row, "output_1", where), _text_field(row, "output_2", where)
        label = row.get("label")
        if label not in (1, 2, "1", "2"):
            raise GenerationError(f"{where}: field 'label' must be 1 or 2 (the better output), got {label!r}")
        better_first = str(label) == "1"
        return LabelledPair(case_id, first if better_first else second, second if better_first else first, row_id)
    if "response" in row:
        response = _text_field(row, "response", where)
        if "label" not in row:
            raise GenerationError(f"{where}: missing field 'label'")
        label = row["label"]
        key = str(label).lower() if isinstance(label, str | int | bool) else None
        if key not in _GOOD:
            raise GenerationError(f"{where}: field 'label' must be one of good, bad, 1, 0, true, false; got {label!r}")
        return LabelledResponse(case_id, response, _GOOD[key], row_id)
    raise GenerationError(
        f"{where}: expected `chosen`/`rejected`, `output_1`/`output_2`/`label`, "
        f"or `response`/`label`; got keys {', '.join(sorted(row))}"
    )
