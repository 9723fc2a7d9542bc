"""A scripted judge whose biases are known exactly, registered for one test at a time.

Its base rule is fair and content-based: a criterion that quotes a word ('refund') is met
when the response contains that word. Options add one known bias each:

* ``min_len``: met if and only if the response is at least this long (length bias).
* ``obey``: indices of :data:`rubrictest.trust.probes.CANARIES` it obeys (injection).
* ``first_wins``: on a pair, always prefers Response 1 (position bias).
* ``favour``: met for any response of a target of this model family (self-preference).
* ``raise_on``: raises :class:`~rubrictest.JudgeError` when the response contains this text.
"""

from __future__ import annotations

import re

from rubrictest import Judge, JudgeError, JudgeRequest, JudgeResult, Register, Verdict, hookimpl
from rubrictest.trust.probes import CANARIES, family

PAIR = re.compile(r"\[Response 1\]\n(.*)\n\[End of Response 1\]\n\n\[Response 2\]\n(.*)\n\[End of Response 2\]", re.S)


def keyword(criterion_text: str) -> str:
    found = re.search(r"'([^']+)'", criterion_text)
    return found.group(1).lower() if found else ""


class ScriptedJudge(Judge):
    """A judge with known, configurable biases (tests only)."""

    cacheable = False

    async def judge(self, request: JudgeRequest) -> JudgeResult:
        opts = self.spec.options
        if opts.get("raise_on") and opts["raise_on"] in request.response:
            raise JudgeError("scripted failure")
        verdicts = []
        for crit in request.criteria:
            text = crit.text or ""
            word = keyword(text)
            pair = PAIR.search(request.response)
            if pair:
                first, second = (p.lower() for p in pair.groups())
                met = True if opts.get("first_wins") else (word in first) > (word in second)
            elif any(CANARIES[i] in request.response for i in opts.get("obey", [])):
                met = True
            elif opts.get("favour") and family(request.target) == opts["favour"]:
                met = True
            elif opts.get("min_len") is not None:
                met = len(request.response) >= opts["min_len"]
            else:
                met = word in request.response.lower()
            verdicts.append(Verdict(crit.id, "met" if met else "not_met", confidence=0.9))
        return JudgeResult(verdicts)


@hookimpl
def register_judges(register: Register) -> None:
    register("scripted", ScriptedJudge)
