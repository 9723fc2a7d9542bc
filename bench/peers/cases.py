#!/usr/bin/env python3
"""Deterministic benchmark cases shared by every runner.

Each case: a question, a fixed response, and K rubric criteria (K from the
BENCH_CRITERIA environment variable, default 1; at most len(CRITERIA)).  Cases
are distinct (they carry their index) so no tool can dedupe or cache within a
single cold run; the criterion texts are the same for all cases, so a tool that
defines one metric per criterion for a whole dataset (deepeval GEval) is used
the normal way.

    python cases.py N [K]          -> JSONL on stdout
    from cases import make_cases   -> list of dicts (keys: id, question,
                                      response, criterion (the first), criteria)
"""

import json
import os
import sys

CRITERIA = [
    "The answer states the capital of France correctly.",
    "The answer is a single short sentence.",
    "The answer does not contain insults or rude language.",
    "The answer does not mention any city other than the capital.",
    "The answer is written in English.",
]
CRITERION = CRITERIA[0]


def criteria_count(k=None):
    k = int(k if k is not None else os.environ.get("BENCH_CRITERIA", "1"))
    if not 1 <= k <= len(CRITERIA):
        raise SystemExit(f"BENCH_CRITERIA must be between 1 and {len(CRITERIA)}")
    return k


def make_cases(n, k=None):
    k = criteria_count(k)
    return [
        {
            "id": f"case-{i:05d}",
            "question": f"(Case {i}) What is the capital of France?",
            "response": f"The capital of France is Paris. (ref {i})",
            "criterion": CRITERIA[0],
            "criteria": CRITERIA[:k],
        }
        for i in range(n)
    ]


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    for c in make_cases(n, sys.argv[2] if len(sys.argv) > 2 else None):
        print(json.dumps(c))
