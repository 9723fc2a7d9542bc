"""Benchmark: rubrictest's per-item overhead against plain pytest.

Generates, in a temporary directory,

* ``test_bench.rubric.yaml``: a suite of N criteria (default 10,000) with deterministic checks
  (contains, regex, equals, json_schema; fixed outputs, so no model is involved), as
  N/10 cases of 10 criteria each;
* ``test_plain.py``: one trivial test parametrized N times.

and times, as separate ``python -m pytest`` processes run side by side (alternating, several
repetitions), ``--collect-only -q`` and a full ``-q`` run of each. The rubric suite is also
run with ``--rubric-no-store`` to show what the SQLite store adds. Plain pytest runs with
``-p no:rubrictest`` so it pays nothing for rubrictest. Medians are reported, with the ratio
rubrictest / plain.

Usage::

    python bench/bench_core.py                 # N=10000, 5 repetitions
    python bench/bench_core.py -n 2000 -r 3
    python bench/bench_core.py --profile       # also cProfile one rubric run (top functions)
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CRITERIA_PER_CASE = 10


def write_rubric_suite(path: Path, n: int) -> None:
    """A suite of ``n`` deterministic criteria (``n`` must be a multiple of 10)."""
    lines = ["version: 1", "suite: bench", "cases:"]
    for c in range(n // CRITERIA_PER_CASE):
        lines += [
            f"  - id: case-{c}",
            f'    output: \'{{"answer": {c}, "text": "Returns within 30 days, case {c}."}}\'',
            "    criteria:",
        ]
        for k in range(CRITERIA_PER_CASE):
            kind = k % 4
            if kind == 0:
                spec = f"{{id: k{k}, check: contains, with: {{value: '30 days'}}}}"
            elif kind == 1:
                spec = f"{{id: k{k}, check: regex, with: {{pattern: 'case {c}\\b'}}}}"
            elif kind == 2:
                spec = f"{{id: k{k}, check: contains, with: {{values: [answer, text], mode: all}}}}"
            else:
                spec = f"{{id: k{k}, check: json_schema, with: {{schema: {{type: object, required: [answer]}}}}}}"
            lines.append(f"      - {spec}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_plain_tests(path: Path, n: int) -> None:
    """One trivial test parametrized ``n`` times."""
    path.write_text(
        f"import pytest\n\n\n@pytest.mark.parametrize('i', range({n}))\ndef test_trivial(i):\n    assert i >= 0\n",
        encoding="utf-8",
    )


def child_env() -> dict[str, str]:
    """The environment of a measured process: without the caller's rubrictest and pytest
    settings, and with Python's default of caching bytecode (a machine that sets
    ``PYTHONDONTWRITEBYTECODE`` would compile every module of every run from source, which
    a user's machine does not: rubrictest has more modules than a plain test file)."""
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("RUBRICTEST_", "PYTEST_")) and k != "PYTHONDONTWRITEBYTECODE"
    }


def timed(args: list[str], cwd: Path) -> float:
    """Wall time of one pytest process; it must exit 0."""
    env = child_env()
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"pytest {' '.join(args)} exited {proc.returncode}:\n{proc.stdout[-3000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=10_000, help="items per side (multiple of 10)")
    parser.add_argument("-r", "--repeat", type=int, default=5, help="repetitions (medians are reported)")
    parser.add_argument("--profile", action="store_true", help="cProfile one full rubric run")
    opts = parser.parse_args()
    n = opts.n - opts.n % CRITERIA_PER_CASE

    with tempfile.TemporaryDirectory(prefix="rubrictest-bench-") as tmp:
        work = Path(tmp)
        (work / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")  # own rootdir, no repo config
        rubric = work / "test_bench.rubric.yaml"
        plain = work / "test_plain.py"
        write_rubric_suite(rubric, n)
        write_plain_tests(plain, n)

        def db() -> str:
            path = work / "bench.db"
            for suffix in ("", "-wal", "-shm"):
                Path(str(path) + suffix).unlink(missing_ok=True)
            return str(path)

        variants: dict[str, list[str] | None] = {
            "plain collect": ["--collect-only", "-q", "-p", "no:rubrictest", plain.name],
            "rubric collect": ["--collect-only", "-q", rubric.name],
            "plain run": ["-q", "-p", "no:rubrictest", plain.name],
            "rubric run": None,  # fresh database each time: built below
            "rubric run, no store": ["-q", "--rubric-no-store", rubric.name],
        }
        times: dict[str, list[float]] = {name: [] for name in variants}
        timed(["--collect-only", "-q", plain.name], work)  # warm the file-system cache
        for rep in range(opts.repeat):
            for name, args in variants.items():
                run_args = args if args is not None else ["-q", "--rubric-db", db(), rubric.name]
                times[name].append(timed(run_args, work))
            print(
                f"repetition {rep + 1}/{opts.repeat}: " + ", ".join(f"{k} {v[-1]:.2f}s" for k, v in times.items()),
                file=sys.stderr,
            )

        med = {name: statistics.median(v) for name, v in times.items()}
        print(f"# rubrictest core benchmark: {n} items per side, {opts.repeat} repetitions (medians)")
        print(f"# python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs")
        print()
        print("| measurement | plain pytest | rubrictest | ratio |")
        print("|---|---|---|---|")
        for what, p, r in [
            ("collection (`--collect-only -q`)", "plain collect", "rubric collect"),
            ("total run (`-q`, fresh SQLite store)", "plain run", "rubric run"),
            ("total run, `--rubric-no-store`", "plain run", "rubric run, no store"),
        ]:
            print(f"| {what} | {med[p]:.2f} s | {med[r]:.2f} s | {med[r] / med[p]:.2f}x |")
        print()
        per_plain = med["plain run"] / n * 1e6
        per_rubric = med["rubric run"] / n * 1e6
        print(
            f"per item: plain {per_plain:.0f} us, rubrictest {per_rubric:.0f} us "
            f"(store adds {(med['rubric run'] - med['rubric run, no store']) / n * 1e6:.0f} us)"
        )
        print("all runs (s): " + "; ".join(f"{k}: {', '.join(f'{t:.2f}' for t in v)}" for k, v in times.items()))

        if opts.profile:
            out = work / "rubric.prof"
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "cProfile",
                    "-o",
                    str(out),
                    "-m",
                    "pytest",
                    "-q",
                    "-p",
                    "no:cacheprovider",
                    "--rubric-db",
                    db(),
                    rubric.name,
                ],
                cwd=work,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            import pstats

            print("\n## cProfile of one rubric run (top 25 by cumulative time)\n")
            stats = pstats.Stats(str(out))
            stats.sort_stats("cumulative").print_stats(25)
            print("\n## top 25 by own time\n")
            stats.sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
