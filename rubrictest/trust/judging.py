"""Asking judges single questions outside a pytest run: for probes, drift checks and pairwise
judging.

:class:`JudgePool` asks many single-criterion questions concurrently through the engine's call
path (:class:`~rubrictest.engine.ModelCalls`): each judge built once and checked ready, calls
within its concurrency limit, cached, recorded under the command's run and budgeted. A judge
that fails gives ``None``: probes leave such items out of their rates rather than count them
as flips.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..engine import ComponentPool, ModelCalls, Run
from ..protocol import Case, ComponentSpec, Criterion, Judge, JudgeRequest


@dataclass(frozen=True)
class Question:
    """One criterion asked about one response, of one judge."""

    judge: ComponentSpec
    case: Case
    criterion: Criterion
    response: str
    target: str | None = None
    base_dir: Path = Path(".")


class JudgePool:
    """The judges of one probe, drift or pairwise session.

    Args:
        calls: the command's call path (default: a private one that records nothing, for
            scripts and tests).
    """

    def __init__(self, calls: ModelCalls | None = None, rootdir: Path | None = None) -> None:
        self.calls = calls or ModelCalls(ComponentPool(rootdir), Run(None, "", "probe", observe=False), cache="off")
        self.errors: list[str] = []

    def get(self, spec: ComponentSpec, base_dir: Path) -> Judge:
        """The judge ``spec`` names, built and :meth:`~rubrictest.Judge.check_ready`-ed on first use."""
        judge = self.calls.pool.component("judges", spec, base_dir)
        assert isinstance(judge, Judge)
        not_ready = self.calls.pool.ensure_ready(judge)
        if not_ready is not None:
            from ..errors import ConfigError

            raise ConfigError(not_ready)
        return judge

    async def _ask(self, q: Question) -> bool | None:
        judge = self.get(q.judge, q.base_dir)
        judged = await self.calls.judge(
            judge, JudgeRequest(case=q.case, response=q.response, criteria=(q.criterion,), target=q.target)
        )
        verdict = judged.verdicts[q.criterion.id]
        if verdict.outcome == "error":
            self.errors.append(verdict.error or "error")
            return None
        return verdict.outcome == "met"

    async def ask_all(self, questions: Sequence[Question]) -> list[bool | None]:
        """Every question's outcome (``True``: met), in order; ``None`` where the judge failed."""
        for q in questions:  # build every judge first: a configuration error stops before any call
            self.get(q.judge, q.base_dir)
        return list(await asyncio.gather(*(self._ask(q) for q in questions)))

    async def aclose(self) -> None:
        """Close every judge built."""
        await self.calls.pool.aclose()
