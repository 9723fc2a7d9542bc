"""The hf judge grades criteria on a scale (logprob mode): each level's token probability gives
a distribution, the verdict's level is the one nearest the expected level, its confidence the
probability of its outcome. Checked against the slow, obvious computation on tiny random models."""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from rubrictest_hf import HFJudge  # noqa: E402
from rubrictest_hf.generation import Generator  # noqa: E402
from rubrictest_hf.prompts import PromptBuilder  # noqa: E402

from rubrictest import Case, Criterion, JudgeRequest, Scale, Verdict  # noqa: E402

from .test_hf_generate import scripted_generate  # noqa: E402

FIVE = Scale(
    levels=(1, 2, 3, 4, 5),
    pass_at=4,
    descriptions={1: "Wrong.", 2: "Mostly wrong.", 3: "Partly right.", 4: "Right.", 5: "Right and complete."},
)
TEN = Scale(levels=tuple(range(1, 11)), pass_at=7)
QUARTERS = Scale(levels=(0, 0.25, 0.5, 0.75, 1), pass_at=0.75)


def _request(*criteria: Criterion, response: str = "Returns are accepted within 30 days.") -> JudgeRequest:
    case = Case(suite="s", id="c", input="Can I return shoes after 40 days?", criteria=tuple(criteria))
    return JudgeRequest(case=case, response=response, criteria=tuple(criteria))


def _scaled(scale: Scale, cid: str = "grade") -> Criterion:
    return Criterion(id=cid, text="The reply states the return window.", scale=scale)


def _logp(judge: HFJudge, prompt: list[int], text: str) -> float:
    """log P(text's tokens) after ``prompt``: one unpadded forward pass, full logits."""
    loaded = judge.loaded
    seq = list(loaded.tokenizer.encode(text, add_special_tokens=False))
    with torch.no_grad():
        logits = loaded.model(input_ids=torch.tensor([prompt + seq[:-1]])).logits[0].float()
    lp = torch.log_softmax(logits, -1)
    return float(sum(lp[len(prompt) - 1 + j, tok] for j, tok in enumerate(seq)))


def _prompt(judge: HFJudge, request: JudgeRequest, index: int, room: int) -> list[int]:
    builder = PromptBuilder(
        judge.loaded.tokenizer, max_length=judge.max_length, truncation="middle", mode="logprob", answer_room=room
    )
    built = builder.build(request)
    assert not isinstance(built, str)
    return built[index].prefix + built[index].suffix


def _check(verdict: Verdict, scale: Scale, p: list[float]) -> None:
    """The verdict follows from the level distribution ``p``."""
    assert isinstance(verdict, Verdict) and verdict.outcome != "error", verdict
    expected = sum(pi * lv for pi, lv in zip(p, scale.levels, strict=True))
    nearest = min(scale.levels, key=lambda lv: abs(lv - expected))
    assert verdict.level == nearest
    assert verdict.score == pytest.approx(scale.normalise(nearest))
    assert verdict.outcome == ("met" if nearest >= scale.pass_at else "not_met")
    met = nearest >= scale.pass_at
    side = sum(pi for pi, lv in zip(p, scale.levels, strict=True) if (lv >= scale.pass_at) == met)
    assert verdict.confidence == pytest.approx(side, abs=1e-4)
    assert f"expected level {expected:.2f}" in (verdict.rationale or "")


@pytest.mark.parametrize("kind", ["chars", "qwen_chat"])
def test_one_to_five_from_the_level_tokens(make_judge: Callable[..., HFJudge], kind: str) -> None:
    judge = make_judge(kind)
    yes_no = Criterion(id="polite", text="The reply is polite.")
    request = _request(yes_no, _scaled(FIVE))
    result = judge.judge_batch([request])[0]
    # Single-digit levels are one token each here: P(level) is that token's probability.
    prompt = _prompt(judge, request, 1, room=2)
    raw = [math.exp(_logp(judge, prompt, str(lv))) for lv in FIVE.levels]
    p = [x / sum(raw) for x in raw]
    _check(result.verdicts[1], FIVE, p)
    call = result.calls[0].response["grade"]
    assert list(call["distribution"].values()) == pytest.approx(p, abs=1e-4)
    assert call["level"] == result.verdicts[1].level
    # the yes/no criterion beside it is judged as when alone
    alone = judge.judge_batch([_request(yes_no)])[0].verdicts[0]
    assert result.verdicts[0].score == pytest.approx(alone.score, abs=1e-5)
    assert result.verdicts[0].level is None


def test_ten_takes_its_probability_out_of_one(make_judge: Callable[..., HFJudge]) -> None:
    """With characters as tokens "10" is "1" then "0": P(level 1) is P("1") less P("10")."""
    judge = make_judge("chars")
    request = _request(_scaled(TEN))
    verdict = judge.judge_batch([request])[0].verdicts[0]
    prompt = _prompt(judge, request, 0, room=2)
    lp = {text: math.exp(_logp(judge, prompt, text)) for text in [*map(str, range(1, 11)), " 10"]}
    raw = [lp[str(lv)] for lv in TEN.levels]
    raw[0] = max(0.0, lp["1"] - lp["10"])
    raw[9] = lp["10"] + lp[" 10"]  # no one-token spelling of 10: both spellings count
    _check(verdict, TEN, [x / sum(raw) for x in raw])


def test_quarters_are_several_tokens(make_judge: Callable[..., HFJudge]) -> None:
    judge = make_judge("chars")
    request = _request(_scaled(QUARTERS))
    verdict = judge.judge_batch([request])[0].verdicts[0]
    prompt = _prompt(judge, request, 0, room=4)
    lp = {
        text: math.exp(_logp(judge, prompt, text))
        for text in ["0", "1", "0.25", "0.5", "0.75", " 0.25", " 0.5", " 0.75"]
    }
    longer = lp["0.25"] + lp["0.5"] + lp["0.75"]
    raw = [
        max(0.0, lp["0"] - longer),
        lp["0.25"] + lp[" 0.25"],
        lp["0.5"] + lp[" 0.5"],
        lp["0.75"] + lp[" 0.75"],
        lp["1"],
    ]
    _check(verdict, QUARTERS, [x / sum(raw) for x in raw])


def test_batched_equals_one_at_a_time(make_judge: Callable[..., HFJudge]) -> None:
    judge = make_judge("chars", max_batch_tokens=100_000)
    requests = [
        _request(_scaled(FIVE), Criterion(id="polite", text="The reply is polite.")),
        _request(_scaled(TEN, "ten"), response="no"),
        _request(_scaled(FIVE), response="Paris is the capital of France."),
    ]
    together = judge.judge_batch(requests)
    for request, batched in zip(requests, together, strict=True):
        alone = judge.judge_batch([request])[0]
        for a, b in zip(batched.verdicts, alone.verdicts, strict=True):
            assert (a.level, a.outcome) == (b.level, b.outcome)
            assert a.confidence == pytest.approx(b.confidence, abs=1e-5)


def test_a_tokenizer_without_the_levels_is_an_error(make_judge: Callable[..., HFJudge]) -> None:
    """The word-level test tokenizer knows no digits: the scale criterion is ERROR, naming why,
    and the yes/no criterion beside it is still judged."""
    judge = make_judge("plain")
    result = judge.judge_batch([_request(Criterion(id="polite", text="The reply is polite."), _scaled(FIVE))])[0]
    polite, grade = result.verdicts
    assert polite.outcome in ("met", "not_met")
    assert grade.outcome == "error" and "no usable tokens for the level 1" in (grade.error or "")
    assert "mode: generate" in (grade.error or "")


SUITE = """
version: 1
suite: hf-scaled
judge: {{plugin: hf, model: "{model}"}}
threshold: 0.5
cases:
  - id: refund
    input: "Can I return shoes after 40 days?"
    output: "Returns are accepted within 30 days."
    criteria:
      - id: grade
        text: The reply states the return window.
        scale:
          range: [1, 5]
          levels: {{1: Wrong., 2: Mostly wrong., 3: Partly right., 4: Right., 5: Right and complete.}}
          pass_at: 4
      - The reply is polite.
"""


def test_a_suite_run_stores_the_level(pytester: pytest.Pytester, models: dict[str, Path]) -> None:
    (pytester.path / "test_scaled.rubric.yaml").write_text(SUITE.format(model=models["chars"].as_posix()))
    db = pytester.path / "results.db"
    pytester.runpytest_inprocess(f"--rubric-db={db}", "-p", "no:cacheprovider")
    con = sqlite3.connect(db)
    try:
        rows = con.execute(
            "SELECT criterion_id, outcome, level, score, confidence, rationale, cached FROM verdicts ORDER BY id"
        ).fetchall()
    finally:
        con.close()
    by_id = {r[0]: r for r in rows}
    _, outcome, level, score, confidence, rationale, _ = by_id["grade"]
    assert level in FIVE.levels and score == pytest.approx(FIVE.normalise(level))
    assert outcome == ("met" if level >= 4 else "not_met") and 0 < confidence <= 1
    assert "P(level) 1: " in rationale
    assert by_id["the-reply-is-polite"][2] is None


def test_generate_mode_reads_the_level(make_judge: Callable[..., HFJudge], monkeypatch: pytest.MonkeyPatch) -> None:
    """In generate mode the shared judge protocol asks for the level as JSON."""
    answer = json.dumps(
        {
            "verdicts": [
                {"id": "grade", "evidence": "within 30 days", "rationale": "States it.", "met": True, "level": 4}
            ]
        }
    )
    monkeypatch.setattr(Generator, "generate_call", scripted_generate(answer))
    judge = make_judge("chars", mode="generate", max_batch_tokens=100_000)
    verdict = judge.judge_batch([_request(_scaled(FIVE))])[0].verdicts[0]
    assert (verdict.outcome, verdict.level, verdict.score) == ("met", 4, pytest.approx(0.75))
    off = json.dumps({"verdicts": [{"id": "grade", "evidence": "", "rationale": "x", "met": True, "level": 7}]})
    monkeypatch.setattr(Generator, "generate_call", scripted_generate(off))
    failed = judge.judge_batch([_request(_scaled(FIVE))])[0].verdicts[0]
    assert failed.outcome == "error" and "7" in (failed.error or "")
