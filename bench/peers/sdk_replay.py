"""The official openai SDK alone, sending a recorded run's requests: the floor rubrictest can reach.

The latency floor of the peer benchmark (``ceil(N / concurrency) x latency``) assumes a client
that costs nothing. The client rubrictest calls models with -- the official SDK over its HTTP
stack -- costs CPU per call, and on a small machine that cost alone keeps a run above the
floor. This script measures it: it reads the request bodies a rubrictest run sent (the fake
server's ``--log-requests`` file), sends each once more with the SDK exactly as the ``openai``
judge does (``client.post("/chat/completions", cast_to=object)`` over the aiohttp transport: the
answer's JSON, at most ``--concurrency`` in flight; ``--http-client httpx`` for the SDK's
default transport), reads each answer's text and nothing else, and prints its wall
and CPU time. ``ab_rubrictest.py --sdk-replay`` runs it beside rubrictest in every round.

Usage::

    python bench/peers/sdk_replay.py --base-url http://127.0.0.1:PORT/v1 --requests LOG.jsonl -c 64
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path
from typing import Any

import openai  # imported before the clock starts: its import is not per call


async def replay(base_url: str, bodies: list[dict[str, Any]], concurrency: int, http_client: str) -> int:
    transport = {"http_client": openai.DefaultAioHttpClient()} if http_client == "aiohttp" else {}
    client = openai.AsyncOpenAI(base_url=base_url, api_key="sk-dummy-not-a-key", max_retries=0, **transport)
    gate = asyncio.Semaphore(concurrency)
    answered = 0

    async def one(body: dict[str, Any]) -> None:
        nonlocal answered
        async with gate:
            completion: Any = await client.post("/chat/completions", body=body, cast_to=object)
        if completion["choices"][0]["message"]["content"]:
            answered += 1

    await asyncio.gather(*(one(b) for b in bodies))
    await client.close()
    return answered


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--requests", type=Path, required=True, help="the fake server's --log-requests file")
    parser.add_argument("-n", type=int, help="send the first N requests (default: all)")
    parser.add_argument("-c", "--concurrency", type=int, default=64)
    parser.add_argument(
        "--http-client",
        choices=["aiohttp", "httpx"],
        default="aiohttp",
        help="the SDK's transport (default aiohttp, as the openai judge's default)",
    )
    args = parser.parse_args()
    bodies = [json.loads(line)["request"] for line in args.requests.read_text().splitlines() if line.strip()]
    bodies = bodies[: args.n] if args.n else bodies
    if not bodies:
        raise SystemExit(f"{args.requests}: no request recorded")
    started, cpu0 = time.perf_counter(), time.process_time()
    answered = asyncio.run(replay(args.base_url, bodies, args.concurrency, args.http_client))
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu0
    if answered != len(bodies):
        raise SystemExit(f"only {answered} of {len(bodies)} requests were answered")
    print(f"{len(bodies)} requests: wall {wall:.2f} s, CPU {cpu:.2f} s ({1000 * cpu / len(bodies):.2f} ms a call)")
    print("RESULT " + json.dumps({"requests": len(bodies), "wall": wall, "cpu": cpu}))


if __name__ == "__main__":
    main()
