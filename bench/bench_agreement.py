"""Benchmark: panel agreement (rubrictest/store/agreement.py) on a large panel-judged run.

Builds, in memory, the rows a run stores when a panel of M members (default 3) judges C cases
of K criteria each (default 20,000 x 5 = 100,000 verdicts, 300,000 member verdicts; outcomes
drawn with a fixed seed, every criterion tagged), and times :func:`panel_agreement` -- what
``rubrictest report``, the terminal summary and ``calibrate`` compute -- as the median of
several repetitions.

Usage::

    python bench/bench_agreement.py               # 20,000 cases x 5 criteria, 3 members
    python bench/bench_agreement.py --cases 2000 --members 5 -r 5
"""

from __future__ import annotations

import argparse
import platform
import random
import statistics
import time
from typing import Any

from rubrictest.store.agreement import panel_agreement


def rows(cases: int, criteria: int, members: int, seed: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The member verdicts and panel verdicts of a synthetic run."""
    rng = random.Random(seed)
    member_rows: list[dict[str, Any]] = []
    verdicts: list[dict[str, Any]] = []
    for c in range(cases):
        for k in range(criteria):
            crit = f"c{k}"  # a named rubric's criterion: judged once per case
            verdicts.append(
                {
                    "suite": "s",
                    "case_id": f"case{c}",
                    "target": "",
                    "criterion_id": crit,
                    "tags": [f"tag{k % 3}"],
                    "criterion_text": f"criterion {k}",
                }
            )
            for j in range(members):
                member_rows.append(
                    {
                        "suite": "s",
                        "case_id": f"case{c}",
                        "target": "",
                        "criterion_id": crit,
                        "member": f"m{j}",
                        "member_index": j,
                        "outcome": "met" if rng.random() < 0.7 else "not_met",
                    }
                )
    return member_rows, verdicts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--criteria", type=int, default=5)
    parser.add_argument("--members", type=int, default=3)
    parser.add_argument("-r", "--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    members, verdicts = rows(args.cases, args.criteria, args.members, args.seed)
    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        result = panel_agreement(members, verdicts)
        times.append(time.perf_counter() - start)
    assert result is not None
    print(f"{platform.python_implementation()} {platform.python_version()} on {platform.machine()}")
    print(
        f"{len(verdicts):,} verdicts, {len(members):,} member verdicts ({args.members} members): "
        f"panel_agreement median {statistics.median(times):.2f} s over {args.repeat} runs "
        f"(min {min(times):.2f}, max {max(times):.2f}); split share {result['split_share']:.3f}"
    )


if __name__ == "__main__":
    main()
