#!/usr/bin/env python3
"""inspect_ai task: no-op solver that returns the fixed response, scored by
model_graded_qa() (grader = the task model, openai/<JUDGE_MODEL> at BASE_URL).

usage: inspect_runner.py N CONCURRENCY BASE_URL CACHE STATE_DIR
  CONCURRENCY  'default' -> nothing set (inspect's adaptive connections:
               start 20, min 10, max 100) or an int -> max_connections=int
               (explicit max_connections turns adaptive off; max_samples then
               defaults to max_connections)
  CACHE        off: no generate cache; on: cache=True (7-day policy) with
               INSPECT_CACHE_DIR=STATE_DIR/inspect_cache
"""

import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from cases import make_cases  # noqa: E402

n, conc, base_url, cache, state = sys.argv[1:6]
n = int(n)
os.makedirs(state, exist_ok=True)
if cache == "on":
    os.environ["INSPECT_CACHE_DIR"] = os.path.join(state, "inspect_cache")

from inspect_ai import Task, task  # noqa: E402
from inspect_ai import eval as inspect_eval  # noqa: E402
from inspect_ai.dataset import Sample  # noqa: E402
from inspect_ai.model import ModelOutput  # noqa: E402
from inspect_ai.scorer import Target, accuracy, model_graded_qa, scorer  # noqa: E402
from inspect_ai.solver import Generate, TaskState, solver  # noqa: E402


@solver
def fixed_response():
    async def solve(state: TaskState, generate: Generate) -> TaskState:
        state.output = ModelOutput.from_content(model="fixed", content=state.metadata["response"])
        state.messages.append(state.output.message)
        return state

    return solve


CASES = make_cases(n)


def criterion_scorer(j, criterion):
    # one model_graded_qa per criterion (BENCH_CRITERIA, see cases.py), under its own name
    @scorer(metrics=[accuracy()], name=f"criterion_{j + 1}")
    def graded():
        grade = model_graded_qa()

        async def score(state, target):
            return await grade(state, Target(criterion))

        return score

    return graded()


@task
def rubric_bench():
    return Task(
        dataset=[
            Sample(id=c["id"], input=c["question"], target=c["criterion"], metadata={"response": c["response"]})
            for c in CASES
        ],
        solver=fixed_response(),
        scorer=[criterion_scorer(j, k) for j, k in enumerate(CASES[0]["criteria"])],
    )


kwargs = {}
if conc != "default":
    kwargs["max_connections"] = int(conc)
if cache == "on":
    kwargs["cache"] = True
logs = inspect_eval(
    rubric_bench(),
    model="openai/" + os.environ.get("JUDGE_MODEL", "gpt-4.1"),
    model_base_url=base_url,
    log_dir=os.path.join(state, "logs"),
    display="none",
    **kwargs,
)
log = logs[0]
scored = passed = errors = 0
for s in log.samples or []:
    if s.error:
        errors += 1
        continue
    for sc in (s.scores or {}).values():
        if sc.value in ("C", "I", "P"):
            scored += 1
            passed += sc.value == "C"
        else:
            errors += 1
print(
    "RESULT "
    + json.dumps(
        {
            "tool": "inspect_ai",
            "n": n,
            "scored": scored,
            "passed": passed,
            "errors": errors,
            "status": log.status,
            # default = adaptive connections (min 10, start 20, max 100):
            # the nominal value used for the floor is the start, 20
            "concurrency": kwargs.get("max_connections", 20),
            "concurrency_note": "max_connections" if "max_connections" in kwargs else "adaptive 10/20/100",
        }
    )
)
