"""bench/bench_hf_judge.py runs in a tiny CPU configuration (its --gpu mode needs CUDA)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_hf_judge.py"


def test_the_hf_benchmark_runs_on_the_cpu(tmp_path: Path) -> None:
    out = tmp_path / "hf.json"
    result = subprocess.run(
        [
            sys.executable,
            str(BENCH),
            "--threads",
            "1",
            "--cases",
            "4",
            "--criteria-per-case",
            "2",
            "--response-words",
            "20",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(out.read_text())
    for mode in ("naive", "batched-flat", "batched"):
        assert report[mode]["criteria"] == 8 and report[mode]["errors"] == 0
    assert "share_of_peak" not in report  # the roofline is reported with --gpu only
