"""Whole pytest sessions with a vllm judge: the servers stop on success, failure, Ctrl-C,
SIGTERM and interpreter exit, and a server that cannot start makes ERROR, never FAIL.

Each session is a real ``python -m pytest`` process running the fake ``vllm``; the test
then checks, by the pids the fake servers wrote, that none of them (nor their children)
is left.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from rubrictest.store import Store

from ..helpers.vllm import FakeVLLM, free_ports

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="process groups and signals are POSIX")


def write_suite(
    directory: Path, ports: tuple[int, int], cases: int = 4, slow_from: int | None = None, **options: object
) -> None:
    opts = {"replicas": 2, "port_range": list(ports), "startup_timeout": 30, "stop_timeout": 5, **options}
    lines = []
    for i in range(cases):
        slow = " SLOW" if slow_from is not None and i >= slow_from else ""
        lines.append(
            f"  - {{id: c{i}, input: 'question {i}{slow}', output: 'The answer {i} is fine.', "
            "criteria: [{id: k, text: The answer is fine.}]}"
        )
    (directory / "test_judged.rubric.yaml").write_text(
        f"judge:\n  plugin: vllm\n  model: fake/judge-7b\n  options: {opts!r}\n".replace("'", '"')
        + "cases:\n"
        + "\n".join(lines)
        + "\n"
    )


def pytest_command(db: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider", f"--rubric-db={db}", *extra]


def run_session(directory: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        pytest_command(directory / "r.db", *extra), cwd=directory, capture_output=True, text=True, timeout=120
    )


def test_success_stops_the_servers(fake_vllm: FakeVLLM, tmp_path: Path) -> None:
    write_suite(tmp_path, free_ports(2))
    result = run_session(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("PASSED") == 4
    assert len(fake_vllm.records()) == 2
    assert fake_vllm.wait_gone() == []


def test_failing_criteria_stop_the_servers(
    fake_vllm: FakeVLLM, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_VLLM_MET", "false")
    write_suite(tmp_path, free_ports(2))
    result = run_session(tmp_path)
    assert result.returncode == pytest.ExitCode.TESTS_FAILED, result.stdout + result.stderr
    assert result.stdout.count("FAILED") >= 4
    assert fake_vllm.wait_gone() == []


def test_a_server_that_cannot_start_makes_errors_not_failures(
    fake_vllm: FakeVLLM, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_VLLM_MODE", "oom")
    write_suite(tmp_path, free_ports(2))
    result = run_session(tmp_path)
    out = result.stdout + result.stderr
    assert result.returncode == pytest.ExitCode.TESTS_FAILED, out
    assert "out of GPU memory while loading" in out and "CUDA out of memory" in out, out
    store = Store.open(tmp_path / "r.db", create=False)
    statuses = [v["status"] for v in store.verdicts(store.resolve_run(None))]
    assert statuses == ["ERROR"] * 4
    assert fake_vllm.wait_gone() == []


def test_a_misspelled_option_is_a_collection_error(fake_vllm: FakeVLLM, tmp_path: Path) -> None:
    write_suite(tmp_path, free_ports(2), tensor_paralel_size=2)
    result = run_session(tmp_path)
    out = result.stdout + result.stderr
    assert result.returncode == pytest.ExitCode.INTERRUPTED, out  # collection errors stop the session
    # named where the judge is written, by the options model the plugin declares
    assert (
        "test_judged.rubric.yaml:4: judge.options.tensor_paralel_size: unknown key 'tensor_paralel_size' "
        "(did you mean 'tensor_parallel_size'?)"
    ) in out
    assert fake_vllm.records() == []


def start_slow_session(tmp_path: Path) -> tuple[subprocess.Popen[str], list[str]]:
    """A session whose cases 3+ wait two minutes at the server; returns once c2 passed."""
    write_suite(tmp_path, free_ports(2), cases=8, slow_from=3)
    proc = subprocess.Popen(
        pytest_command(tmp_path / "r.db"),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + 60
    for line in proc.stdout:
        seen.append(line)
        if "c2]::k PASSED" in line or "c2::k PASSED" in line or time.monotonic() > deadline:
            break
    return proc, seen


def test_ctrl_c_stops_the_servers(fake_vllm: FakeVLLM, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_VLLM_SLOW_MARKER", "SLOW")
    proc, seen = start_slow_session(tmp_path)
    assert len(fake_vllm.records()) == 2, "".join(seen)
    assert all(any(p == r["pid"] for r in fake_vllm.records()) for p in fake_vllm.pids()[::2])
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == pytest.ExitCode.INTERRUPTED, "".join(seen) + out
    store = Store.open(tmp_path / "r.db", create=False)
    assert store.run(store.resolve_run(None))["status"] == "interrupted"
    assert fake_vllm.wait_gone() == [], "servers left running after Ctrl-C"


def test_ctrl_c_while_the_servers_load_stops_them(
    fake_vllm: FakeVLLM, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_VLLM_MODE", "never_ready")  # /health answers 503: still loading
    write_suite(tmp_path, free_ports(2), startup_timeout=120)
    proc = subprocess.Popen(
        pytest_command(tmp_path / "r.db"), cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    deadline = time.monotonic() + 60
    while len(fake_vllm.records()) < 2 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.1)
    assert len(fake_vllm.records()) == 2
    time.sleep(0.5)  # the plugin is polling /health now
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == pytest.ExitCode.INTERRUPTED, out
    assert fake_vllm.wait_gone() == [], "servers left running after Ctrl-C during start-up"


def test_sigterm_stops_the_servers(fake_vllm: FakeVLLM, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_VLLM_SLOW_MARKER", "SLOW")
    proc, seen = start_slow_session(tmp_path)
    assert len(fake_vllm.records()) == 2, "".join(seen)
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=60)
    assert proc.returncode == pytest.ExitCode.INTERRUPTED  # SIGTERM ends the session as Ctrl-C does
    assert fake_vllm.wait_gone() == [], "servers left running after SIGTERM"


EXIT_WITHOUT_CLOSING = """
import asyncio, sys
from rubrictest import ComponentContext, ComponentSpec, Case, Criterion, JudgeRequest
from rubrictest.plugins import build_component
from pathlib import Path

spec = ComponentSpec.model_validate({"plugin": "vllm", "model": "fake/judge-7b",
                                     "options": {"port_range": [PORTS], "startup_timeout": 30}})
judge = build_component("judges", spec, ComponentContext(base_dir=Path.cwd(), rootdir=Path.cwd()))
judge.check_ready()
crit = (Criterion(id="k", text="The answer is fine."),)
request = JudgeRequest(case=Case(suite="s", id="c", input="q", criteria=crit), response="It is fine.",
                       criteria=crit)
print(asyncio.run(judge.judge(request)).verdicts[0].outcome, flush=True)
sys.exit(0)  # no aclose: the atexit hook must stop the server
"""


def test_interpreter_exit_without_closing_stops_the_servers(fake_vllm: FakeVLLM, tmp_path: Path) -> None:
    low, high = free_ports(1)
    script = textwrap.dedent(EXIT_WITHOUT_CLOSING).replace("PORTS", f"{low}, {high}")
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == "met", result.stdout + result.stderr
    assert len(fake_vllm.records()) == 1
    assert fake_vllm.wait_gone() == []
