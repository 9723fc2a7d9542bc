"""``--rubric-resume``: a run stopped mid-way continues as the same run, judging only what it lacks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rubrictest.store import Store

from ..helpers.remote import SENTINEL_KEY
from ..remote.fake_provider import FakeProvider, Step

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="sends SIGINT")

N_CASES = 8
FAST = 3  # cases c0-c2 are answered at once; the others hang until the run is stopped


def write_suite(root: Path, url: str, *, extra: str = "") -> None:
    cases = "\n".join(
        f"  - {{id: c{i}, output: '{'quick' if i < FAST else 'SLOW'} answer {i}', criteria: [first, second]}}"
        for i in range(N_CASES)
    )
    (root / "test_resumable.rubric.yaml").write_text(
        "suite: resumable\n"
        f"judge: {{plugin: openai, model: judge-m, base_url: '{url}', options: {{retry: {{max_attempts: 1}}}}}}\n"
        "gate: {min_pass_rate: 0.5, confidence: 0.9}\n"
        f"{extra}cases:\n{cases}\n"
    )


def pytest_cmd(db: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider", f"--rubric-db={db}", *args]


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONUNBUFFERED": "1", "OPENAI_API_KEY": SENTINEL_KEY}


def run_pytest(root: Path, db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """pytest on the suites of ``root`` into ``db``, to the end."""
    return subprocess.run(pytest_cmd(db, *args), cwd=root, capture_output=True, text=True, env=env(), timeout=120)


def interrupted_run(root: Path, provider: FakeProvider, db: Path, how: str = "sigint") -> str:
    """Start a run, stop it once the fast cases are judged (``sigint``: Ctrl-C; ``kill``: kill -9,
    after the store's background flush wrote what arrived); the stopped run's id."""
    provider.by_marker["SLOW"] = Step("drip", seconds=0.2)  # until the client goes away
    proc = subprocess.Popen(
        pytest_cmd(db, "--rubric-cache=off"),
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env(),
    )
    assert proc.stdout is not None
    seen = []
    deadline = time.monotonic() + 60
    for line in proc.stdout:
        seen.append(line)
        if f"c{FAST - 1}::second PASSED" in line or time.monotonic() > deadline:
            break
    while provider.count() < N_CASES and time.monotonic() < deadline:  # every case's call is in flight
        time.sleep(0.05)
    if how == "kill":
        time.sleep(1.5)  # rows reach the file within a second
        proc.kill()
        proc.communicate(timeout=60)
    else:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == pytest.ExitCode.INTERRUPTED, "".join(seen) + out
    provider.by_marker.clear()
    store = Store.open(db, create=False)  # marks a killed run abandoned
    try:
        run_id = store.resolve_run(None)
        assert store.run(run_id)["status"] == ("abandoned" if how == "kill" else "interrupted")
        done = {v["case_id"] for v in store.verdicts(run_id) if v["status"] == "PASS"}
        assert done == {f"c{i}" for i in range(FAST)}, done
    finally:
        store.close()
    return run_id


@pytest.mark.parametrize("how", ["sigint", "kill"])
def test_resumed_run_judges_only_what_was_missing(tmp_path: Path, how: str) -> None:
    db = tmp_path / "r.db"
    with FakeProvider() as provider:
        write_suite(tmp_path, provider.openai_url)
        run_id = interrupted_run(tmp_path, provider, db, how)
        before = provider.count()
        # The cache is off: reused verdicts come from the run itself, not from cached calls.
        done = run_pytest(tmp_path, db, "--rubric-resume", "--rubric-cache=off")
        calls = provider.count() - before
    assert done.returncode == 0, done.stdout + done.stderr
    assert calls == N_CASES - FAST  # one judge call per missing case, none for the judged ones
    assert f"(run {run_id})" in done.stdout
    assert done.stdout.count(" PASSED") == 2 * N_CASES + 1  # every criterion and the gate
    store = Store.open(db, create=False)
    try:
        assert [r["id"] for r in store.runs()] == [run_id]  # one run, continued
        run = store.run(run_id)
        assert run["status"] == "passed" and run["counts"] == {"PASS": 2 * N_CASES}
        assert run["usage"]["total"]["calls"] == N_CASES  # usage over both sessions
        verdicts = store.verdicts(run_id)
        keys = [(v["case_id"], v["criterion_id"]) for v in verdicts]
        assert sorted(keys) == sorted((f"c{i}", c) for i in range(N_CASES) for c in ("first", "second"))
        assert len(store.cases(run_id)) == N_CASES
        assert [g["status"] for g in store.gates(run_id)] == ["PASS"]
        judged = [c for c in store.calls(run_id) if c["kind"] == "judge" and c["request"] is not None]
        assert len(judged) == N_CASES  # the first session's FAST calls and the resume's
    finally:
        store.close()


def test_resume_refuses_finished_and_foreign_runs(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    with FakeProvider() as provider:
        write_suite(tmp_path, provider.openai_url)
        ok = run_pytest(tmp_path, db)
        assert ok.returncode == 0, ok.stdout + ok.stderr
        store = Store.open(db, create=False)
        finished = store.resolve_run(None)
        store.close()
        again = run_pytest(tmp_path, db, f"--rubric-resume={finished}")
        assert again.returncode == pytest.ExitCode.USAGE_ERROR
        assert f"run {finished} finished (passed); there is nothing to resume" in again.stderr
        nothing = run_pytest(tmp_path, db, "--rubric-resume")
        assert nothing.returncode == pytest.ExitCode.USAGE_ERROR
        assert "no interrupted or abandoned run of the suites resumable" in nothing.stderr
        as_path = run_pytest(tmp_path, db, "--rubric-resume", "test_resumable.rubric.yaml")
        assert as_path.returncode == pytest.ExitCode.USAGE_ERROR
        assert "is a path: write --rubric-resume=RUN" in as_path.stderr
        run_id = interrupted_run(tmp_path, provider, db)
        # The suite changed since: a criterion's text, hence its hash.
        suite = tmp_path / "test_resumable.rubric.yaml"
        suite.write_text(suite.read_text().replace("second]", "changed]", 1))
        other = run_pytest(tmp_path, db, f"--rubric-resume={run_id}")
        assert other.returncode == pytest.ExitCode.USAGE_ERROR
        assert f"run {run_id} judged other suites or criteria" in other.stderr
        parallel = run_pytest(tmp_path, db, "--rubric-resume", "-n", "2")
        assert parallel.returncode == pytest.ExitCode.USAGE_ERROR
        assert "--rubric-resume runs in one process" in parallel.stderr
