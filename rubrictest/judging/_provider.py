"""Building blocks for plugins that call a provider's SDK (the openai and anthropic plugins).

:class:`ProviderComponent` holds what every provider target and judge needs: the API key
(named by ``api_key_env``, checked before any call), the retry policy from the spec's
``options.retry``, one SDK client per ``base_url`` (a list spreads requests across a fleet,
each request to the server with the fewest requests in flight),
the cache identity without the options that only change how a call is made or paid for,
and an :class:`~rubrictest.judging.AttemptLog` that never records the key.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import importlib.util
import inspect
import itertools
import time
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..errors import ConfigError
from ..protocol import ComponentContext, ComponentSpec, require_env
from ._pricing import PriceOptions
from ._retry import (
    AttemptLog,
    CallFailed,
    RetryOptions,
    RetryPolicy,
    ServerProtocolError,
    call_with_retries,
    jsonable,
)


class ProviderOptions(BaseModel):
    """The ``options`` every provider target and judge takes (a plugin's options model
    subclasses it to add its own)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    retry: RetryOptions = Field(default_factory=RetryOptions, description="The retry policy.")
    price: PriceOptions | None = Field(None, description="USD per million tokens (overrides the price table).")
    no_api_key: bool = Field(False, description="A local server that wants no API key.")
    http_client: Literal["aiohttp", "httpx"] | None = Field(
        None,
        description="The SDK's HTTP transport: aiohttp (the default where the SDK offers it) or httpx.",
    )


class ProviderComponent:
    """Mixin for a :class:`~rubrictest.Target` or :class:`~rubrictest.Judge` that calls a
    provider SDK. Put it first in the bases and implement :meth:`make_client`.

    Class attributes:
        default_key_env: the variable that holds the key when the spec names none.
        sdk_name: the SDK's module (``openai``), so that ``check_ready`` can tell before any
            call whether ``options.http_client: aiohttp`` is possible.
        non_semantic_options: ``options`` keys left out of the cache identity.
    """

    spec: ComponentSpec
    label: str
    default_key_env: ClassVar[str] = ""
    sdk_name: ClassVar[str] = ""
    non_semantic_options: ClassVar[frozenset[str]] = frozenset({"retry", "price", "no_api_key", "http_client"})

    def __init__(self, spec: ComponentSpec, context: ComponentContext) -> None:
        super().__init__(spec, context)  # type: ignore[call-arg]
        try:
            self.retry_policy = RetryPolicy.from_options(spec.options)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{spec.label}: {exc}") from None
        self._key: str | None = None
        self._clients: list[Any] | None = None
        self._in_flight: list[int] = []
        self._turn = itertools.count()

    @property
    def attempt_timeout(self) -> float:
        """Seconds one request may take, connect to last byte: the spec's ``timeout`` (default 60)."""
        return self.spec.timeout or 60.0

    @property
    def deadline(self) -> float:
        """Seconds one call may take in all (the engine's bound): the retry policy's deadline, a
        little later so that the policy's own message comes first."""
        return self.retry_policy.total_deadline(self.attempt_timeout) + 10.0

    @property
    def key_env(self) -> str:
        """The environment variable that holds the API key."""
        return self.spec.api_key_env or self.default_key_env

    def check_ready(self) -> None:
        """Raise :class:`ConfigError` for a missing model or API key, before any call.

        ``options.no_api_key: true`` is for local servers (vLLM, Ollama) that want none.
        """
        if not self.spec.model:
            raise ConfigError(f"{self.spec.plugin}: no model given (write {self.spec.plugin}:MODEL)")
        if self.spec.options.get("no_api_key"):
            self._key = "no-key"
        else:
            self._key = require_env(self.key_env, what="API key")
        if self.spec.options.get("http_client") == "aiohttp" and self.sdk_name:
            self.http_client(importlib.import_module(self.sdk_name))  # raises if the SDK has none

    def cache_identity(self) -> dict[str, Any]:
        """The component's identity for cache keys, without the non-semantic options."""
        identity: dict[str, Any] = super().cache_identity()  # type: ignore[misc]
        identity["options"] = {k: v for k, v in self.spec.options.items() if k not in self.non_semantic_options}
        return identity

    def make_client(self, api_key: str, base_url: str | None) -> Any:
        """Build the SDK's async client for one base URL, e.g.
        ``openai.AsyncOpenAI(**self.client_options(openai, api_key, base_url))``."""
        raise NotImplementedError

    def client_options(self, sdk: Any, api_key: str, base_url: str | None) -> dict[str, Any]:
        """The keyword arguments of an SDK client (``openai.AsyncOpenAI``,
        ``anthropic.AsyncAnthropic``): the key, the server, the SDK's retries off (the policy
        is ours), the spec's timeout and the HTTP transport (:meth:`http_client`)."""
        return {
            "api_key": api_key,
            "base_url": base_url,
            "max_retries": 0,
            "timeout": self.attempt_timeout,
            "http_client": self.http_client(sdk),
        }

    def http_client(self, sdk: Any) -> Any:
        """The HTTP client for an SDK client of ``sdk`` (the ``openai`` or ``anthropic``
        module): its aiohttp transport where the SDK offers one, else ``None`` (the SDK's
        default httpx client); ``options.http_client: httpx`` asks for the latter.

        Why aiohttp: the SDKs document it for concurrency, and on the peer benchmark the
        SDK alone spends about a third less CPU per call with it (``docs/benchmarks.md``),
        which on a small machine is judging time. Timeouts, errors and the wire are the SDK's
        either way: the transport maps aiohttp's errors to the httpx ones the SDK classifies.
        """
        choice = self.spec.options.get("http_client")
        if choice == "httpx":
            return None
        if has_aiohttp_transport(sdk):
            return sdk.DefaultAioHttpClient()
        if choice == "aiohttp":
            raise ConfigError(
                f"{self.spec.label}: options.http_client is aiohttp, but {sdk.__name__} "
                f"{getattr(sdk, '__version__', '')} has no aiohttp transport here "
                f"(pip install '{sdk.__name__}[aiohttp]')"
            )
        return None

    def base_urls(self) -> list[str | None]:
        """The servers of the fleet, asked once, when the first request is sent.

        Default: the spec's ``base_url`` (one URL, a list, or ``None`` for the provider's
        own endpoint). A component that starts its own servers overrides it.
        """
        return list(self.spec.base_url) if isinstance(self.spec.base_url, list) else [self.spec.base_url]

    @contextlib.contextmanager
    def lease(self) -> Iterator[Any]:
        """The SDK client of the least-loaded server of the fleet, held for one request.

        The server with the fewest of this component's requests in flight gets the next one
        (ties rotate), so a slow or busy server of a fleet gets less work, not an equal
        share. Clients are built on first use, so that they belong to the event loop that
        runs the calls, and kept for the run. Use it around the call::

            with self.lease() as client:
                answer = await client.chat.completions.create(...)
        """
        if self._clients is None:
            if self._key is None:
                self.check_ready()
            assert self._key is not None
            self._clients = [self.make_client(self._key, url) for url in self.base_urls()]
            self._in_flight = [0] * len(self._clients)
        clients, load = self._clients, self._in_flight
        first = next(self._turn) % len(clients)
        index = min(range(len(clients)), key=lambda i: (load[i], (i - first) % len(clients)))
        load[index] += 1
        try:
            yield clients[index]
        finally:
            load[index] -= 1

    # Tokens of the instructions a request adds to its content (the judge prompt, the JSON
    # schema): a bound, measured on the first-party judges' prompts with room to spare.
    prompt_overhead_tokens: ClassVar[int] = 4_000
    # The completion bound when the spec's params give no max_tokens (the Anthropic plugin
    # sends its own default, which it sets here).
    default_max_tokens: ClassVar[int] = 4_096

    def max_request_cost(self, content_bytes: int) -> float | None:
        """The most one request can cost (USD), for ``--rubric-max-cost``: every prompt token
        counted as one byte of the content (a token is never shorter than a byte) plus
        :attr:`prompt_overhead_tokens`, the completion at ``max_tokens`` (``params.max_tokens``
        or ``max_completion_tokens``, else :attr:`default_max_tokens`), once per sample.
        ``None`` when the model has no price (``options.price``, ``RUBRICTEST_PRICES``, the table)."""
        from ._pricing import price_for

        price = price_for(self.spec.model, self.spec.options)
        if price is None:
            return None
        params = self.spec.params
        completion = params.get("max_tokens") or params.get("max_completion_tokens") or self.default_max_tokens
        try:
            completion = int(completion)
        except (TypeError, ValueError):
            completion = self.default_max_tokens
        samples = max(1, int(getattr(self.spec, "samples", 1) or 1))
        cost = price.cost((content_bytes + self.prompt_overhead_tokens) * samples, completion * samples)
        return cost or 0.0

    @property
    def secrets(self) -> list[str]:
        """Strings that must never be stored: the API key."""
        return [self._key] if self._key and not self.spec.options.get("no_api_key") else []

    def attempt_log(self) -> AttemptLog:
        """A fresh log of one request's attempts (tokens, cost, latency; secrets scrubbed)."""
        return AttemptLog(self.spec.model, secrets=self.secrets, price_options=self.spec.options)

    async def retried(self, attempt: Any, log: AttemptLog, *, what: str, earlier_calls: Sequence[Any] = ()) -> Any:
        """The value of ``attempt`` run under the component's retry policy.

        On failure the :class:`~rubrictest.judging.CallFailed` carries every call made
        (``earlier_calls`` and this request's), so the store keeps them with the ERROR.
        """
        try:
            outcome = await call_with_retries(
                attempt,
                policy=self.retry_policy,
                secrets=self.secrets,
                what=f"{what} {self.label}",
                attempt_timeout=self.attempt_timeout,
            )
        except CallFailed as exc:
            exc.calls = [*earlier_calls, log.record(error=str(exc))]
            raise
        return outcome.value

    async def send(
        self, create: Any, kwargs: dict[str, Any], log: AttemptLog, *, server: str, token_fields: tuple[str, str]
    ) -> Any:
        """Call the SDK method ``create`` with ``kwargs`` once, logging what went and came back.

        ``create`` returns one of the SDK's response models or the answer's JSON (a dict).

        Parameters this SDK version does not name go in ``extra_body``. A provider error is
        logged (status and body) and re-raised for the retry policy; an answer that is not
        JSON (an HTML error page, a proxy) is a :class:`~rubrictest.judging.ServerProtocolError`.

        Args:
            server: the base URL the client talks to, for messages.
            token_fields: the names of the input and output token counts in the answer's
                ``usage`` (``prompt_tokens``/``completion_tokens`` for OpenAI).
        """
        log.sent(kwargs)  # the log encodes it once, for the secrets search and the store
        start = time.perf_counter()
        try:
            answer = await create(**fit_signature(create, kwargs))
        except ValueError as exc:  # JSON content type with a body that is not JSON
            raise ServerProtocolError(f"the server's answer is not valid JSON: {exc}") from None
        except Exception as exc:
            status = getattr(exc, "status_code", None)
            if status is not None:  # the SDKs' APIStatusError
                log.received({"status": status, "body": jsonable(getattr(exc, "body", None))})
            raise
        finally:
            log.timed(time.perf_counter() - start)
        if isinstance(answer, str):
            # The SDKs hand back the text of a non-JSON answer.
            snippet = " ".join(answer.split())[:120]
            log.received(answer[:2000])
            raise ServerProtocolError(
                f"the server at {server} answered with something that is not JSON (check base_url): {snippet!r}"
            )
        if isinstance(answer, dict):  # the answer's JSON, as the SDK decoded it
            usage = answer.get("usage")
            usage = usage if isinstance(usage, dict) else {}
            tokens_in, tokens_out = (_count(usage.get(name)) for name in token_fields)
            log.received(answer, input_tokens=tokens_in, output_tokens=tokens_out)
            return answer
        usage = getattr(answer, "usage", None)  # one of the SDK's response models
        log.received(
            answer.model_dump(mode="json", exclude_unset=True),
            input_tokens=getattr(usage, token_fields[0], None),
            output_tokens=getattr(usage, token_fields[1], None),
        )
        return answer

    async def aclose(self) -> None:
        """Close every client of the fleet."""
        clients, self._clients = self._clients or [], None
        for client in clients:
            await client.close()


def _count(value: Any) -> int | None:
    """A token count from an answer's JSON; ``None`` for anything but an integer."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@functools.lru_cache(maxsize=16)
def _parameter_names(function: Any) -> frozenset[str] | None:
    """The keyword names ``function`` takes; ``None`` when it takes any (or is opaque)."""
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return None
    return frozenset(parameters)


def fit_signature(create: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Move parameters that this SDK version's ``create`` does not name into ``extra_body``.

    ``params`` holds whatever the provider (or a compatible server) accepts; an SDK release
    that does not know a field (``top_k``, ``repetition_penalty``...) still sends it this way.
    """
    # a bound method or a partial: the function underneath, so that the cache keeps one entry
    function = create.func if isinstance(create, functools.partial) else getattr(create, "__func__", create)
    known = _parameter_names(function)
    if known is None:
        return kwargs
    out = {k: v for k, v in kwargs.items() if k in known}
    extra = {k: v for k, v in kwargs.items() if k not in known}
    if extra:
        out["extra_body"] = {**extra, **(kwargs.get("extra_body") or {})}
    return out


def has_aiohttp_transport(sdk: Any) -> bool:
    """Whether ``sdk`` (the ``openai`` or ``anthropic`` module) offers its aiohttp transport
    here: an SDK release that has ``DefaultAioHttpClient``, and aiohttp installed (without it
    the SDK's stand-in raises when built)."""
    return hasattr(sdk, "DefaultAioHttpClient") and importlib.util.find_spec("aiohttp") is not None
