"""The SDKs' two HTTP transports: aiohttp (the default where the SDK offers it) and httpx.

Every other remote test runs on the default transport; these run the faults whose handling
depends on the transport on both, for both plugins: a refused connection, a connection the
server drops, a request that outlasts its timeout.
"""

from __future__ import annotations

import socket
import threading
import types
from collections.abc import Iterator
from pathlib import Path

import anthropic
import openai
import pytest

from rubrictest import ComponentSpec, ConfigError
from rubrictest.errors import OptionsError
from rubrictest.plugins import check_options, registry

from ..helpers.remote import PLUGINS, build, failure, judge_for, judge_once, run
from .fake_provider import FakeProvider, Step

TRANSPORTS = ["aiohttp", "httpx"]
SDK = {"openai": openai, "anthropic": anthropic}


def _closed_port() -> int:
    """A port of 127.0.0.1 nothing listens on (bound, read, released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("plugin", PLUGINS)
def test_the_default_transport_is_aiohttp_and_httpx_can_be_asked_for(
    plugin: str, provider: FakeProvider, tmp_path: Path, api_keys: str
) -> None:
    async def transport_of(judge: object) -> str:
        with judge.lease() as client:  # type: ignore[attr-defined]
            return type(client._client._transport).__name__

    default = judge_for(plugin, provider, tmp_path)
    assert run(default, transport_of) == "AiohttpTransport"
    chosen = judge_for(plugin, provider, tmp_path, options={"http_client": "httpx"})
    assert run(chosen, transport_of) == "AsyncHTTPTransport"
    # The transport changes how a call is made, not its answer: one cache identity.
    assert default.cache_identity() == chosen.cache_identity()


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("plugin", PLUGINS)
def test_a_judge_answers_over_either_transport(
    plugin: str, transport: str, provider: FakeProvider, tmp_path: Path, api_keys: str
) -> None:
    judge = judge_for(plugin, provider, tmp_path, options={"http_client": transport})
    result = judge_once(judge, n_criteria=2)
    assert [v.outcome for v in result.verdicts] == ["met", "met"] and provider.count() == 1
    assert provider.requests[0].headers.get("Authorization", provider.requests[0].headers.get("X-Api-Key"))


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("plugin", PLUGINS)
def test_a_refused_connection_is_retried_then_reported_as_such(
    plugin: str, transport: str, tmp_path: Path, api_keys: str
) -> None:
    port = _closed_port()
    base_url = f"http://127.0.0.1:{port}" + ("/v1" if plugin == "openai" else "")
    judge = build(
        "judges",
        tmp_path,
        plugin=plugin,
        model="judge-model",
        base_url=base_url,
        options={"http_client": transport, "retry": {"max_attempts": 2, "base_delay": 0.01}},
    )
    err = failure(judge)
    # "connection failed", never "timed out": aiohttp's transport reports a refused connection
    # as a connect timeout, and a user with a wrong base_url must not go looking at timeouts.
    assert "connection failed" in str(err) and "timed out" not in str(err)
    assert err.attempts == 2


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("plugin", PLUGINS)
def test_a_dropped_connection_is_retried(
    plugin: str, transport: str, provider: FakeProvider, tmp_path: Path, api_keys: str
) -> None:
    provider.push(Step("reset"))
    judge = judge_for(plugin, provider, tmp_path, options={"http_client": transport})
    result = judge_once(judge)
    assert provider.count() == 2 and result.calls[0].attempts == 2
    assert all(v.outcome == "met" for v in result.verdicts)
    provider.requests.clear()
    provider.push(Step("reset"), Step("reset"))
    judge = judge_for(
        plugin,
        provider,
        tmp_path,
        options={"http_client": transport, "retry": {"max_attempts": 2, "base_delay": 0.01}},
    )
    err = failure(judge)
    assert provider.count() == 2 and "gave up after 2 attempts" in str(err)
    assert "connection" in str(err) and "timed out" not in str(err)


@pytest.fixture
def not_http() -> Iterator[int]:
    """A port of 127.0.0.1 where something answers every connection with a line that is not HTTP."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(0.2)
    stop = threading.Event()

    def answer() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(2)
                try:
                    conn.recv(65536)
                    conn.sendall(b"SSH-2.0-OpenSSH_9.6 not a web server\r\n\r\n")
                except OSError:
                    pass

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    yield int(server.getsockname()[1])
    stop.set()
    thread.join(5)
    server.close()


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("plugin", PLUGINS)
def test_a_server_that_does_not_speak_http_is_a_connection_failure(
    plugin: str, transport: str, not_http: int, tmp_path: Path, api_keys: str
) -> None:
    # aiohttp's transport lets this through the SDK as aiohttp's own ClientResponseError;
    # httpx's is the SDK's connection error. Either way: retried, then one line saying so.
    judge = build(
        "judges",
        tmp_path,
        plugin=plugin,
        model="judge-model",
        base_url=f"http://127.0.0.1:{not_http}" + ("/v1" if plugin == "openai" else ""),
        options={"http_client": transport, "retry": {"max_attempts": 2, "base_delay": 0.01}},
    )
    err = failure(judge)
    assert err.attempts == 2 and "gave up after 2 attempts" in str(err)
    assert "connection failed" in str(err) and "\n" not in str(err)


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("plugin", PLUGINS)
def test_a_slow_server_is_a_timeout_on_either_transport(
    plugin: str, transport: str, provider: FakeProvider, tmp_path: Path, api_keys: str
) -> None:
    provider.push(Step("sleep", seconds=1.0), Step("sleep", seconds=1.0))
    judge = judge_for(
        plugin,
        provider,
        tmp_path,
        timeout=0.2,
        options={"http_client": transport, "retry": {"max_attempts": 2, "base_delay": 0.01}},
    )
    err = failure(judge)
    assert "timed out" in str(err) and "connection failed" not in str(err)


@pytest.mark.parametrize("plugin", PLUGINS)
def test_asking_for_aiohttp_where_the_sdk_has_none_is_a_config_error(
    plugin: str, provider: FakeProvider, tmp_path: Path, api_keys: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    old_sdk = types.SimpleNamespace(__name__=plugin, __version__="1.0.0")  # no DefaultAioHttpClient
    judge = judge_for(plugin, provider, tmp_path, options={"http_client": "aiohttp"})
    with pytest.raises(ConfigError, match=rf"http_client is aiohttp, but {plugin} 1.0.0 has no aiohttp transport"):
        judge.http_client(old_sdk)
    # Left to the default, an SDK without it falls back to httpx, without a word.
    assert judge_for(plugin, provider, tmp_path).http_client(old_sdk) is None
    assert judge_for(plugin, provider, tmp_path).http_client(SDK[plugin]) is not None
    # Asked for explicitly, it is checked before any call, where a missing key is.
    monkeypatch.delattr(SDK[plugin], "DefaultAioHttpClient")
    with pytest.raises(ConfigError, match=rf"pip install '{plugin}\[aiohttp\]'"):
        judge_for(plugin, provider, tmp_path, options={"http_client": "aiohttp"})  # check_ready
    assert judge_for(plugin, provider, tmp_path).http_client(SDK[plugin]) is None  # the default: httpx
    assert provider.count() == 0


@pytest.mark.parametrize("plugin", PLUGINS)
def test_an_unknown_transport_is_refused_naming_the_key(plugin: str) -> None:
    spec = ComponentSpec.model_validate({"plugin": plugin, "model": "m", "options": {"http_client": "curl"}})
    with pytest.raises(OptionsError, match="http_client") as info:
        check_options(registry().get("judges", plugin).factory, spec)
    assert "'aiohttp' or 'httpx'" in str(info.value)
