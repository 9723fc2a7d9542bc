"""Judge panels in the suite format, at collection, in pytest's output and in the store.

Members here are ``recorded`` judges (JSONL files), so every vote is written down in the test.
The wire-level behaviour (members behind a server, quorum, ties, meta-judge selection,
caching and budgets per member) is in tests/remote/test_panels.py.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from rubrictest import Ballot, Criterion, PanelSpec, Verdict
from rubrictest.engine.run import event_from_json, event_to_json
from rubrictest.events import VerdictEvent
from rubrictest.plugins import registry
from rubrictest.protocol import Case
from rubrictest.suite import json_schema, load_suite

from ..helpers.pytester import assert_no_traceback, failure_text, outcomes


def labels(path: Path, rows: list[tuple[str, str, bool, float | None]]) -> str:
    path.write_text(
        "".join(json.dumps({"case": c, "criterion": k, "met": m, "confidence": p}) + "\n" for c, k, m, p in rows)
    )
    return f"recorded:{path.name}"


PANEL_SUITE = """
version: 1
suite: panel
judge: {judge}
cases:
  - id: c1
    input: "Say hello."
    output: "Hello there, friend."
    criteria:
      - id: greets
        text: Greets the user.
      - id: rude
        text: Is rude.
        points: -1
"""


@pytest.fixture
def three(pytester: pytest.Pytester) -> list[str]:
    """Three recorded members: a says yes to everything, b no, c splits."""
    p = pytester.path
    return [
        labels(p / "a.jsonl", [("c1", "greets", True, 0.9), ("c1", "rude", True, 0.6)]),
        labels(p / "b.jsonl", [("c1", "greets", False, 0.7), ("c1", "rude", False, 0.9)]),
        labels(p / "c.jsonl", [("c1", "greets", True, 0.8), ("c1", "rude", False, 0.55)]),
    ]


def test_a_list_of_judges_is_a_majority_panel(
    pytester: pytest.Pytester, write_suite: Callable[..., Path], three: list[str]
) -> None:
    write_suite(PANEL_SUITE.format(judge=json.dumps(three)))
    result = pytester.runpytest("-v")
    assert outcomes(result) == {"passed": 2}
    conn = sqlite3.connect(pytester.path / ".rubrictest" / "rubrictest.db")
    rows = conn.execute("SELECT criterion_id, judge, outcome, confidence, votes FROM verdicts ORDER BY position")
    assert [tuple(r) for r in rows] == [
        (
            "greets",
            "majority(recorded:a.jsonl, recorded:b.jsonl, recorded:c.jsonl)",
            "met",
            pytest.approx(2 / 3),
            '["met", "not_met", "met"]',
        ),
        (
            "rude",
            "majority(recorded:a.jsonl, recorded:b.jsonl, recorded:c.jsonl)",
            "not_met",
            pytest.approx(2 / 3),
            '["met", "not_met", "not_met"]',
        ),
    ]
    members = conn.execute(
        "SELECT member, outcome, confidence, counted FROM member_verdicts "
        "WHERE criterion_id = 'rude' ORDER BY member_index"
    ).fetchall()
    assert members == [
        ("recorded:a.jsonl", "met", 0.6, 1),
        ("recorded:b.jsonl", "not_met", 0.9, 1),
        ("recorded:c.jsonl", "not_met", 0.55, 1),
    ]
    assert "judges:  recorded:a.jsonl, recorded:b.jsonl, recorded:c.jsonl" in result.stdout.str()


def test_confidence_vote_can_overrule_the_majority(
    pytester: pytest.Pytester, write_suite: Callable[..., Path], three: list[str]
) -> None:
    # rude: a says met at 0.6; b (0.9) and c (0.55) say not met -> 1.45 against 0.6: not met, PASS.
    # greets: a 0.9 + c 0.8 met against b 0.7. Weights [1, 4, 1] turn greets: 1.7 against 2.8.
    panel = {"panel": three, "vote": "confidence", "weights": [1, 4, 1]}
    write_suite(PANEL_SUITE.format(judge=json.dumps(panel)))
    result = pytester.runpytest("-v")
    assert outcomes(result) == {"passed": 1, "failed": 1}
    text = failure_text(result)
    assert_no_traceback(text)
    assert "panel confidence: not_met (met: recorded:a.jsonl, recorded:c.jsonl; not met: recorded:b.jsonl)" in text
    assert "recorded:b.jsonl: not met (0.70)" in text  # every member's verdict in the failure


def test_a_criterion_can_have_its_own_panel_and_a_case_its_own(
    pytester: pytest.Pytester, write_suite: Callable[..., Path], three: list[str]
) -> None:
    path = write_suite(f"""
        version: 1
        judge: {three[0]}
        cases:
          - id: c1
            input: hi
            output: Hello there, friend.
            judge: {json.dumps(three[:2] + [three[2]])}
            criteria:
              - id: greets
                text: Greets the user.
                judge: {{panel: {json.dumps(three[1:])}, vote: any}}
              - id: rude
                text: Is rude.
                points: -1
    """)
    suite = load_suite(path)
    greets, rude = suite.runs[0].case.criteria
    assert greets.panel is not None and greets.panel.vote == "any" and greets.judge == greets.panel.panel[0]
    assert rude.panel is not None and len(rude.panel.panel) == 3
    assert [j.label for j in greets.judges] == ["recorded:b.jsonl", "recorded:c.jsonl"]
    assert outcomes(pytester.runpytest()) == {"passed": 2}


@pytest.mark.parametrize(
    ("judge", "message"),
    [
        (
            {"panel": ["recorded:a.jsonl", "recorded:b.jsonl"], "weights": [1]},
            "`weights` has 1 entries for 2 panel members",
        ),
        ({"panel": ["recorded:a.jsonl", "recorded:a.jsonl"]}, "recorded:a.jsonl appears twice"),
        ({"panel": ["recorded:a.jsonl"], "top_k": 2}, "this panel has no `meta`"),
        ({"panel": ["recorded:a.jsonl"], "quorum": 3}, "`quorum` as a count must be between 1 and the 1 members"),
        ({"panel": ["recorded:a.jsonl"], "quorum": 1.5}, "`quorum` as a share must be in (0, 1]"),
        ({"panel": [], "vote": "majority"}, "at least 1 item"),
        ({"panel": ["recorded:a.jsonl"], "vot": "any"}, "unknown key 'vot' (did you mean 'vote'?)"),
    ],
)
def test_a_malformed_panel_is_a_collection_error_with_file_and_line(
    pytester: pytest.Pytester, write_suite: Callable[..., Path], judge: dict[str, Any], message: str
) -> None:
    write_suite(PANEL_SUITE.format(judge=json.dumps(judge)))
    result = pytester.runpytest()
    out = result.stdout.str()
    assert result.ret != 0 and message in out, out
    assert "test_s.rubric.yaml:3" in out


def test_an_unknown_voting_rule_names_the_available_ones(
    pytester: pytest.Pytester, write_suite: Callable[..., Path], three: list[str]
) -> None:
    write_suite(PANEL_SUITE.format(judge=json.dumps({"panel": three, "vote": "plurality"})))
    result = pytester.runpytest()
    out = result.stdout.str()
    assert result.ret != 0
    assert (
        "unknown voting_rule 'plurality'; available voting_rules: any, confidence, majority, "
        "self_consistency, unanimous, weighted" in out
    )
    assert "test_s.rubric.yaml:9" in out  # the criterion that would have been judged


def test_the_schema_accepts_every_panel_form() -> None:
    schema = json_schema()
    base = {"version": 1, "cases": [{"output": "x", "criteria": ["a"]}]}
    for judge in (
        ["openai:a", {"plugin": "anthropic", "model": "b"}],
        {
            "panel": ["openai:a", "openai:b"],
            "vote": "weighted",
            "weights": [2, 1],
            "quorum": 0.5,
            "meta": "openai:m",
            "top_k": 2,
        },
    ):
        jsonschema.validate({**base, "judge": judge}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**base, "judge": {"panel": ["openai:a"], "votes": "x"}}, schema)


def test_builtin_rules_decide_as_documented() -> None:
    crit, deduction = Criterion(id="k", text="t"), Criterion(id="d", text="bad", points=-1)

    def ballots(*outcomes: str, confidence: float | None = None) -> list[Ballot]:
        return [
            Ballot(f"m{i}", Verdict("k", o, confidence=confidence), weight=i + 1.0)  # type: ignore[arg-type]
            for i, o in enumerate(outcomes)
        ]

    rules = {name: registry().get("voting_rules", name).factory() for name in registry().names("voting_rules")}
    assert rules["majority"].decide(crit, ballots("met", "not_met", "met")).outcome == "met"
    assert rules["unanimous"].decide(crit, ballots("met", "met", "not_met")).outcome == "not_met"
    assert rules["unanimous"].decide(deduction, ballots("not_met", "not_met")).outcome == "not_met"
    assert rules["unanimous"].decide(deduction, ballots("not_met", "met")).outcome == "met"
    assert rules["any"].decide(crit, ballots("not_met", "met")).outcome == "met"
    assert rules["any"].decide(deduction, ballots("met", "not_met")).outcome == "not_met"
    assert rules["weighted"].decide(crit, ballots("met", "not_met")).outcome == "not_met"  # 1 against 2
    tie = rules["weighted"].decide(crit, ballots("met", "met", "not_met"))  # 1 + 2 against 3
    assert tie.outcome == "error" and tie.error is not None and "tie" in tie.error


def test_a_panel_travels_with_its_verdict_event_to_the_xdist_controller() -> None:
    panel = PanelSpec.model_validate({"panel": ["openai:a", "openai:b"], "vote": "any"})
    crit = Criterion(id="k", text="t", judge=panel.panel[0], panel=panel)
    event = VerdictEvent(
        run_id="r",
        case=Case(suite="s", id="c", criteria=(crit,)),
        criterion=crit,
        verdict=Verdict("k", "met", votes=["met", "not_met"]),
        judge=panel.label,
        target=None,
        cached=False,
    )
    back, status = event_from_json(json.loads(json.dumps(event_to_json(event, "PASS"))))
    assert back.criterion.panel == panel and status == "PASS"


def test_python_api_accepts_a_panel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from rubrictest import evaluate

    monkeypatch.chdir(tmp_path)
    members = [
        labels(tmp_path / f"{n}.jsonl", [("hello", "greets", met, None)])
        for n, met in (("a", True), ("b", False), ("c", True))
    ]
    result = evaluate("Hello", [{"id": "greets", "text": "Greets."}], judge=members, case_id="hello", db=None)
    info = result.verdicts["greets"]
    assert result.passed and info.verdict.votes == ["met", "not_met", "met"]
    assert [m.member for m in info.members or []] == ["recorded:a.jsonl", "recorded:b.jsonl", "recorded:c.jsonl"]
