"""The engine's event-loop thread, and whether that loop has work ready.

The engine's loop (building requests, the SDKs' HTTP work, parsing answers, storing verdicts)
and pytest's item protocol (set-up, reports, the terminal) run in one interpreter and take
turns holding its lock. While many calls are in flight the loop is CPU-bound on a small
machine, and every item pytest reports meanwhile delays every answer waiting to be read
(``docs/benchmarks.md``, "Third round": on two cores this halved the judging span of a
1,000-case suite, ``bench/peers/ab_rubrictest.py``).

So the loop tells whether it is idle -- blocked in its selector, waiting for the network or a
timer -- and the adapter reports an item whose verdict is ready when the loop is idle, or after
a short wait at most (:data:`YIELD_MAX_S`), so the terminal never stalls for long. On a machine
with cores to spare the loop is idle most of the time and items report as their verdicts arrive.
"""

from __future__ import annotations

import asyncio
import queue
import selectors
import sys
import threading
import time

YIELD_MAX_S = 0.05
"""The longest an item whose verdict is ready waits for a busy loop: at least 20 items a second
report while the loop is saturated."""


class _IdleSelector(selectors.DefaultSelector):
    """The platform's default selector, noting when the loop blocks in it with nothing ready.

    asyncio calls ``select(0)`` while callbacks are ready and a positive (or no) timeout when it
    has nothing to do until an event or a timer: only the latter is idle.
    """

    def __init__(self) -> None:
        super().__init__()
        self.idle = False
        # Whether the main thread waits for idleness, and its wake-up: a ``SimpleQueue`` (C code,
        # no Python lock) so that a Ctrl-C in the waiting thread can never leave a lock held
        # that this loop would need (see :class:`rubrictest.engine.pipeline.Unit`).
        self.waiting = False
        self.wake: queue.SimpleQueue[None] = queue.SimpleQueue()

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout is not None and timeout <= 0:
            return super().select(timeout)
        self.idle = True
        if self.waiting:
            self.wake.put(None)
        try:
            return super().select(timeout)
        finally:
            self.idle = False


class LoopThread:
    """An asyncio loop running forever in a daemon thread, which can say whether it is idle."""

    def __init__(self, name: str) -> None:
        self._selector: _IdleSelector | None = None
        if sys.platform == "win32":  # the proactor loop has no selector to watch
            self.loop: asyncio.AbstractEventLoop = asyncio.new_event_loop()
        else:
            self._selector = _IdleSelector()
            self.loop = asyncio.SelectorEventLoop(self._selector)
        self.thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self.thread.start()

    def wait_idle(self, max_wait: float = YIELD_MAX_S) -> bool:
        """Block (at most ``max_wait`` seconds) until the loop has no work ready; whether it has none.

        Returns at once when the loop is idle, not running, or cannot be watched.
        """
        sel = self._selector
        if sel is None or sel.idle or not self.loop.is_running():
            return True
        deadline = time.monotonic() + max_wait
        while not sel.idle:
            left = deadline - time.monotonic()
            if left <= 0 or not self.loop.is_running():
                return sel.idle
            while not sel.wake.empty():  # tokens left from an earlier wait
                try:
                    sel.wake.get_nowait()
                except queue.Empty:
                    break
            # Order matters: set ``waiting`` before looking at ``idle``; the loop sets ``idle``
            # before looking at ``waiting``. Either this thread sees ``idle`` or the loop wakes it.
            sel.waiting = True
            try:
                if sel.idle:
                    break
                sel.wake.get(timeout=left)
            except queue.Empty:
                pass
            finally:
                sel.waiting = False
        return True

    def join(self, timeout: float | None = None) -> None:
        """Wait for the thread to end (after ``loop.stop()``)."""
        self.thread.join(timeout)

    def __repr__(self) -> str:
        state = "idle" if self._selector is not None and self._selector.idle else "busy"
        return f"<LoopThread {self.thread.name} {state}>"
