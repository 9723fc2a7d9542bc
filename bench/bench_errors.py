"""Benchmark: reporting N ERROR items against reporting N PASS items.

Generates, in a temporary directory, two suites of N criteria each (N/10 cases of 10
criteria, fixed outputs, no model):

* ``ok/test_ok.rubric.yaml``: ``contains`` checks that all pass;
* ``err/test_err.rubric.yaml``: text criteria judged by ``recorded:labels.jsonl`` with no
  label for any of them, so every item is ERROR ("no recorded verdict ...") -- what a
  provider outage does to a large suite.

and times a full ``python -m pytest -q --rubric-no-store`` of each as separate processes, run
side by side (alternating, several repetitions). Medians are reported, with the ratio
ERROR / PASS.

Usage::

    python bench/bench_errors.py              # N=1000, 3 repetitions
    python bench/bench_errors.py -n 200 -r 5
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def write_suite(path: Path, n: int, *, errors: bool) -> None:
    """A suite of ``n`` criteria (a multiple of 10): all PASS, or all ERROR."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["version: 1", f"suite: {'err' if errors else 'ok'}", "judge: recorded:labels.jsonl", "cases:"]
    for c in range(n // 10):
        lines += [f"  - id: c{c}", "    output: hello", "    criteria:"]
        for k in range(10):
            lines.append(
                f"      - {{id: k{k}, text: 'Says hello {k}.'}}"
                if errors
                else f"      - {{id: k{k}, check: contains, with: {{value: hello}}}}"
            )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    (path.parent / "labels.jsonl").write_text('{"case": "none", "criterion": "none", "met": true}\n', encoding="utf-8")


def run_once(folder: Path) -> float:
    """Wall time of one pytest process over ``folder``."""
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", str(folder), "-q", "--rubric-no-store", "-p", "no:cacheprovider"],
        cwd=folder.parent,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - started
    if proc.returncode not in (0, 1):
        raise SystemExit(f"pytest exited {proc.returncode} on {folder}:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=1000, help="items per suite (multiple of 10)")
    parser.add_argument("-r", type=int, default=3, help="repetitions")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_suite(root / "ok" / "test_ok.rubric.yaml", args.n, errors=False)
        write_suite(root / "err" / "test_err.rubric.yaml", args.n, errors=True)
        times: dict[str, list[float]] = {"ok": [], "err": []}
        for _ in range(args.r):
            for name in ("ok", "err"):
                times[name].append(run_once(root / name))
    ok, err = statistics.median(times["ok"]), statistics.median(times["err"])
    print(f"python {platform.python_version()}, {platform.machine()}, N={args.n}, r={args.r}")
    print(f"{args.n} PASS items:  median {ok:.2f} s  (runs: {', '.join(f'{t:.2f}' for t in times['ok'])})")
    print(f"{args.n} ERROR items: median {err:.2f} s  (runs: {', '.join(f'{t:.2f}' for t in times['err'])})")
    print(f"ratio ERROR / PASS: {err / ok:.2f}x")


if __name__ == "__main__":
    main()
