"""A model and a judge as a generator sees them: a completion and per-criterion outcomes."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, Literal

from ..protocol import (
    Case,
    ComponentContext,
    ComponentSpec,
    Criterion,
    JudgeRequest,
    Outcome,
    Target,
)


def _build(kind: Literal["targets", "judges"], spec: ComponentSpec, context: ComponentContext) -> Any:
    from ..plugins import build_component

    component = build_component(kind, spec, context)
    component.check_ready()
    return component


class ModelClient:
    """A registered target used as a text-completion model by a generator.

    Args:
        spec: the target to build (``openai:gpt-4.1``, ``python:module:function``...).
        context: base directory for relative paths in the spec.

    Raises:
        ConfigError: unknown plugin, missing key (from the target's ``check_ready``).
    """

    def __init__(self, spec: ComponentSpec, context: ComponentContext) -> None:
        self.spec = spec
        self.target: Target = _build("targets", spec, context)
        self._limit = asyncio.Semaphore(self.target.concurrency)
        self.calls = 0

    @property
    def label(self) -> str:
        """The model's label, recorded in provenance."""
        return self.spec.label

    async def complete(self, prompt: str, *, suite: str = "rubrictest-generate", request_id: str = "prompt") -> str:
        """Send ``prompt`` as a one-message case and return the reply text."""
        async with self._limit:
            self.calls += 1
            result = await self.target.generate(Case(suite=suite, id=request_id, input=prompt))
        return result.text

    async def aclose(self) -> None:
        """Release the target."""
        await self.target.aclose()


class JudgeClient:
    """A registered judge used by generators and ``rubric-quality`` to get verdicts.

    Args:
        spec: the judge to build.
        context: base directory for relative paths in the spec.
    """

    def __init__(self, spec: ComponentSpec, context: ComponentContext) -> None:
        self.spec = spec
        self.context = context
        self.judge = _build("judges", spec, context)
        self._limit = asyncio.Semaphore(self.judge.concurrency)
        self.errors: list[str] = []

    @property
    def label(self) -> str:
        """The judge's label."""
        return self.spec.label

    async def outcomes(self, case: Case, response: str, criteria: Sequence[Criterion], *,
                       response_id: str | None = None) -> dict[str, Outcome]:
        """Judge ``response`` against every criterion; return ``{criterion id: outcome}``.

        A judge error (an exception or an ``error`` verdict) gives outcome ``error`` for the
        criteria concerned, which callers treat as unknown; its reason is appended to
        :attr:`errors`.
        """
        batches = [tuple(criteria)] if self.judge.batch_criteria else [(c,) for c in criteria]
        out: dict[str, Outcome] = {c.id: "error" for c in criteria}

        async def one(batch: tuple[Criterion, ...]) -> None:
            async with self._limit:
                try:
                    result = await self.judge.judge(JudgeRequest(case=case, response=response, criteria=batch,
                                                                 target=response_id))
                except Exception as exc:  # noqa: BLE001 - an unjudged criterion is unknown, not fatal
                    self.errors.append(f"{type(exc).__name__}: {exc}")
                    return
            for verdict in result.verdicts:
                if verdict.criterion_id in out:
                    out[verdict.criterion_id] = verdict.outcome
                    if verdict.outcome == "error":
                        self.errors.append(verdict.error or "the judge returned an error verdict")

        await asyncio.gather(*(one(b) for b in batches))
        return out

    async def aclose(self) -> None:
        """Release the judge."""
        await self.judge.aclose()
