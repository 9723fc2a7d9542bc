"""``decompose`` (RRD): recursive decompose–filter with correlation-aware weights.

Rethinking Rubric Generation (RRD) observes that generated rubrics lack coverage, conflate
dimensions, point the wrong way and repeat themselves. For each case with labelled pairs:

1. **Propose** a coarse rubric (a few broad criteria) from the instruction.
2. **Judge** every criterion on both responses of every pair (pass values: 1 satisfied,
   0 not), giving per-pair deltas chosen - rejected.
3. **Filter and decompose**, level by level:

   * delta sum < 0: *misaligned* (favours the rejected responses) -- dropped;
   * delta sum > 0: *separates* the responses in the right direction -- kept;
   * delta sum = 0: too coarse to separate them -- the model splits it into finer, atomic
     criteria, which are judged at the next level (at most ``max_depth`` levels; what still
     does not separate at the last level is dropped).

4. **Drop redundant** criteria: near-identical text (difflib ratio >= ``text_similarity`` on
   normalised words) or verdicts correlated >= ``redundancy`` over all judged responses; the
   earlier (coarser) criterion is kept.
5. **Weight** the survivors with
   :func:`~rubrictest_generators.filters.correlation_aware_weights`:
   :math:`w_j \\propto 1 / \\sum_k \\max(0, \\rho_{jk})`, scaled to a mean of 1, written as
   ``points`` -- a cluster of correlated criteria counts about as much as one criterion.

Options: ``max_depth`` (default 2), ``max_children`` (default 4), ``max_items`` for the
coarse rubric (default 5), ``redundancy`` (default 0.9), ``text_similarity`` (default 0.9).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from rubrictest import Criterion
from rubrictest.generation import GeneratedCriterion, GenerationRequest, Generator, require_stats

from .prompting import DATA_NOTE, criteria_schema, numbered, render_case, tag

if TYPE_CHECKING:
    pass

COARSE_PROMPT = """You write an evaluation rubric for responses to the instruction below.

Write {max_items} or fewer BROAD criteria that together cover what a good response needs (content,
correctness, instruction following, presentation). Each is phrased so that meeting it is good.
{existing}{data_note}

{case}

Reply with only JSON: {{"criteria": [{{"text": "..."}}]}}"""

SPLIT_PROMPT = """A rubric criterion is too coarse: the responses below all meet it or all miss it, yet the
first response of each example was preferred by a careful human judge.

Criterion: {criterion}

Split it into at most {max_children} finer, ATOMIC criteria -- each checks one specific aspect covered by
the criterion, is checkable in one response on its own, is phrased so that meeting it is good, and
would tell the preferred responses from the others. {data_note}

{case}

{examples}

Reply with only JSON: {{"criteria": [{{"text": "..."}}]}}"""


@dataclass
class _Node:
    text: str
    depth: int
    parent: str | None


class DecomposeGenerator(Generator):
    """RRD: recursive decompose-filter; drops misaligned and redundant criteria; correlation-aware weights."""

    name = "decompose"
    prompt_version = "1"
    needs_pairs = True
    needs_judge = True
    reply_schema: ClassVar[dict[str, Any]] = criteria_schema()

    async def generate(self, request: GenerationRequest) -> list[GeneratedCriterion]:
        if not request.pairs:
            return []
        assert self.context.judge is not None
        require_stats("generator 'decompose'")
        import numpy as np

        from .filters import correlation_aware_weights

        dropped: Counter[str] = Counter()
        accepted = await self._decompose(request, dropped)
        kept = self._deduplicate(accepted, dropped)
        if not kept:
            return []
        weights = correlation_aware_weights(np.column_stack([v for _, v in kept]))
        stats = {k: v for k, v in dropped.items() if v}
        out = []
        for (node, _), w in zip(kept, weights, strict=True):
            meta: dict[str, Any] = {"depth": node.depth, "filter": {"pairs": len(request.pairs), "dropped": stats}}
            if node.parent:
                meta["parent"] = node.parent
            out.append(self.criterion(node.text, points=round(float(w), 3), kind="decomposed", **meta))
        return out

    async def _decompose(self, request: GenerationRequest, dropped: Counter[str]) -> list[tuple[_Node, Any]]:
        """Coarse criteria, then each one that does not separate the pairs split further, down to
        ``max_depth``; returns the separating criteria with their pass values on the pairs."""
        import numpy as np

        from .filters import judge_pairs, misaligned, pair_deltas, separates

        assert self.context.judge is not None
        case = request.case
        max_depth = self.int_option("max_depth", 2)
        max_children = self.int_option("max_children", 4, minimum=2)
        existing = [c.text for c in case.criteria if c.text]
        hint = f"The suite already checks these; do not repeat them:\n{numbered(existing)}\n" if existing else ""
        reply = await self.ask_json(
            COARSE_PROMPT.format(
                max_items=self.int_option("max_items", 5, minimum=1),
                existing=hint,
                data_note=DATA_NOTE,
                case=render_case(case),
            ),
            request_id=f"decompose:{case.id}:coarse",
        )
        frontier = [_Node(item["text"], 0, None) for item in reply["criteria"]]
        examples = "\n\n".join(
            f"Example {i}:\n{tag('response', p.chosen)}\n(preferred over)\n{tag('response', p.rejected)}"
            for i, p in enumerate(request.pairs[:3], 1)
        )
        accepted: list[tuple[_Node, Any]] = []
        for depth in range(max_depth + 1):
            if not frontier:
                break
            criteria = [Criterion(id=f"d{depth}-{i}", text=n.text) for i, n in enumerate(frontier)]
            chosen, rejected = await judge_pairs(self.context.judge, case, request.pairs, criteria)
            deltas = pair_deltas(chosen, rejected)
            next_frontier: list[_Node] = []
            for j, node in enumerate(frontier):
                if misaligned(deltas[:, j]):
                    dropped["misaligned"] += 1
                elif separates(deltas[:, j]):
                    accepted.append((node, np.concatenate([chosen[:, j], rejected[:, j]])))
                elif depth < max_depth:
                    split = await self.ask_json(
                        SPLIT_PROMPT.format(
                            criterion=node.text,
                            max_children=max_children,
                            data_note=DATA_NOTE,
                            case=render_case(case),
                            examples=examples,
                        ),
                        request_id=f"decompose:{case.id}:split:{depth}-{j}",
                    )
                    next_frontier += [
                        _Node(item["text"], depth + 1, node.text) for item in split["criteria"][:max_children]
                    ]
                else:
                    dropped["not separating"] += 1
            frontier = next_frontier
        return accepted

    def _deduplicate(self, accepted: list[tuple[_Node, Any]], dropped: Counter[str]) -> list[tuple[_Node, Any]]:
        """Drop criteria whose text nearly repeats a kept one, then those whose verdicts do."""
        import numpy as np

        from .filters import correlated_duplicates, near_duplicate_text

        similarity = self.float_option("text_similarity", 0.9)
        kept: list[tuple[_Node, Any]] = []
        for node, values in accepted:
            if any(near_duplicate_text(node.text, k.text, similarity) for k, _ in kept):
                dropped["duplicate text"] += 1
            else:
                kept.append((node, values))
        if kept:
            twins = correlated_duplicates(np.column_stack([v for _, v in kept]), self.float_option("redundancy", 0.9))
            kept = [kv for kv, twin in zip(kept, twins, strict=True) if twin is None]
            dropped["correlated verdicts"] += sum(t is not None for t in twins)
        return kept
