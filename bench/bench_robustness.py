"""Benchmark: how far ``--rubric-max-cost`` is overshot, and how fast a run stops on a signal.

**Budget.** A suite of N cases (one criterion each) judged by the ``openai`` plugin against
a local fake server (tests/remote/fake_provider.py: 100 prompt and 20 completion tokens per
answer, 50 ms per request) at ``concurrency: 32``, priced as gpt-4.1-mini ($0.40 / $1.60 per
million tokens) with ``max_tokens: 200``, under a $0.01 budget: plain, ``-n 2`` and ``-n 4``.
Reported: calls sent, USD spent (the sum of the stored calls' costs) and spent / budget.

**Stop.** tests/helpers/killed.py's project (8 cases, the last 5 answered only after a
minute): SIGINT or SIGTERM to the process group once 3 cases passed (2 under ``-n 2``), and
the seconds until the pytest process exited. Medians of ``-r`` repetitions.

Usage::

    python bench/bench_robustness.py            # N=300, 3 repetitions of the stop times
    python bench/bench_robustness.py -n 100 -r 1
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.helpers.killed import Session, write_project  # noqa: E402
from tests.helpers.remote import SENTINEL_KEY  # noqa: E402
from tests.remote.fake_provider import FakeProvider  # noqa: E402

BUDGET = 0.01


def budget_run(n: int, xdist: list[str]) -> tuple[int, float]:
    """Calls sent and USD spent by one run of ``n`` cases under the budget."""
    with FakeProvider(latency=0.05) as provider, tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        cases = "\n".join(
            f"  - {{id: c{i}, input: 'q{i}', output: 'answer {i}', criteria: [Is fine.]}}" for i in range(n)
        )
        (folder / "test_paid.rubric.yaml").write_text(
            textwrap.dedent(f"""\
            version: 1
            judge:
              plugin: openai
              model: gpt-4.1-mini
              base_url: {provider.openai_url}
              concurrency: 32
              params: {{max_tokens: 200}}
              options: {{retry: {{base_delay: 0.01, max_delay: 0.05}}}}
            cases:
            """)
            + cases
            + "\n"
        )
        env = {**os.environ, "OPENAI_API_KEY": SENTINEL_KEY}
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "--rubric-db=r.db",
                f"--rubric-max-cost={BUDGET}",
                *xdist,
            ],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
        )
        if proc.returncode not in (0, 1):
            raise SystemExit(f"pytest exited {proc.returncode}:\n{proc.stdout[-3000:]}{proc.stderr[-2000:]}")
        conn = sqlite3.connect(folder / "r.db")
        spent = float(conn.execute("SELECT coalesce(sum(cost_usd), 0) FROM judge_calls").fetchone()[0])
        conn.close()
        return provider.count("/chat/completions"), spent


def stop_time(sig: int, xdist: list[str]) -> float:
    """Seconds from the signal to the end of the pytest process."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_project(folder)
        session = Session(folder, *xdist)
        session.wait_passed(2 if xdist else 3)
        sent = session.signal(sig)
        session.finish(timeout=60)  # reads the output while waiting: a full pipe would block the exit
        return time.monotonic() - sent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=300, help="cases of the budget suite")
    parser.add_argument("-r", type=int, default=3, help="repetitions of each stop time")
    args = parser.parse_args()
    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs, {platform.platform()}")
    print(f"\nbudget ${BUDGET} over {args.n} cases at concurrency 32 (gpt-4.1-mini prices, max_tokens 200)")
    print("| run | calls sent | spent (USD) | spent / budget |\n|---|---|---|---|")
    for name, xdist in (("plain", []), ("-n 2", ["-n", "2"]), ("-n 4", ["-n", "4"])):
        calls, spent = budget_run(args.n, xdist)
        print(f"| {name} | {calls} | {spent:.5f} | {spent / BUDGET:.2f} |")
    print(f"\nseconds from the signal to the exit (median of {args.r})")
    print("| signal | plain | -n 2 |\n|---|---|---|")
    for sig in (signal.SIGINT, signal.SIGTERM):
        cells = [statistics.median(stop_time(sig, xdist) for _ in range(args.r)) for xdist in ([], ["-n", "2"])]
        print(f"| {signal.Signals(sig).name} | " + " | ".join(f"{c:.2f}" for c in cells) + " |")


if __name__ == "__main__":
    main()
