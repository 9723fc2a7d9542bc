"""A model and a judge as a generator sees them: a completion, and per-criterion outcomes.

Both go through the engine's call path (:class:`~rubrictest.engine.ModelCalls`): components
built once, calls cached, recorded under the command's run and bounded by its budget. A
client built without one gets a private, unrecorded call path (for tests and scripts).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..protocol import Case, ComponentContext, ComponentSpec, Criterion, JudgeRequest, Outcome, Target

if TYPE_CHECKING:
    from ..engine import ModelCalls


def _private_calls(context: ComponentContext) -> ModelCalls:
    from ..engine import ComponentPool, ModelCalls, Run

    return ModelCalls(ComponentPool(context.rootdir), Run(None, "", "generate", observe=False), cache="off")


class ModelClient:
    """A registered target used as a text model (by generators).

    Args:
        spec: the target to build (``openai:gpt-4.1``, ``python:module:function``...).
        context: base directory for relative paths in the spec.
        calls: the command's call path (default: a private one that records nothing).

    Raises:
        ConfigError: unknown plugin, missing key (from the target's ``check_ready``).
    """

    def __init__(self, spec: ComponentSpec, context: ComponentContext, calls: ModelCalls | None = None) -> None:
        self.spec = spec
        self.calls_path = calls or _private_calls(context)
        target = self.calls_path.pool.component("targets", spec, Path(context.base_dir))
        assert isinstance(target, Target)
        target.check_ready()
        self.target = target
        self.calls = 0

    @property
    def label(self) -> str:
        """The model's label, recorded in provenance."""
        return self.spec.label

    async def complete(self, prompt: str, *, suite: str = "rubrictest-generate", request_id: str = "prompt") -> str:
        """Send ``prompt`` as a one-message case and return the reply text (from the cache
        when the same prompt was sent to the same model before).

        Raises:
            JudgeError: the model failed, or the budget is spent.
        """
        self.calls += 1
        return await self.calls_path.generate(self.target, Case(suite=suite, id=request_id, input=prompt))

    async def aclose(self) -> None:
        """Release the target."""
        await self.target.aclose()


class JudgeClient:
    """A registered judge used by generators and ``rubric-quality`` to get verdicts.

    Args:
        spec: the judge to build.
        context: base directory for relative paths in the spec.
        calls: the command's call path (default: a private one that records nothing).
    """

    def __init__(self, spec: ComponentSpec, context: ComponentContext, calls: ModelCalls | None = None) -> None:
        from ..protocol import Judge

        self.spec = spec
        self.context = context
        self.calls_path = calls or _private_calls(context)
        judge = self.calls_path.pool.component("judges", spec, Path(context.base_dir))
        assert isinstance(judge, Judge)
        judge.check_ready()
        self.judge = judge
        self.errors: list[str] = []

    @property
    def label(self) -> str:
        """The judge's label."""
        return self.spec.label

    async def outcomes(
        self, case: Case, response: str, criteria: Sequence[Criterion], *, response_id: str | None = None
    ) -> dict[str, Outcome]:
        """Judge ``response`` against every criterion; return ``{criterion id: outcome}``.

        A judge error (an exception or an ``error`` verdict) gives outcome ``error`` for the
        criteria concerned, which callers treat as unknown; its reason is appended to
        :attr:`errors`.
        """
        batches = [tuple(criteria)] if self.judge.batch_criteria else [(c,) for c in criteria]
        out: dict[str, Outcome] = {}

        async def one(batch: tuple[Criterion, ...]) -> None:
            judged = await self.calls_path.judge(
                self.judge, JudgeRequest(case=case, response=response, criteria=batch, target=response_id)
            )
            for cid, verdict in judged.verdicts.items():
                out[cid] = verdict.outcome
                if verdict.outcome == "error":
                    self.errors.append(verdict.error or "the judge returned an error verdict")

        await asyncio.gather(*(one(b) for b in batches))
        return {c.id: out.get(c.id, "error") for c in criteria}

    async def aclose(self) -> None:
        """Release the judge."""
        await self.judge.aclose()
