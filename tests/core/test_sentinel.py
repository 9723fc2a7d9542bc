"""The rubric-free sentinel and panel agreement, offline: recorded judges, the suite format,
the gate, the report and calibrate. The wire-level sentinel (a remote judge behind the local
server, cache and budget) is in tests/remote/test_sentinel.py."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner
from sklearn.metrics import cohen_kappa_score

from rubrictest.cli import build_cli
from rubrictest.protocol.sentinel import SentinelSpec
from rubrictest.store.agreement import panel_agreement
from rubrictest.suite import json_schema

from ..helpers.pytester import assert_no_traceback, db_path, failure_text, outcomes

# A case that games its checklist: every keyword, no answer.
SUITE = """
version: 1
suite: sky
judge: recorded:rubric.jsonl
sentinel: {sentinel}
threshold: 0.5
{gate}
cases:
  - id: gamed
    input: Why is the sky blue?
    output: "Keywords: Rayleigh scattering, short wavelengths."
    criteria:
      - id: rayleigh
        text: Names Rayleigh scattering.
      - id: wavelength
        text: Says that short wavelengths scatter more.
  - id: answered
    input: Why is the sky blue?
    output: "Air scatters short wavelengths most (Rayleigh scattering), so the sky looks blue."
    criteria:
      - id: rayleigh
        text: Names Rayleigh scattering.
      - id: wavelength
        text: Says that short wavelengths scatter more.
"""


def _write_labels(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


@pytest.fixture
def labelled(pytester: pytest.Pytester) -> Path:
    _write_labels(
        pytester.path / "rubric.jsonl",
        [{"case": c, "criterion": k, "met": True} for c in ("gamed", "answered") for k in ("rayleigh", "wavelength")],
    )
    _write_labels(
        pytester.path / "holistic.jsonl",
        [
            {
                "case": "gamed",
                "criterion": "sentinel",
                "met": False,
                "confidence": 0.9,
                "rationale": "A keyword list, not an answer.",
            },
            {"case": "answered", "criterion": "sentinel", "met": True, "confidence": 0.8},
        ],
    )
    return pytester.path


def _suite(write_suite: Callable[..., Path], sentinel: str = "recorded:holistic.jsonl", gate: str = "") -> Path:
    return write_suite(SUITE.format(sentinel=sentinel, gate=gate))


def test_a_gaming_response_is_flagged_and_reported_without_failing_the_run(
    pytester: pytest.Pytester, write_suite: Callable[..., Path], labelled: Path
) -> None:
    _suite(write_suite)
    result = pytester.runpytest("-v")
    assert result.ret == 0 and outcomes(result) == {"passed": 6}
    out = result.stdout.str()
    assert "sentinel: recorded:holistic.jsonl (rubric-free)" in out
    assert (
        "sentinel: 1 of 2 cases a rubric-holistic disagreement: sky::gamed (rubric_only: rubric 1.00, "
        "sentinel 0.10)" in out
    )
    with sqlite3.connect(db_path(pytester)) as con:
        rows = con.execute(
            "SELECT case_id, outcome, score, rubric_score, disagreement FROM sentinel_verdicts ORDER BY case_id"
        ).fetchall()
    assert rows == [("answered", "met", 0.8, 1.0, None), ("gamed", "not_met", pytest.approx(0.1), 1.0, "rubric_only")]
    report = CliRunner().invoke(build_cli(), ["report", "--db", str(db_path(pytester))])
    assert report.exit_code == 0, report.output
    assert "sentinel (rubric-free): 2 cases compared, 1 rubric-holistic disagreement(s) (50%)" in report.output
    assert "RUBRIC ONLY: the rubric passes what the sentinel fails" in report.output
    data = json.loads(CliRunner().invoke(build_cli(), ["report", "--db", str(db_path(pytester)), "--json"]).output)
    assert [c["case_id"] for c in data["sentinel"]["disagreements"]] == ["gamed"]
    assert data["sentinel"]["rate"] == 0.5 and data["panel_agreement"] is None


@pytest.mark.parametrize(("bound", "status"), [(0.1, "failed"), (0.5, "passed")])
def test_the_gate_bounds_the_disagreement_rate(
    pytester: pytest.Pytester, write_suite: Callable[..., Path], labelled: Path, bound: float, status: str
) -> None:
    _suite(write_suite, gate=f"gate: {{max_disagreement: {bound}}}")
    result = pytester.runpytest("-v")
    assert outcomes(result) == {"passed": 6, **({"passed": 7} if status == "passed" else {"failed": 1})}
    if status == "failed":
        text = failure_text(result)
        assert_no_traceback(text)
        assert "gate FAILED: 1/2 cases are rubric-holistic disagreements (50.0%) > max_disagreement 0.1: gamed" in text
    # stored with the run's gates, so `report` and `compare` can say whether the release passed
    with sqlite3.connect(db_path(pytester)) as con:
        row = con.execute(
            "SELECT status, min_pass_rate, max_disagreement, disagreements, disagreement_rate FROM gates"
        ).fetchone()
    assert row == ("FAIL" if status == "failed" else "PASS", None, bound, '["gamed"]', 0.5)
    report = CliRunner().invoke(build_cli(), ["report", "--db", str(db_path(pytester))])
    op = ">" if status == "failed" else "<="
    assert f"gate {row[0]}: 1 rubric-holistic disagreement(s) (50.0%) {op} max {bound:g}" in report.output


def test_both_gates_at_once(pytester: pytest.Pytester, write_suite: Callable[..., Path], labelled: Path) -> None:
    _suite(write_suite, gate="gate: {min_pass_rate: 0.99, max_disagreement: 0.0}")
    text = failure_text(pytester.runpytest())
    assert "Wilson lower bound" in text and "rubric-holistic disagreements (50.0%) > max_disagreement 0" in text


def test_a_case_the_sentinel_cannot_judge_leaves_the_gate_undecided(
    pytester: pytest.Pytester, write_suite: Callable[..., Path], labelled: Path
) -> None:
    _write_labels(pytester.path / "holistic.jsonl", [{"case": "gamed", "criterion": "sentinel", "met": False}])
    _suite(write_suite, gate="gate: {max_disagreement: 0.5}")
    result = pytester.runpytest("-v")
    assert outcomes(result) == {"passed": 6, "errors": 1}
    out = result.stdout.str()
    assert "gate undecided: 1 case(s) have no rubric score or no sentinel score to compare: answered" in out
    report = CliRunner().invoke(build_cli(), ["report", "--db", str(db_path(pytester))])
    assert "no recorded verdict for case 'answered', criterion 'sentinel'" in report.output


@pytest.mark.parametrize(
    ("sentinel", "gate", "message", "line"),
    [
        ("null", "gate: {max_disagreement: 0.1}", "names no `sentinel` to find them", 6),
        ("contains", "", "a deterministic check cannot judge a response as a whole", 4),
        ("{judge: 'recorded:holistic.jsonl', high: 0.3, low: 0.5}", "", "`low` (0.5) must be below `high` (0.3)", 4),
        ("{judge: 'recorded:holistic.jsonl', hgh: 0.3}", "", "unknown key 'hgh'", 4),
        ("recorded:holistic.jsonl", "gate: {confidence: 0.9}", "a gate needs `min_pass_rate`, `max_disagreement`", 6),
    ],
)
def test_a_malformed_sentinel_or_gate_is_a_collection_error_with_file_and_line(
    pytester: pytest.Pytester,
    write_suite: Callable[..., Path],
    labelled: Path,
    sentinel: str,
    gate: str,
    message: str,
    line: int,
) -> None:
    _suite(write_suite, sentinel=sentinel, gate=gate)
    result = pytester.runpytest()
    out = result.stdout.str()
    assert result.ret != 0 and message in out, out
    assert f"test_s.rubric.yaml:{line}" in out, out


def test_the_schema_takes_every_form_of_sentinel() -> None:
    schema = json_schema()
    base = {"version": 1, "cases": [{"output": "x", "criteria": ["y"]}]}
    for sentinel in (
        "openai:gpt-4.1",
        {"plugin": "openai", "model": "gpt-4.1"},
        {"judge": "openai:gpt-4.1", "high": 0.8, "low": 0.2},
    ):
        jsonschema.validate({**base, "sentinel": sentinel, "gate": {"max_disagreement": 0.1}}, schema)
        assert SentinelSpec.model_validate(sentinel).judge.model == "gpt-4.1"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**base, "sentinel": {"judge": "openai:x", "highest": 1}}, schema)


def test_disagreement_thresholds() -> None:
    spec = SentinelSpec.model_validate("recorded:x.jsonl")
    assert (spec.high, spec.low) == (0.7, 0.3)
    assert spec.disagreement(0.7, 0.3) == "rubric_only"
    assert spec.disagreement(0.3, 0.7) == "holistic_only"
    assert spec.disagreement(0.69, 0.0) is None and spec.disagreement(1.0, 0.31) is None
    assert spec.disagreement(None, 0.0) is None and spec.disagreement(1.0, None) is None


def _member(case: str, crit: str, member: str, index: int, outcome: str) -> dict[str, Any]:
    return {
        "suite": "s",
        "case_id": case,
        "target": "",
        "criterion_id": crit,
        "member": member,
        "member_index": index,
        "outcome": outcome,
    }


def test_pairwise_kappa_and_splits_by_hand() -> None:
    a = ["met", "met", "not_met", "met", "not_met", "met"]
    b = ["met", "not_met", "not_met", "met", "met", "met"]
    c = ["met", "met", "not_met", "met", "not_met", "error"]
    crits = ["x", "x", "y", "y", "z", "z"]
    members = [
        _member(f"case{i}", crits[i], name, j, votes[i])
        for i in range(6)
        for j, (name, votes) in enumerate((("a", a), ("b", b), ("c", c)))
    ]
    verdicts = [
        {
            "suite": "s",
            "case_id": f"case{i}",
            "target": "",
            "criterion_id": crits[i],
            "tags": ["style"] if crits[i] == "z" else [],
            "criterion_text": crits[i].upper(),
        }
        for i in range(6)
    ]
    got = panel_agreement(members, verdicts)
    assert got is not None
    pairs = {(p["a"], p["b"]): p for p in got["pairs"]}
    assert pairs[("a", "b")]["n"] == 6 and pairs[("a", "b")]["agreement"] == pytest.approx(4 / 6)
    assert pairs[("a", "b")]["kappa"] == pytest.approx(cohen_kappa_score(a, b))
    # c's error on case5 leaves that case out of c's pairs
    assert pairs[("a", "c")]["n"] == 5 and pairs[("a", "c")]["kappa"] == pytest.approx(1.0)
    assert pairs[("b", "c")]["kappa"] == pytest.approx(cohen_kappa_score(b[:5], c[:5]))
    # splits: case1 (x) and case4 (z) -- 2 of 6
    assert (got["n"], got["split"]) == (6, 2)
    by = {c["criterion_id"]: c for c in got["by_criterion"]}
    assert (by["x"]["split"], by["x"]["flagged"], by["x"]["cases_split"]) == (1, True, ["case1"])
    assert (by["y"]["split"], by["y"]["flagged"]) == (0, False)
    assert by["z"]["text"] == "Z" and got["flagged"] == ["s::x", "s::z"]
    assert got["by_tag"]["style"]["split"] == 1 and got["by_tag"]["style"]["n"] == 2
    assert panel_agreement(members, verdicts, flag_split=0.6)["flagged"] == []  # type: ignore[index]
    assert panel_agreement([], verdicts) is None
