"""The hf judge's generate mode (shared judge protocol) and the hf target."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest

torch = pytest.importorskip("torch")

from rubrictest_hf import HFJudge, HFTarget  # noqa: E402
from rubrictest_hf.generation import Generator  # noqa: E402

from rubrictest import Case, JudgeError  # noqa: E402

from ..helpers.hf import request  # noqa: E402


def scripted_generate(answer: str, *, runner_up: float = 8.0) -> Callable[..., Any]:
    """A ``generate_call`` that writes ``answer`` (then EOS) for every row, with logits.

    The chosen token gets logit 10; at the first token of a ``true``/``false`` value the
    other value's first token gets ``runner_up``, so P(met) is known in advance.
    """

    def generate_call(self: Generator, **kwargs: Any) -> Any:
        tok = self.loaded.tokenizer
        ids = tok.encode(answer, add_special_tokens=False) + [tok.eos_token_id]
        t, f = tok.convert_tokens_to_ids("t"), tok.convert_tokens_to_ids("f")
        rows = kwargs["input_ids"].shape[0]
        steps = []
        for token in ids:
            step = torch.zeros(rows, len(tok))
            step[:, token] = 10.0
            if token in (t, f):
                step[:, f if token == t else t] = runner_up
            steps.append(step)
        sequences = torch.cat([kwargs["input_ids"], torch.tensor([ids] * rows)], dim=1)
        self.stats.forward_passes += 1
        return SimpleNamespace(sequences=sequences, logits=tuple(steps))

    return generate_call


ANSWER = json.dumps(
    {
        "verdicts": [
            {"id": "c0", "evidence": "within 30 days", "rationale": "It gives the window.", "met": True},
            {"id": "c1", "evidence": "", "rationale": "Nothing rude is said.", "met": False},
        ]
    }
)


def test_generate_mode_returns_evidence_rationale_and_confidence(
    make_judge: Callable[..., HFJudge], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Generator, "generate_call", scripted_generate(ANSWER))
    judge = make_judge("chars", mode="generate", max_batch_tokens=100_000)
    reqs = [
        request(f"r{i}", "Returns are accepted within 30 days.", ["States the window.", "Is rude."]) for i in range(3)
    ]
    results = judge.judge_batch(reqs)
    assert judge.stats.forward_passes == 1  # one batched generation for all requests
    for result in results:
        met, not_met = result.verdicts
        assert (met.outcome, not_met.outcome) == ("met", "not_met")
        assert met.evidence == "within 30 days" and met.evidence_supported is True
        assert met.rationale == "It gives the window."
        p = 1 / (1 + torch.exp(torch.tensor(-2.0)).item())  # logits 10 vs 8
        assert met.confidence == pytest.approx(p, abs=1e-4)
        assert not_met.confidence == pytest.approx(p, abs=1e-4)
        call = result.calls[0]
        assert call.request["mode"] == "generate" and call.response["texts"] == [ANSWER]
        assert call.usage.output_tokens == len(ANSWER)


def test_generate_mode_checks_evidence(make_judge: Callable[..., HFJudge], monkeypatch: pytest.MonkeyPatch) -> None:
    answer = ANSWER.replace("within 30 days", "within 90 days")
    monkeypatch.setattr(Generator, "generate_call", scripted_generate(answer))
    result = make_judge("chars", mode="generate").judge_batch(
        [request("r", "Returns are accepted within 30 days.", ["States the window.", "Is rude."])]
    )[0]
    assert result.verdicts[0].outcome == "not_met"  # evidence_policy require: unsupported quote
    assert result.verdicts[0].evidence_supported is False


def test_malformed_answer_is_retried_then_an_error(
    make_judge: Callable[..., HFJudge], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Generator, "generate_call", scripted_generate("I think it is fine."))
    judge = make_judge("chars", mode="generate")
    result = judge.judge_batch([request("r", "Returns are accepted.", ["States the window."])])[0]
    assert judge.stats.forward_passes == 2  # first attempt, then one retry with the feedback
    assert result.verdicts[0].outcome == "error"
    assert "malformed answer (invalid JSON)" in (result.verdicts[0].error or "")
    assert result.calls[0].attempts == 2


def test_generate_mode_with_the_random_model_errors_cleanly(make_judge: Callable[..., HFJudge]) -> None:
    judge = make_judge("chat", mode="generate", max_new_tokens=6)
    result = judge.judge_batch([request("r", "Returns are accepted.", ["The reply is polite."])])[0]
    assert result.verdicts[0].outcome == "error"  # gibberish is never a FAIL
    assert result.calls[0].usage.output_tokens


def cases() -> list[Case]:
    return [
        Case(suite="s", id="a", input="Can I return shoes after 40 days?"),
        Case(suite="s", id="b", input="What is the capital of France?"),
        Case(suite="s", id="c", input="polite"),
        Case(
            suite="s",
            id="d",
            messages=({"role": "system", "content": "Be polite."}, {"role": "user", "content": "Returns ?"}),
        ),
    ]


@pytest.mark.parametrize("kind", ["plain", "chat"])
def test_target_batched_equals_one_at_a_time(make_target: Callable[..., HFTarget], kind: str) -> None:
    target = make_target(kind, params={"max_new_tokens": 8})
    together = target.generate_batch(cases())
    alone = [target.generate_batch([c])[0] for c in cases()]
    assert [r.text for r in together] == [r.text for r in alone]  # type: ignore[union-attr]
    assert target.stats.batch_sizes[0] == 4
    for result in together:
        assert not isinstance(result, JudgeError)
        assert result.calls[0].usage.output_tokens <= 8
        assert result.calls[0].usage.input_tokens


def test_target_over_long_prompt_fails_that_case_only(make_target: Callable[..., HFTarget]) -> None:
    target = make_target("plain", params={"max_new_tokens": 4}, max_length=40)
    long = Case(suite="s", id="long", input="Paris is the capital of France . " * 20)

    async def run() -> list[Any]:
        return list(await asyncio.gather(*(target.generate(c) for c in [long, *cases()[:2]]), return_exceptions=True))

    first, *rest = asyncio.run(run())
    assert isinstance(first, JudgeError) and "exceeds the model's context of 40 tokens" in str(first)
    assert all(not isinstance(r, BaseException) for r in rest)


def test_target_out_of_memory_halves(make_target: Callable[..., HFTarget], monkeypatch: pytest.MonkeyPatch) -> None:
    expected = [r.text for r in make_target("plain", params={"max_new_tokens": 5}).generate_batch(cases())]  # type: ignore[union-attr]
    original = Generator.generate_call

    def generate_call(self: Generator, **kwargs: Any) -> Any:
        if kwargs["input_ids"].shape[0] > 1:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return original(self, **kwargs)

    monkeypatch.setattr(Generator, "generate_call", generate_call)
    target = make_target("plain", params={"max_new_tokens": 5})
    assert [r.text for r in target.generate_batch(cases())] == expected  # type: ignore[union-attr]
    assert target.stats.oom_splits >= 3


def test_sampling_target_is_not_cached(make_target: Callable[..., HFTarget]) -> None:
    assert make_target("plain").cacheable
    sampled = make_target("plain", params={"temperature": 0.7, "seed": 1, "max_new_tokens": 4})
    assert not sampled.cacheable
    assert sampled.generate_batch(cases()[:1])[0].text is not None  # type: ignore[union-attr]


def test_templates_without_a_system_role_get_it_in_the_user_message() -> None:
    from rubrictest_hf.component import render_chat

    from .tiny_models import word_tokenizer

    tok = word_tokenizer(chat=True)
    tok.chat_template = (
        "{% for m in messages %}{% if m['role'] == 'system' %}"
        "{{ raise_exception('System role not supported') }}{% endif %}"
        "<|{{ m['role'] }}|> {{ m['content'] }} </s> {% endfor %}<|assistant|>"
    )
    text = render_chat(
        tok, [{"role": "system", "content": "Be fair."}, {"role": "user", "content": "Judge."}], plain_suffix=""
    )
    assert text == "<|user|> Be fair.\n\nJudge. </s> <|assistant|>"


def test_generate_mode_samples_vote(
    make_judge: Callable[..., HFJudge], models: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from rubrictest import ComponentSpec

    from ..helpers.hf import context

    monkeypatch.setattr(Generator, "generate_call", scripted_generate(ANSWER))
    spec = ComponentSpec(
        plugin="hf",
        model=str(models["chars"]),
        samples=3,
        params={"temperature": 0.7},
        options={"mode": "generate", "max_batch_tokens": 100_000},
    )
    judge = HFJudge(spec, context(models["chars"]))
    try:
        result = judge.judge_batch(
            [request("r", "Returns are accepted within 30 days.", ["States the window.", "Is rude."])]
        )[0]
    finally:
        asyncio.run(judge.aclose())
    assert result.verdicts[0].votes == ["met", "met", "met"]
    assert result.verdicts[1].votes == ["not_met", "not_met", "not_met"]
    assert result.calls[0].attempts == 3


def test_generate_mode_truncates_and_says_so(
    make_judge: Callable[..., HFJudge], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Generator, "generate_call", scripted_generate(ANSWER))
    judge = make_judge("chars", mode="generate", max_new_tokens=200, max_length=2300)
    long = "Returns are accepted within 30 days. " + "Shoes are nice. " * 80
    result = judge.judge_batch([request("r", long, ["States the window.", "Is rude."])])[0]
    assert result.verdicts[0].outcome == "met"
    assert "truncated to fit the judge's context of 2300 tokens" in (result.verdicts[0].rationale or "")
    assert result.calls[0].request["truncation"]
    assert result.calls[0].usage.input_tokens + 200 <= 2300
