"""``contrastive`` (OpenRubrics CRG, CDRRM): rubrics from preferred vs rejected responses.

For each case with labelled pairs (``--pairs``), the model contrasts the preferred and the
rejected responses and writes *hard rules* (explicit constraints of the instruction that the
rejected response breaks; written with ``must: true``) and *principles* (implicit qualities
that make the preferred response better; ordinary weighted criteria).

Preference-label consistency filter (OpenRubrics' rejection sampling, applied per
criterion): every proposed criterion is judged on both responses of every pair of the case,
and kept only if it reproduces the known preference -- it favours the chosen response on at
least one pair and the rejected one on none. Criteria that fail are dropped; the counts go
into each kept criterion's ``meta``. The filter needs a judge (``--judge`` or the suite's);
``--option filter=off`` skips it.

Options: ``max_items`` (default 8), ``max_pairs`` per prompt (default 3), ``filter`` (on/off).
"""

from __future__ import annotations

from typing import Any, ClassVar

from rubrictest.generation import (
    GeneratedCriterion,
    GenerationError,
    GenerationRequest,
    Generator,
    GeneratorContext,
    require_stats,
)

from .prompting import DATA_NOTE, render_case, tag

PROMPT = """You derive an evaluation rubric by contrasting responses to the same instruction.

In each example below the first response was PREFERRED over the second by a careful human judge.
Work out why, and write criteria that would reproduce that preference on new responses:
- "hard_rules": explicit constraints stated or clearly implied by the instruction (format, length,
  required content, forbidden content) that a response must satisfy. Only rules the instruction
  really imposes.
- "principles": implicit qualities (accuracy, relevance, completeness, reasoning, tone) that make a
  response better for THIS instruction. Each principle is specific, checkable in one response, and
  phrased so that meeting it is good.
Do not mention "response A/B" or the examples: the criteria must judge one response on its own.
At most {max_items} criteria in all. {data_note}

{case}

{examples}

Reply with only JSON: {{"hard_rules": [{{"text": "..."}}], "principles": [{{"text": "...", "points": 1}}]}}"""

_ITEMS = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["text"],
        "properties": {"text": {"type": "string", "minLength": 3}, "points": {"type": "number", "exclusiveMinimum": 0}},
    },
}


class ContrastiveGenerator(Generator):
    """OpenRubrics CRG: hard rules (must) and principles from preferred vs rejected responses."""

    name = "contrastive"
    prompt_version = "1"
    needs_pairs = True
    uses_judge = True
    reply_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "required": ["hard_rules", "principles"],
        "properties": {"hard_rules": _ITEMS, "principles": _ITEMS},
    }

    def __init__(self, context: GeneratorContext) -> None:
        super().__init__(context)
        self.filter = self.option("filter", "on").lower()
        if self.filter not in ("on", "off"):
            raise GenerationError(f"generator 'contrastive': option filter={self.filter!r} must be on or off")
        if self.filter == "on" and context.judge is None:
            raise GenerationError(
                "generator 'contrastive' filters criteria by preference-label consistency and "
                "needs a judge: give --judge PLUGIN:MODEL, set `judge:` in the suite, or pass "
                "--option filter=off"
            )

    async def generate(self, request: GenerationRequest) -> list[GeneratedCriterion]:
        if not request.pairs:
            return []
        max_items = self.int_option("max_items", 8, minimum=1)
        shown = request.pairs[: self.int_option("max_pairs", 3, minimum=1)]
        examples = "\n\n".join(
            f"Example {i}:\n{tag('response', p.chosen)}\n(preferred over)\n{tag('response', p.rejected)}"
            for i, p in enumerate(shown, 1)
        )
        prompt = PROMPT.format(
            max_items=max_items, data_note=DATA_NOTE, case=render_case(request.case), examples=examples
        )
        reply = await self.ask_json(prompt, request_id=f"contrastive:{request.case.id}")
        proposed = [self.criterion(item["text"], must=True, kind="hard_rule") for item in reply["hard_rules"]]
        proposed += [
            self.criterion(item["text"], points=float(item.get("points", 1)), kind="principle")
            for item in reply["principles"]
        ]
        proposed = list({c.text: c for c in proposed}.values())[:max_items]
        if self.filter == "off" or not proposed:
            return proposed
        require_stats("the preference-consistency filter")
        from .filters import judge_pairs, pair_deltas, preference_consistent

        assert self.context.judge is not None
        criteria = [c.to_criterion(f"c{i}") for i, c in enumerate(proposed)]
        chosen, rejected = await judge_pairs(self.context.judge, request.case, request.pairs, criteria)
        deltas = pair_deltas(chosen, rejected)
        kept: list[GeneratedCriterion] = []
        for j, crit in enumerate(proposed):
            if preference_consistent(deltas[:, j]):
                wins = int((deltas[:, j] > 0).sum())
                kept.append(
                    GeneratedCriterion(
                        text=crit.text,
                        provenance=crit.provenance,
                        points=crit.points,
                        must=crit.must,
                        kind=crit.kind,
                        meta={"filter": "preference-consistency", "pairs": len(request.pairs), "pairs_separated": wins},
                    )
                )
        return kept
