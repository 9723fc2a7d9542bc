"""The model calls of a command (``generate``, ``rubric-quality``, ``probe``, ``drift``,
``pairwise``): a run of their own, through the same call path as a suite run.

:class:`CommandRun` opens the results database, starts a run whose ``kind`` is the command,
and gives the command a :class:`~.calls.ModelCalls`: every call is cached (a second
``rubrictest generate`` on an unchanged suite makes none), recorded in ``judge_calls`` under
that run, and bounded by ``--max-cost``. The run is finished when the command ends.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import TracebackType
from typing import Any

from .calls import ModelCalls
from .outcomes import CacheMode
from .pool import ComponentPool
from .run import Run


class CommandRun:
    """A command's run, used as a context manager around the command's work.

    Args:
        kind: the command's name, stored as the run's ``kind``.
        db: the results database (``None``: nothing stored, nothing cached).
        cache: ``use``, ``refresh`` or ``off``.
        max_cost: stop calling billable components once this many USD were spent.
        rootdir: the project root given to components.
    """

    def __init__(
        self,
        kind: str,
        *,
        db: Path | None,
        cache: CacheMode = "use",
        max_cost: float | None = None,
        rootdir: Path | None = None,
    ) -> None:
        from .. import __version__
        from ..store import Store

        self.rootdir = rootdir or Path.cwd()
        store = Store.open(db) if db is not None else None
        self.run = Run.start(
            store, kind=kind, rootdir=str(self.rootdir), argv=[kind, *sys.argv[1:]], version=__version__
        )
        self.run.announce([], 0)
        self.pool = ComponentPool(self.rootdir)
        self.calls = ModelCalls(self.pool, self.run, cache=cache, max_cost=max_cost)

    def __enter__(self) -> CommandRun:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        status = "finished" if kind is None else ("interrupted" if issubclass(kind, KeyboardInterrupt) else "error")
        self.finish(status)

    def finish(self, status: str = "finished") -> dict[str, Any]:
        """Finish the run; returns its usage totals."""
        usage = self.calls.usage_summary()
        if not self.run.finished:
            self.run.finish(status, usage)
            if self.run.store is not None:
                self.run.store.close()
        return usage

    def summary(self) -> str:
        """One line on what the command's calls cost, and where they are stored ('' when it
        made no call and had no cache hit)."""
        total = self.calls.usage_summary()["total"]
        if not total["calls"] and not total["cache_hits"]:
            return ""
        where = f"; run {self.run.id} in {self.run.store.path}" if self.run.store is not None else ""
        return (
            f"model calls: {total['calls']} (cache hits: {total['cache_hits']}), cost ${total['cost_usd']:.4f}{where}"
        )
