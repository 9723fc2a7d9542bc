"""Hung and exiting code is bounded (issue 10): user functions run where they can be timed
out, every model call has a deadline, and ``sys.exit()`` anywhere in a component is an ERROR
for its own criteria while every other case goes on."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from rubrictest import (
    CallTimeout,
    Judge,
    JudgeError,
    JudgeRequest,
    JudgeResult,
    LoopThread,
    Register,
    Verdict,
    hookimpl,
    run_in_thread,
)

from ..helpers.pytester import outcomes


def test_run_in_thread_returns_raises_and_times_out() -> None:
    async def main() -> None:
        assert await run_in_thread(lambda a, b: a + b, 2, 3, timeout=5, what="add") == 5
        with pytest.raises(ValueError, match="boom"):
            await run_in_thread(lambda: (_ for _ in ()).throw(ValueError("boom")), timeout=5, what="boom")
        started = time.monotonic()
        with pytest.raises(CallTimeout, match=r"sleeper did not return within 0.2 s \(abandoned\)"):
            await run_in_thread(time.sleep, 30, timeout=0.2, what="sleeper")
        assert time.monotonic() - started < 5
        with pytest.raises(JudgeError, match=r"exiter called sys.exit\(4\)"):
            await run_in_thread(sys.exit, 4, timeout=5, what="exiter")

    asyncio.run(main())


def test_run_in_thread_reuses_idle_threads_and_never_queues_behind_a_hung_call() -> None:
    import threading

    release = threading.Event()
    ran_on: set[threading.Thread] = set()

    def quick() -> int:
        ran_on.add(threading.current_thread())
        return 1

    async def main() -> None:
        with pytest.raises(CallTimeout):  # a call that stays stuck keeps its thread
            await run_in_thread(release.wait, 30, timeout=0.1, what="stuck")
        from rubrictest.protocol import bounded

        idle = bounded._workers._idle  # threads left idle by earlier calls of this process
        started = time.monotonic()
        for _ in range(200):  # one after the other: idle threads serve them, no thread per call
            assert await run_in_thread(quick, timeout=5, what="quick") == 1
        assert time.monotonic() - started < 5
        assert len(ran_on) <= idle + 1
        # concurrent calls each get a thread of their own, none waits for another
        got = await asyncio.gather(*(run_in_thread(time.sleep, 0.2, timeout=5, what="nap") for _ in range(8)))
        assert got == [None] * 8

    try:
        asyncio.run(main())
    finally:
        release.set()


def test_a_loop_thread_bounds_coroutines_and_survives_them() -> None:
    loop = LoopThread("test")

    async def exits() -> None:
        sys.exit(5)

    async def forever() -> None:
        await asyncio.sleep(3600)

    async def answer() -> int:
        return 42

    async def main() -> None:
        with pytest.raises(JudgeError, match=r"called sys.exit\(5\)"):
            await loop.run(exits(), timeout=5, what="exits")
        with pytest.raises(CallTimeout, match="cancelled"):
            await loop.run(forever(), timeout=0.2, what="forever")
        assert await loop.run(answer(), timeout=5, what="answer") == 42  # the loop is still there

    try:
        asyncio.run(main())
    finally:
        loop.close()


class Hanging(Judge):
    """Never answers case 'hang', calls sys.exit() for case 'exit', answers the others."""

    billable = False

    async def judge(self, request: JudgeRequest) -> JudgeResult:
        if request.case.id == "hang":
            await asyncio.sleep(3600)
        if request.case.id == "exit":
            sys.exit(7)
        return JudgeResult([Verdict(c.id, "met", confidence=1.0) for c in request.criteria])


class _Plugin:
    @hookimpl
    def register_judges(self, register: Register) -> None:
        register("hanging", Hanging)


def test_a_judge_that_hangs_or_exits_errors_its_own_criteria_only(
    pytester: pytest.Pytester, write_suite: Callable[..., Path], register_plugin: Callable[[Any, str], Any]
) -> None:
    register_plugin(_Plugin(), "test-hanging")
    write_suite("""
        judge: {plugin: hanging, timeout: 1}
        cases:
          - {id: hang, output: a, criteria: [Is fine.]}
          - {id: exit, output: a, criteria: [Is fine.]}
          - {id: fine, output: a, criteria: [Is fine.]}
    """)
    started = time.monotonic()
    result = pytester.runpytest("-rA")
    assert time.monotonic() - started < 20
    assert outcomes(result) == {"passed": 1, "errors": 2}
    result.stdout.fnmatch_lines(["*reason*hanging: no answer within 1 s (the call was cancelled)*"])
    result.stdout.fnmatch_lines(["*reason*hanging called sys.exit(7)*"])
