"""The benchmark scripts the docs quote run on tiny sizes and print their figures (so they cannot rot)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from ..helpers.paths import REPO

BENCH = REPO / "bench" / "bench_scale.py"


def test_the_scale_benchmark_runs_on_small_sizes() -> None:
    result = subprocess.run(
        [sys.executable, str(BENCH), "--sizes", "200", "400", "-r", "1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "| criteria | phase | wall | per criterion | peak RSS | marginal per added criterion |" in out
    for size in ("200", "400"):
        for phase in ("collect", "run"):
            assert f"| {size} | {phase} |" in out
    assert "per-criterion time growth 200 -> 400 (run):" in out
    assert "OK: peak RSS under 1 GiB" in out


def test_the_pieces_benchmark_measures_each_piece() -> None:
    """bench/bench_pieces.py, whose figures docs/benchmarks.md quotes, runs and measures all three."""
    result = subprocess.run(
        [sys.executable, str(REPO / "bench" / "bench_pieces.py"), "-n", "200"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "secrets()",
        "parse_verdicts, 5 criteria",
        "garbage collection during --collect-only of 200 criteria",
    ], result.stdout


def test_the_peer_ab_driver_measures_rubrictest_and_the_sdk_alone() -> None:
    """bench/peers/ab_rubrictest.py --sdk-replay, whose figures docs/benchmarks.md quotes, runs a
    tiny peer benchmark and replays its requests with the SDK alone."""
    result = subprocess.run(
        [sys.executable, str(REPO / "bench" / "peers" / "ab_rubrictest.py"), "--new", str(REPO)]
        + ["-n", "12", "--criteria", "2", "--concurrency", "4", "--latency-ms", "20", "-r", "1", "--sdk-replay"],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "round 1 new:" in out and "round 1 sdk:" in out
    assert "calls 12" in out.split("  new:")[1].splitlines()[0]  # one call per case
    assert "calls 12" in out.split("  sdk:")[1].splitlines()[0]  # the same requests, once each
    assert "ms of CPU a call" in out and "span / the SDK alone's:" in out


def test_the_turnaround_tool_reads_a_request_log(tmp_path: Path) -> None:
    """bench/peers/turnaround.py, whose figures docs/benchmarks.md quotes: two waves of two
    requests at 100 ms latency; the second wave arrived 10 and 30 ms after the answers it waited for."""
    log = tmp_path / "requests.jsonl"
    log.write_text("".join(json.dumps({"t": t, "request": {}}) + "\n" for t in (0.0, 0.0, 0.11, 0.13)))
    result = subprocess.run(
        [sys.executable, str(REPO / "bench" / "peers" / "turnaround.py"), str(log), "-c", "2", "--latency-ms", "100"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 requests, c=2: turnaround median 20.0 ms, mean 20.0 ms, p90 30.0 ms, max 30.0 ms" in result.stdout
