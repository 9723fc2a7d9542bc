"""Live counts of a run's model calls: queued for a concurrency slot, in flight, done.

pytest's percentage counts items; on a long run every item may be waiting for the same few
hundred model calls. The adapter's status line (:mod:`rubrictest.adapter.status`) shows these
counts while pytest waits.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass


@dataclass
class CallProgress:
    """Counts of model calls, updated on the engine's event loop and read from pytest's thread."""

    queued: int = 0
    in_flight: int = 0
    done: int = 0

    @contextlib.asynccontextmanager
    async def slot(self, semaphore: asyncio.Semaphore) -> AsyncIterator[None]:
        """Hold one of ``semaphore``'s slots for a model call, counting the call while it waits
        and runs (deterministic checks take their semaphore directly: they are not model calls)."""
        self.queued += 1
        try:
            await semaphore.acquire()
        finally:
            self.queued -= 1
        self.in_flight += 1
        try:
            yield
        finally:
            semaphore.release()
            self.in_flight -= 1
            self.done += 1
