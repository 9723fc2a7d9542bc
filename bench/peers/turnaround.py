"""How long a freed concurrency slot waits before its next request reaches the server.

The fake judge server's ``--log-requests`` file holds the arrival time of every request. With
``c`` requests in flight and a fixed latency, request ``k`` can start once request ``k - c``
(in arrival order) has been answered; the turnaround of request ``k`` is the time from that
answer (its arrival plus the latency) to its own arrival: the client's time to read one answer
and send the next request, and its queueing behind other answers. A client that costs nothing
has turnarounds near zero; the judging span grows with them.

Usage::

    python bench/peers/fake_judge_server.py --port 8811 --latency-ms 200 --log-requests LOG &
    # ... run rubrictest (or sdk_replay.py) against http://127.0.0.1:8811/v1 ...
    python bench/peers/turnaround.py LOG -c 64 --latency-ms 200
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
from pathlib import Path


def turnarounds(arrivals: list[float], concurrency: int, latency_s: float) -> list[float]:
    """The turnaround of every request after the first ``concurrency`` (seconds)."""
    times = sorted(arrivals)
    return [times[k] - (times[k - concurrency] + latency_s) for k in range(concurrency, len(times))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("log", type=Path, help="the fake server's --log-requests file")
    parser.add_argument("-c", "--concurrency", type=int, default=64)
    parser.add_argument("--latency-ms", type=float, default=200.0)
    args = parser.parse_args()
    arrivals = [json.loads(line)["t"] for line in args.log.read_text().splitlines() if line.strip()]
    if len(arrivals) <= args.concurrency:
        raise SystemExit(f"{args.log}: {len(arrivals)} requests, not more than the concurrency {args.concurrency}")
    gaps = sorted(1000 * g for g in turnarounds(arrivals, args.concurrency, args.latency_ms / 1000))
    p90 = gaps[math.ceil(0.9 * len(gaps)) - 1]  # nearest rank
    print(
        f"{len(arrivals)} requests, c={args.concurrency}: turnaround median {statistics.median(gaps):.1f} ms, "
        f"mean {statistics.mean(gaps):.1f} ms, p90 {p90:.1f} ms, max {gaps[-1]:.1f} ms"
    )


if __name__ == "__main__":
    main()
