"""Running code that may hang or exit: user functions (``python`` targets and checks) and
anything else a plugin cannot trust to return.

Two tools, both public (``from rubrictest import run_in_thread, LoopThread``):

* :func:`run_in_thread` runs a synchronous function on a daemon thread of its own and waits
  for it at most ``timeout`` seconds;
* :class:`LoopThread` runs coroutines on an event loop of their own, on a daemon thread, each
  bounded the same way.

Either way, a call that hangs becomes a :class:`CallTimeout` (a
:class:`~rubrictest.JudgeError`: the engine makes its criteria ERROR and every other call goes
on), and one that calls ``sys.exit()`` becomes a ``JudgeError`` saying so, instead of taking
the engine down. The engine's own event loop is never blocked by them, so Ctrl-C stops a run
at once: a thread that is still stuck is abandoned, and being a daemon it never holds up the
end of the process.
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import queue
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from ..errors import JudgeError

T = TypeVar("T")


class CallTimeout(JudgeError):
    """A call did not finish within its time bound (it was abandoned or cancelled)."""


def _exit_error(exc: BaseException, what: str) -> JudgeError:
    if isinstance(exc, SystemExit):
        return JudgeError(f"{what} called sys.exit({exc.code!r})")
    return JudgeError(f"{what} raised {type(exc).__name__}")


def _settle(fut: asyncio.Future[Any], value: Any, exc: BaseException | None) -> None:
    if fut.done():
        return  # timed out or cancelled meanwhile
    if exc is not None:
        fut.set_exception(exc)
    else:
        fut.set_result(value)


class _Workers:
    """Daemon threads that run one call at a time and are reused once it returns.

    Starting a thread for every call cost more than most checks (10,000 regex and JSON Schema
    criteria started 10,000 threads). A call goes to an idle worker, or to a new one when none
    is idle, so a call never queues behind another: a hung call keeps its worker, which is
    simply never idle again.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle = 0
        self._jobs: queue.SimpleQueue[Callable[[], Callable[[], None]]] = queue.SimpleQueue()

    def submit(self, job: Callable[[], Callable[[], None]]) -> None:
        """Run ``job`` on a worker; what it returns (handing its result over) runs once the
        worker counts as idle again, so the next call, started by that result, can reuse it."""
        with self._lock:
            start = self._idle == 0
            if not start:
                self._idle -= 1  # that worker is blocked on the queue, or about to be
        self._jobs.put(job)
        if start:
            threading.Thread(target=self._work, name="rubrictest worker", daemon=True).start()

    def _work(self) -> None:
        while True:
            hand_over = self._jobs.get()()
            with self._lock:
                self._idle += 1
            hand_over()


_workers = _Workers()


async def run_in_thread(fn: Callable[..., T], *args: Any, timeout: float | None, what: str) -> T:
    """``fn(*args)`` on a daemon thread of its own (an idle one is reused), awaited for at most ``timeout`` seconds.

    Args:
        fn: a synchronous function (user code).
        timeout: seconds to wait; ``None`` waits as long as it takes.
        what: names the call in messages (``check python:checks:is_polite``).

    Returns:
        What ``fn`` returns. What it raises (an ``Exception``) is raised here.

    Raises:
        CallTimeout: ``fn`` did not return within ``timeout``; its thread is abandoned.
        JudgeError: ``fn`` called ``sys.exit()`` (or raised another ``BaseException``).
    """
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[T] = loop.create_future()

    def work() -> Callable[[], None]:
        threading.current_thread().name = f"rubrictest {what}"  # names a stuck call in a thread dump
        value: Any = None
        error: BaseException | None = None
        try:
            value = fn(*args)
        except Exception as exc:  # noqa: BLE001 - handed to the caller as it is
            error = exc
        except BaseException as exc:  # noqa: BLE001 - sys.exit() in user code must not end the run
            error = _exit_error(exc, what)

        def hand_over() -> None:
            try:
                loop.call_soon_threadsafe(_settle, fut, value, error)
            except RuntimeError:
                pass  # the loop is gone (the run ended while this call hung): nobody waits for it

        return hand_over

    _workers.submit(work)
    try:
        return await asyncio.wait_for(fut, timeout)
    except TimeoutError:
        raise CallTimeout(f"{what} did not return within {timeout:g} s (abandoned)") from None


async def _guarded(coro: Coroutine[Any, Any, T], what: str) -> T:
    try:
        return await coro
    except (SystemExit, KeyboardInterrupt) as exc:  # never let them stop the loop
        raise _exit_error(exc, what) from None


class LoopThread:
    """An event loop on a daemon thread, for coroutines that must not run on the engine's loop
    (user code that might block it). Calls share the loop, so a client a user function keeps
    between calls keeps working.

    Args:
        name: the thread's name.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    def _started(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name=self.name, daemon=True).start()
                self._loop = loop
            return self._loop

    async def run(self, coro: Coroutine[Any, Any, T], *, timeout: float | None, what: str) -> T:
        """Await ``coro`` on this loop for at most ``timeout`` seconds.

        Raises:
            CallTimeout: it did not finish in time (it is cancelled).
            JudgeError: it called ``sys.exit()``.
        """
        future: cf.Future[T] = asyncio.run_coroutine_threadsafe(_guarded(coro, what), self._started())
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), timeout)
        except TimeoutError:
            future.cancel()
            raise CallTimeout(f"{what} did not return within {timeout:g} s (cancelled)") from None

    def close(self) -> None:
        """Stop the loop (calls still running on it are abandoned)."""
        with self._lock:
            loop, self._loop = self._loop, None
        if loop is not None:
            loop.call_soon_threadsafe(loop.stop)
