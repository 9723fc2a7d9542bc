"""bench/bench_scale.py runs on two tiny sizes and prints its table (so the script cannot rot)."""

from __future__ import annotations

import subprocess
import sys

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
