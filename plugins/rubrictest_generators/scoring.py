"""``scoring`` (SedarEval): primary and secondary scoring points, and deduction points.

SedarEval writes, per question, a self-adaptive rubric of *scoring points* (what a correct
answer must contain, primary ones worth more than secondary ones) and *deduction points*
(specific mistakes, each costing points). Deductions become criteria with negative
``points``: the criterion text describes the mistake, so it passes when the mistake is
*not* made. The case's reference answer, when present, is given to the model.

Options: ``max_items`` per list (default 8).
"""

from __future__ import annotations

from typing import Any, ClassVar

from rubrictest.generation import GeneratedCriterion, GenerationRequest, Generator

from .prompting import DATA_NOTE, render_case

PROMPT = """You write a grading rubric for one question, as an expert human grader would.

Read the question (and the reference answer, if given) and list:
- "primary": the key scoring points a correct answer must contain (the core result, the decisive
  steps); each with positive "points" (typically 2-5).
- "secondary": supporting points that make an answer better (justification, completeness, clarity);
  each with positive "points" (typically 1-2).
- "deductions": specific mistakes an answer to THIS question is likely to make (a wrong value, a
  missed case, an unsafe claim), each described as the mistake itself ("States that ...") with
  NEGATIVE "points" (typically -1 to -5).
Every point must be checkable in a response on its own. At most {max_items} per list. {data_note}

{case}

Reply with only JSON: {{"primary": [{{"text": "...", "points": 3}}], "secondary": [{{"text": "...", "points": 1}}],
"deductions": [{{"text": "...", "points": -2}}]}}"""

_POSITIVE = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["text", "points"],
        "properties": {"text": {"type": "string", "minLength": 3}, "points": {"type": "number", "exclusiveMinimum": 0}},
    },
}
_NEGATIVE = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["text", "points"],
        "properties": {"text": {"type": "string", "minLength": 3}, "points": {"type": "number", "exclusiveMaximum": 0}},
    },
}


class ScoringGenerator(Generator):
    """SedarEval: primary/secondary scoring points and deduction points with point values."""

    name = "scoring"
    prompt_version = "1"
    reply_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "required": ["primary", "secondary", "deductions"],
        "properties": {"primary": {**_POSITIVE, "minItems": 1}, "secondary": _POSITIVE, "deductions": _NEGATIVE},
    }

    async def generate(self, request: GenerationRequest) -> list[GeneratedCriterion]:
        max_items = self.int_option("max_items", 8, minimum=1)
        prompt = PROMPT.format(max_items=max_items, data_note=DATA_NOTE, case=render_case(request.case))
        reply = await self.ask_json(prompt, request_id=f"scoring:{request.case.id}")
        out: list[GeneratedCriterion] = []
        for kind, key in (("primary", "primary"), ("secondary", "secondary"), ("deduction", "deductions")):
            for item in reply[key][:max_items]:
                out.append(self.criterion(item["text"], points=float(item["points"]), kind=kind))
        return out
