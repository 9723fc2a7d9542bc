"""``checklist`` (TICK): an instruction becomes YES/NO questions, one requirement each.

TICK ("TICKing All the Boxes") has a model decompose the instruction into a checklist of
YES/NO questions, each asking whether the response meets one specific requirement of the
instruction. Each question becomes one criterion (points 1, tag ``checklist``).

Options: ``max_items`` (default 10).
"""

from __future__ import annotations

from typing import Any, ClassVar

from rubrictest.generation import GeneratedCriterion, GenerationRequest, Generator

from .prompting import DATA_NOTE, render_case

PROMPT = """You write evaluation checklists for instructions given to an AI assistant.

Decompose the instruction below into a checklist of YES/NO questions. Each question asks whether a
response meets ONE specific requirement of the instruction (explicit or clearly implied). A question
must be answerable from the response alone, phrased so that YES means the requirement is met, and
must not overlap another question. Write at most {max_items} questions; fewer is better when the
instruction is simple. {data_note}

{case}

Reply with only JSON: {{"checklist": [{{"question": "Does the response ...?"}}]}}"""


class ChecklistGenerator(Generator):
    """TICK: YES/NO checklist questions, one per requirement of the instruction."""

    name = "checklist"
    prompt_version = "1"
    reply_schema: ClassVar[dict[str, Any]] = {
        "type": "object", "required": ["checklist"],
        "properties": {"checklist": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["question"],
            "properties": {"question": {"type": "string", "minLength": 3}}}}}}

    async def generate(self, request: GenerationRequest) -> list[GeneratedCriterion]:
        max_items = self.int_option("max_items", 10, minimum=1)
        prompt = PROMPT.format(max_items=max_items, data_note=DATA_NOTE, case=render_case(request.case))
        reply = await self.ask_json(prompt, request_id=f"checklist:{request.case.id}")
        questions = [item["question"] for item in reply["checklist"]][:max_items]
        return [self.criterion(q, kind="checklist") for q in dict.fromkeys(questions)]
