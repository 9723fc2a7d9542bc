"""The live status line: counts of model calls while a run waits, only on a terminal, never with -q."""

from __future__ import annotations

import asyncio
import os
import pty
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from rubrictest.adapter.status import StatusLine, status_text
from rubrictest.engine.progress import CallProgress

SLOW_TARGET = """
import asyncio

async def answer(text):
    await asyncio.sleep(0.8)
    return "the answer is 42"
"""


def _slow_suite(tmp_path: Path, cases: int = 6) -> Path:
    (tmp_path / "slow.py").write_text(SLOW_TARGET, encoding="utf-8")
    body = "".join(
        f"""
      - id: c{i}
        input: "q{i}"
        criteria:
          - {{id: has-42, check: contains, with: {{value: "42"}}}}"""
        for i in range(cases)
    )
    suite = tmp_path / "test_slow.rubric.yaml"
    suite.write_text(
        textwrap.dedent("""
        version: 1
        suite: slow
        target: {plugin: python, model: "slow:answer", concurrency: 3}
        cases:""")
        + textwrap.dedent(body)
        + "\n",
        encoding="utf-8",
    )
    return suite


def _pytest_argv(tmp_path: Path, *args: str) -> list[str]:
    """A pytest run of the suite without a cache, into its own database."""
    return [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "--rubric-cache=off",
        f"--rubric-db={tmp_path / 'r.db'}",
        *args,
    ]


def _run_in_pty(tmp_path: Path, *args: str) -> str:
    """Run pytest with its stdout on a pseudo-terminal and return everything it wrote."""
    primary, secondary = pty.openpty()
    env = {**os.environ, "COLUMNS": "160", "PY_COLORS": "0"}
    env.pop("CI", None)  # pytest turns some terminal features off under CI
    proc = subprocess.Popen(
        _pytest_argv(tmp_path, *args),
        cwd=tmp_path,
        stdout=secondary,
        stderr=secondary,
        stdin=subprocess.DEVNULL,
        env=env,
    )
    os.close(secondary)
    chunks = []
    while True:
        try:
            data = os.read(primary, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=60)
    os.close(primary)
    return b"".join(chunks).decode("utf-8", "replace")


def test_status_line_shows_calls_on_a_terminal(tmp_path: Path) -> None:
    suite = _slow_suite(tmp_path)
    out = _run_in_pty(tmp_path, str(suite))
    assert "6 passed" in out
    assert "in flight" in out and "queued" in out, out
    # Each drawing is erased before the item's result is written: the dots line ends clean.
    assert "\x1b8\x1b[K" in out


def test_status_line_silent_with_q_and_without_terminal(tmp_path: Path) -> None:
    suite = _slow_suite(tmp_path, cases=3)
    quiet = _run_in_pty(tmp_path, "-q", str(suite))
    assert "3 passed" in quiet and "in flight" not in quiet and "\x1b7" not in quiet
    piped = subprocess.run(
        _pytest_argv(tmp_path, str(suite)),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "3 passed" in piped.stdout and "in flight" not in piped.stdout and "\x1b7" not in piped.stdout


def test_call_progress_counts_queued_in_flight_done() -> None:
    progress = CallProgress()
    seen: list[tuple[int, int, int]] = []

    async def call(sem: asyncio.Semaphore) -> None:
        async with progress.slot(sem):
            seen.append((progress.queued, progress.in_flight, progress.done))
            await asyncio.sleep(0.01)

    async def main() -> None:
        sem = asyncio.Semaphore(2)
        await asyncio.gather(*(call(sem) for _ in range(5)))

    asyncio.run(main())
    assert max(s[1] for s in seen) == 2
    assert max(s[0] for s in seen) == 2  # the third call starts while the fourth and fifth wait
    assert (progress.queued, progress.in_flight, progress.done) == (0, 0, 5)


class _Writer:
    fullwidth = 100
    width_of_current_line = 30

    def __init__(self) -> None:
        self.out: list[str] = []

    def write_raw(self, msg: str, *, flush: bool = False) -> None:
        self.out.append(msg)

    def flush(self) -> None:
        pass


def test_status_text_fits_the_free_columns() -> None:
    usage = {"input_tokens": 1200, "output_tokens": 300, "cost_usd": 0.25, "cache_hits": 4}
    full = status_text(CallProgress(queued=7, in_flight=2, done=40), usage, 200)
    assert full == "[calls: 40 done, 2 in flight, 7 queued, 4 cached | 1.5k tokens | $0.2500]"
    short = status_text(CallProgress(queued=7, in_flight=2, done=40), usage, 50)
    assert short == "[40 done, 2 in flight, 7 queued, $0.25]"
    assert status_text(CallProgress(), usage, 10) == ""


def test_status_line_draws_only_after_the_delay_and_always_erases() -> None:
    writer = _Writer()
    import contextlib

    line = StatusLine(writer, contextlib.nullcontext, lambda width: f"w={width}", delay=0.0, interval=0.0)
    tries = iter([False, False, False, True])
    line.wait(lambda timeout: next(tries))
    assert writer.out[0] == "\x1b7 w=68\x1b[K" and writer.out[1].startswith("\x1b8")
    assert writer.out[-1] == "\x1b8\x1b[K"
    writer.out.clear()
    StatusLine(writer, contextlib.nullcontext, lambda width: "x", delay=60).wait(lambda timeout: True)
    assert writer.out == []


@pytest.mark.parametrize("cols", [20])
def test_status_line_skips_drawing_when_nothing_fits(cols: int) -> None:
    writer = _Writer()
    writer.fullwidth = cols
    import contextlib

    line = StatusLine(
        writer, contextlib.nullcontext, lambda width: status_text(CallProgress(), {}, width), delay=0.0, interval=0.0
    )
    tries = iter([False, False, True])
    line.wait(lambda timeout: next(tries))
    assert writer.out == []


def test_deterministic_checks_are_not_counted_as_model_calls(tmp_path: Path) -> None:
    """Checks take their judge's semaphore without the progress line's slot."""
    from rubrictest.engine import ComponentPool, Engine, ModelCalls, Run
    from rubrictest.suite.models import SuiteModel
    from rubrictest.suite.resolve import resolve_model

    data = {
        "suite": "checks",
        "cases": [
            {
                "id": f"c{i}",
                "output": "Returns within 30 days.",
                "criteria": [{"check": "contains", "with": {"value": "30"}}],
            }
            for i in range(3)
        ],
    }
    path = tmp_path / "test_checks.rubric.yaml"
    suite = resolve_model(SuiteModel.model_validate(data), path, path.name)
    run = Run.start(None, kind="pytest", rootdir=str(tmp_path), argv=["test"], version="test")
    calls = ModelCalls(ComponentPool(tmp_path), run)
    engine = Engine(calls)
    engine.pool.validate(suite)
    for i, case_run in enumerate(suite.runs):
        engine.add(suite, case_run, f"k{i}")
    engine.schedule()
    outcomes = [engine.case(f"k{i}") for i in range(3)]
    engine.close()
    assert [o.passed for o in outcomes] == [True] * 3
    assert (calls.progress.queued, calls.progress.in_flight, calls.progress.done) == (0, 0, 0)
