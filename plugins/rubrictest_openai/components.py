"""OpenAI chat-completions target and judge (``openai.AsyncOpenAI``)."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field

from rubrictest import (
    CallRecord,
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
    AttemptLog,
    EvidencePolicy,
    MalformedOutput,
    ProviderComponent,
    ProviderOptions,
    Refusal,
    SampleVerdict,
    ServerProtocolError,
    TokenLogprob,
    attach_probabilities,
    build_messages,
    combine_samples,
    evidence_policy,
    met_probabilities,
    parse_verdicts,
    verdict_schema,
)

if TYPE_CHECKING:
    import openai

DEFAULT_KEY_ENV = "OPENAI_API_KEY"
STRUCTURED_OUTPUT_MODES = ("json_schema", "structured_outputs", "guided_json", "json_object", "none")


class OpenAIJudgeOptions(ProviderOptions):
    """``options`` of the ``openai`` judge (see the plugin's docstring)."""

    structured_output: Literal["json_schema", "structured_outputs", "guided_json", "json_object", "none"] = Field(
        "json_schema", description="How the verdict schema is sent."
    )
    logprobs: bool = Field(False, description="Ask for token log-probabilities: confidence from them.")
    top_logprobs: int = Field(5, ge=0, le=20, description="Alternatives per token with logprobs.")
    evidence_policy: EvidencePolicy = Field("require", description="require, flag or ignore quotes not found.")


class _OpenAIComponent(ProviderComponent):
    """What the target and the judge share: the key, the client fleet, one request."""

    default_concurrency: ClassVar[int] = 32
    default_key_env = DEFAULT_KEY_ENV
    sdk_name = "openai"

    def make_client(self, api_key: str, base_url: str | None) -> openai.AsyncOpenAI:
        import openai  # the SDK is imported when first needed: it is slow to import

        return openai.AsyncOpenAI(**self.client_options(openai, api_key, base_url))

    async def _complete(self, kwargs: dict[str, Any], log: AttemptLog) -> list[dict[str, Any]]:
        """Send one chat-completion request; return its choices (JSON objects) or raise a
        classified error."""
        with self.lease() as client:
            completion = await self.send(
                functools.partial(post_chat_completion, client),
                kwargs,
                log,
                server=str(client.base_url),
                token_fields=("prompt_tokens", "completion_tokens"),
            )
        choices = completion.get("choices") if isinstance(completion, dict) else None
        if not choices or not isinstance(choices, list) or not all(isinstance(c, dict) for c in choices):
            raise ServerProtocolError("the server's answer has no choices: not a chat completion")
        return choices


def _message(choice: dict[str, Any]) -> dict[str, Any]:
    message = choice.get("message")
    if not isinstance(message, dict):
        raise ServerProtocolError("a choice of the server's answer has no message: not a chat completion")
    return message


async def post_chat_completion(client: openai.AsyncOpenAI, **params: Any) -> Any:
    """``client.chat.completions.create(**params)`` without the SDK's parameter transform and
    response model: the answer's JSON as the SDK decoded it (a dict), or its text when the
    server answered something that is not JSON.

    ``create`` walks every request's messages and JSON schema against its TypedDicts to
    convert them (0.3-0.8 ms of CPU per call), yet the request rubrictest builds is plain JSON
    already; and building the ``ChatCompletion`` model, which rubrictest would only read a
    few fields of and dump back to JSON for the store, costs 0.2-0.3 ms more
    (``docs/benchmarks.md``). The SDK's own ``post`` (its documented way to call any
    endpoint) sends the request as it is, with the client's base URL, headers, auth, timeouts
    and error classes. ``extra_body`` is merged in, as ``create`` merges it.
    """
    extra = params.pop("extra_body", None) or {}
    return await client.post("/chat/completions", body={**params, **extra}, cast_to=object)


class OpenAITarget(_OpenAIComponent, Target):
    """A model behind the OpenAI chat-completions API (or a compatible server) answers each case."""

    options_model = ProviderOptions

    async def generate(self, case: Case) -> TargetResult:
        kwargs: dict[str, Any] = {
            **self.spec.params,
            "model": self.spec.model,
            "messages": case.chat_messages(),
        }
        log = self.attempt_log()

        async def attempt(feedback: str | None) -> str:
            message = _message((await self._complete(kwargs, log))[0])
            if message.get("content"):
                return str(message["content"])
            if message.get("refusal"):
                return str(message["refusal"])  # a refusal is the model's answer, to be judged
            raise MalformedOutput("the model returned an empty message", kind="empty answer")

        text = await self.retried(attempt, log, what="target")
        return TargetResult(text, calls=[log.record()])


class OpenAIJudge(_OpenAIComponent, Judge):
    """A model behind the OpenAI chat-completions API (or a compatible server) judges criteria."""

    prompt_version: ClassVar[str] = PROMPT_VERSION
    options_model = OpenAIJudgeOptions

    def __init__(self, spec: ComponentSpec, context: ComponentContext) -> None:
        super().__init__(spec, context)
        try:
            self.evidence_policy = evidence_policy(spec.options)
        except ValueError as exc:
            raise ConfigError(f"{spec.label}: {exc}") from None
        self.structured_output = spec.options.get("structured_output", "json_schema")
        if self.structured_output not in STRUCTURED_OUTPUT_MODES:
            raise ConfigError(
                f"{spec.label}: options.structured_output must be one of "
                f"{', '.join(STRUCTURED_OUTPUT_MODES)}; got {self.structured_output!r}"
            )
        self.logprobs = bool(spec.options.get("logprobs", False))

    def _request(self, request: JudgeRequest, feedback: str | None, n: int) -> dict[str, Any]:
        schema = verdict_schema(
            [c.id for c in request.criteria], graded=any(c.scale is not None for c in request.criteria)
        )
        kwargs: dict[str, Any] = {"model": self.spec.model, "messages": build_messages(request, feedback)}
        mode = self.structured_output
        if mode == "json_schema":
            kwargs["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "rubric_verdicts", "schema": schema, "strict": True},
            }
        elif mode == "json_object":
            kwargs["response_format"] = {"type": "json_object"}
        elif mode == "guided_json":
            kwargs["extra_body"] = {"guided_json": schema}
        elif mode == "structured_outputs":
            kwargs["extra_body"] = {"structured_outputs": {"json": schema}}
        if self.logprobs:
            kwargs["logprobs"] = True
            kwargs["top_logprobs"] = int(self.spec.options.get("top_logprobs", 5))
        if n > 1:
            kwargs["n"] = n
        kwargs.update(self.spec.params)
        return kwargs

    def _parse_choice(self, choice: dict[str, Any], request: JudgeRequest) -> list[SampleVerdict]:
        message = _message(choice)
        if message.get("refusal"):
            raise Refusal(str(message["refusal"]))
        finish_reason = choice.get("finish_reason")
        if finish_reason == "content_filter":
            raise Refusal("the provider's content filter stopped the answer")
        if finish_reason == "length":
            raise MalformedOutput(
                "the answer was cut off at the token limit (finish_reason=length). Keep evidence "
                "quotes and rationales short.",
                kind="truncated output",
            )
        if not message.get("content"):
            raise MalformedOutput("the answer is empty", kind="empty answer")
        sample = parse_verdicts(str(message["content"]), request.criteria)
        logprobs = choice.get("logprobs")
        content = logprobs.get("content") if isinstance(logprobs, dict) else None
        if content:
            attach_probabilities(sample, met_probabilities(_token_logprobs(content)))
        return sample

    async def judge(self, request: JudgeRequest) -> JudgeResult:
        """Judge every criterion of ``request`` in one call (``samples`` answers, voted).

        Raises:
            CallFailed: no usable answer (refusal, client error, retries exhausted).
        """
        wanted = self.spec.samples
        samples: list[list[SampleVerdict]] = []
        calls: list[CallRecord] = []
        # Each loop is one logical call asking for the samples still missing (``n``); a server
        # that ignores ``n`` answers one at a time and the loop asks again.
        while len(samples) < wanted:
            log = self.attempt_log()

            async def attempt(feedback: str | None, log: AttemptLog = log) -> list[list[SampleVerdict]]:
                choices = await self._complete(self._request(request, feedback, wanted - len(samples)), log)
                parsed: list[list[SampleVerdict]] = []
                errors: list[Exception] = []
                for choice in choices:
                    try:
                        parsed.append(self._parse_choice(choice, request))
                    except (MalformedOutput, Refusal) as exc:
                        errors.append(exc)
                if not parsed:
                    refusals = [e for e in errors if isinstance(e, Refusal)]
                    raise refusals[0] if refusals else errors[0]
                return parsed

            parsed_samples = await self.retried(attempt, log, what="judge", earlier_calls=calls)
            calls.append(log.record())
            samples.extend(parsed_samples[: wanted - len(samples)])
        return JudgeResult(combine_samples(request, samples, self.evidence_policy), calls=calls)


def _token_logprobs(content: Any) -> list[TokenLogprob]:
    """The ``logprobs.content`` of a choice as :class:`TokenLogprob` values."""

    def pair(t: Any) -> tuple[str, float]:
        if (
            not isinstance(t, dict)
            or not isinstance(t.get("token"), str)
            or not isinstance(t.get("logprob"), int | float)
        ):
            raise ServerProtocolError("the answer's logprobs are not tokens with a logprob: not a chat completion")
        return t["token"], float(t["logprob"])

    if not isinstance(content, list):
        raise ServerProtocolError("the answer's logprobs are not a list of tokens: not a chat completion")
    return [TokenLogprob(*pair(t), tuple(pair(a) for a in (t.get("top_logprobs") or ()))) for t in content]
