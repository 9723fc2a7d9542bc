"""The ``anthropic`` plugin: Claude models through the Messages API as target and judge.

Registers the target ``anthropic`` and the judge ``anthropic``. The judge forces a tool call
(``record_verdicts``) whose ``input_schema`` is the verdict schema of
:mod:`rubrictest.judging`, so the answer is structured and validated.

Spec fields used: ``model``, ``base_url`` (a proxy or gateway; a list spreads requests
to the least-loaded server), ``api_key_env`` (default ``ANTHROPIC_API_KEY``), ``concurrency`` (default 16),
``timeout`` (seconds, default 60), ``samples`` (one request per sample, concurrently),
``batch_criteria``, ``params`` (sent as is; ``max_tokens`` defaults to 1024 for a target and
2048 for a judge), and ``options``: ``evidence_policy``, ``retry``, ``price``, ``http_client`` (``aiohttp``, the
default where the SDK offers it, or ``httpx``).
"""

from __future__ import annotations

from rubrictest import Register, hookimpl

from .components import AnthropicJudge, AnthropicTarget

__all__ = ["AnthropicJudge", "AnthropicTarget"]


@hookimpl
def register_targets(register: Register) -> None:
    register("anthropic", AnthropicTarget)


@hookimpl
def register_judges(register: Register) -> None:
    register("anthropic", AnthropicJudge)
