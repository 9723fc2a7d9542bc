"""Judge panels over the wire: scripted members behind the local OpenAI-compatible server.

Members: ``yes`` (every criterion met), ``no`` (none met), ``broken`` (every request refused
with HTTP 400), ``first`` (position bias: only the criterion listed first in the request is
met), ``wobbly`` (three samples: met, met, not met) and ``sure-no`` (three samples, all not
met). Every case has two criteria, ``c0`` then ``c1``, so ``first`` meets ``c0`` only.

The engine runs in this process (no pytest subprocess): each test reads the panel's verdict,
the members' verdicts and, where it matters, the stored rows.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from rubrictest.engine import CaseOutcome, ComponentPool, Engine, ModelCalls, Run
from rubrictest.store import Store
from rubrictest.suite import SuiteModel, resolve_model

from ..helpers.remote import FAST_RETRY
from .fake_provider import FakeProvider, Step


def _yes(cid: str, response: str) -> tuple[bool, str]:
    return True, " ".join(response.split()[:3])


def _no(cid: str, response: str) -> tuple[bool, str]:
    return False, ""


def _first(cid: str, response: str, index: int) -> tuple[bool, str]:
    return index == 0, " ".join(response.split()[:3]) if index == 0 else ""


_first.positional = True  # type: ignore[attr-defined]


@pytest.fixture
def server(provider: FakeProvider, api_keys: str) -> FakeProvider:
    provider.by_model = {
        "yes": [_yes],
        "no": [_no],
        "first": [_first],
        "wobbly": [_yes, _yes, _no],
        "sure-no": [_no],
        "quoter": [lambda c, r: (True, "words that are nowhere")],
    }
    provider.by_marker['"model": "broken"'] = Step(
        "status", status=400, body={"error": {"message": "model broken is down"}}
    )
    return provider


def member(server: FakeProvider, model: str, **extra: Any) -> dict[str, Any]:
    return {
        "plugin": "openai",
        "model": model,
        "name": model,
        "base_url": server.openai_url,
        "options": {"retry": dict(FAST_RETRY)},
        **extra,
    }


def suite(judge: Any, cases: int = 1, **extra: Any) -> dict[str, Any]:
    return {
        "version": 1,
        "suite": "panel",
        "judge": judge,
        **extra,
        "cases": [
            {
                "id": f"case{i}",
                "input": f"Question {i}?",
                "output": f"The answer to question {i} is here.",
                "criteria": [{"id": "c0", "text": "Answers the question."}, {"id": "c1", "text": "Cites a source."}],
            }
            for i in range(cases)
        ],
    }


def judge_suite(
    tmp_path: Path, data: dict[str, Any], *, db: Path | None = None, max_cost: float | None = None
) -> tuple[list[CaseOutcome], ModelCalls]:
    """Judge every case of ``data`` with the engine, as a pytest run would."""
    path = tmp_path / "test_panel.rubric.yaml"
    s = resolve_model(SuiteModel.model_validate(data), path, path.name)
    store = Store.open(db) if db is not None else None
    run = Run.start(store, kind="pytest", rootdir=str(tmp_path), argv=["test"], version="test")
    calls = ModelCalls(ComponentPool(tmp_path), run, max_cost=max_cost)
    engine = Engine(calls)
    engine.pool.validate(s)
    keys = [f"k{i}" for i in range(len(s.runs))]
    for key, case_run in zip(keys, s.runs, strict=True):
        engine.add(s, case_run, key)
    engine.schedule()
    outcomes = [engine.case(k) for k in keys]
    engine.close()
    run.finish(None, calls.usage_summary())
    if store is not None:
        store.close()
    return outcomes, calls


def decided(tmp_path: Path, panel: Any) -> dict[str, str]:
    """Each criterion's panel outcome (``error: reason`` for an error)."""
    [out], _ = judge_suite(tmp_path, suite(panel))
    return {
        cid: (i.verdict.outcome if i.verdict.outcome != "error" else f"error: {i.verdict.error}")
        for cid, i in out.verdicts.items()
    }


def test_majority_of_yes_no_and_a_position_biased_member(server: FakeProvider, tmp_path: Path) -> None:
    got = decided(tmp_path, [member(server, m) for m in ("yes", "no", "first")])
    assert got == {"c0": "met", "c1": "not_met"}  # c0: yes+first against no; c1: no+first against yes


def test_a_tie_is_an_error_never_a_pass(server: FakeProvider, tmp_path: Path) -> None:
    got = decided(tmp_path, [member(server, "yes"), member(server, "no")])
    assert got["c0"].startswith("error: panel majority: tie, met: yes; not met: no")


def test_an_erroring_member_leaves_a_tie_between_the_others(server: FakeProvider, tmp_path: Path) -> None:
    got = decided(tmp_path, [member(server, m) for m in ("yes", "no", "broken")])
    assert got["c0"].startswith("error: panel majority: tie")


def test_too_many_erroring_members_miss_the_quorum(server: FakeProvider, tmp_path: Path) -> None:
    members = [member(server, "yes"), member(server, "broken"), member(server, "broken", name="broken-2")]
    got = decided(tmp_path, members)
    assert got["c0"].startswith("error: only 1 of 3 panel members gave a verdict (quorum 2): broken: ")
    assert "model broken is down" in got["c0"] and "broken-2: " in got["c0"]
    assert decided(tmp_path, {"panel": members, "quorum": 1}) == {"c0": "met", "c1": "met"}
    assert decided(tmp_path, {"panel": members, "quorum": 0.3}) == {"c0": "met", "c1": "met"}


def test_unanimous_fails_on_one_dissent_and_wants_every_member(server: FakeProvider, tmp_path: Path) -> None:
    assert decided(tmp_path, {"panel": [member(server, "yes"), member(server, "first")], "vote": "unanimous"}) == {
        "c0": "met",
        "c1": "not_met",
    }
    got = decided(tmp_path, {"panel": [member(server, m) for m in ("yes", "first", "broken")], "vote": "unanimous"})
    assert got["c0"].startswith("error: only 2 of 3 panel members gave a verdict (quorum 3)")


def test_any_passes_when_one_member_says_it_passes(server: FakeProvider, tmp_path: Path) -> None:
    assert decided(tmp_path, {"panel": [member(server, "no"), member(server, "first")], "vote": "any"}) == {
        "c0": "met",
        "c1": "not_met",
    }


def test_weighted_follows_the_static_weights(server: FakeProvider, tmp_path: Path) -> None:
    pair = [member(server, "yes"), member(server, "no")]
    assert decided(tmp_path, {"panel": pair, "vote": "weighted", "weights": [2, 1]}) == {"c0": "met", "c1": "met"}
    assert decided(tmp_path, {"panel": pair, "vote": "weighted", "weights": [1, 3]}) == {
        "c0": "not_met",
        "c1": "not_met",
    }
    assert decided(tmp_path, {"panel": pair, "vote": "weighted"})["c0"].startswith("error: panel weighted: tie")


def test_confidence_and_self_consistency_weigh_a_self_contradicting_member_less(
    server: FakeProvider, tmp_path: Path
) -> None:
    # wobbly samples met, met, not met: met with confidence 2/3 and self-agreement 2/3;
    # sure-no samples not met three times: confidence 1, agreement 1.
    pair = [member(server, "wobbly", samples=3), member(server, "sure-no", samples=3)]
    assert decided(tmp_path, {"panel": pair})["c0"].startswith("error: panel majority: tie")
    server.by_model["wobbly"] = [_yes, _yes, _no]
    for vote in ("confidence", "self_consistency"):
        server._model_turns.clear()
        assert decided(tmp_path, {"panel": pair, "vote": vote}) == {"c0": "not_met", "c1": "not_met"}, vote
    server._model_turns.clear()
    # doubling wobbly's weight: 2 x 2/3 = 4/3 against 1
    assert decided(tmp_path, {"panel": pair, "vote": "confidence", "weights": [2, 1]}) == {"c0": "met", "c1": "met"}


def test_a_deduction_passes_unanimously_only_when_every_member_says_not_met(
    server: FakeProvider, tmp_path: Path
) -> None:
    data = suite({"panel": [member(server, "no"), member(server, "first")], "vote": "unanimous"})
    data["cases"][0]["criteria"] = [
        {"id": "c0", "text": "Insults the user.", "points": -1},
        {"id": "c1", "text": "Leaks a secret.", "points": -1},
    ]
    [out], _ = judge_suite(tmp_path, data)
    # c0: no says not met (passes), first says met (fails) -> the deduction is met, FAIL
    assert out.verdicts["c0"].verdict.outcome == "met" and out.verdicts["c0"].status == "FAIL"
    assert out.verdicts["c1"].verdict.outcome == "not_met" and out.verdicts["c1"].status == "PASS"


def test_every_member_is_stored_with_its_own_call(server: FakeProvider, tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    [out], _ = judge_suite(tmp_path, suite([member(server, m) for m in ("yes", "no", "first")]), db=db)
    assert len(server.requests) == 3  # one request per member: both criteria batched
    conn = sqlite3.connect(db)
    rows = conn.execute(
        "SELECT criterion_id, member, member_index, outcome, counted, judge_call_id "
        "FROM member_verdicts ORDER BY criterion_id, member_index"
    ).fetchall()
    assert [(r[0], r[1], r[3], r[4]) for r in rows] == [
        ("c0", "yes", "met", 1),
        ("c0", "no", "not_met", 1),
        ("c0", "first", "met", 1),
        ("c1", "yes", "met", 1),
        ("c1", "no", "not_met", 1),
        ("c1", "first", "not_met", 1),
    ]
    calls = {r[0]: r[1] for r in conn.execute("SELECT id, component FROM judge_calls")}
    assert {calls[r[5]] for r in rows} == {"yes", "no", "first"}
    judge, votes = conn.execute("SELECT judge, votes FROM verdicts WHERE criterion_id = 'c0'").fetchone()
    assert judge == "majority(yes, no, first)" and votes == '["met", "not_met", "met"]'


def test_caching_and_evidence_checking_work_per_member(server: FakeProvider, tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    panel = [member(server, "yes"), member(server, "quoter"), member(server, "no")]
    [out], _ = judge_suite(tmp_path, suite(panel), db=db)
    quoted = {m.member: m for m in out.verdicts["c0"].members or []}["quoter"]
    # the quoter's quote is not in the response: under the default evidence policy its "met" is not counted
    assert quoted.verdict.outcome == "not_met" and quoted.verdict.evidence_supported is False
    assert out.verdicts["c0"].verdict.outcome == "not_met"
    assert len(server.requests) == 3
    _, calls = judge_suite(tmp_path, suite(panel), db=db)
    assert len(server.requests) == 3  # every member answered from the cache
    assert calls.usage_summary()["total"]["cache_hits"] == 3
    panel[2] = member(server, "first")
    judge_suite(tmp_path, suite(panel), db=db)
    assert [r.body["model"] for r in server.requests[3:]] == ["first"]  # only the new member is asked


def test_the_budget_and_the_call_counts_include_every_member(server: FakeProvider, tmp_path: Path) -> None:
    # $0.001 per call, and so its worst case: 20 completion tokens (max_tokens 20) at $50 per million
    price = {"price": {"input": 0.0, "output": 50.0}, "retry": dict(FAST_RETRY)}
    panel = [member(server, m, concurrency=1, options=price, params={"max_tokens": 20}) for m in ("yes", "no", "first")]
    outcomes, calls = judge_suite(tmp_path, suite(panel, cases=4), max_cost=0.0035)
    usage = calls.usage_summary()
    assert usage["total"]["calls"] == len(server.requests)
    assert calls.progress.done == 12  # the progress line saw every member's request of the 4 cases (some refused)
    assert {c: usage["components"][c]["calls"] > 0 for c in ("yes", "no", "first")} == dict.fromkeys(
        ("yes", "no", "first"), True
    )
    assert len(server.requests) == 3  # each reserves $0.001 before it is sent: a 4th would pass $0.0035
    errors = [i.verdict.error for o in outcomes for i in o.verdicts.values() if i.verdict.outcome == "error"]
    assert errors and all("quorum" in (e or "") or "tie" in (e or "") for e in errors)
    members = [m for o in outcomes for i in o.verdicts.values() for m in i.members or []]
    assert any("cost budget exceeded" in (m.verdict.error or "") for m in members)


def _meta_labels(path: Path, scores: dict[str, float]) -> None:
    """A recorded meta judge: ``met`` with confidence p for a score p >= 0.5, else ``not met``
    with confidence 1 - p (both give a meta score of p)."""
    import json

    rows = [
        {"case": "case0", "criterion": cid, "met": p >= 0.5, "confidence": p if p >= 0.5 else 1 - p}
        for cid, p in scores.items()
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_meta_judge_top_k_against_a_hand_computation(server: FakeProvider, tmp_path: Path) -> None:
    # One member, five samples per request: met, not, not, met, not -> a plain majority says not met (2-3).
    server.by_model["mixed"] = [_yes, _no, _no, _yes, _no]
    scores = {"c0#1.1": 0.9, "c0#1.2": 0.2, "c0#1.3": 0.8, "c0#1.4": 0.6, "c0#1.5": 0.1}
    scores |= {cid.replace("c0", "c1"): p for cid, p in scores.items()}
    _meta_labels(tmp_path / "meta.jsonl", scores)
    mixed = member(server, "mixed", samples=5)
    assert decided(tmp_path, [mixed]) == {"c0": "not_met", "c1": "not_met"}
    # top 3 by meta score: samples 1 (0.9, met), 3 (0.8, not met), 4 (0.6, met) -> met, 2 to 1
    server._model_turns.clear()
    db = tmp_path / "r.db"
    [out], _ = judge_suite(tmp_path, suite({"panel": [mixed], "meta": "recorded:meta.jsonl", "top_k": 3}), db=db)
    assert out.verdicts["c0"].verdict.outcome == "met"
    assert out.verdicts["c0"].verdict.confidence == pytest.approx(2 / 3)
    [m] = out.verdicts["c0"].members or []
    assert [s["meta_score"] for s in m.samples] == pytest.approx([0.9, 0.2, 0.8, 0.6, 0.1])
    assert [s["counted"] for s in m.samples] == [True, False, True, True, False]
    assert [s["outcome"] for s in m.samples] == ["met", "not_met", "not_met", "met", "not_met"]
    stored = sqlite3.connect(db).execute("SELECT samples FROM member_verdicts WHERE criterion_id = 'c0'").fetchone()[0]
    assert '"meta_score": 0.9' in stored and '"counted": true' in stored
    # default top_k: half of 5, rounded up = 3 -> the same
    server._model_turns.clear()
    assert decided(tmp_path, {"panel": [mixed], "meta": "recorded:meta.jsonl"})["c0"] == "met"
    # meta_threshold 0.7: samples 1 (met) and 3 (not met) -> a tie, an ERROR
    server._model_turns.clear()
    got = decided(tmp_path, {"panel": [mixed], "meta": "recorded:meta.jsonl", "meta_threshold": 0.7})
    assert got["c0"].startswith("error: panel majority: tie, met: mixed#1; not met: mixed#3")
    # threshold above every score: ERROR naming the best score
    server._model_turns.clear()
    got = decided(tmp_path, {"panel": [mixed], "meta": "recorded:meta.jsonl", "meta_threshold": 0.95})
    assert got["c0"] == "error: no critique reached meta_threshold 0.95 (the best scored 0.9)"


def test_meta_judge_sees_each_critique_and_its_calls_are_recorded(server: FakeProvider, tmp_path: Path) -> None:
    server.by_model["mixed"] = [_yes, _no, _yes]
    server.by_model["meta"] = [lambda cid, r: (not cid.endswith(".2"), "")]
    db = tmp_path / "r.db"
    [out], _ = judge_suite(
        tmp_path,
        suite({"panel": [member(server, "mixed", samples=3)], "meta": member(server, "meta"), "top_k": 2}),
        db=db,
    )
    meta_requests = [r for r in server.requests if r.body["model"] == "meta"]
    assert len(meta_requests) == 1  # every critique of the case in one request
    ids = FakeProvider._criteria(meta_requests[0].body["response_format"]["json_schema"]["schema"])
    assert ids == ["c0#1.1", "c0#1.2", "c0#1.3", "c1#1.1", "c1#1.2", "c1#1.3"]
    prompt = meta_requests[0].body["messages"][1]["content"]
    assert 'The criterion it judged: "Answers the question."' in prompt
    assert "Its conclusion: the criterion is MET" in prompt
    assert out.verdicts["c0"].verdict.outcome == "met"
    components = {r[0] for r in sqlite3.connect(db).execute("SELECT component FROM judge_calls")}
    assert components == {"mixed", "meta"}
