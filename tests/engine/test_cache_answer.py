"""A verdict stored as the cache's answer is what dataclasses.asdict() makes of it, and a cache
hit rebuilds the same verdict."""

from __future__ import annotations

import dataclasses
import json

import pytest

from rubrictest import Verdict
from rubrictest.engine.calls import _verdict_answer
from rubrictest.protocol.records import VerdictSample

VERDICTS = [
    Verdict("c1", "met", confidence=0.8, evidence="Paris", rationale="r", score=1.0, level=2.0),
    Verdict("c2", "not_met", votes=["met", "not_met", "not_met"], confidence=2 / 3),
    Verdict("c3", "met", samples=[VerdictSample("met", 0.9, "q", True, "r"), VerdictSample("not_met")]),
    Verdict.failed("c4", "the judge refused"),
]


@pytest.mark.parametrize("verdict", VERDICTS, ids=lambda v: v.criterion_id)
def test_the_cached_answer_is_asdict_and_round_trips(verdict: Verdict) -> None:
    answer = _verdict_answer(verdict)
    assert answer == dataclasses.asdict(verdict)
    stored = json.loads(json.dumps(answer))  # as the store keeps it
    rebuilt = Verdict(**stored)
    assert dataclasses.asdict(rebuilt) == dataclasses.asdict(verdict)
