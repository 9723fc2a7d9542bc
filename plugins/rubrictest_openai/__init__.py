"""The ``openai`` plugin: OpenAI and any OpenAI-compatible server as target and judge.

Registers the target ``openai`` (the model under test answers each case) and the judge
``openai`` (a model decides every criterion of a case in one structured-output call). With
``base_url`` it talks to any server that speaks the chat-completions wire format: vLLM,
SGLang, llama.cpp server, Ollama, LM Studio. A list of ``base_url`` spreads requests over a
fleet of servers: each request goes to the server with the fewest requests in flight.

Spec fields used: ``model``, ``base_url``, ``api_key_env`` (default ``OPENAI_API_KEY``),
``concurrency`` (default 32), ``timeout`` (seconds, default 60), ``samples``,
``batch_criteria``, ``params`` (sent as is: ``temperature``, ``max_tokens``, ``seed``...),
and ``options``:

* ``structured_output``: ``json_schema`` (default; ``response_format`` with the verdict
  schema, strict), ``structured_outputs`` (vLLM >= 0.10 ``extra_body``),
  ``guided_json`` (older vLLM / SGLang ``extra_body``), ``json_object`` or ``none``.
* ``logprobs``: ``true`` asks for token log-probabilities; the confidence of a verdict
  then comes from them. ``top_logprobs`` (default 5).
* ``evidence_policy``: ``require`` / ``flag`` / ``ignore`` (see
  :mod:`rubrictest.judging`).
* ``retry``: a :class:`rubrictest.judging.RetryPolicy` mapping.
* ``price``: ``{input: .., output: ..}`` USD per million tokens.
* ``no_api_key``: ``true`` for a local server without authentication.
* ``http_client``: ``aiohttp`` (the default where the SDK offers it: less CPU a call) or
  ``httpx`` (the SDK's default client).
"""

from __future__ import annotations

from rubrictest import Register, hookimpl

from .components import STRUCTURED_OUTPUT_MODES, OpenAIJudge, OpenAITarget

__all__ = ["STRUCTURED_OUTPUT_MODES", "OpenAIJudge", "OpenAITarget"]


@hookimpl
def register_targets(register: Register) -> None:
    register("openai", OpenAITarget)


@hookimpl
def register_judges(register: Register) -> None:
    register("openai", OpenAIJudge)
