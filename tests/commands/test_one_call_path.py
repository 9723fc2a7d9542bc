"""Every model call of every command goes through the engine's call path: recorded in
``judge_calls`` under a run of the command's own kind, answered from the cache when asked
again, and stopped by ``--max-cost``."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import click
import pytest
from click.testing import CliRunner

from rubrictest import (
    CallRecord,
    Case,
    Judge,
    JudgeRequest,
    JudgeResult,
    Register,
    Target,
    TargetResult,
    Usage,
    Verdict,
    hookimpl,
)
from rubrictest.cli.commands import drift, generate, pairwise, probe, rubric_quality

COST = 0.01  # USD per fake call
CHECKLIST = json.dumps({"checklist": [{"question": "Does the response mention `30 days`?"}]})


class PaidModel(Target):
    """A billable model: answers a generator's checklist prompt, else echoes the input."""

    billable = True
    calls: ClassVar[int] = 0

    def max_request_cost(self, content_bytes: int) -> float:
        return COST

    async def generate(self, case: Case) -> TargetResult:
        PaidModel.calls += 1
        text = CHECKLIST if "checklist" in (case.input or "").lower() else f"answer: {case.input}"
        return TargetResult(
            text,
            [CallRecord(request={"input": case.input}, response=text, usage=Usage(10, 5, COST), model=self.spec.model)],
        )


class PaidJudge(Judge):
    """A billable judge: met when the criterion's backticked phrase is in the response."""

    billable = True
    calls: ClassVar[int] = 0

    def max_request_cost(self, content_bytes: int) -> float:
        return COST

    async def judge(self, request: JudgeRequest) -> JudgeResult:
        PaidJudge.calls += 1
        verdicts = []
        for crit in request.criteria:
            phrase = (crit.text or "").split("`")[1] if "`" in (crit.text or "") else "refund"
            verdicts.append(Verdict(crit.id, "met" if phrase.lower() in request.response.lower() else "not_met"))
        return JudgeResult(
            verdicts,
            [
                CallRecord(
                    request={"n": len(request.criteria)}, response="ok", usage=Usage(20, 5, COST), model=self.spec.model
                )
            ],
        )


class _Plugin:
    @hookimpl
    def register_targets(self, register: Register) -> None:
        register("paid-model", PaidModel)

    @hookimpl
    def register_judges(self, register: Register) -> None:
        register("paid-judge", PaidJudge)


@pytest.fixture(autouse=True)
def paid_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, register_plugin: Callable[[Any, str], Any]) -> None:
    monkeypatch.chdir(tmp_path)
    register_plugin(_Plugin(), "paid-fakes")
    PaidModel.calls = PaidJudge.calls = 0


SUITE = """\
version: 1
suite: paid
judge: paid-judge:j1
cases:
  - id: refund
    input: "Can I return shoes after 40 days?"
    output: "Returns are accepted within 30 days; after 40 days there is no refund."
    tags: [billing]
    criteria:
      - "Mentions `30 days`"
      - "Mentions `refund`"
  - id: shipping
    input: "How long does express shipping take?"
    output: "Express shipping takes 2 days."
    tags: [shipping]
    criteria:
      - {id: time, text: "Mentions `2 days`"}
"""


def _suite(tmp_path: Path, text: str = SUITE) -> Path:
    path = tmp_path / "test_paid.rubric.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _pairs(tmp_path: Path) -> Path:
    rows = [
        {"case": "refund", "chosen": "Within 30 days, no refund after.", "rejected": "Sure!"},
        {"case": "shipping", "chosen": "It takes 2 days.", "rejected": "Soon."},
    ]
    path = tmp_path / "pairs.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _outputs(tmp_path: Path, name: str, prefix: str) -> str:
    rows = [{"id": "refund", "output": f"{prefix} 30 days, refund"}, {"id": "shipping", "output": f"{prefix} 2 days"}]
    (tmp_path / name).write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return f"jsonl:{name}"


def _args(kind: str, tmp_path: Path) -> tuple[click.Command, list[str]]:
    suite = str(_suite(tmp_path))
    if kind == "generate":
        return generate.command, [suite, "-g", "checklist", "--model", "paid-model:m1", "--yes"]
    if kind == "rubric-quality":
        return rubric_quality.command, [suite, "--pairs", str(_pairs(tmp_path))]
    if kind == "probe":
        return probe.command, [suite, "--probe", "length-pad", "--probe", "injection"]
    if kind == "drift":
        old = _suite(tmp_path, SUITE.replace("Mentions `2 days`", "States `2 days`")).rename(tmp_path / "old.yaml")
        _suite(tmp_path)
        return drift.command, [suite, "--old", str(old)]
    assert kind == "pairwise"
    return pairwise.command, [
        suite,
        "--baseline",
        _outputs(tmp_path, "a.jsonl", "A:"),
        "--candidate",
        _outputs(tmp_path, "b.jsonl", "B:"),
    ]


def _calls() -> int:
    return PaidModel.calls + PaidJudge.calls


def _runs(db: Path) -> list[dict[str, Any]]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return [
            dict(r)
            | {
                "calls": conn.execute(
                    "SELECT count(*) FROM judge_calls WHERE run_id = ? AND request IS NOT NULL", [r["id"]]
                ).fetchone()[0]
            }
            for r in conn.execute("SELECT id, kind, status FROM runs ORDER BY started_at, id")
        ]
    finally:
        conn.close()


KINDS = ["generate", "rubric-quality", "probe", "drift", "pairwise"]


@pytest.mark.parametrize("kind", KINDS)
def test_calls_are_recorded_in_a_run_of_the_command_and_cached(kind: str, tmp_path: Path) -> None:
    command, args = _args(kind, tmp_path)
    first = CliRunner().invoke(command, args)
    made = _calls()
    assert made > 0, first.output
    if kind == "generate":
        (tmp_path / "test_paid.generated.yaml").unlink()  # generate again from scratch
    second = CliRunner().invoke(command, args)
    assert second.exit_code == first.exit_code, second.output
    assert _calls() == made, "the second run should be answered from the cache"
    runs = _runs(tmp_path / ".rubrictest" / "rubrictest.db")
    assert [(r["kind"], r["status"]) for r in runs] == [(kind, "finished"), (kind, "finished")]
    assert runs[0]["calls"] == made and runs[1]["calls"] == 0


@pytest.mark.parametrize("kind", KINDS)
def test_max_cost_bounds_the_calls(kind: str, tmp_path: Path) -> None:
    command, args = _args(kind, tmp_path)
    CliRunner().invoke(command, [*args, "--no-store"])
    unbounded = _calls()
    PaidModel.calls = PaidJudge.calls = 0
    result = CliRunner().invoke(command, [*args, "--no-store", "--max-cost", str(COST * 1.5)])
    # the first call reserves COST of the budget; no other fits beside it, nor after it is spent
    assert 0 < _calls() < unbounded, result.output
