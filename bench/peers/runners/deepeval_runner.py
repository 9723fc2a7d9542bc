#!/usr/bin/env python3
"""deepeval GEval via evaluate() against an OpenAI-compatible judge.

usage: deepeval_runner.py N CONCURRENCY BASE_URL CACHE STATE_DIR
  CONCURRENCY  'default' (AsyncConfig() -> max_concurrent=20) or an int
               (AsyncConfig(max_concurrent=int))
  CACHE        off: CacheConfig(write_cache=False, use_cache=False)
               on:  CacheConfig(write_cache=True,  use_cache=True); the cache is
                    .deepeval/.deepeval-cache.json under STATE_DIR (cwd)
"""

import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from cases import make_cases  # noqa: E402

n, conc, base_url, cache, state = sys.argv[1:6]
n = int(n)
os.makedirs(state, exist_ok=True)
os.chdir(state)  # deepeval keeps its cache / test-run files in ./.deepeval

from deepeval import evaluate  # noqa: E402
from deepeval.evaluate.configs import AsyncConfig, CacheConfig, DisplayConfig, ErrorConfig  # noqa: E402
from deepeval.metrics import GEval  # noqa: E402
from deepeval.models import OpenAIModel  # noqa: E402
from deepeval.test_case import LLMTestCase, SingleTurnParams  # noqa: E402

cases = make_cases(n)
judge = OpenAIModel(
    model=os.environ.get("JUDGE_MODEL", "gpt-4.1"),
    base_url=base_url,
    api_key=os.environ.get("OPENAI_API_KEY", "sk-dummy"),
)
# one GEval metric per criterion (BENCH_CRITERIA, see cases.py)
metrics = [
    GEval(
        name=f"Criterion {j + 1}",
        criteria=criterion,
        evaluation_params=[SingleTurnParams.INPUT, SingleTurnParams.ACTUAL_OUTPUT],
        model=judge,
    )
    for j, criterion in enumerate(cases[0]["criteria"])
]
test_cases = [LLMTestCase(input=c["question"], actual_output=c["response"], name=c["id"]) for c in cases]

async_config = AsyncConfig() if conc == "default" else AsyncConfig(max_concurrent=int(conc))
cache_config = (
    CacheConfig(write_cache=True, use_cache=True) if cache == "on" else CacheConfig(write_cache=False, use_cache=False)
)
result = evaluate(
    test_cases=test_cases,
    metrics=metrics,
    async_config=async_config,
    cache_config=cache_config,
    display_config=DisplayConfig(show_indicator=False, print_results=False, inspect_after_run=False),
    error_config=ErrorConfig(ignore_errors=True),
)
scored = passed = errors = 0
for tr in result.test_results:
    for md in tr.metrics_data or []:
        if md.error:
            errors += 1
        elif md.score is not None:
            scored += 1
            passed += bool(md.success)
print(
    "RESULT "
    + json.dumps(
        {
            "tool": "deepeval",
            "n": n,
            "scored": scored,
            "passed": passed,
            "errors": errors,
            "concurrency": async_config.max_concurrent,
        }
    )
)
