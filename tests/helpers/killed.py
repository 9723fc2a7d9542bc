"""A real pytest process judging a suite whose first cases are answered at once and the
others only after a minute, for tests that interrupt or kill it mid-run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

JUDGE = '''
import asyncio, os
from rubrictest import Judge, JudgeResult, Verdict, hookimpl
from rubrictest.plugins import pm

FAST = {"c0", "c1", "c2"}


class Slow(Judge):
    """Answers c0-c2 at once, the others after a minute (at once when SLOW=0). Logs each call."""

    billable = False

    async def judge(self, request):
        with open(os.environ["CALLS_LOG"], "a") as fh:
            fh.write(request.case.id + "\\n")
        if request.case.id not in FAST and os.environ.get("SLOW", "1") == "1":
            await asyncio.sleep(60)
        return JudgeResult([Verdict(c.id, "met") for c in request.criteria])

    async def aclose(self):
        # CLOSE_SLOW=1: closing takes a minute (a server that is slow to stop)
        if os.environ.get("CLOSE_SLOW") == "1":
            await asyncio.sleep(60)


class Plugin:
    @hookimpl
    def register_judges(self, register):
        register("slow", Slow)


pm.register(Plugin(), name="slow-judge")
'''

CASES = 8


def write_project(path: Path) -> None:
    """A project with the slow judge and one suite of :data:`CASES` cases."""
    (path / "conftest.py").write_text(JUDGE)
    cases = "\n".join(
        f"  - {{id: c{i}, output: 'answer {i}', criteria: [{{id: k, text: anything}}]}}" for i in range(CASES)
    )
    (path / "test_slow.rubric.yaml").write_text("judge: slow\ncases:\n" + cases + "\n")


class Session:
    """``pytest`` on the project in its own process group (so a signal reaches every
    xdist worker, as a terminal's Ctrl-C does)."""

    def __init__(self, path: Path, *args: str, slow: bool = True, close_slow: bool = False) -> None:
        self.path = path
        self.db = path / "r.db"
        self.calls_log = path / "calls.log"
        env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "CALLS_LOG": str(self.calls_log),
            "SLOW": "1" if slow else "0",
            "CLOSE_SLOW": "1" if close_slow else "0",
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider", f"--rubric-db={self.db}", *args],
            cwd=path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            start_new_session=True,
        )
        self.output: list[str] = []

    def wait_passed(self, count: int, timeout: float = 60) -> set[str]:
        """Read the output until ``count`` cases were reported PASSED; returns their ids."""
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        for line in self.proc.stdout:
            self.output.append(line)
            if len(self.passed()) >= count:
                return self.passed()
            if time.monotonic() > deadline:
                break
        raise AssertionError(f"fewer than {count} cases passed:\n" + "".join(self.output))

    def passed(self) -> set[str]:
        """The cases reported PASSED so far (``c0::k PASSED``, or ``PASSED ...::c0::k`` under xdist)."""
        found = set()
        for line in self.output:
            if "PASSED" in line:
                found |= {f"c{i}" for i in range(CASES) if f"::c{i}::k" in line}
        return found

    def signal(self, sig: int, *, group: bool = True) -> float:
        """Send ``sig`` (to the whole process group with ``group``); returns when it was sent."""
        if group:
            os.killpg(self.proc.pid, sig)
        else:
            self.proc.send_signal(sig)
        return time.monotonic()

    def finish(self, timeout: float = 30) -> tuple[int, str]:
        """Wait for the process; its exit code and whole output."""
        try:
            out, _ = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            out, _ = self.proc.communicate()
            raise AssertionError("the run did not stop:\n" + "".join(self.output) + out) from None
        self.output.append(out)
        return self.proc.returncode, "".join(self.output)

    def calls(self) -> list[str]:
        """The case ids the judge was asked about, in order."""
        return self.calls_log.read_text().split() if self.calls_log.exists() else []
