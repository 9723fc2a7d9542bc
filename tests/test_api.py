"""The Python judging API: evaluate() and assert_rubric()."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from rubrictest import (
    ConfigError,
    Judge,
    JudgeError,
    JudgeRequest,
    JudgeResult,
    Register,
    SuiteError,
    Verdict,
    api,
    assert_rubric,
    evaluate,
    hookimpl,
)
from rubrictest.store import Store


class CountingJudge(Judge):
    """Met when the response contains the criterion's last word; counts instances and calls."""

    instances = 0
    calls = 0

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        CountingJudge.instances += 1

    async def judge(self, request: JudgeRequest) -> JudgeResult:
        CountingJudge.calls += 1
        out = []
        for c in request.criteria:
            word = (c.text or "").rstrip(".").split()[-1].lower()
            met = word in request.response.lower()
            out.append(
                Verdict(
                    c.id,
                    "met" if met else "not_met",
                    confidence=0.8,
                    evidence=word if met else None,
                    rationale=f"looked for {word!r}",
                )
            )
        return JudgeResult(out)


class _Plugin:
    @hookimpl
    def register_judges(self, register: Register) -> None:
        register("counting", CountingJudge)


@pytest.fixture(autouse=True)
def fresh_api(register_plugin: Callable[[Any, str], Any]) -> Iterator[None]:
    register_plugin(_Plugin(), "test-api-counting")
    CountingJudge.instances = CountingJudge.calls = 0
    api.close()
    yield
    api.close()


def test_evaluate_checks_and_scores() -> None:
    result = evaluate(
        "Returns are accepted within 30 days.",
        [
            {"check": "contains", "with": {"value": "30 days"}},
            {"id": "no-refund-promise", "check": "regex", "with": {"pattern": "refund"}, "points": -2},
        ],
        db=None,
    )
    assert result.passed is True and result.score == 1.0
    assert {cid: v.status for cid, v in result.verdicts.items()} == {"contains": "PASS", "no-refund-promise": "PASS"}


def test_assert_rubric_explains_a_failure() -> None:
    with pytest.raises(AssertionError) as info:
        assert_rubric("We ship in 3 days.", ["Mentions the refund."], judge="counting", db=None)
    message = str(info.value)
    assert "FAIL" in message and "mentions-the-refund" in message and "looked for 'refund'" in message


def test_scored_mode_reports_missed_and_threshold() -> None:
    result = evaluate(
        "Your refund is on its way.",
        ["Mentions the refund.", "Mentions the tracking."],
        judge="counting",
        threshold=0.5,
        db=None,
    )
    assert result.passed is True and result.score == 0.5
    assert result.verdicts["mentions-the-tracking"].status == "MISSED"


def test_an_undecided_judge_is_an_error_not_a_failure(tmp_path: Path) -> None:
    (tmp_path / "labels.jsonl").write_text("")
    with pytest.raises(JudgeError, match="no verdict"):
        assert_rubric("x", ["Cites a source."], judge=f"recorded:{tmp_path / 'labels.jsonl'}", db=None)


def test_one_judge_per_process_and_the_cache_answers_repeats(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    for _ in range(3):
        assert_rubric("Your refund is sent.", ["Mentions the refund."], judge="counting", db=db)
    assert CountingJudge.instances == 1 and CountingJudge.calls == 1
    api.close()
    store = Store.open(db, create=False)
    run = store.run(store.resolve_run(None))
    assert run["status"] == "passed" and run["counts"] == {"PASS": 3}
    assert [v["cached"] for v in store.verdicts(run["id"])] == [0, 1, 1]


def test_invalid_criteria_are_a_clear_error() -> None:
    with pytest.raises(SuiteError, match="invalid regex"):
        evaluate("x", [{"check": "regex", "with": {"pattern": "(("}}], db=None)
    with pytest.raises(SuiteError, match="needs a judge"):
        evaluate("x", ["A text criterion."], db=None)


def test_evaluate_with_a_sentinel_flags_a_gamed_checklist(tmp_path: Path) -> None:
    (tmp_path / "sentinel.jsonl").write_text(
        json.dumps(
            {
                "case": "sky",
                "criterion": "sentinel",
                "met": False,
                "confidence": 0.9,
                "rationale": "A keyword list, not an answer.",
            }
        )
        + "\n"
    )
    result = evaluate(
        "Keywords: Rayleigh scattering, wavelength.",
        [
            {"check": "contains", "with": {"value": "Rayleigh"}},
            {"id": "wavelength", "check": "contains", "with": {"value": "wavelength"}},
        ],
        input="Why is the sky blue?",
        case_id="sky",
        db=None,
        sentinel=f"recorded:{tmp_path / 'sentinel.jsonl'}",
    )
    assert result.passed is True and result.score == 1.0
    assert result.sentinel is not None and result.sentinel.disagreement == "rubric_only"
    assert result.sentinel.score == pytest.approx(0.1)
    assert "RUBRIC-HOLISTIC DISAGREEMENT: the rubric passes what the sentinel fails" in result.explain()
    assert "A keyword list, not an answer." in result.explain()


class FlippingJudge(Judge):
    """Met on two of every three calls: a judge sampled at temperature > 0, made predictable."""

    calls = 0

    async def judge(self, request: JudgeRequest) -> JudgeResult:
        FlippingJudge.calls += 1  # the repeats run on one event loop: no lock needed
        met = FlippingJudge.calls % 3 != 0
        return JudgeResult(
            [
                Verdict(c.id, "met" if met else "not_met", rationale=f"call {FlippingJudge.calls}")
                for c in request.criteria
            ]
        )


class _Flipping:
    @hookimpl
    def register_judges(self, register: Register) -> None:
        register("flipping", FlippingJudge)


def test_evaluate_repeat_judges_k_times_and_reports_the_flip_rate(
    tmp_path: Path, register_plugin: Callable[[Any, str], Any]
) -> None:
    register_plugin(_Flipping(), "test-api-flipping")
    FlippingJudge.calls = 0
    db = tmp_path / "r.db"
    result = evaluate("Your refund is sent.", ["Mentions the refund."], judge="flipping", repeat=3, db=db)
    info = result.verdicts["mentions-the-refund"]
    assert FlippingJudge.calls == 3  # three distinct samples, not cache hits
    assert info.status == "PASS" and info.verdict.outcome == "met"  # 2 met of 3: the majority
    assert info.repeats is not None and len(info.repeats.answers) == 3
    assert info.repeats.flip_rate == pytest.approx(1 / 3) and info.repeats.unstable is True
    assert "2 met, 1 not met of 3 repeats" in result.explain()
    # the same K again is answered from each repeat's cache entry; a higher mark leaves 1/3 stable
    calm = evaluate(
        "Your refund is sent.", ["Mentions the refund."], judge="flipping", repeat=3, unstable_at=0.5, db=db
    )
    assert calm.verdicts["mentions-the-refund"].repeats.unstable is False  # type: ignore[union-attr]
    assert FlippingJudge.calls == 3
    # the repeats are the call's, not the process's: the next call judges once
    once = evaluate("Your refund is on its way.", ["Mentions the refund."], judge="flipping", db=db)
    assert once.verdicts["mentions-the-refund"].repeats is None and FlippingJudge.calls == 4
    api.close()
    store = Store.open(db, create=False)
    run_id = store.resolve_run(None)
    stored = [(v["repeats"], v["unstable"]) for v in store.verdicts(run_id)]
    assert stored == [(3, 1), (3, 0), (None, None)]
    assert [r["outcome"] for r in store.repeat_verdicts(run_id)].count("not_met") == 2  # one in each call's three
    assert len(store.repeat_verdicts(run_id)) == 6


@pytest.mark.parametrize(
    ("kwargs", "message"), [({"repeat": 0}, "repeat=0"), ({"unstable_at": 1.5}, "unstable_at=1.5")]
)
def test_evaluate_refuses_a_bad_repeat(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        evaluate("x", [{"check": "contains", "with": {"value": "x"}}], db=None, **kwargs)
