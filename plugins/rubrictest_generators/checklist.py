"""``checklist`` (TICK), with STICK's refine step: YES/NO questions, one requirement each.

TICK ("TICKing All the Boxes") has a model decompose the instruction into a checklist of
YES/NO questions, each asking whether the response meets one specific requirement of the
instruction. Each question becomes one criterion (points 1, tag ``checklist``).

Refine (``--option refine=on``; STICK, Self-TICK, refines the checklist after judging with
it): for a case with labelled pairs (``--pairs``), the checklist is judged on both responses
of every pair, and the model is shown, for each question, how it judged them (how often it
favoured the preferred response, the rejected one, or neither). It proposes *missing*
questions -- requirements that explain a preference the checklist does not -- and rewrites
of *ambiguous* ones -- questions that favoured a rejected response or never told the two
apart. Every proposal goes through the preference-label consistency filter
(:func:`~rubrictest_generators.filters.preference_consistent`, as ``contrastive`` uses it):
judged on every pair, kept only if it favours the preferred response at least once and the
rejected one never. A kept missing question is added; a kept rewrite replaces its question.
The first checklist's questions are never dropped by the filter: refine only adds or
sharpens. Cases without pairs keep the first checklist.

Options: ``max_items`` (default 10), ``refine`` (off/on; on needs a judge and ``--pairs``),
``max_pairs`` shown to the model when refining (default 3).
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

PROMPT = """You write evaluation checklists for instructions given to an AI assistant.

Decompose the instruction below into a checklist of YES/NO questions. Each question asks whether a
response meets ONE specific requirement of the instruction (explicit or clearly implied). A question
must be answerable from the response alone, phrased so that YES means the requirement is met, and
must not overlap another question. Write at most {max_items} questions; fewer is better when the
instruction is simple. {data_note}

{case}

Reply with only JSON: {{"checklist": [{{"question": "Does the response ...?"}}]}}"""

REFINE_PROMPT = """You refine an evaluation checklist after judging with it.

The checklist below was used to judge pairs of responses to the instruction; in every pair a careful
human preferred the first response. For each question you see how it judged the pairs. A good
checklist favours the preferred response and never the rejected one.
- "missing": YES/NO questions for requirements of the instruction that the checklist misses and that
  explain why the preferred responses are better.
- "ambiguous": questions of the checklist that favoured a rejected response, or never told the two
  apart, each with a sharper "rewrite" that a judge would answer the same way every time.
Each question asks about ONE requirement, is answerable from one response alone, and YES means the
requirement is met. Do not mention the examples. At most {max_items} proposals in all. {data_note}

{case}

Checklist and how it judged {n_pairs} pair(s):
{checklist}

{examples}

Reply with only JSON: {{"missing": [{{"question": "Does the response ...?"}}],
"ambiguous": [{{"question": "<a question of the checklist, verbatim>", "rewrite": "Does the response ...?"}}]}}"""

_QUESTION = {"type": "string", "minLength": 3}
REFINE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["missing", "ambiguous"],
    "properties": {
        "missing": {
            "type": "array",
            "items": {"type": "object", "required": ["question"], "properties": {"question": _QUESTION}},
        },
        "ambiguous": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["question", "rewrite"],
                "properties": {"question": _QUESTION, "rewrite": _QUESTION},
            },
        },
    },
}


class ChecklistGenerator(Generator):
    """TICK: YES/NO checklist questions, one per requirement of the instruction; with
    ``refine=on``, STICK's refine step over labelled pairs."""

    name = "checklist"
    prompt_version = "1"
    reply_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "required": ["checklist"],
        "properties": {
            "checklist": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "required": ["question"],
                    "properties": {"question": {"type": "string", "minLength": 3}},
                },
            }
        },
    }

    def __init__(self, context: GeneratorContext) -> None:
        super().__init__(context)
        self.refine = self.option("refine", "off").lower()
        if self.refine not in ("on", "off"):
            raise GenerationError(f"generator 'checklist': option refine={self.refine!r} must be on or off")
        if self.refine == "on" and context.judge is None:
            raise GenerationError(
                "generator 'checklist' with refine=on judges its checklist on labelled pairs: give "
                "--pairs FILE and a judge (--judge PLUGIN:MODEL, or `judge:` in the suite)"
            )

    async def generate(self, request: GenerationRequest) -> list[GeneratedCriterion]:
        max_items = self.int_option("max_items", 10, minimum=1)
        prompt = PROMPT.format(max_items=max_items, data_note=DATA_NOTE, case=render_case(request.case))
        reply = await self.ask_json(prompt, request_id=f"checklist:{request.case.id}")
        questions = [item["question"] for item in reply["checklist"]][:max_items]
        checklist = [self.criterion(q, kind="checklist") for q in dict.fromkeys(questions)]
        if self.refine == "off" or not request.pairs:
            return checklist
        return await self._refine(request, checklist, max_items)

    async def _refine(
        self, request: GenerationRequest, checklist: list[GeneratedCriterion], max_items: int
    ) -> list[GeneratedCriterion]:
        require_stats("the checklist's refine step")
        import numpy as np

        from .filters import judge_pairs, pair_deltas, preference_consistent

        judge = self.context.judge
        assert judge is not None
        pairs = request.pairs
        chosen, rejected = await judge_pairs(
            judge, request.case, pairs, [c.to_criterion(f"q{i}") for i, c in enumerate(checklist)]
        )
        deltas = pair_deltas(chosen, rejected)
        lines = []
        for j, c in enumerate(checklist):
            d = deltas[:, j]
            lines.append(
                f"{j + 1}. {c.text} -- favoured the preferred response in {int((d > 0).sum())}, the "
                f"rejected one in {int((d < 0).sum())}, neither in {int((d == 0).sum())}"
            )
        shown = pairs[: self.int_option("max_pairs", 3, minimum=1)]
        examples = "\n\n".join(
            f"Example {i}:\n{tag('response', p.chosen)}\n(preferred over)\n{tag('response', p.rejected)}"
            for i, p in enumerate(shown, 1)
        )
        prompt = REFINE_PROMPT.format(
            max_items=max_items,
            data_note=DATA_NOTE,
            case=render_case(request.case),
            n_pairs=len(pairs),
            checklist="\n".join(lines),
            examples=examples,
        )
        reply = await self.ask_json(prompt, request_id=f"checklist-refine:{request.case.id}", schema=REFINE_SCHEMA)
        known = {c.text for c in checklist}
        by_text = {c.text: i for i, c in enumerate(checklist)}
        proposals: list[tuple[str, int | None]] = []  # (question, the checklist item it rewrites)
        for item in reply["missing"]:
            proposals.append((item["question"], None))
        for item in reply["ambiguous"]:
            if item["question"] in by_text:  # a rewrite of a question the checklist does not have is dropped
                proposals.append((item["rewrite"], by_text[item["question"]]))
        proposals = [(" ".join(q.split()), i) for q, i in proposals]
        proposals = [(q, i) for q, i in dict.fromkeys(proposals) if q not in known][:max_items]
        if not proposals:
            return checklist
        p_chosen, p_rejected = await judge_pairs(
            judge, request.case, pairs, [self.criterion(q).to_criterion(f"r{k}") for k, (q, _) in enumerate(proposals)]
        )
        p_deltas = pair_deltas(p_chosen, p_rejected)
        out = list(checklist)
        rewritten: set[int] = set()
        added: list[GeneratedCriterion] = []
        for k, (question, rewrites) in enumerate(proposals):
            d = p_deltas[:, k]
            if not preference_consistent(d) or (rewrites is not None and rewrites in rewritten):
                continue  # fails the filter, or its question was rewritten already (the first rewrite wins)
            meta: dict[str, Any] = {
                "refine": "missing" if rewrites is None else "rewrite",
                "filter": "preference-consistency",
                "pairs": len(pairs),
                "pairs_separated": int(np.sum(d > 0)),
            }
            if rewrites is None:
                added.append(self.criterion(question, kind="checklist", **meta))
            else:
                rewritten.add(rewrites)
                out[rewrites] = self.criterion(question, kind="checklist", replaces=checklist[rewrites].text, **meta)
        return out + added
