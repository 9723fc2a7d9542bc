"""Synthetic judge requests shared by the judge benchmarks (bench_hf_judge, bench_vllm_judge).

Throughput does not depend on what the words mean, so cases are made of pronounceable
pseudo-words, seeded: every run and every benchmark judges the same requests.
"""

from __future__ import annotations

import random

from rubrictest import Case, Criterion, JudgeRequest


def synthetic_words(n: int, rng: random.Random) -> list[str]:
    """``n`` distinct pronounceable pseudo-words."""
    consonants, vowels = "bcdfghklmnprstvz", "aeiou"
    words: set[str] = set()
    while len(words) < n:
        words.add("".join(rng.choice(consonants) + rng.choice(vowels) for _ in range(rng.randint(1, 4))))
    return sorted(words)


def make_requests(
    words: list[str], cases: int, per_case: int, response_words: int, rng: random.Random
) -> list[JudgeRequest]:
    """``cases`` requests, each a response of about ``response_words`` words (±50%) and
    ``per_case`` criteria of 6 to 20 words."""
    out = []
    for i in range(cases):
        length = max(1, int(response_words * rng.uniform(0.5, 1.5)))
        response = " ".join(rng.choice(words) for _ in range(length))
        criteria = tuple(
            Criterion(id=f"c{j}", text=" ".join(rng.choice(words) for _ in range(rng.randint(6, 20))))
            for j in range(per_case)
        )
        case = Case(
            suite="bench", id=f"case{i}", input=" ".join(rng.choice(words) for _ in range(20)), criteria=criteria
        )
        out.append(JudgeRequest(case=case, response=response, criteria=criteria))
    return out
