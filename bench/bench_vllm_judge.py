"""Benchmark the vllm judge on served models: verdicts per second and share of the bf16 roofline.

Judges synthetic cases (bench/synthetic.py, the same as bench_hf_judge.py's) through the
``vllm`` plugin end to end: the judge prompt, guided JSON verdicts, log-probability
confidence, the client fleet's least-loaded routing. Either the plugin starts the
servers (``vllm serve``, ``--replicas``, ``--tensor-parallel-size``, ``--gpus``) or it
attaches to running ones (``--base-url``, repeatable).

Reported: seconds to start the servers, then for the measured run (after a warm-up) the
verdicts per second, requests per second, prompt and completion tokens per second (the
servers' ``usage``), and the share of the roofline: the FLOP/s that 2 × parameters FLOPs
per prompt token make, over ``--peak-tflops`` (bf16 dense, per GPU; 790 by default, about an
H200's) × the number of GPUs. Generation costs FLOPs too; the share counting completion
tokens as well is printed next to it.

Run from the repository root on a machine with vLLM and GPUs, the model already on disk::

    .venv/bin/python bench/bench_vllm_judge.py --model Qwen/Qwen2.5-7B-Instruct --params 7.62e9 \\
        --dtype bfloat16 --replicas 1 --json vllm.json
    .venv/bin/python bench/bench_vllm_judge.py --model NAME --params 7.62e9 --gpus-total 2 \\
        --base-url http://gpu1:8000/v1 --base-url http://gpu2:8000/v1

``--params`` may be left out when ``--model`` is a local directory of ``*.safetensors``
files: the parameters are counted from their headers. The command exits non-zero when a
verdict is an ERROR or none was measured.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import struct
import sys
import time
from pathlib import Path
from typing import Any

from rubrictest_vllm import VLLMJudge
from synthetic import make_requests, synthetic_words

from rubrictest import ComponentContext, ComponentSpec, JudgeRequest, JudgeResult, RubricTestError, Verdict


def count_parameters(directory: Path) -> int:
    """Parameters of the ``*.safetensors`` files in ``directory``, read from their headers."""
    total = 0
    files = sorted(directory.glob("*.safetensors"))
    if not files:
        raise ValueError(f"no *.safetensors file in {directory}: give --params")
    for path in files:
        with open(path, "rb") as f:
            (length,) = struct.unpack("<Q", f.read(8))
            header = json.loads(f.read(length))
        total += sum(math.prod(t["shape"]) for name, t in header.items() if name != "__metadata__")
    return total


def build_judge(args: argparse.Namespace) -> VLLMJudge:
    options: dict[str, Any] = {"logprobs": not args.no_logprobs, "structured_output": args.structured_output}
    if args.startup_timeout:
        options["startup_timeout"] = args.startup_timeout
    spec: dict[str, Any] = {
        "plugin": "vllm",
        "model": args.model,
        "concurrency": args.concurrency,
        "params": {"temperature": 0, "max_tokens": args.max_tokens},
        "options": options,
    }
    if args.base_url:
        spec["base_url"] = args.base_url
    else:
        options.update(
            dtype=args.dtype,
            tensor_parallel_size=args.tensor_parallel_size,
            replicas=args.replicas,
            port_range=args.port_range,
            extra_args=args.extra_arg,
            stop_timeout=10,
        )
        if args.gpus:
            options["gpus"] = args.gpus.split(";")
        if args.max_model_len:
            options["max_model_len"] = args.max_model_len
    cwd = Path.cwd()
    return VLLMJudge(ComponentSpec.model_validate(spec), ComponentContext(base_dir=cwd, rootdir=cwd))


async def judge_all(judge: VLLMJudge, requests: list[JudgeRequest], concurrency: int) -> list[JudgeResult]:
    """Every request, ``concurrency`` in flight (as the engine would); an error is an ERROR verdict."""
    gate = asyncio.Semaphore(concurrency)

    async def one(request: JudgeRequest) -> JudgeResult:
        async with gate:
            try:
                result: JudgeResult = await judge.judge(request)
                return result
            except Exception as exc:  # counted as errors, as the engine would
                return JudgeResult([Verdict.failed(c.id, f"{type(exc).__name__}: {exc}") for c in request.criteria])

    return await asyncio.gather(*(one(r) for r in requests))


def tally(results: list[JudgeResult], seconds: float) -> dict[str, Any]:
    verdicts = [v for r in results for v in r.verdicts]
    calls = [c for r in results for c in r.calls]
    errors = [v for v in verdicts if v.outcome == "error"]
    prompt = sum(c.usage.input_tokens or 0 for c in calls)
    completion = sum(c.usage.output_tokens or 0 for c in calls)
    return {
        "requests": len(results),
        "verdicts": len(verdicts) - len(errors),
        "errors": len(errors),
        "first_error": errors[0].error if errors else None,
        "seconds": seconds,
        "verdicts_per_s": (len(verdicts) - len(errors)) / seconds,
        "requests_per_s": len(results) / seconds,
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "prompt_tokens_per_s": prompt / seconds,
        "completion_tokens_per_s": completion / seconds,
    }


async def measure(
    args: argparse.Namespace, requests: list[JudgeRequest], warmup: list[JudgeRequest], params: float, gpus: int
) -> dict[str, Any]:
    judge = build_judge(args)
    judge.check_ready()
    report: dict[str, Any] = {}
    try:
        start = time.perf_counter()
        await judge.servers_ready()
        report["startup_s"] = time.perf_counter() - start
        report["servers"] = judge.base_urls()
        await judge_all(judge, warmup, args.concurrency)
        start = time.perf_counter()
        results = await judge_all(judge, requests, args.concurrency)
        report.update(tally(results, time.perf_counter() - start))
    finally:
        await judge.aclose()
    peak = args.peak_tflops * 1e12 * gpus
    report["achieved_tflops_prompt"] = 2 * params * report["prompt_tokens_per_s"] / 1e12
    report["roofline_share"] = 2 * params * report["prompt_tokens_per_s"] / peak
    report["roofline_share_all_tokens"] = (
        2 * params * (report["prompt_tokens_per_s"] + report["completion_tokens_per_s"]) / peak
    )
    return report


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="hub id or local directory; the served model name")
    parser.add_argument("--params", type=float, default=None, help="parameter count, e.g. 7.62e9")
    parser.add_argument("--peak-tflops", type=float, default=790.0, help="bf16 dense peak per GPU, TFLOP/s")
    parser.add_argument("--base-url", action="append", default=[], help="attach to this server (repeatable)")
    parser.add_argument("--gpus-total", type=int, default=None, help="GPUs behind --base-url (default 1)")
    parser.add_argument("--replicas", type=int, default=1)
    parser.add_argument("--tensor-parallel-size", type=int, default=1)
    parser.add_argument("--gpus", default=None, help='GPU ids per replica, e.g. "0,1;2,3"')
    parser.add_argument("--dtype", default="bfloat16")
    parser.add_argument("--max-model-len", type=int, default=None)
    parser.add_argument("--port-range", type=int, nargs=2, default=[8000, 8099])
    parser.add_argument("--extra-arg", action="append", default=[], help="one more vllm serve argument")
    parser.add_argument("--startup-timeout", type=float, default=None)
    parser.add_argument("--cases", type=int, default=512)
    parser.add_argument("--criteria-per-case", type=int, default=4)
    parser.add_argument("--response-words", type=int, default=400)
    parser.add_argument("--warmup", type=int, default=16, help="requests judged before the timed run")
    parser.add_argument("--concurrency", type=int, default=256, help="requests in flight")
    parser.add_argument("--max-tokens", type=int, default=1024, help="params.max_tokens of each request")
    parser.add_argument("--structured-output", default="structured_outputs")
    parser.add_argument("--no-logprobs", action="store_true")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.params is None:
        try:
            args.params = count_parameters(Path(args.model))
        except (OSError, ValueError) as exc:
            print(f"--params is needed: {exc}", file=sys.stderr)
            return 2
    gpus = (args.gpus_total or 1) if args.base_url else args.replicas * args.tensor_parallel_size
    rng = random.Random(0)
    words = synthetic_words(3000, rng)
    requests = make_requests(words, args.cases, args.criteria_per_case, args.response_words, rng)
    warmup = make_requests(words, args.warmup, args.criteria_per_case, args.response_words, rng)
    try:
        measured = asyncio.run(measure(args, requests, warmup, args.params, gpus))
    except RubricTestError as exc:  # the servers did not start, or the options are wrong
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    report = {
        "model": args.model,
        "parameters": args.params,
        "gpus": gpus,
        "peak_tflops_per_gpu": args.peak_tflops,
        "cases": args.cases,
        "criteria_per_case": args.criteria_per_case,
        "response_words": args.response_words,
        "concurrency": args.concurrency,
        **measured,
    }
    print(
        f"model {args.model} ({args.params:.3g} parameters) on {gpus} GPU(s), servers: "
        f"{', '.join(report['servers'])} (started in {report['startup_s']:.1f} s)"
    )
    print(
        f"{args.cases} cases x {args.criteria_per_case} criteria, responses ~{args.response_words} words, "
        f"{args.concurrency} requests in flight"
    )
    print(
        f"{report['verdicts']} verdicts ({report['errors']} errors) in {report['seconds']:.2f} s: "
        f"{report['verdicts_per_s']:.1f} verdicts/s, {report['requests_per_s']:.1f} requests/s"
    )
    print(f"tokens/s: {report['prompt_tokens_per_s']:.0f} prompt, {report['completion_tokens_per_s']:.0f} completion")
    print(
        f"roofline (2 x parameters FLOPs per prompt token, {args.peak_tflops:g} TFLOP/s x {gpus} GPU): "
        f"{report['achieved_tflops_prompt']:.2f} TFLOP/s = {report['roofline_share']:.2%} "
        f"({report['roofline_share_all_tokens']:.2%} counting completion tokens too)"
    )
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    if report["errors"] or not report["verdicts"]:
        print(f"FAILED: {report['errors']} verdicts are errors; first: {report['first_error']}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
