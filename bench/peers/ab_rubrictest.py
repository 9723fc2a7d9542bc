"""Side-by-side rubrictest runs of the peer benchmark: two source trees, alternating run by run.

The peer harness (``run_all.sh``) measures each tool on its own; this driver answers "did a
change make rubrictest faster?" on a noisy machine: it starts ``fake_judge_server.py``, then
for each round runs ``runners/rubrictest.sh`` once per tree (the tree chosen by ``PYTHONPATH``,
one interpreter for both), resets and reads the server's ``/stats`` around each run, and
reports medians of wall time, CPU (user + sys of the runner and its children) and the judging
span (the server's first request to its last answer), with the ratio new / base.

Usage::

    python bench/peers/ab_rubrictest.py --base /path/to/old/checkout --new . -n 200 -r 5
    python bench/peers/ab_rubrictest.py --new . -n 1000 -r 3          # one tree: absolute figures
    python bench/peers/ab_rubrictest.py --new . --cache warm          # re-runs on a primed cache
    python bench/peers/ab_rubrictest.py --new . -n 1000 --sdk-replay  # and the SDK alone, same requests

``--sdk-replay`` adds a row per round: the official openai SDK alone sending the requests the
first rubrictest run sent (``sdk_replay.py``), the floor an in-process SDK client can reach on
this machine -- the latency floor counts a client that costs nothing.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str, method: str = "GET") -> dict[str, object]:
    req = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    with urllib.request.urlopen(req, timeout=10) as resp:
        body = resp.read()
    return json.loads(body) if body.strip().startswith(b"{") else {}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(tree: Path, args: argparse.Namespace, host: str, state: Path) -> dict[str, float]:
    """One runner invocation on ``tree``; its wall, CPU, judging span and call count."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # Python's default: bytecode cached, as on users' machines
    env.update(
        PYTHONPATH=f"{tree}{os.pathsep}{tree / 'plugins'}",
        BENCH_CRITERIA=str(args.criteria),
        PEERS_DIR=str(HERE),
        RUBRICTEST_PY=sys.executable,
        OPENAI_API_KEY="sk-dummy-not-a-key",
    )
    cache = "off"
    if args.cache == "warm":
        cache = "on"
        if not (state / "rubrictest.db").exists():  # prime once per tree
            subprocess.run(
                ["bash", str(HERE / "runners/rubrictest.sh"), str(args.n), str(args.concurrency), f"{host}/v1", "on"]
                + [str(state)],
                env=env,
                check=True,
                capture_output=True,
            )
    command = ["bash", str(HERE / "runners/rubrictest.sh"), str(args.n), str(args.concurrency), f"{host}/v1", cache]
    row, _ = _measure(command + [str(state)], host, f"{tree}: the runner", env)
    return row


def replay_once(args: argparse.Namespace, host: str, log: Path, count: int) -> dict[str, float]:
    """The SDK alone, sending the first ``count`` recorded requests; its wall, CPU and span, and
    its CPU per call without its interpreter's start and import of openai (``call_cpu_ms``)."""
    command = [sys.executable, str(HERE / "sdk_replay.py"), "--base-url", f"{host}/v1", "--requests", str(log)]
    row, stdout = _measure(command + ["-n", str(count), "-c", str(args.concurrency)], host, "sdk_replay.py")
    replayed = json.loads(stdout.split("RESULT ", 1)[1].splitlines()[0])
    return {**row, "call_cpu_ms": 1000 * replayed["cpu"] / replayed["requests"]}


def _measure(
    command: list[str], host: str, what: str, env: dict[str, str] | None = None
) -> tuple[dict[str, float], str]:
    """Run ``command`` with the server's counters reset; its wall, CPU (itself and its children),
    judging span and call count as the server saw them, and its standard output."""
    _get(f"{host}/stats/reset", "POST")
    cpu0 = _children_cpu()
    started = time.perf_counter()
    proc = subprocess.run(command, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    cpu = _children_cpu() - cpu0
    if proc.returncode != 0 or "RESULT" not in proc.stdout:
        raise SystemExit(f"{what} failed ({proc.returncode}):\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    stats = _get(f"{host}/stats")
    row = {
        "wall": wall,
        "cpu": cpu,
        "span": float(stats.get("busy_span_s", 0.0)),  # type: ignore[arg-type]
        "calls": float(stats.get("requests", 0)),  # type: ignore[arg-type]
    }
    return row, proc.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--new", type=Path, required=True, help="the source tree measured")
    parser.add_argument("--base", type=Path, help="a tree to compare with, run alternately")
    parser.add_argument("-n", type=int, default=200, help="cases (default 200)")
    parser.add_argument("--criteria", type=int, default=5, help="criteria per case (default 5)")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--latency-ms", type=int, default=200)
    parser.add_argument("-r", "--rounds", type=int, default=5)
    parser.add_argument("--cache", choices=["cold", "warm"], default="cold")
    parser.add_argument("--sdk-replay", action="store_true", help="also run the SDK alone on the same requests")
    args = parser.parse_args()
    trees = {"new": args.new.resolve()}
    if args.base is not None:
        trees = {"base": args.base.resolve(), **trees}
    port = _free_port()
    host = f"http://127.0.0.1:{port}"
    scratch_dir = tempfile.TemporaryDirectory()  # the request log and every run's state
    scratch = Path(scratch_dir.name)
    log = scratch / "requests.jsonl"
    server = subprocess.Popen(
        [sys.executable, str(HERE / "fake_judge_server.py"), "--port", str(port), "--latency-ms", str(args.latency_ms)]
        + (["--log-requests", str(log)] if args.sdk_replay else []),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                _get(f"{host}/stats")
                break
            except OSError:
                time.sleep(0.1)
        results: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
        if args.sdk_replay:
            results["sdk"] = []
        for r in range(args.rounds):
            for name, tree in trees.items():
                state = scratch / name
                if args.cache == "cold":
                    state = state / str(r)
                row = run_once(tree, args, host, state)
                results[name].append(row)
                print(f"round {r + 1} {name}: " + " ".join(f"{k}={v:.3f}" for k, v in row.items()), flush=True)
            if args.sdk_replay and args.cache == "cold":
                row = replay_once(args, host, log, int(results["new"][0]["calls"]))
                results["sdk"].append(row)
                print(f"round {r + 1} sdk: " + " ".join(f"{k}={v:.3f}" for k, v in row.items()), flush=True)
    finally:
        server.terminate()
        server.wait()
        scratch_dir.cleanup()
    floor = math.ceil(args.n / args.concurrency) * args.latency_ms / 1000
    print(
        f"\n{args.n} cases x {args.criteria} criteria, c={args.concurrency}, {args.latency_ms} ms, cache {args.cache}"
    )
    print(f"floor {floor:.2f} s; medians of {args.rounds} rounds")
    medians = {name: {k: statistics.median(row[k] for row in rows) for k in rows[0]} for name, rows in results.items()}
    for name, m in medians.items():
        print(
            f"{name:>5}: wall {m['wall']:.2f} s  cpu {m['cpu']:.2f} s  span {m['span']:.2f} s "
            f"({m['span'] / floor:.2f}x floor)  calls {m['calls']:.0f}"
        )
    if "sdk" in medians:
        print(f"the SDK alone: {medians['sdk']['call_cpu_ms']:.2f} ms of CPU a call")
        sdk = medians["sdk"]["span"]
        print("span / the SDK alone's: " + "  ".join(f"{k} {m['span'] / sdk:.2f}x" for k, m in medians.items()))
    if "base" in medians:
        b, n = medians["base"], medians["new"]
        print("new/base: " + "  ".join(f"{k} {n[k] / b[k]:.3f}x" for k in ("wall", "cpu", "span") if b[k]))


if __name__ == "__main__":
    main()
