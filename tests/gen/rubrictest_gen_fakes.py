"""Scripted model and keyword judge for the generator tests (no network, no model).

* ``python:tests.gen.rubrictest_gen_fakes:reply`` is a target whose replies come from :data:`SCRIPT`:
  a list of strings (consumed in order) or a function of the prompt. Prompts are kept in
  :data:`PROMPTS`.
* :class:`KeywordJudge` (registered as judge ``gen-keyword`` by the :func:`keyword_judge`
  fixture) marks a criterion met when every backticked phrase of its text occurs in the
  response, case-insensitively ("Mentions `30 days`"). A criterion without a backticked
  phrase is met when the response contains the word "good".
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

from rubrictest import Judge, JudgeRequest, JudgeResult, Register, Verdict, hookimpl

MODEL = "python:tests.gen.rubrictest_gen_fakes:reply"

SUITE = """\
version: 1
suite: support
judge: gen-keyword
cases:
  - id: refund
    input: "Can I return shoes after 40 days?"
    output: "Returns are accepted within 30 days, so a return after 40 days is not possible."
    criteria:
      - id: polite
        text: "Is polite: says `thank`"
  - id: shipping
    input: "How long does express shipping take?"
    output: "Express shipping takes 2 days."
    criteria: []
"""


def write_jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


SCRIPT: list[str] | Callable[[str], str] = []
PROMPTS: list[str] = []


def reply(prompt: str) -> str:
    PROMPTS.append(prompt)
    if callable(SCRIPT):
        return SCRIPT(prompt)
    if not SCRIPT:
        raise AssertionError("the scripted model was asked more often than scripted")
    return SCRIPT.pop(0)


def keyword_met(text: str, response: str) -> bool:
    phrases = re.findall(r"`([^`]+)`", text)
    hay = response.lower()
    if not phrases:
        return "good" in hay
    return all(p.lower() in hay for p in phrases)


class KeywordJudge(Judge):
    """Met when every backticked phrase of the criterion occurs in the response."""

    cacheable = False
    calls: list[JudgeRequest] = []

    async def judge(self, request: JudgeRequest) -> JudgeResult:
        KeywordJudge.calls.append(request)
        return JudgeResult(
            [
                Verdict(c.id, "met" if keyword_met(c.text or "", request.response) else "not_met", confidence=1.0)
                for c in request.criteria
            ]
        )


class Plugin:
    @hookimpl
    def register_judges(self, register: Register) -> None:
        register("gen-keyword", KeywordJudge)
