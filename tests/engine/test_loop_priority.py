"""The engine's loop thread says when it is idle, so that pytest's reporting gives way to calls
in flight (rubrictest/engine/loop.py)."""

from __future__ import annotations

import asyncio
import sys
import threading
import time

import pytest

from rubrictest.engine.loop import LoopThread

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the proactor loop is not watched")


def _stop(lt: LoopThread) -> None:
    lt.loop.call_soon_threadsafe(lt.loop.stop)
    lt.join(5)
    lt.loop.close()


def _started(lt: LoopThread) -> LoopThread:
    # The thread starts the loop; wait until it blocks in its selector the first time.
    asyncio.run_coroutine_threadsafe(asyncio.sleep(0), lt.loop).result(5)
    for _ in range(500):
        if lt.wait_idle(0.01):
            return lt
    raise AssertionError("the loop never became idle")


def _until_busy(lt: LoopThread) -> None:
    deadline = time.monotonic() + 10
    while lt.wait_idle(0.0):
        if time.monotonic() > deadline:
            pytest.fail("the loop never said it was busy")
        time.sleep(0.001)


def test_an_idle_loop_does_not_hold_the_caller_back() -> None:
    lt = _started(LoopThread("test-idle"))
    try:
        assert lt.wait_idle(0.0) is True
        assert "idle" in repr(lt)
    finally:
        _stop(lt)


def test_a_busy_loop_holds_the_caller_until_it_is_idle() -> None:
    lt = _started(LoopThread("test-busy"))
    seen_busy = threading.Event()
    finished: list[float] = []

    def busy() -> None:  # CPU work on the loop, as parsing and storing answers is
        while not seen_busy.is_set():  # busy until the test has seen it busy, then a little more
            pass
        end = time.monotonic() + 0.1
        while time.monotonic() < end:
            pass
        finished.append(time.monotonic())

    try:
        lt.loop.call_soon_threadsafe(busy)
        _until_busy(lt)
        seen_busy.set()
        assert lt.wait_idle(30) is True
        assert finished, "wait_idle returned while the loop still had work ready"
    finally:
        seen_busy.set()
        _stop(lt)


def test_the_wait_is_bounded_while_the_loop_stays_busy() -> None:
    lt = _started(LoopThread("test-bounded"))
    release = threading.Event()

    def spin() -> None:  # busy until the test lets go
        while not release.is_set():
            pass

    try:
        lt.loop.call_soon_threadsafe(spin)
        _until_busy(lt)
        assert lt.wait_idle(0.05) is False  # gives up: the terminal never stalls for long
    finally:
        release.set()
        _stop(lt)


def test_a_stopped_loop_never_holds_the_caller() -> None:
    lt = _started(LoopThread("test-stopped"))
    _stop(lt)
    started = time.monotonic()
    assert lt.wait_idle(30) is True
    assert time.monotonic() - started < 10  # at once, not after the 30 s bound
