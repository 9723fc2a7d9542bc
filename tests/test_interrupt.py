"""Ctrl-C stops a run cleanly and keeps every verdict already received."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rubrictest.store import Store

CONFTEST = '''
import asyncio
from rubrictest import Judge, JudgeResult, Verdict, hookimpl
from rubrictest.plugins import pm


class Slow(Judge):
    """Answers cases c0-c2 at once; the others only after a minute."""

    cacheable = False

    async def judge(self, request):
        await asyncio.sleep(0.01 if request.case.id in ("c0", "c1", "c2") else 60)
        return JudgeResult([Verdict(c.id, "met") for c in request.criteria])


class Plugin:
    @hookimpl
    def register_judges(self, register):
        register("slow", Slow)


pm.register(Plugin(), name="slow-judge")
'''


@pytest.mark.skipif(sys.platform == "win32", reason="sends SIGINT")
def test_ctrl_c_keeps_the_verdicts_received(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(CONFTEST)
    cases = "\n".join(f"  - {{id: c{i}, output: x, criteria: [{{id: k, text: anything}}]}}" for i in range(8))
    (tmp_path / "test_slow.rubric.yaml").write_text("judge: slow\ncases:\n" + cases + "\n")
    db = tmp_path / "r.db"
    proc = subprocess.Popen([sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider", f"--rubric-db={db}"],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert proc.stdout is not None
    seen = []
    deadline = time.monotonic() + 60
    for line in proc.stdout:
        seen.append(line)
        if "c2::k PASSED" in line or time.monotonic() > deadline:
            break
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=30)
    assert time.monotonic() - started < 20, "the run did not stop promptly"
    assert proc.returncode == pytest.ExitCode.INTERRUPTED, "".join(seen) + out
    store = Store.open(db, create=False)
    run = store.run(store.resolve_run(None))
    assert run["status"] == "interrupted"
    statuses = {v["case_id"]: v["status"] for v in store.verdicts(run["id"])}
    assert {"c0", "c1", "c2"} <= {c for c, s in statuses.items() if s == "PASS"}
    assert "FAIL" not in statuses.values()
