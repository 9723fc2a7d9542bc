"""Remote calls are bounded in time (issue 10): a server that sends one byte at a time cannot
stretch a request past its ``timeout`` (the SDKs' own timeouts are per read, and reset with
every byte), a call with its retries ends by its deadline, and a huge ``Retry-After`` fails
the call at once instead of parking it for minutes."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from rubrictest.judging import CallFailed

from ..helpers.remote import PLUGINS, failure, judge_for
from .fake_provider import FakeProvider, Step


@pytest.mark.parametrize("plugin", PLUGINS)
def test_a_slow_drip_server_does_not_beat_the_timeout(
    plugin: str, provider: FakeProvider, tmp_path: Path, api_keys: str
) -> None:
    provider.push(*[Step("drip", seconds=0.05)] * 2)
    judge = judge_for(
        plugin, provider, tmp_path, timeout=1.0, options={"retry": {"max_attempts": 2, "base_delay": 0.01}}
    )
    started = time.monotonic()
    err = failure(judge)
    elapsed = time.monotonic() - started
    assert provider.count() == 2 and err.attempts == 2
    assert "no complete answer within 1 s" in str(err)
    assert elapsed < 5, f"two 1 s attempts took {elapsed:.1f} s"


@pytest.mark.parametrize("plugin", PLUGINS)
def test_the_deadline_bounds_a_call_with_its_retries(
    plugin: str, provider: FakeProvider, tmp_path: Path, api_keys: str
) -> None:
    provider.push(*[Step("drip", seconds=0.05)] * 10)
    judge = judge_for(
        plugin,
        provider,
        tmp_path,
        timeout=1.0,
        options={"retry": {"max_attempts": 10, "base_delay": 0.01, "deadline": 2.5}},
    )
    started = time.monotonic()
    err = failure(judge)
    elapsed = time.monotonic() - started
    assert "no answer within the call's deadline of 2.5 s" in str(err)
    assert elapsed < 5 and provider.count() <= 3


@pytest.mark.parametrize("plugin", PLUGINS)
def test_a_huge_retry_after_fails_the_call_at_once(
    plugin: str, provider: FakeProvider, tmp_path: Path, api_keys: str
) -> None:
    provider.push(
        Step("status", status=429, body={"error": {"message": "Rate limit reached"}}, headers={"Retry-After": "600"})
    )
    judge = judge_for(plugin, provider, tmp_path)
    started = time.monotonic()
    err = failure(judge)
    assert time.monotonic() - started < 5
    assert isinstance(err, CallFailed) and provider.count() == 1
    assert "the server asked to wait 600 s, longer than max_retry_after (120 s)" in str(err)


@pytest.mark.parametrize("plugin", PLUGINS)
def test_a_retry_after_past_the_deadline_fails_at_once(
    plugin: str, provider: FakeProvider, tmp_path: Path, api_keys: str
) -> None:
    provider.push(
        Step("status", status=429, body={"error": {"message": "Rate limit reached"}}, headers={"Retry-After": "30"})
    )
    judge = judge_for(plugin, provider, tmp_path, options={"retry": {"deadline": 10}})
    started = time.monotonic()
    err = failure(judge)
    assert time.monotonic() - started < 5
    assert "no answer within the call's deadline of 10 s (1 attempt; the server asked to wait 30 s)" in str(err)
