"""The ``recorded`` judge: verdicts read from a JSONL file instead of a model.

Use it for human labels, for verdicts recorded from any judge (offline demos, CI without
keys), and as the gold side of ``rubrictest calibrate``. ``judge: recorded:labels.jsonl``
(relative to the suite file). One JSON object per line::

    {"case": "refund-window", "criterion": "states-window", "met": true,
     "confidence": 0.9, "rationale": "...", "evidence": "...", "target": "gpt-4o"}

``met`` may be given as ``outcome`` (``met`` / ``not_met``) or ``label`` (1/0, yes/no).
For a criterion graded on a scale the line gives its ``level`` instead (``{"case": ...,
"criterion": ..., "level": 4}``): met from the scale's ``pass_at`` up, scored by the normalised
level. ``target`` is optional; a line without it answers every target. A criterion with no
recorded verdict, or a level that is not on its scale, is ERROR (not FAIL).

A label is about one response. ``response_sha256`` (:func:`rubrictest.response_sha256`: SHA-256
of the response's UTF-8 bytes, hex) or ``response`` (the text itself) says which: when the
response under test is another one, the criterion is ERROR ("label is for another response"),
never a stale PASS. A line without either answers whatever response it is shown, as before:
after the response changes it still passes on the old label (docs/judge-trust.md, re-labelling).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from rubrictest import (
    ComponentContext,
    ComponentSpec,
    ConfigError,
    Criterion,
    Judge,
    JudgeError,
    JudgeRequest,
    JudgeResult,
    Register,
    Verdict,
    check_evidence,
    hookimpl,
    read_jsonl,
    response_sha256,
)

_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
_TRUE = {True, "1", "met", "yes", "true", "pass"}
_FALSE = {False, "0", "not_met", "no", "false", "fail"}


def parse_label(row: dict[str, Any], where: str) -> bool:
    """The met/not-met value of a recorded row (``met``, ``outcome`` or ``label``)."""
    for key in ("met", "outcome", "label"):
        if key in row:
            value = row[key]
            value = value.lower() if isinstance(value, str) else value
            if value in _TRUE:
                return True
            if value in _FALSE:
                return False
            raise ConfigError(f"{where}: {key}={row[key]!r} is not a verdict (use true/false, met/not_met, 1/0)")
    raise ConfigError(f"{where}: no `met`, `outcome` or `label` field")


def read_records(path: Path) -> dict[tuple[str, str, str | None], dict[str, Any]]:
    """Read a recorded-verdicts JSONL into {(case, criterion, target): row}."""
    records: dict[tuple[str, str, str | None], dict[str, Any]] = {}
    for n, row in read_jsonl(path):
        where = f"{path}:{n}"
        if not isinstance(row.get("case"), str) or not isinstance(row.get("criterion"), str):
            raise ConfigError(f"{where}: expected an object with string `case` and `criterion`")
        level = row.get("level")
        if level is not None and (isinstance(level, bool) or not isinstance(level, int | float)):
            raise ConfigError(f"{where}: level {level!r} is not a number")
        row["_met"] = parse_label(row, where) if level is None else None
        conf = row.get("confidence")
        if conf is not None and not (isinstance(conf, int | float) and 0 <= conf <= 1):
            raise ConfigError(f"{where}: confidence {conf!r} is not a number in [0, 1]")
        expected = row.get("response_sha256")
        if expected is not None and not (isinstance(expected, str) and _SHA256.fullmatch(expected)):
            raise ConfigError(f"{where}: response_sha256 {expected!r} is not a SHA-256 hex digest (64 hex digits)")
        if row.get("response") is not None and not isinstance(row["response"], str):
            raise ConfigError(f"{where}: response: expected a string")
        if (
            expected is not None
            and row.get("response") is not None
            and response_sha256(row["response"]) != expected.lower()
        ):
            raise ConfigError(f"{where}: response_sha256 is not the SHA-256 of the line's response")
        row["_where"] = where
        records[(row["case"], row["criterion"], row.get("target"))] = row
    return records


class RecordedOptions(BaseModel):
    """``options`` of the ``recorded`` judge."""

    model_config = ConfigDict(extra="forbid")

    path: str | None = Field(None, description="The JSONL file (instead of recorded:PATH), relative to the suite.")


class RecordedJudge(Judge):
    """Verdicts read from a JSONL file (human labels or recorded judge verdicts)."""

    options_model = RecordedOptions
    per_directory = True
    cacheable = False
    billable = False
    default_concurrency = 1_000_000

    def __init__(self, spec: ComponentSpec, context: ComponentContext) -> None:
        super().__init__(spec, context)
        self._records: dict[tuple[str, str, str | None], dict[str, Any]] | None = None

    def check_ready(self) -> None:
        if self._records is None:
            ref = self.spec.model or self.spec.options.get("path")
            if not ref:
                raise ConfigError("recorded judge: give the file as recorded:PATH")
            self._records = read_records((self.context.base_dir / str(ref)).resolve())

    async def judge(self, request: JudgeRequest) -> JudgeResult:
        try:
            self.check_ready()
        except ConfigError as exc:
            raise JudgeError(str(exc)) from None
        assert self._records is not None
        verdicts = []
        for crit in request.criteria:
            row = self._records.get((request.case.id, crit.id, request.target)) or self._records.get(
                (request.case.id, crit.id, None)
            )
            if row is None:
                verdicts.append(
                    Verdict.failed(crit.id, f"no recorded verdict for case {request.case.id!r}, criterion {crit.id!r}")
                )
                continue
            verdicts.append(_verdict(crit, row, request.response))
        return JudgeResult(verdicts)


def _stale(row: dict[str, Any], response: str) -> str | None:
    """Why ``row`` is not a label of ``response`` (it names another response), else ``None``."""
    expected = row.get("response_sha256")
    if expected is None and row.get("response") is None:
        return None  # an unbound label: trusted as before (the documented risk)
    actual = response_sha256(response)
    if expected is None:
        expected = response_sha256(row["response"])
    if actual == expected.lower():
        return None
    return (
        f"label is for another response: {row['_where']} was recorded for response sha256 "
        f"{expected.lower()[:12]}…, the response under test is sha256 {actual[:12]}…; judge the new "
        "response and re-label it (docs/judge-trust.md, re-labelling)"
    )


def _verdict(crit: Criterion, row: dict[str, Any], response: str) -> Verdict:
    stale = _stale(row, response)
    if stale is not None:
        return Verdict.failed(crit.id, stale)
    evidence = row.get("evidence")
    fields: dict[str, Any] = {
        "confidence": row.get("confidence"),
        "evidence": evidence,
        "evidence_supported": check_evidence(evidence, response),
        "rationale": row.get("rationale"),
    }
    level = row.get("level")
    if crit.scale is not None:
        if level is None:
            return Verdict.failed(
                crit.id, f"the recorded verdict of {crit.id!r} has no `level`, but the criterion is graded on a scale"
            )
        return crit.scale.verdict(crit.id, level, **fields)
    if level is not None:
        return Verdict.failed(
            crit.id, f"the recorded verdict of {crit.id!r} gives a level, but the criterion has no `scale`"
        )
    return Verdict(criterion_id=crit.id, outcome="met" if row["_met"] else "not_met", **fields)


@hookimpl
def register_judges(register: Register) -> None:
    register("recorded", RecordedJudge)
