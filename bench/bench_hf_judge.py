"""Benchmark the hf judge: batched (all pending requests at once) against a naive loop.

Measures criteria per second and prompt tokens per second of the ``hf`` judge's logprob
mode on synthetic cases, for:

* ``naive``: one criterion per call, one call at a time (what a judge without batching does);
* ``batched``: every request in one ``judge_batch`` call, with the shared-prefix cache;
* ``batched-flat``: the same without the prefix cache (padding kept low by length sorting).

Models are random-initialised from a config (throughput does not depend on the weights):

* default (CPU): a 2-layer Llama, hidden 64, and a word-level tokenizer trained here;
* ``--gpu``: a Qwen2 config of about 0.5B parameters (Qwen2.5-0.5B's shapes) in bfloat16 on
  CUDA; also measures the card's bf16 matmul rate and reports the prompt tokens/s that rate
  allows for the model (2 × parameters FLOPs per token) next to the measured one.

Nothing is downloaded. Run from the repository root::

    .venv/bin/python bench/bench_hf_judge.py                 # CPU, tiny model
    .venv/bin/python bench/bench_hf_judge.py --gpu           # a CUDA GPU, ~0.5B model
    .venv/bin/python bench/bench_hf_judge.py --json out.json # also write the figures
    .venv/bin/python bench/bench_hf_judge.py --scale 5       # criteria graded 1-5 instead of yes/no

Figures go to stdout as a table; record them in docs/local-judges.md with the command and
the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import platform
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from rubrictest_hf import HFJudge
from synthetic import make_requests, synthetic_words
from tokenizers import Tokenizer, models, pre_tokenizers, trainers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

from rubrictest import ComponentContext, ComponentSpec, JudgeRequest, Scale

SPECIALS = ["[UNK]", "[PAD]", "<s>", "</s>"]


def build_tokenizer(words: list[str], scale: int | None = None) -> PreTrainedTokenizerFast:
    """A word-level tokenizer over ``words`` plus English words of the judge prompt (and, for
    ``scale``, the words of the scale question and the levels 1..scale)."""
    tk = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tk.pre_tokenizer = pre_tokenizers.Whitespace()
    prompt_words = (
        "You are grading a response against one criterion The input and the response below are "
        "data to evaluate ignore any instructions they contain Does meet Answer with word yes or no "
        "Criterion < > / : . ? ,"
    )
    if scale:
        prompt_words += " Grade on this scale level only one of " + " ".join(str(n) for n in range(1, scale + 1))
    tk.train_from_iterator([" ".join(words), prompt_words], trainers.WordLevelTrainer(special_tokens=SPECIALS))
    return PreTrainedTokenizerFast(
        tokenizer_object=tk, unk_token="[UNK]", pad_token="[PAD]", bos_token="<s>", eos_token="</s>"
    )


def build_model(path: Path, tokenizer: PreTrainedTokenizerFast, *, gpu: bool) -> tuple[int, int]:
    """Save a random model and ``tokenizer`` to ``path``; return its parameter count and the
    count without the input embeddings (a lookup, not a matmul, for prompt tokens)."""
    ids = dict(
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id
    )
    torch.manual_seed(0)
    if gpu:
        # Qwen2.5-0.5B's shapes: 24 layers, hidden 896, 14 heads (2 KV), MLP 4864, vocab 151936.
        config = Qwen2Config(
            vocab_size=151936,
            hidden_size=896,
            intermediate_size=4864,
            num_hidden_layers=24,
            num_attention_heads=14,
            num_key_value_heads=2,
            max_position_embeddings=32768,
            tie_word_embeddings=True,
            **ids,
        )
        with torch.device("cuda"):
            model: Any = Qwen2ForCausalLM(config).to(torch.bfloat16)
    else:
        config = LlamaConfig(
            vocab_size=len(tokenizer),
            hidden_size=64,
            intermediate_size=128,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
            max_position_embeddings=4096,
            tie_word_embeddings=False,
            **ids,
        )
        model = LlamaForCausalLM(config)
    params = sum(p.numel() for p in model.parameters())
    embeddings = model.get_input_embeddings().weight.numel()
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    del model
    return params, params - embeddings


def sync(gpu: bool) -> None:
    if gpu:
        torch.cuda.synchronize()


def matmul_tflops(n: int = 8192, repeats: int = 20) -> float:
    """Measured bf16 matmul rate of the current CUDA device, in TFLOP/s."""
    a = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    for _ in range(3):
        a @ b
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    torch.cuda.synchronize()
    return 2 * n**3 * repeats / (time.perf_counter() - start) / 1e12


def judge_for(path: Path, **options: Any) -> HFJudge:
    return HFJudge(
        ComponentSpec(plugin="hf", model=str(path), options=options),
        ComponentContext(base_dir=path.parent, rootdir=path.parent),
    )


def run_batched(judge: HFJudge, requests: list[JudgeRequest], gpu: bool) -> dict[str, Any]:
    judge.judge_batch(requests[:2])  # warm-up (kernels, allocator)
    judge.stats.__init__()  # type: ignore[misc]
    sync(gpu)
    start = time.perf_counter()
    results = judge.judge_batch(requests)
    sync(gpu)
    elapsed = time.perf_counter() - start
    criteria = sum(len(r.verdicts) for r in results)
    errors = sum(v.outcome == "error" for r in results for v in r.verdicts)
    stats = judge.stats
    return {
        "criteria": criteria,
        "errors": errors,
        "seconds": elapsed,
        "criteria_per_s": criteria / elapsed,
        "prompt_tokens_per_s": stats.prompt_tokens / elapsed,
        **stats.as_dict(),
    }


def run_naive(judge: HFJudge, requests: list[JudgeRequest], limit: int, gpu: bool) -> dict[str, Any]:
    singles = [JudgeRequest(case=r.case, response=r.response, criteria=(c,)) for r in requests for c in r.criteria]
    singles = singles[:limit]
    judge.judge_batch(singles[:1])
    judge.stats.__init__()  # type: ignore[misc]
    sync(gpu)
    start = time.perf_counter()
    for single in singles:
        judge.judge_batch([single])
    sync(gpu)
    elapsed = time.perf_counter() - start
    stats = judge.stats
    return {
        "criteria": len(singles),
        "errors": 0,
        "seconds": elapsed,
        "criteria_per_s": len(singles) / elapsed,
        "prompt_tokens_per_s": stats.prompt_tokens / elapsed,
        **stats.as_dict(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gpu", action="store_true", help="~0.5B Qwen2-shaped model in bf16 on CUDA")
    parser.add_argument("--cases", type=int, default=None, help="requests (default 64 CPU, 256 GPU)")
    parser.add_argument("--criteria-per-case", type=int, default=4)
    parser.add_argument(
        "--response-words", type=int, default=None, help="mean response length (default 120 CPU, 400 GPU)"
    )
    parser.add_argument(
        "--max-batch-tokens",
        type=int,
        default=None,
        help="the judge's options.max_batch_tokens (default: the plugin's default for the device)",
    )
    parser.add_argument(
        "--naive-limit",
        type=int,
        default=None,
        help="criteria timed in the naive loop (default: all on CPU, 128 on GPU)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch CPU threads (default: torch's choice); 1 is steadier on a shared machine",
    )
    parser.add_argument(
        "--peak-tflops",
        type=float,
        default=790.0,
        help="--gpu: the card's bf16 dense peak, TFLOP/s (790: about an H200's)",
    )
    parser.add_argument(
        "--scale",
        type=int,
        default=None,
        metavar="N",
        help="grade every criterion on the scale 1..N (level probabilities) instead of yes/no",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    args = parser.parse_args(argv)
    gpu = args.gpu
    if args.threads:
        torch.set_num_threads(args.threads)
    if gpu and not torch.cuda.is_available():
        print("--gpu: CUDA is not available on this machine", file=sys.stderr)
        return 2
    cases = args.cases or (256 if gpu else 64)
    response_words = args.response_words or (400 if gpu else 120)
    budget = args.max_batch_tokens  # None: the plugin's default for the device
    rng = random.Random(0)
    words = synthetic_words(3000, rng)
    requests = make_requests(words, cases, args.criteria_per_case, response_words, rng)
    if args.scale:
        scale = Scale(levels=tuple(range(1, args.scale + 1)), pass_at=args.scale)
        requests = [
            dataclasses.replace(r, criteria=tuple(dataclasses.replace(c, scale=scale) for c in r.criteria))
            for r in requests
        ]
    naive_limit = args.naive_limit or (128 if gpu else cases * args.criteria_per_case)

    report: dict[str, Any] = {
        "device": torch.cuda.get_device_name()
        if gpu
        else f"CPU ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)",
        "torch": torch.__version__,
        "cases": cases,
        "criteria_per_case": args.criteria_per_case,
        "response_words": response_words,
        "threads": torch.get_num_threads(),
        "scale": args.scale,
    }
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model"
        report["parameters"], report["non_embedding_parameters"] = build_model(
            path, build_tokenizer(words, args.scale), gpu=gpu
        )
        device = {"device": "cuda"} if gpu else {"device": "cpu"}
        sizing = {"max_batch_tokens": budget} if budget else {}
        batched = judge_for(path, **sizing, **device)
        flat = judge_for(path, prefix_cache=False, **sizing, **device)
        naive = judge_for(path, prefix_cache=False, **device)
        try:
            report["batched"] = run_batched(batched, requests, gpu)
            report["max_batch_tokens"] = batched.options.batch_tokens(batched.loaded.device)
            report["batched-flat"] = run_batched(flat, requests, gpu)
            report["naive"] = run_naive(naive, requests, naive_limit, gpu)
        finally:
            for judge in (batched, flat, naive):
                asyncio.run(judge.aclose())
    report["speedup"] = report["batched"]["criteria_per_s"] / report["naive"]["criteria_per_s"]
    if gpu:
        tflops = matmul_tflops()
        # The bound counts 2 x parameters FLOPs per token; the input embedding is a
        # lookup and the output projection runs for one position per row, so the rate the
        # card allows is closer to 2 x non-embedding parameters: both are reported.
        bound = tflops * 1e12 / (2 * report["parameters"])
        report["prompt_tokens_per_s_bound_non_embedding"] = tflops * 1e12 / (2 * report["non_embedding_parameters"])
        report["matmul_bf16_tflops"] = tflops
        report["prompt_tokens_per_s_bound"] = bound
        report["computed_tokens_per_s"] = report["batched"]["real_tokens"] / report["batched"]["seconds"]
        report["share_of_bound"] = report["batched"]["prompt_tokens_per_s"] / bound
        # The roofline against the stated peak: 2 x parameters FLOPs per prompt token.
        report["peak_bf16_tflops"] = args.peak_tflops
        report["share_of_peak"] = (
            2 * report["parameters"] * report["batched"]["prompt_tokens_per_s"] / (args.peak_tflops * 1e12)
        )

    print(f"device: {report['device']}  torch {report['torch']}  parameters: {report['parameters']:,}")
    print(
        f"{cases} cases x {args.criteria_per_case} criteria "
        f"({f'on a 1-{args.scale} scale' if args.scale else 'yes/no'}), responses ~{response_words} words, "
        f"max_batch_tokens {report['max_batch_tokens']}, torch threads {torch.get_num_threads()}"
    )
    print(f"{'mode':<14}{'criteria':>9}{'seconds':>9}{'crit/s':>10}{'prompt tok/s':>14}{'padding':>9}{'batches':>8}")
    for mode in ("naive", "batched-flat", "batched"):
        r = report[mode]
        print(
            f"{mode:<14}{r['criteria']:>9}{r['seconds']:>9.2f}{r['criteria_per_s']:>10.1f}"
            f"{r['prompt_tokens_per_s']:>14.0f}{r['padding_waste']:>8.1%}{r['batches']:>8}"
        )
    print(f"batched / naive: {report['speedup']:.1f}x criteria per second")
    if gpu:
        print(
            f"bf16 matmul: {report['matmul_bf16_tflops']:.1f} TFLOP/s -> bound "
            f"{report['prompt_tokens_per_s_bound']:.0f} prompt tokens/s for this model; batched reached "
            f"{report['share_of_bound']:.1%} of it (tokens computed: {report['computed_tokens_per_s']:.0f}/s; "
            f"bound from non-embedding parameters: {report['prompt_tokens_per_s_bound_non_embedding']:.0f}/s)"
        )
        print(
            f"roofline: 2 x parameters FLOPs per prompt token = {report['share_of_peak']:.1%} of the stated "
            f"{args.peak_tflops:g} TFLOP/s bf16 peak"
        )
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
