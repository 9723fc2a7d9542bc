"""The retry policy and the price table, without a server."""

from __future__ import annotations

import asyncio
import email.utils
import json
import time
from pathlib import Path
from typing import Any

import pytest

from rubrictest import ConfigError, JudgeError
from rubrictest.judging._pricing import PRICES_ENV, Price, cost_usd, price_for
from rubrictest.judging._retry import (
    AttemptLog,
    CallFailed,
    MalformedOutput,
    Refusal,
    RetryPolicy,
    call_with_retries,
    classify,
    redact,
    retry_after_seconds,
)


class StatusError(Exception):
    def __init__(self, status: int, headers: dict[str, str] | None = None, message: str = "boom") -> None:
        super().__init__(message)
        self.status_code = status
        self.response = type("R", (), {"headers": headers or {}})()
        self.body = {"error": {"message": message}}


def test_retry_after_forms() -> None:
    assert retry_after_seconds({"Retry-After": "3"}) == 3.0
    assert retry_after_seconds({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    date = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 < (retry_after_seconds({"Retry-After": date}) or 0) <= 31
    assert retry_after_seconds({"Retry-After": "soon"}) is None
    assert retry_after_seconds({}) is None


@pytest.mark.parametrize(
    ("exc", "kind", "retryable"),
    [
        (StatusError(429, {"retry-after": "2"}), "rate_limit", True),
        (StatusError(500), "server", True),
        (StatusError(529), "server", True),
        (StatusError(408), "server", True),
        (StatusError(401, message="Invalid API key"), "client", False),
        (StatusError(404, message="model not found"), "client", False),
        (TimeoutError(), "timeout", True),
        (MalformedOutput("bad"), "malformed", True),
        (Refusal("no"), "refusal", False),
        (KeyError("x"), "unknown", False),
    ],
)
def test_classify(exc: Exception, kind: str, retryable: bool) -> None:
    fault = classify(exc)
    assert (fault.kind, fault.retryable) == (kind, retryable)


def test_exhausted_quota_is_not_retried() -> None:
    exc = StatusError(429, message="You exceeded your current quota")
    exc.body = {"error": {"message": "You exceeded your current quota", "code": "insufficient_quota"}}
    assert (classify(exc).kind, classify(exc).retryable) == ("client", False)


def test_classify_keeps_the_provider_message_and_retry_after() -> None:
    fault = classify(StatusError(429, {"retry-after": "2"}, "Rate limit reached for gpt-4.1"))
    assert fault.retry_after == 2.0 and "Rate limit reached for gpt-4.1" in fault.message


def _script(*outcomes: Any) -> tuple[Any, list[str | None]]:
    feedbacks: list[str | None] = []
    queue = list(outcomes)

    async def attempt(feedback: str | None) -> Any:
        feedbacks.append(feedback)
        item = queue.pop(0)
        if isinstance(item, BaseException):
            raise item
        return item

    return attempt, feedbacks


NO_JITTER = RetryPolicy(jitter=False)


def _run(attempt: Any, policy: RetryPolicy = NO_JITTER) -> tuple[Any, list[float]]:
    sleeps: list[float] = []

    async def sleep(s: float) -> None:
        sleeps.append(s)

    out = asyncio.run(call_with_retries(attempt, policy=policy, what="judge x", sleep=sleep))
    return out, sleeps


def test_429_waits_what_the_server_says_then_succeeds() -> None:
    attempt, _ = _script(StatusError(429, {"retry-after": "7"}), "ok")
    out, sleeps = _run(attempt)
    assert out.value == "ok" and out.stats.attempts == 2 and sleeps == [7.0]


def test_server_errors_back_off_exponentially_and_give_up() -> None:
    attempt, _ = _script(*[StatusError(503)] * 3)
    with pytest.raises(CallFailed, match="gave up after 3 attempts; last error: HTTP 503") as info:
        _run(attempt, RetryPolicy(max_attempts=3, base_delay=1, jitter=False))
    assert info.value.attempts == 3 and isinstance(info.value, JudgeError)


def test_jitter_stays_within_bounds() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=8.0)
    for retry, full in [(1, 1.0), (3, 4.0), (10, 8.0)]:
        for _ in range(50):
            assert full / 2 <= policy.backoff(retry) <= full


def test_malformed_output_is_fed_back_and_bounded() -> None:
    attempt, feedbacks = _script(MalformedOutput("bad JSON"), MalformedOutput("missing c1"), "ok")
    out, sleeps = _run(attempt)
    assert out.value == "ok" and feedbacks == [None, "bad JSON", "missing c1"] and sleeps == []
    attempt, _ = _script(*[MalformedOutput("bad", kind="truncated output")] * 3)
    with pytest.raises(CallFailed, match="truncated output after 3 attempts"):
        _run(attempt)


@pytest.mark.parametrize("exc", [Refusal("I can't"), StatusError(401, message="Incorrect API key")])
def test_refusals_and_client_errors_are_not_retried(exc: Exception) -> None:
    attempt, feedbacks = _script(exc, "never")
    with pytest.raises(CallFailed, match="after 1 attempt") as info:
        _run(attempt)
    assert len(feedbacks) == 1 and info.value.attempts == 1


def test_policy_from_options_rejects_unknown_keys() -> None:
    assert RetryPolicy.from_options({"retry": {"max_attempts": 2}}).max_attempts == 2
    with pytest.raises(ValueError, match="unknown keys \\['max_attemps'\\]"):
        RetryPolicy.from_options({"retry": {"max_attemps": 2}})


def test_redact_and_attempt_log_never_keep_the_secret() -> None:
    secret = "sk-live-abcdef123456"
    assert redact({"a": [f"Bearer {secret}"], secret: 1}, [secret]) == {
        "a": ["Bearer [REDACTED]"],
        "[REDACTED]": 1,
    }
    log = AttemptLog("gpt-4o-mini", secrets=[secret])
    log.sent({"messages": [secret]})
    log.received({"error": f"bad key {secret}"}, input_tokens=1000, output_tokens=500)
    log.sent({"messages": ["again"]})
    log.received({"ok": True}, input_tokens=1000, output_tokens=500)
    record = log.record(error=f"HTTP 401: key {secret}")
    assert secret not in json.dumps([record.request, record.response, record.error])
    assert record.attempts == 2 and record.usage.input_tokens == 2000
    assert record.usage.cost_usd == pytest.approx((2000 * 0.15 + 1000 * 0.60) / 1e6)


def test_prices_match_dated_snapshots_and_namespaces() -> None:
    assert price_for("gpt-4o-2024-08-06") == Price(2.5, 10.0)
    assert price_for("gpt-4o-mini-2024-07-18") == Price(0.15, 0.60)
    assert price_for("claude-3-5-sonnet-20241022") == Price(3.0, 15.0)
    assert price_for("openai/gpt-4.1-mini") == Price(0.40, 1.60)
    assert price_for("Qwen/Qwen2.5-7B-Instruct") is None
    assert cost_usd("my-local-model", 10, 10) is None
    assert cost_usd("gpt-4.1", None, None) is None


def test_a_newer_version_is_not_priced_as_its_older_prefix() -> None:
    # "gpt-5.2" starts with "gpt-5": without an entry of its own a budget would count it at
    # gpt-5's lower price and spend past the bound.
    assert price_for("gpt-5.2-2025-12-11") == Price(1.75, 14.0)
    assert price_for("claude-opus-4-6") == Price(5.0, 25.0)
    assert price_for("claude-opus-4-1-20250805") == Price(15.0, 75.0)


def test_price_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"Qwen/": {"input": 0.1, "output": 0.2}, "gpt-4.1": {"input": 1, "output": 1}}))
    monkeypatch.setenv(PRICES_ENV, str(prices))
    assert price_for("Qwen/Qwen2.5-7B-Instruct") == Price(0.1, 0.2)
    assert price_for("gpt-4.1") == Price(1.0, 1.0)
    assert price_for("gpt-4.1", {"price": {"input": 0, "output": 0}}) == Price(0.0, 0.0)
    with pytest.raises(ConfigError, match="options.price: a price is a mapping"):
        price_for("gpt-4.1", {"price": {"in": 1}})
    prices.write_text("{bad")
    monkeypatch.setenv(PRICES_ENV, str(prices))  # same path, new content: re-read
    with pytest.raises(ConfigError, match="prices.json:1: invalid JSON"):
        price_for("gpt-4.1")
