"""Anthropic Messages API target and judge (``anthropic.AsyncAnthropic``)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field

from rubrictest import (
    Case,
    ComponentContext,
    ComponentSpec,
    ConfigError,
    Judge,
    JudgeRequest,
    JudgeResult,
    Target,
    TargetResult,
)
from rubrictest.judging import (
    PROMPT_VERSION,
    TOOL_NAME,
    AttemptLog,
    CallFailed,
    EvidencePolicy,
    MalformedOutput,
    ProviderComponent,
    ProviderOptions,
    Refusal,
    SampleVerdict,
    ServerProtocolError,
    build_prompt,
    combine_samples,
    evidence_policy,
    parse_verdicts,
    verdict_schema,
)

if TYPE_CHECKING:
    import anthropic

DEFAULT_KEY_ENV = "ANTHROPIC_API_KEY"


class AnthropicJudgeOptions(ProviderOptions):
    """``options`` of the ``anthropic`` judge (see the plugin's docstring)."""

    evidence_policy: EvidencePolicy = Field("require", description="require, flag or ignore quotes not found.")


class _AnthropicComponent(ProviderComponent):
    """What the target and the judge share: the key, the client fleet, one request."""

    default_concurrency: ClassVar[int] = 16
    default_max_tokens: ClassVar[int] = 1024
    default_key_env = DEFAULT_KEY_ENV
    sdk_name = "anthropic"

    def make_client(self, api_key: str, base_url: str | None) -> anthropic.AsyncAnthropic:
        import anthropic  # the SDK is imported when first needed: it is slow to import

        return anthropic.AsyncAnthropic(**self.client_options(anthropic, api_key, base_url))

    async def _create(self, kwargs: dict[str, Any], log: AttemptLog) -> Any:
        """Send one Messages request; return the message or raise a classified error."""
        kwargs = {"max_tokens": self.default_max_tokens, **kwargs}
        with self.lease() as client:
            message = await self.send(
                client.messages.create,
                kwargs,
                log,
                server=str(client.base_url),
                token_fields=("input_tokens", "output_tokens"),
            )
        if getattr(message, "content", None) is None:
            raise ServerProtocolError("the server's answer has no content: not a Messages API response")
        if message.stop_reason == "refusal":
            raise Refusal("the model stopped with stop_reason=refusal")
        return message


def _split_system(messages: list[dict[str, Any]]) -> tuple[str | None, list[dict[str, Any]]]:
    system = [str(m.get("content", "")) for m in messages if m.get("role") == "system"]
    rest = [m for m in messages if m.get("role") != "system"]
    return ("\n\n".join(system) if system else None), rest


class AnthropicTarget(_AnthropicComponent, Target):
    """A Claude model answers each case."""

    options_model = ProviderOptions

    async def generate(self, case: Case) -> TargetResult:
        system, messages = _split_system(case.chat_messages())
        kwargs: dict[str, Any] = {"model": self.spec.model, "messages": messages, **self.spec.params}
        if system:
            kwargs["system"] = system
        log = self.attempt_log()

        async def attempt(feedback: str | None) -> str:
            message = await self._create(kwargs, log)
            text = "".join(getattr(b, "text", "") for b in message.content if getattr(b, "type", "") == "text")
            if not text:
                raise MalformedOutput("the model returned no text", kind="empty answer")
            return text

        text = await self.retried(attempt, log, what="target")
        return TargetResult(text, calls=[log.record()])


class AnthropicJudge(_AnthropicComponent, Judge):
    """A Claude model judges criteria through a forced tool call carrying the verdict schema."""

    prompt_version: ClassVar[str] = PROMPT_VERSION
    default_max_tokens: ClassVar[int] = 2048
    options_model = AnthropicJudgeOptions

    def __init__(self, spec: ComponentSpec, context: ComponentContext) -> None:
        super().__init__(spec, context)
        try:
            self.evidence_policy = evidence_policy(spec.options)
        except ValueError as exc:
            raise ConfigError(f"{spec.label}: {exc}") from None

    def _request(self, request: JudgeRequest, feedback: str | None) -> dict[str, Any]:
        system, user = build_prompt(request, feedback)
        tool = {
            "name": TOOL_NAME,
            "description": "Record one verdict for every criterion of the rubric.",
            "input_schema": verdict_schema(
                [c.id for c in request.criteria], graded=any(c.scale is not None for c in request.criteria)
            ),
        }
        return {
            "model": self.spec.model,
            "system": system,
            "messages": [{"role": "user", "content": user}],
            "tools": [tool],
            "tool_choice": {"type": "tool", "name": TOOL_NAME},
            **self.spec.params,
        }

    def _parse(self, message: Any, request: JudgeRequest) -> list[SampleVerdict]:
        if message.stop_reason == "max_tokens":
            raise MalformedOutput(
                "the answer was cut off at the token limit (stop_reason=max_tokens). Keep evidence "
                "quotes and rationales short.",
                kind="truncated output",
            )
        for block in message.content:
            if getattr(block, "type", "") == "tool_use" and getattr(block, "name", "") == TOOL_NAME:
                payload = block.input
                if not isinstance(payload, Mapping):
                    raise MalformedOutput("the tool input is not a JSON object", kind="schema violation")
                return parse_verdicts(dict(payload), request.criteria)
        text = "".join(getattr(b, "text", "") for b in message.content if getattr(b, "type", "") == "text")
        if text.strip():
            # A compatible server without tool support may still answer with the JSON as text.
            return parse_verdicts(text, request.criteria)
        raise MalformedOutput(f"the answer has no {TOOL_NAME} tool call", kind="missing tool call")

    async def _sample(self, request: JudgeRequest) -> tuple[list[SampleVerdict], Any]:
        log = self.attempt_log()

        async def attempt(feedback: str | None) -> list[SampleVerdict]:
            message = await self._create(self._request(request, feedback), log)
            return self._parse(message, request)

        return await self.retried(attempt, log, what="judge"), log.record()

    async def judge(self, request: JudgeRequest) -> JudgeResult:
        """Judge every criterion of ``request``: ``samples`` concurrent calls, voted.

        Raises:
            CallFailed: no usable answer for some sample (refusal, client error, retries
                exhausted).
        """
        results = await asyncio.gather(
            *(self._sample(request) for _ in range(self.spec.samples)), return_exceptions=True
        )
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            calls = [r[1] for r in results if not isinstance(r, BaseException)]
            first = failures[0]
            if isinstance(first, CallFailed):
                first.calls = [*calls, *first.calls]
            raise first
        ok = [r for r in results if not isinstance(r, BaseException)]
        return JudgeResult(combine_samples(request, [s for s, _ in ok], self.evidence_policy), calls=[c for _, c in ok])
