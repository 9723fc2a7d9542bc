"""The hf judge's logprob mode: batching, padding, templates, multi-token answers, OOM."""

from __future__ import annotations

import asyncio
import math
import warnings
from collections.abc import Callable
from typing import Any

import pytest

torch = pytest.importorskip("torch")

from rubrictest_hf import HFJudge  # noqa: E402
from rubrictest_hf.prompts import PromptBuilder  # noqa: E402
from rubrictest_hf.scoring import Scorer  # noqa: E402

from rubrictest import JudgeRequest, Verdict  # noqa: E402

from ..helpers.hf import request, requests_for, sample_requests  # noqa: E402

KINDS = ["plain", "chat", "chars", "qwen_chat"]


def scores(results: list[Any]) -> list[list[float]]:
    return [[v.score for v in r.verdicts] for r in results]


def reference_p_yes(judge: HFJudge, req: JudgeRequest, index: int) -> float:
    """P(yes) for one criterion computed the slow, obvious way: no padding, no cache, full logits."""
    loaded = judge.loaded
    answers = judge.answers
    assert answers is not None
    builder = PromptBuilder(
        loaded.tokenizer,
        max_length=judge.max_length,
        truncation="middle",
        mode="logprob",
        answer_room=answers.longest - 1,
    )
    built = builder.build(req)
    assert not isinstance(built, str)
    prompt = built[index].prefix + built[index].suffix

    def logp(seq: tuple[int, ...]) -> float:
        ids = torch.tensor([prompt + list(seq[:-1])])
        with torch.no_grad():
            logits = loaded.model(input_ids=ids).logits[0].float()
        lp = torch.log_softmax(logits, -1)
        start = len(prompt) - 1
        return float(sum(lp[start + j, tok] for j, tok in enumerate(seq)))

    pos = torch.logsumexp(torch.tensor([logp(s) for s in answers.positive]), 0)
    neg = torch.logsumexp(torch.tensor([logp(s) for s in answers.negative]), 0)
    return float(torch.sigmoid(pos - neg))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("prefix_cache", [True, False])
def test_batched_equals_one_at_a_time(make_judge: Callable[..., HFJudge], kind: str, prefix_cache: bool) -> None:
    judge = make_judge(kind, prefix_cache=prefix_cache, max_batch_tokens=100_000)
    reqs = requests_for(kind)
    together = judge.judge_batch(reqs)
    # every criterion in one batch
    assert judge.stats.batches == 1 and judge.stats.batch_sizes == [sum(len(r.criteria) for r in reqs)]
    alone = [judge.judge_batch([r])[0] for r in reqs]
    for a, b in zip(scores(together), scores(alone), strict=True):
        assert a == pytest.approx(b, abs=1e-5)
    for r_together, r_alone in zip(together, alone, strict=True):
        for v1, v2 in zip(r_together.verdicts, r_alone.verdicts, strict=True):
            if abs(v1.score - 0.5) > 1e-3:
                assert v1.outcome == v2.outcome


@pytest.mark.parametrize("kind", ["plain", "chars"])
def test_prefix_cache_matches_flat_rows(make_judge: Callable[..., HFJudge], kind: str) -> None:
    reqs = requests_for(kind)
    cached_judge, flat_judge = make_judge(kind, prefix_cache=True), make_judge(kind, prefix_cache=False)
    with warnings.catch_warnings():
        # the cache goes in by the keyword this transformers takes (``cache`` from 5.2x on)
        warnings.simplefilter("error", FutureWarning)
        cached = cached_judge.judge_batch(reqs)
    flat = flat_judge.judge_batch(reqs)
    for a, b in zip(scores(cached), scores(flat), strict=True):
        assert a == pytest.approx(b, abs=1e-5)
    # the prefix pass and the rows' pass over its cache, against one pass of whole rows
    assert cached_judge.stats.forward_passes == 2 * flat_judge.stats.forward_passes > 0


@pytest.mark.parametrize("kind", ["plain", "chat", "chars", "qwen_chat"])
@pytest.mark.parametrize("prefix_cache", [True, False])
def test_left_padding_gives_the_unpadded_answer(
    make_judge: Callable[..., HFJudge], kind: str, prefix_cache: bool
) -> None:
    judge = make_judge(kind, prefix_cache=prefix_cache)
    reqs = requests_for(kind)
    results = judge.judge_batch(reqs)
    assert judge.stats.padded_tokens > judge.stats.real_tokens  # rows really were padded
    # The slow reference runs one forward pass per answer spelling: check two requests
    # of different lengths (one padded more than the other).
    for r in (len(reqs) - 2, len(reqs) - 1):
        for c in range(len(reqs[r].criteria)):
            assert results[r].verdicts[c].score == pytest.approx(reference_p_yes(judge, reqs[r], c), abs=1e-5)


def test_prefix_is_computed_once_per_response(make_judge: Callable[..., HFJudge]) -> None:
    reqs = sample_requests()
    cached = make_judge("plain", prefix_cache=True)
    flat = make_judge("plain", prefix_cache=False)
    cached.judge_batch(reqs)
    flat.judge_batch(reqs)
    assert cached.stats.prompt_tokens == flat.stats.prompt_tokens
    assert cached.stats.real_tokens < flat.stats.real_tokens
    assert 0.0 <= cached.stats.padding_waste < 0.5


def test_chat_template_is_used_when_present(make_judge: Callable[..., HFJudge]) -> None:
    for kind, chat in (("plain", False), ("chat", True)):
        judge = make_judge(kind)
        tok = judge.loaded.tokenizer
        builder = PromptBuilder(tok, max_length=512, truncation="middle", mode="logprob", answer_room=0)
        built = builder.build(sample_requests()[0])
        assert not isinstance(built, str)
        text = tok.decode(built[0].prefix + built[0].suffix)
        assert ("<|assistant|>" in text) is chat
        assert text.rstrip().endswith("<|assistant|>" if chat else "Answer :")


def test_multi_token_answers(make_judge: Callable[..., HFJudge]) -> None:
    judge = make_judge("chars")
    judge.check_ready()
    answers = judge.answers
    assert answers is not None
    assert all(len(s) > 1 for s in answers.all)  # "yes" is y-e-s here
    assert len(answers.extensions) < len(answers.multi_token)  # shared rows: No and NO share "N"
    req = sample_requests()[0]
    result = judge.judge_batch([req])[0]
    for c in range(len(req.criteria)):
        assert result.verdicts[c].score == pytest.approx(reference_p_yes(judge, req, c), abs=1e-5)


def test_single_token_answers_need_one_row_per_criterion(make_judge: Callable[..., HFJudge]) -> None:
    judge = make_judge("plain", prefix_cache=False)
    reqs = sample_requests()
    judge.judge_batch(reqs)
    assert judge.stats.rows == sum(len(r.criteria) for r in reqs)


def test_confidences_are_probabilities(make_judge: Callable[..., HFJudge]) -> None:
    outcomes = set()
    for kind in KINDS:
        for result in make_judge(kind).judge_batch(requests_for(kind)):
            for v in result.verdicts:
                assert v.outcome in ("met", "not_met")
                assert v.confidence is not None and 0.5 <= v.confidence <= 1.0
                assert v.score is not None and 0.0 <= v.score <= 1.0
                assert v.confidence == pytest.approx(max(v.score, 1 - v.score))
                assert (v.outcome == "met") == (v.score >= 0.5)
                assert "P(yes)" in (v.rationale or "")
                outcomes.add(v.outcome)
        assert result.calls and result.calls[0].usage.input_tokens
        shown = result.calls[0].request["prompt"]
        assert "response" in shown["prefix"]  # the tiny vocabularies lack "<": compare words only
        assert set(shown["suffixes"]) == {v.criterion_id for v in result.verdicts}
    assert outcomes == {"met", "not_met"}  # the models do not answer one way regardless


def test_judge_through_the_async_protocol(make_judge: Callable[..., HFJudge]) -> None:
    judge = make_judge("plain")
    reqs = sample_requests()

    async def run() -> list[Any]:
        return list(await asyncio.gather(*(judge.judge(r) for r in reqs)))

    results = asyncio.run(run())
    assert judge.stats.batches == 1  # the batcher handed every pending request over at once
    assert scores(results) == scores(make_judge("plain").judge_batch(reqs))


def _oom_above(rows: int) -> Callable[..., Any]:
    original = Scorer.forward

    def forward(self: Scorer, **kwargs: Any) -> Any:
        if kwargs["input_ids"].shape[0] > rows:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB (simulated)")
        return original(self, **kwargs)

    return forward


def test_out_of_memory_halves_the_batch(make_judge: Callable[..., HFJudge], monkeypatch: pytest.MonkeyPatch) -> None:
    reqs = sample_requests()
    expected = scores(make_judge("plain").judge_batch(reqs))
    monkeypatch.setattr(Scorer, "forward", _oom_above(2))
    judge = make_judge("plain")
    results = judge.judge_batch(reqs)
    assert judge.stats.oom_splits >= 3
    for a, b in zip(scores(results), expected, strict=True):
        assert a == pytest.approx(b, abs=1e-5)


def test_out_of_memory_for_one_criterion_is_an_error(
    make_judge: Callable[..., HFJudge], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Scorer, "forward", _oom_above(0))
    results = make_judge("plain").judge_batch(sample_requests())
    for result in results:
        for v in result.verdicts:
            assert v.outcome == "error" and "out of memory" in (v.error or "")


def test_a_broken_batch_gives_errors_not_a_crash(
    make_judge: Callable[..., HFJudge], monkeypatch: pytest.MonkeyPatch
) -> None:
    def forward(self: Scorer, **kwargs: Any) -> Any:
        raise RuntimeError("device-side assert triggered")

    monkeypatch.setattr(Scorer, "forward", forward)
    results = make_judge("plain").judge_batch(sample_requests())
    assert {v.outcome for r in results for v in r.verdicts} == {"error"}
    assert "device-side assert" in (results[0].verdicts[0].error or "")


def test_long_prompts_are_cut_in_the_middle_and_say_so(make_judge: Callable[..., HFJudge]) -> None:
    judge = make_judge("plain", max_length=120)
    long = request(
        "long",
        "Paris is the capital of France . " * 40 + "Returns are accepted within 30 days.",
        ["The reply is polite."],
    )
    short = request("short", "Returns are accepted within 30 days.", ["The reply is polite."])
    results = judge.judge_batch([long, short])
    verdict: Verdict = results[0].verdicts[0]
    assert verdict.outcome in ("met", "not_met")
    assert "truncated to fit the judge's context of 120 tokens" in (verdict.rationale or "")
    assert "response's middle" in (verdict.rationale or "")
    assert "truncated" not in (results[1].verdicts[0].rationale or "")
    assert results[0].calls[0].request["truncation"]
    assert results[0].calls[0].usage.input_tokens <= 120


def test_truncation_error_policy(make_judge: Callable[..., HFJudge]) -> None:
    judge = make_judge("plain", max_length=120, truncation="error")
    long = request("long", "Paris is the capital of France . " * 40, ["The reply is polite.", "a"])
    result = judge.judge_batch([long])[0]
    assert [v.outcome for v in result.verdicts] == ["error", "error"]
    assert "exceeds the judge's context of 120 tokens" in (result.verdicts[0].error or "")


def test_criterion_longer_than_the_context_is_an_error(make_judge: Callable[..., HFJudge]) -> None:
    judge = make_judge("plain", max_length=120)
    result = judge.judge_batch([request("x", "Returns are accepted.", ["The reply is polite . " * 40])])[0]
    assert result.verdicts[0].outcome == "error"
    assert "instructions and criteria alone are too long" in (result.verdicts[0].error or "")


def test_custom_answer_words(make_judge: Callable[..., HFJudge]) -> None:
    judge = make_judge("no_answers", yes_words=["polite"], no_words=["blame"])
    result = judge.judge_batch([sample_requests()[0]])[0]
    assert all(v.outcome in ("met", "not_met") for v in result.verdicts)


def test_identical_requests_share_work_and_agree(make_judge: Callable[..., HFJudge]) -> None:
    judge = make_judge("plain")
    req = sample_requests()[0]
    a, b = judge.judge_batch([req, req])
    assert scores([a]) == scores([b])
    assert not math.isnan(a.verdicts[0].score or math.nan)


def test_a_response_with_many_criteria_is_split_to_fit_the_budget(make_judge: Callable[..., HFJudge]) -> None:
    many = request(
        "many", "Returns are accepted within 30 days.", [f"The reply is polite {'and polite ' * i}." for i in range(12)]
    )
    expected = scores(make_judge("plain").judge_batch([many]))
    judge = make_judge("plain", max_batch_tokens=4096, max_cache_tokens=400)
    assert scores(judge.judge_batch([many])) == [pytest.approx(expected[0], abs=1e-5)]
    assert len(judge.stats.batch_sizes) > 1 and sum(judge.stats.batch_sizes) == 12


def test_reasoning_templates_are_asked_not_to_think() -> None:
    from .tiny_models import word_tokenizer

    tok = word_tokenizer(chat=True)
    tok.chat_template = (
        "{% for m in messages %}<|{{ m['role'] }}|> {{ m['content'] }} </s> {% endfor %}"
        "<|assistant|>{% if enable_thinking is defined and not enable_thinking %} no no"
        "{% endif %}"
    )
    builder = PromptBuilder(tok, max_length=512, truncation="middle", mode="logprob", answer_room=0)
    built = builder.build(sample_requests()[0])
    assert not isinstance(built, str)
    assert tok.decode(built[0].suffix).endswith("<|assistant|> no no")
