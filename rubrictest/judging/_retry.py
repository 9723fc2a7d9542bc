"""Bounded retries for calls to model servers, with one policy for every plugin.

The official SDKs retry on their own; rubrictest's remote plugins build their clients with
``max_retries=0`` so that this module is the only retry policy and every attempt is counted.

What happens to a failed attempt depends on its fault:

=====================================  ==========================================================
fault                                  what happens
=====================================  ==========================================================
429 rate limit                         wait what ``retry-after-ms`` / ``Retry-After`` says, else
                                       back off; a wait over :attr:`RetryPolicy.max_retry_after`,
                                       or one that would end past the deadline, fails at once
408, 409, 5xx, timeout, connection     exponential back-off with jitter
malformed or truncated output          ask again with the validation error fed back
                                       (:class:`MalformedOutput`), at most
                                       :attr:`RetryPolicy.format_retries` times
refusal, other 4xx, non-JSON server    no retry
=====================================  ==========================================================

Time is bounded twice: each attempt by ``attempt_timeout`` (connect to the last byte: a server
that sends one byte at a time cannot stretch it), and the whole call -- attempts and waits --
by :attr:`RetryPolicy.deadline`.

When no attempt succeeds, :func:`call_with_retries` raises :class:`CallFailed` (a
:class:`~rubrictest.errors.JudgeError`) whose message gives the reason and the number of
attempts: the engine reports the item as ERROR, never as FAIL.

A third-party plugin can use the same machinery: raise :class:`MalformedOutput`,
:class:`Refusal` or :class:`ServerProtocolError` from the attempt function, let SDK errors
propagate, and :func:`classify` sorts them (anything with a ``status_code`` and an optional
``response.headers``, as both official SDKs' ``APIStatusError`` have).
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import random
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import JudgeError
from ..protocol import CallRecord, Usage
from ..secrets import REDACTED as REDACTED  # re-exported: rubrictest.judging.REDACTED
from ..secrets import json_needs_redaction
from ..secrets import redact as scrub

T = TypeVar("T")

DEFAULT_DEADLINE = 300.0
"""Seconds one call may take in all, retries included, unless the policy says otherwise."""

RETRYABLE_STATUS = frozenset({408, 409, 429})
"""HTTP statuses below 500 that are worth another attempt (as the official SDKs treat them)."""


class MalformedOutput(Exception):
    """The model answered, but not in the required form (invalid JSON, wrong schema, cut off).

    Args:
        feedback: what was wrong, phrased for the model; the next attempt includes it.
        kind: short label for error messages (``truncated output``, ``invalid JSON``...).
    """

    def __init__(self, feedback: str, *, kind: str = "malformed output") -> None:
        super().__init__(feedback)
        self.feedback = feedback
        self.kind = kind


class Refusal(Exception):
    """The model declined to answer. Never retried: asking again rarely helps and costs."""


class ServerProtocolError(Exception):
    """The server did not speak the expected wire format (HTML page, non-JSON body).

    Usually a wrong ``base_url``; never retried.
    """


class CallFailed(JudgeError):
    """No attempt produced a usable answer.

    Attributes:
        reason: the last fault, in words.
        attempts: how many requests were sent.
        calls: the :class:`~rubrictest.CallRecord` objects of the attempts, when the caller
            attached them (usage of failed attempts still costs money).
    """

    def __init__(self, message: str, *, reason: str, attempts: int) -> None:
        super().__init__(message)
        self.reason = reason
        self.attempts = attempts
        self.calls: list[Any] = []


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry.

    Attributes:
        max_attempts: requests sent at most for transient faults (429, 5xx, timeouts),
            counting the first one.
        format_retries: extra requests at most for malformed or truncated output.
        base_delay: first back-off in seconds; doubled at each retry.
        max_delay: the longest single back-off, in seconds.
        max_retry_after: the longest wait a server's ``Retry-After`` may impose, in seconds:
            a server asking for longer fails the call at once.
        jitter: randomise back-off (half fixed, half uniform) so that many concurrent
            requests do not retry in lock-step.
        deadline: seconds one call may take in all, attempts and waits together (``None``:
            :data:`DEFAULT_DEADLINE`, or twice the per-attempt timeout if that is longer).
    """

    max_attempts: int = 6
    format_retries: int = 2
    base_delay: float = 0.5
    max_delay: float = 20.0
    max_retry_after: float = 120.0
    jitter: bool = True
    deadline: float | None = None

    def total_deadline(self, attempt_timeout: float | None) -> float:
        """The deadline of one call whose attempts are bounded by ``attempt_timeout``."""
        if self.deadline is not None:
            return self.deadline
        return max(DEFAULT_DEADLINE, 2 * attempt_timeout) if attempt_timeout else DEFAULT_DEADLINE

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> RetryPolicy:
        """Read a policy from a component spec's ``options`` (``options.retry`` mapping,
        validated by :class:`RetryOptions`).

        Unknown keys are an error naming them, so a typo does not silently keep a default.
        """
        raw = options.get("retry") or {}
        if not isinstance(raw, Mapping):
            raise ValueError("options.retry must be a mapping")
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ValueError(f"options.retry: unknown keys {unknown}; known: {sorted(known)}")
        try:
            checked = RetryOptions.model_validate(dict(raw))
        except ValidationError as exc:
            err = exc.errors()[0]
            raise ValueError(f"options.retry.{'.'.join(str(p) for p in err['loc'])}: {err['msg']}") from None
        return cls(**checked.model_dump(exclude_unset=True))

    def backoff(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (1-based) of a transient fault."""
        delay = float(min(self.max_delay, self.base_delay * (2 ** (retry - 1))))
        if self.jitter:
            delay = delay / 2 + random.uniform(0, delay / 2)
        return delay


class RetryOptions(BaseModel):
    """``options.retry`` of a provider target or judge, as written in a suite (the fields of
    :class:`RetryPolicy`; every key optional)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    max_attempts: int = Field(6, ge=1, description="Requests at most for transient faults (429, 5xx, timeouts).")
    format_retries: int = Field(2, ge=0, description="Extra requests at most for malformed or truncated output.")
    base_delay: float = Field(0.5, ge=0, description="First back-off in seconds, doubled at each retry.")
    max_delay: float = Field(20.0, ge=0, description="The longest single back-off, in seconds.")
    max_retry_after: float = Field(120.0, ge=0, description="The longest wait a server's Retry-After may impose.")
    jitter: bool = Field(True, description="Randomise back-off so concurrent requests do not retry in lock-step.")
    deadline: float | None = Field(
        None,
        gt=0,
        description="Seconds one call may take in all, retries and waits "
        "included (default 300, or twice the timeout if longer).",
    )


@dataclass
class Fault:
    """A classified failed attempt.

    Attributes:
        kind: ``rate_limit``, ``server``, ``timeout``, ``connection``, ``malformed``,
            ``refusal``, ``client``, ``protocol`` or ``unknown``.
        label: for ``malformed``, the :attr:`MalformedOutput.kind`.
        retryable: whether another attempt may help.
        message: the reason in words (the provider's own message where there is one).
        retry_after: seconds the server asked us to wait, if it said.
    """

    kind: str
    retryable: bool
    message: str
    retry_after: float | None = None
    label: str = ""


def retry_after_seconds(headers: Mapping[str, str] | None) -> float | None:
    """The wait a response asks for: ``retry-after-ms``, else ``Retry-After`` (seconds or an
    HTTP date). ``None`` when neither is present or readable."""
    if not headers:
        return None
    lower = {k.lower(): v for k, v in headers.items()}
    ms = lower.get("retry-after-ms")
    if ms is not None:
        try:
            return max(0.0, float(ms) / 1000.0)
        except ValueError:
            pass
    value = lower.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def provider_message(exc: BaseException) -> str:
    """The provider's own error message from an SDK exception, else ``str(exc)``."""
    body = getattr(exc, "body", None)
    if isinstance(body, Mapping):
        err = body.get("error", body)
        if isinstance(err, Mapping) and isinstance(err.get("message"), str):
            return str(err["message"])
    message = getattr(exc, "message", None)
    return message if isinstance(message, str) and message else str(exc) or type(exc).__name__


def _error_code(exc: BaseException) -> str | None:
    body = getattr(exc, "body", None)
    err = body.get("error", body) if isinstance(body, Mapping) else None
    if isinstance(err, Mapping):
        for key in ("code", "type"):
            if isinstance(err.get(key), str):
                return str(err[key])
    return None


def classify(exc: BaseException) -> Fault:
    """Sort an exception raised by an attempt into a :class:`Fault`."""
    if isinstance(exc, MalformedOutput):
        return Fault("malformed", True, exc.feedback, label=exc.kind)
    if isinstance(exc, Refusal):
        return Fault("refusal", False, f"the model refused: {exc}")
    if isinstance(exc, ServerProtocolError):
        return Fault("protocol", False, str(exc))
    status = getattr(exc, "status_code", None)
    if isinstance(status, int):
        response = getattr(exc, "response", None)
        headers = getattr(response, "headers", None)
        message = f"HTTP {status}: {provider_message(exc)}"
        if status == 429 and _error_code(exc) == "insufficient_quota":
            # OpenAI answers 429 for an exhausted quota too; waiting does not refill it.
            return Fault("client", False, message)
        if status == 429:
            return Fault("rate_limit", True, message, retry_after_seconds(headers))
        if status >= 500 or status in RETRYABLE_STATUS:
            return Fault("server", True, message, retry_after_seconds(headers) if status == 503 else None)
        return Fault("client", False, message)
    name = type(exc).__name__.lower()
    if isinstance(exc, TimeoutError) or "timeout" in name:
        refused = _connection_cause(exc)
        if refused is not None:
            return Fault("connection", True, f"connection failed: {_specific_message(refused)}")
        return Fault("timeout", True, "the request timed out")
    if "connection" in name or isinstance(exc, ConnectionError) or _from_http_library(exc):
        return Fault("connection", True, f"connection failed: {_specific_message(exc)}")
    return Fault("unknown", False, f"{type(exc).__name__}: {exc}")


# The HTTP libraries under the SDKs. An error of theirs that reaches rubrictest escaped the
# SDK's own classes: aiohttp's transport lets a malformed answer (a status line that is not
# HTTP) through as aiohttp's ``ClientResponseError``, which httpx would have reported as a
# protocol error, and the SDK as a connection error.
_HTTP_LIBRARIES = frozenset({"aiohttp", "httpx", "httpx2", "httpcore"})


def _from_http_library(exc: BaseException) -> bool:
    return type(exc).__module__.partition(".")[0] in _HTTP_LIBRARIES


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The exceptions ``exc`` was raised from, nearest first (a bounded walk)."""
    cause = exc.__cause__
    for _ in range(8):
        if cause is None:
            return
        yield cause
        cause = cause.__cause__


def _connection_cause(exc: BaseException) -> BaseException | None:
    """The connection failure under an SDK timeout, if that is what it was.

    The SDKs' aiohttp transport maps every aiohttp connection error to httpx's
    ``ConnectTimeout``, so a refused or dropped connection reaches the SDK as a timeout.
    Telling the user "timed out" for a wrong ``base_url`` would send them the wrong way.
    """
    for cause in _causes(exc):
        name = type(cause).__name__.lower()
        if isinstance(cause, TimeoutError) or "timeout" in name:
            continue
        if "connect" in name or isinstance(cause, OSError):
            return cause
    return None


# The SDKs' own lines for a failed connection: true, but they name neither host nor reason.
_SDK_GENERIC_MESSAGES = frozenset({"Connection error.", "Request timed out."})


def _specific_message(exc: BaseException) -> str:
    """The first message of ``exc`` and its causes that says more than the SDK's generic line:
    "Cannot connect to host 127.0.0.1:9 ..." rather than "Connection error."."""
    for error in (exc, *_causes(exc)):
        message = str(error)
        if message and message not in _SDK_GENERIC_MESSAGES:
            # one line, and short: aiohttp quotes the bad bytes it read over several lines
            return _one_line(message)
    return _one_line(str(exc)) or type(exc).__name__


def _one_line(message: str, limit: int = 300) -> str:
    line = " ".join(message.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


@dataclass
class RetryStats:
    """What the retries of one logical call cost.

    Attributes:
        attempts: requests sent.
        faults: the kind of every failed attempt, in order.
        waited_s: seconds spent waiting between attempts.
    """

    attempts: int = 0
    faults: list[str] = field(default_factory=list)
    waited_s: float = 0.0


@dataclass
class Succeeded(Generic[T]):
    """A successful call: the value and its :class:`RetryStats`."""

    value: T
    stats: RetryStats


async def call_with_retries(
    attempt: Callable[[str | None], Awaitable[T]],
    *,
    policy: RetryPolicy,
    what: str,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    stats: RetryStats | None = None,
    secrets: Sequence[str] = (),
    attempt_timeout: float | None = None,
) -> Succeeded[T]:
    """Call ``attempt`` until it succeeds or the policy says stop.

    Args:
        attempt: makes one request. It receives the feedback for the model (the last
            :class:`MalformedOutput` message, ``None`` on the first attempt and after
            transient faults) and returns the parsed answer or raises.
        policy: the bounds and delays.
        what: names the call in error messages (``judge openai:gpt-4.1``).
        sleep: the waiting function (tests pass a fake).
        stats: filled in as attempts happen (pass one to read it after a failure).
        secrets: strings removed from every message (the API key: a provider may echo it
            in an error, and the message becomes the reason stored with ERROR verdicts).
        attempt_timeout: seconds one attempt may take from its start to its last byte
            (``None``: only the deadline bounds it); an attempt cut off is a retryable
            ``timeout`` fault.

    Returns:
        The value and the :class:`RetryStats`.

    Raises:
        CallFailed: a fault that is not retryable, the bounds are exhausted, or the deadline
            (:meth:`RetryPolicy.total_deadline`) passed or would pass during the next wait.
            The message names the fault, the provider's message and the number of attempts.
        asyncio.CancelledError: propagates at once (Ctrl-C stops the run).
    """
    stats = stats if stats is not None else RetryStats()
    tries = _Tries(policy, what, policy.total_deadline(attempt_timeout), stats)
    feedback: str | None = None
    while True:
        remaining = tries.left()
        bound = remaining if attempt_timeout is None else min(attempt_timeout, remaining)
        stats.attempts += 1
        started = time.monotonic()
        try:
            async with asyncio.timeout(bound) as scope:
                value = await attempt(feedback)
            return Succeeded(value, stats)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            tries.attempting += time.monotonic() - started
            if isinstance(exc, TimeoutError) and scope.expired():
                fault = Fault(
                    "timeout",
                    True,
                    f"the request timed out: no complete answer within {bound:.3g} s (a slow or stalled server)",
                )
            else:
                fault = classify(exc)
            fault.message = redact(fault.message, secrets)
            stats.faults.append(fault.kind)
            try:
                delay = tries.delay_after(fault)
            except CallFailed as failed:
                raise failed from exc
            if fault.kind == "malformed":
                feedback = fault.message  # the model is told what was wrong with its answer
            if delay:
                stats.waited_s += delay
                await sleep(delay)


@dataclass
class _Tries:
    """What one call has used so far, held against its policy and deadline."""

    policy: RetryPolicy
    what: str
    deadline: float
    stats: RetryStats
    transient: int = 0
    malformed: int = 0
    attempting: float = 0.0  # seconds spent in attempts; with stats.waited_s, what the call has used

    def left(self) -> float:
        """Seconds of the deadline not yet used by attempts and waits."""
        return self.deadline - self.attempting - self.stats.waited_s

    def _failed(self, message: str, fault: Fault) -> CallFailed:
        return CallFailed(f"{self.what}: {message}", reason=fault.message, attempts=self.stats.attempts)

    def delay_after(self, fault: Fault) -> float:
        """Seconds to wait before trying again after ``fault``.

        Raises:
            CallFailed: the fault is not retryable, its bound is exhausted, the server asks
                for a longer wait than allowed, or the wait would pass the deadline.
        """
        n = _n(self.stats.attempts)
        if not fault.retryable:
            raise self._failed(f"{fault.message} (after {n})", fault)
        if fault.kind == "malformed":
            self.malformed += 1
            if self.malformed > self.policy.format_retries:
                raise self._failed(f"{fault.label} after {n}: {fault.message}", fault)
            delay = 0.0
        else:
            self.transient += 1
            if self.transient >= self.policy.max_attempts:
                raise self._failed(f"gave up after {n}; last error: {fault.message}", fault)
            if fault.retry_after is not None and fault.retry_after > self.policy.max_retry_after:
                # asking again sooner than the server said would only be refused again
                raise self._failed(
                    f"the server asked to wait {fault.retry_after:g} s, longer than max_retry_after "
                    f"({self.policy.max_retry_after:g} s), after {n}; last error: {fault.message}",
                    fault,
                )
            delay = fault.retry_after if fault.retry_after is not None else self.policy.backoff(self.transient)
        left = self.left()
        if delay >= left or left <= 0:
            asked = f"; the server asked to wait {fault.retry_after:g} s" if fault.retry_after is not None else ""
            raise self._failed(
                f"no answer within the call's deadline of {self.deadline:g} s ({n}{asked}); "
                f"last error: {fault.message}",
                fault,
            )
        return delay


def _n(attempts: int) -> str:
    return f"{attempts} attempt" + ("" if attempts == 1 else "s")


def redact(value: Any, secrets: Sequence[str]) -> Any:
    """``value`` (JSON-able) with every occurrence of each secret, and every credential in a
    URL, replaced by ``[REDACTED]`` (:func:`rubrictest.secrets.redact`).

    Applied to everything a remote component stores (requests, responses, error messages),
    so that a server echoing a key back cannot leak it into the store or a report.
    """
    return redacted_json(value, secrets)[0]


def redacted_json(value: Any, secrets: Sequence[str]) -> tuple[Any, str | None]:
    """:func:`redact` of ``value`` and the JSON text of the result (``None`` for a string, or
    for data that is not JSON: a value the SDK handed over that ``json`` cannot encode is
    kept as its ``repr``, as :func:`jsonable` does).

    The text is what the secrets were searched in, so the store can write it without encoding
    the data again (:attr:`rubrictest.CallRecord.request_json`).
    """
    if isinstance(value, str):
        return scrub(value, _long_enough(secrets)), None
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        value = jsonable(value)
        text = json.dumps(value, ensure_ascii=False)
    secrets = _long_enough(secrets)
    if secrets and json_needs_redaction(text, secrets):
        value = scrub(value, secrets)
        text = json.dumps(value, ensure_ascii=False)
    return value, text


def _long_enough(secrets: Sequence[str]) -> list[str]:
    return [s for s in secrets if s and len(s) >= 4]


def jsonable(value: Any) -> Any:
    """``value`` as JSON data: mappings with text keys, lists, and ``repr`` for anything else."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return repr(value)


class AttemptLog:
    """Accumulates the attempts of one logical call into one :class:`~rubrictest.CallRecord`.

    Every attempt's tokens, cost and latency are added up (a malformed answer was paid for
    too); the request and response kept are the last ones. Secrets are redacted.

    Args:
        model: the model name sent.
        secrets: strings that must never be stored (the API key).
        price_options: the spec's ``options`` (for a ``price`` override).
    """

    def __init__(
        self,
        model: str | None,
        *,
        secrets: Sequence[str] = (),
        price_options: Mapping[str, Any] | None = None,
    ) -> None:
        self.model = model
        self._secrets = list(secrets)
        self._price_options = price_options
        self.request: Any = None
        self.response: Any = None
        self._request_json: str | None = None
        self._response_json: str | None = None
        self.input_tokens: int | None = None
        self.output_tokens: int | None = None
        self.latency_s = 0.0
        self.attempts = 0

    def sent(self, request: Any) -> None:
        """Note the request of a new attempt (JSON data; anything else is kept as its ``repr``)."""
        self.attempts += 1
        self.request, self._request_json = redacted_json(request, self._secrets)

    def received(self, response: Any, *, input_tokens: int | None = None, output_tokens: int | None = None) -> None:
        """Note what came back (the raw response, JSON-able) and its token counts."""
        self.response, self._response_json = redacted_json(response, self._secrets)
        if input_tokens is not None:
            self.input_tokens = (self.input_tokens or 0) + input_tokens
        if output_tokens is not None:
            self.output_tokens = (self.output_tokens or 0) + output_tokens

    def timed(self, seconds: float) -> None:
        """Add the duration of an attempt."""
        self.latency_s += seconds

    def record(self, error: str | None = None) -> CallRecord:
        """The :class:`~rubrictest.CallRecord` of the call so far."""
        from ._pricing import cost_usd

        cost = cost_usd(self.model, self.input_tokens, self.output_tokens, self._price_options)
        return CallRecord(
            request=self.request,
            response=self.response,
            model=self.model,
            usage=Usage(self.input_tokens, self.output_tokens, cost, round(self.latency_s, 6)),
            error=redact(error, self._secrets) if error else None,
            attempts=max(1, self.attempts),
            request_json=self._request_json,
            response_json=self._response_json,
        )
