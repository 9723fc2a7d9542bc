"""The openai and anthropic plugins over real HTTP, with the real SDKs, against a scripted server."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import pytest

from rubrictest import ConfigError

from ..helpers.remote import PLUGINS, SENTINEL_KEY, build, failure, judge_for, judge_once, make_request, run
from .fake_provider import FakeProvider, Step

MESSAGES_PATH = {"openai": "/chat/completions", "anthropic": "/v1/messages"}
VERDICT = json.dumps({"verdicts": [{"id": "c0", "evidence": "", "rationale": "r", "met": True}]})


@pytest.mark.parametrize("plugin", PLUGINS)
def test_all_criteria_of_a_case_in_one_call(plugin: str, provider: FakeProvider, tmp_path: Path, api_keys: str) -> None:
    judge = judge_for(plugin, provider, tmp_path)
    assert judge.batch_criteria and judge.supports_batch_criteria
    result = judge_once(judge, n_criteria=5)
    assert provider.count() == 1
    assert sorted(v.criterion_id for v in result.verdicts) == [f"c{i}" for i in range(5)]
    assert all(v.outcome == "met" and v.evidence_supported for v in result.verdicts)
    [call] = result.calls
    assert call.attempts == 1 and call.usage.input_tokens and call.usage.latency_s is not None
    assert call.model == "judge-model" and call.response is not None
    body = provider.requests[0].body
    if plugin == "openai":
        assert body["response_format"]["json_schema"]["strict"] is True
        schema = body["response_format"]["json_schema"]["schema"]
    else:
        assert body["tool_choice"] == {"type": "tool", "name": "record_verdicts"}
        schema = body["tools"][0]["input_schema"]
    assert schema["properties"]["verdicts"]["items"]["properties"]["id"]["enum"] == [f"c{i}" for i in range(5)]


@pytest.mark.parametrize("plugin", PLUGINS)
def test_batch_criteria_false_is_reported_to_the_engine(
    plugin: str, provider: FakeProvider, tmp_path: Path, api_keys: str
) -> None:
    assert judge_for(plugin, provider, tmp_path, batch_criteria=False).batch_criteria is False


@pytest.mark.parametrize("plugin", PLUGINS)
def test_k_samples_majority_and_vote_share(plugin: str, provider: FakeProvider, tmp_path: Path, api_keys: str) -> None:
    provider.rotation = [
        lambda c, r: (True, "capital of France"),
        lambda c, r: (False, ""),
        lambda c, r: (c != "c1", "Paris"),
    ]
    judge = judge_for(plugin, provider, tmp_path, samples=3)
    result = judge_once(judge, n_criteria=2)
    by_id = {v.criterion_id: v for v in result.verdicts}
    # Anthropic's three requests are concurrent: which sample the server answers first (and so
    # which rotation it gets) is not fixed, only the multiset of votes is.
    assert by_id["c0"].outcome == "met" and sorted(by_id["c0"].votes or []) == ["met", "met", "not_met"]
    assert by_id["c0"].confidence == pytest.approx(2 / 3)
    assert by_id["c1"].outcome == "not_met" and by_id["c1"].confidence == pytest.approx(2 / 3)
    # OpenAI draws the samples in one request (n=3); Anthropic has no n: three requests.
    expected_calls = 1 if plugin == "openai" else 3
    assert provider.count() == expected_calls == len(result.calls)
    if plugin == "openai":
        assert provider.requests[0].body["n"] == 3


def test_openai_server_ignoring_n_gets_asked_again(provider: FakeProvider, tmp_path: Path, api_keys: str) -> None:
    provider.ignore_n = True
    judge = judge_for("openai", provider, tmp_path, samples=3)
    result = judge_once(judge, n_criteria=1)
    assert result.verdicts[0].votes == ["met", "met", "met"] and len(result.calls) == 3
    assert [r.body.get("n") for r in provider.requests] == [3, 2, None]


@pytest.mark.parametrize(
    ("policy", "outcome", "supported"),
    [("require", "not_met", False), ("flag", "met", False), ("ignore", "met", None)],
)
@pytest.mark.parametrize("plugin", PLUGINS)
def test_evidence_policy(
    plugin: str,
    policy: str,
    outcome: str,
    supported: bool | None,
    provider: FakeProvider,
    tmp_path: Path,
    api_keys: str,
) -> None:
    provider.decide = lambda c, r: (True, "a sentence the response never said")
    judge = judge_for(plugin, provider, tmp_path, options={"evidence_policy": policy})
    [verdict] = judge_once(judge, n_criteria=1).verdicts
    assert (verdict.outcome, verdict.evidence_supported) == (outcome, supported)
    assert verdict.evidence == "a sentence the response never said"


def test_bad_evidence_policy_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="evidence_policy must be one of"):
        build("judges", tmp_path, plugin="openai", model="m", options={"evidence_policy": "maybe"})


@pytest.mark.parametrize("plugin", PLUGINS)
def test_429_honours_retry_after(plugin: str, provider: FakeProvider, tmp_path: Path, api_keys: str) -> None:
    provider.push(
        Step(
            "status",
            status=429,
            body={"error": {"message": "Rate limit reached"}},
            headers={"Retry-After": "1"},
        )
    )
    judge = judge_for(plugin, provider, tmp_path)
    start = time.perf_counter()
    result = judge_once(judge, n_criteria=2)
    assert time.perf_counter() - start >= 1.0
    assert provider.count() == 2 and result.calls[0].attempts == 2
    assert all(v.outcome == "met" for v in result.verdicts)


@pytest.mark.parametrize("plugin", PLUGINS)
def test_5xx_is_retried_then_exhaustion_is_an_error(
    plugin: str, provider: FakeProvider, tmp_path: Path, api_keys: str
) -> None:
    provider.push(Step("status", status=500, body={"error": {"message": "internal"}}))
    judge = judge_for(plugin, provider, tmp_path)
    assert judge_once(judge).calls[0].attempts == 2
    provider.requests.clear()
    provider.push(*[Step("status", status=503, body={"error": {"message": "overloaded"}})] * 3)
    judge = judge_for(plugin, provider, tmp_path, options={"retry": {"max_attempts": 3, "base_delay": 0.01}})
    err = failure(judge)
    assert provider.count() == 3 and err.attempts == 3
    assert "gave up after 3 attempts" in str(err) and "HTTP 503: overloaded" in str(err)
    assert err.calls and err.calls[0].error and err.calls[0].attempts == 3


@pytest.mark.parametrize("plugin", PLUGINS)
def test_timeouts_are_retried_and_bounded(plugin: str, provider: FakeProvider, tmp_path: Path, api_keys: str) -> None:
    provider.push(Step("sleep", seconds=1.0))
    judge = judge_for(plugin, provider, tmp_path, timeout=0.3)
    result = judge_once(judge)
    assert result.calls[0].attempts == 2 and provider.count() == 2
    provider.push(*[Step("sleep", seconds=1.0)] * 2)
    judge = judge_for(
        plugin, provider, tmp_path, timeout=0.2, options={"retry": {"max_attempts": 2, "base_delay": 0.01}}
    )
    assert "timed out" in str(failure(judge))  # the SDK's timeout or the attempt's bound, whichever first


@pytest.mark.parametrize("plugin", PLUGINS)
def test_malformed_json_is_retried_with_the_error_fed_back(
    plugin: str, provider: FakeProvider, tmp_path: Path, api_keys: str
) -> None:
    provider.push(Step("content", content="Sure! The verdicts are: met, met."))
    judge = judge_for(plugin, provider, tmp_path)
    result = judge_once(judge)
    assert provider.count() == 2 and result.calls[0].attempts == 2
    second = json.dumps(provider.requests[1].body["messages"])
    assert "previous answer was rejected" in second and "not valid JSON" in second
    assert "previous answer" not in json.dumps(provider.requests[0].body["messages"])
    # tokens of the rejected attempt are counted too
    assert result.calls[0].usage.input_tokens == 2 * (100 if plugin == "openai" else 120)


@pytest.mark.parametrize("plugin", PLUGINS)
def test_truncated_output_is_retried_then_an_error(
    plugin: str, provider: FakeProvider, tmp_path: Path, api_keys: str
) -> None:
    provider.push(*[Step("truncated")] * 3)
    err = failure(judge_for(plugin, provider, tmp_path))
    assert provider.count() == 3  # the first attempt and two format retries
    assert "truncated output after 3 attempts" in str(err)
    assert "cut off at the token limit" in json.dumps(provider.requests[2].body["messages"])


@pytest.mark.parametrize("plugin", PLUGINS)
def test_refusal_is_an_error_without_retry(plugin: str, provider: FakeProvider, tmp_path: Path, api_keys: str) -> None:
    provider.push(Step("refusal"))
    err = failure(judge_for(plugin, provider, tmp_path))
    assert provider.count() == 1 and "refused" in str(err)


@pytest.mark.parametrize("plugin", PLUGINS)
def test_html_answer_is_an_error_naming_the_problem(
    plugin: str, provider: FakeProvider, tmp_path: Path, api_keys: str
) -> None:
    provider.push(Step("html"))
    err = failure(judge_for(plugin, provider, tmp_path))
    assert provider.count() == 1
    assert "not JSON (check base_url)" in str(err) and "502 Bad Gateway" in str(err)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"id": "x", "object": "chat.completion"}, "has no choices"),
        ({"choices": []}, "has no choices"),
        ({"choices": ["met"]}, "has no choices"),
        ({"choices": [{"index": 0, "finish_reason": "stop"}]}, "has no message"),
        (
            {
                "choices": [
                    {"message": {"role": "assistant", "content": VERDICT}, "logprobs": {"content": [{"token": 1}]}}
                ]
            },
            "logprobs are not tokens",
        ),
    ],
)
def test_openai_json_that_is_not_a_chat_completion_is_an_error_naming_it(
    body: dict[str, Any], message: str, provider: FakeProvider, tmp_path: Path, api_keys: str
) -> None:
    # The plugin reads the answer's JSON as the SDK decoded it: a 200 answer of another shape
    # (a proxy, another API) is a protocol error, never a crash or a verdict.
    provider.push(Step("status", status=200, body=body))
    err = failure(judge_for("openai", provider, tmp_path, options={"logprobs": True}), n_criteria=1)
    assert message in str(err) and "not a chat completion" in str(err)
    assert provider.count() == 1  # not retried: the server speaks another protocol


def test_openai_token_counts_that_are_not_numbers_are_not_counted(
    provider: FakeProvider, tmp_path: Path, api_keys: str
) -> None:
    answer = {
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": VERDICT}}],
        "usage": {"prompt_tokens": "many", "completion_tokens": 7},
    }
    provider.push(Step("status", status=200, body=answer))
    [call] = judge_once(judge_for("openai", provider, tmp_path), n_criteria=1).calls
    assert call.usage.input_tokens is None and call.usage.output_tokens == 7
    assert call.response == answer  # the answer's JSON as it came


@pytest.mark.parametrize("plugin", PLUGINS)
def test_401_surfaces_the_provider_message_without_the_key(
    plugin: str, provider: FakeProvider, tmp_path: Path, api_keys: str
) -> None:
    message = f"Incorrect API key provided: {SENTINEL_KEY}. You can find your API key at the dashboard."
    provider.push(Step("status", status=401, body={"error": {"message": message, "type": "invalid_request_error"}}))
    err = failure(judge_for(plugin, provider, tmp_path))
    assert provider.count() == 1
    assert "HTTP 401: Incorrect API key provided: [REDACTED]" in str(err)
    stored = json.dumps([c.__dict__ for c in err.calls], default=str)
    assert SENTINEL_KEY not in stored and "[REDACTED]" in stored
    # the key did go over the wire, where it belongs
    headers = provider.requests[0].headers
    assert SENTINEL_KEY in (headers.get("Authorization", "") + headers.get("X-Api-Key", ""))


@pytest.mark.parametrize("plugin", PLUGINS)
def test_unknown_model_surfaces_the_provider_message(
    plugin: str, provider: FakeProvider, tmp_path: Path, api_keys: str
) -> None:
    message = "The model `gpt-9` does not exist or you do not have access to it."
    provider.push(Step("status", status=404, body={"error": {"message": message, "code": "model_not_found"}}))
    err = failure(judge_for(plugin, provider, tmp_path, model="gpt-9"))
    assert provider.count() == 1 and f"HTTP 404: {message}" in str(err)


@pytest.mark.parametrize("plugin", PLUGINS)
def test_missing_key_is_one_config_error_before_any_call(
    plugin: str, provider: FakeProvider, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MY_JUDGE_KEY", raising=False)
    judge = build(
        "judges", tmp_path, plugin=plugin, model="m", base_url=provider.openai_url, api_key_env="MY_JUDGE_KEY"
    )
    with pytest.raises(ConfigError, match="environment variable MY_JUDGE_KEY is not set"):
        judge.check_ready()
    default = "OPENAI_API_KEY" if plugin == "openai" else "ANTHROPIC_API_KEY"
    monkeypatch.delenv(default, raising=False)
    target = build("targets", tmp_path, plugin=plugin, model="m")
    with pytest.raises(ConfigError, match=default):
        target.check_ready()
    assert provider.count() == 0


@pytest.mark.parametrize("plugin", PLUGINS)
def test_no_key_anywhere_in_results(plugin: str, provider: FakeProvider, tmp_path: Path, api_keys: str) -> None:
    provider.push(Step("content", content="oops"))
    judge = judge_for(plugin, provider, tmp_path, samples=3)
    result = judge_once(judge, n_criteria=2)
    dumped = json.dumps(
        [c.__dict__ for c in result.calls] + [dataclasses.asdict(v) for v in result.verdicts], default=str
    )
    assert SENTINEL_KEY not in dumped and "sk-SENTINEL" not in dumped


@pytest.mark.parametrize("plugin", PLUGINS)
def test_fleet_spreads_requests_with_one_client_per_url(plugin: str, tmp_path: Path, api_keys: str) -> None:
    with FakeProvider() as a, FakeProvider() as b:
        urls = [a.openai_url, b.openai_url] if plugin == "openai" else [a.anthropic_url, b.anthropic_url]
        judge = build("judges", tmp_path, plugin=plugin, model="m", base_url=urls)
        judge.check_ready()

        async def many(j: Any) -> list[Any]:
            import asyncio

            results = await asyncio.gather(*(j.judge(make_request(2)) for _ in range(10)))
            assert len(j._clients) == 2
            return results

        results = run(judge, many)
        assert len(results) == 10 and a.count() == 5 and b.count() == 5


@pytest.mark.parametrize("plugin", PLUGINS)
def test_fleet_sends_each_request_to_the_least_loaded_server(plugin: str, tmp_path: Path, api_keys: str) -> None:
    import asyncio

    with FakeProvider(latency=1.0) as slow, FakeProvider() as fast:
        urls = [slow.openai_url, fast.openai_url] if plugin == "openai" else [slow.anthropic_url, fast.anthropic_url]
        judge = build("judges", tmp_path, plugin=plugin, model="m", base_url=urls)
        judge.check_ready()

        async def many(j: Any) -> None:
            sem = asyncio.Semaphore(4)  # the engine's concurrency limit

            async def one() -> Any:
                async with sem:
                    return await j.judge(make_request(1))

            await asyncio.gather(*(one() for _ in range(24)))

        run(judge, many)
        # Round-robin would send 12 to each; the slow server keeps only its first share.
        assert slow.count() + fast.count() == 24 and slow.count() <= 4, (slow.count(), fast.count())


@pytest.mark.parametrize("plugin", PLUGINS)
def test_reference_reaches_the_judge(plugin: str, provider: FakeProvider, tmp_path: Path, api_keys: str) -> None:
    judge_once(judge_for(plugin, provider, tmp_path), reference="Paris, since 508 AD.")
    assert "<reference_answer>\\nParis, since 508 AD.\\n</reference_answer>" in json.dumps(provider.requests[0].body)


def test_openai_logprobs_give_the_confidence(provider: FakeProvider, tmp_path: Path, api_keys: str) -> None:
    provider.p_met = 0.8
    judge = judge_for("openai", provider, tmp_path, options={"logprobs": True})
    result = judge_once(judge, n_criteria=2)
    body = provider.requests[0].body
    assert body["logprobs"] is True and body["top_logprobs"] == 5
    assert [v.confidence for v in result.verdicts] == [pytest.approx(0.8)] * 2


@pytest.mark.parametrize(
    ("mode", "key"), [("guided_json", "guided_json"), ("structured_outputs", "structured_outputs")]
)
def test_openai_vllm_structured_output_modes(
    mode: str, key: str, provider: FakeProvider, tmp_path: Path, api_keys: str
) -> None:
    judge = judge_for("openai", provider, tmp_path, options={"structured_output": mode})
    assert all(v.outcome == "met" for v in judge_once(judge).verdicts)
    body = provider.requests[0].body
    assert key in body and "response_format" not in body


def test_openai_params_are_sent_as_given(provider: FakeProvider, tmp_path: Path, api_keys: str) -> None:
    judge_once(judge_for("openai", provider, tmp_path, params={"temperature": 0, "seed": 7, "max_tokens": 300}))
    body = provider.requests[0].body
    assert (body["temperature"], body["seed"], body["max_tokens"]) == (0, 7, 300)


def test_openai_params_the_sdk_does_not_name_and_extra_body_reach_the_top_level(
    provider: FakeProvider, tmp_path: Path, api_keys: str
) -> None:
    """The request goes through the SDK's ``post`` as built (no TypedDict transform): a server
    parameter the SDK does not know and an explicit ``extra_body`` arrive as ``create`` would
    send them, at the top level of the JSON body, with the client's auth header."""
    params = {"top_k": 5, "extra_body": {"repetition_penalty": 1.1}, "temperature": 0}
    result = judge_once(judge_for("openai", provider, tmp_path, params=params))
    assert all(v.outcome == "met" for v in result.verdicts)
    request = provider.requests[0]
    assert (request.body["top_k"], request.body["repetition_penalty"], request.body["temperature"]) == (5, 1.1, 0)
    assert "extra_body" not in request.body and request.headers["Authorization"].startswith("Bearer ")


def test_params_change_the_cache_identity_but_retry_and_price_do_not(tmp_path: Path) -> None:
    base = build("judges", tmp_path, plugin="openai", model="m").cache_identity()
    assert base["prompt_version"]
    assert build("judges", tmp_path, plugin="openai", model="m", params={"temperature": 0}).cache_identity() != base
    assert (
        build(
            "judges",
            tmp_path,
            plugin="openai",
            model="m",
            options={"price": {"input": 1, "output": 1}, "retry": {"max_attempts": 2}},
        ).cache_identity()
        == base
    )


def test_no_api_key_option_for_local_servers(
    provider: FakeProvider, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    judge = judge_for("openai", provider, tmp_path, options={"no_api_key": True, "price": {"input": 0, "output": 0}})
    result = judge_once(judge)
    assert result.calls[0].usage.cost_usd == 0.0


@pytest.mark.parametrize("plugin", PLUGINS)
def test_targets_generate_and_record(plugin: str, provider: FakeProvider, tmp_path: Path, api_keys: str) -> None:
    url = provider.openai_url if plugin == "openai" else provider.anthropic_url
    target = build("targets", tmp_path, plugin=plugin, model="gpt-4o-mini", base_url=url, params={"temperature": 0.2})
    target.check_ready()
    provider.push(Step("status", status=500, body={"error": {"message": "hiccup"}}))
    result = run(target, lambda t: t.generate(make_request().case))
    assert result.text == "Answer to: What is the capital of France?"
    [call] = result.calls
    assert call.attempts == 2 and call.usage.cost_usd is not None and call.usage.cost_usd > 0
    assert provider.requests[-1].body["temperature"] == 0.2
    assert SENTINEL_KEY not in json.dumps(call.__dict__, default=str)


def test_anthropic_without_tool_call_accepts_json_text(provider: FakeProvider, tmp_path: Path, api_keys: str) -> None:
    text = json.dumps({"verdicts": [{"id": "c0", "evidence": "Paris", "rationale": "r", "met": True}]})
    provider.push(Step("content", content=text))
    [verdict] = judge_once(judge_for("anthropic", provider, tmp_path), n_criteria=1).verdicts
    assert verdict.outcome == "met" and provider.count() == 1
