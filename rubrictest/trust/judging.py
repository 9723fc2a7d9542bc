"""Calling judges directly, outside a pytest run: for probes, drift checks and pairwise judging.

:class:`JudgePool` builds each judge once (through the plugin registry, exactly as the engine
does), checks it is ready, and asks many single-criterion questions concurrently within each
judge's concurrency limit. A judge that raises, or answers ``error``, gives ``None``: probes
leave such items out of their rates rather than count them as flips.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..plugins import build_component
from ..protocol import Case, ComponentContext, ComponentSpec, Criterion, Judge, JudgeRequest


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
    """The judges of one probe or drift session, built once each.

    Args:
        rootdir: the project root given to components.
    """

    def __init__(self, rootdir: Path | None = None) -> None:
        self.rootdir = rootdir or Path.cwd()
        self._judges: dict[tuple[str, str], Judge] = {}
        self._limits: dict[int, asyncio.Semaphore] = {}

    def get(self, spec: ComponentSpec, base_dir: Path) -> Judge:
        """The judge ``spec`` names, built and :meth:`~rubrictest.Judge.check_ready`-ed on first use."""
        key = (spec.key(), str(base_dir))
        judge = self._judges.get(key)
        if judge is None:
            built = build_component("judges", spec, ComponentContext(base_dir=base_dir, rootdir=self.rootdir))
            built.check_ready()
            judge = self._judges[key] = built
        return judge

    async def _ask(self, q: Question) -> bool | None:
        judge = self.get(q.judge, q.base_dir)
        limit = self._limits.setdefault(id(judge), asyncio.Semaphore(judge.concurrency))
        async with limit:
            try:
                result = await judge.judge(JudgeRequest(case=q.case, response=q.response,
                                                        criteria=(q.criterion,), target=q.target))
            except Exception:  # noqa: BLE001 - as in a run, a failing judge gives no verdict, not a crash
                return None
        for verdict in result.verdicts:
            if verdict.criterion_id == q.criterion.id:
                return None if verdict.outcome == "error" else verdict.outcome == "met"
        return None

    async def ask_all(self, questions: Sequence[Question]) -> list[bool | None]:
        """Every question's outcome (``True``: met), in order; ``None`` where the judge failed."""
        for q in questions:  # build every judge first: a configuration error stops before any call
            self.get(q.judge, q.base_dir)
        return list(await asyncio.gather(*(self._ask(q) for q in questions)))

    async def aclose(self) -> None:
        """Close every judge built."""
        for judge in self._judges.values():
            await judge.aclose()
        self._judges.clear()

