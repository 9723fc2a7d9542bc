"""Each generator with scripted model replies and the keyword judge."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from rubrictest_generators import (
    ContrastiveGenerator,
    DecomposeGenerator,
    RetrieveGenerator,
    ScoringGenerator,
)

from rubrictest import Case, ComponentContext, ComponentSpec, Criterion
from rubrictest.generation import (
    GenerationError,
    GenerationRequest,
    GeneratorContext,
    JudgeClient,
    LabelledPair,
    ModelClient,
)

from .rubrictest_gen_fakes import MODEL

CASE = Case(suite="s", id="refund", input="Can I return shoes after 40 days?", reference="Within 30 days only.")
PAIRS = (
    LabelledPair("refund", "Sorry, returns close after 30 days. Thank you!", "Sure, any time, thanks.", "p1"),
    LabelledPair("refund", "Our window is 30 days, thank you for asking.", "Yes, no problem, thank you.", "p2"),
)


def _context(tmp_path: Path, judge: bool = True, **kw: object) -> GeneratorContext:
    ctx = ComponentContext(tmp_path, tmp_path)
    model = ModelClient(ComponentSpec.model_validate(MODEL), ctx)
    judge_client = JudgeClient(ComponentSpec(plugin="gen-keyword"), ctx) if judge else None
    return GeneratorContext(model=model, judge=judge_client, date="2026-11-22", **kw)  # type: ignore[arg-type]


def test_scoring_writes_points_and_negative_deductions(tmp_path: Path, script) -> None:  # type: ignore[no-untyped-def]
    prompts = script(
        [
            # a deduction with positive points violates the schema: asked again
            json.dumps(
                {
                    "primary": [{"text": "States `30 days`", "points": 3}],
                    "secondary": [],
                    "deductions": [{"text": "Promises a refund", "points": 2}],
                }
            ),
            json.dumps(
                {
                    "primary": [{"text": "States `30 days`", "points": 3}],
                    "secondary": [{"text": "Explains why", "points": 1}],
                    "deductions": [{"text": "Promises a `refund`", "points": -2}],
                }
            ),
        ]
    )
    out = asyncio.run(ScoringGenerator(_context(tmp_path, judge=False)).generate(GenerationRequest(CASE)))
    assert [(c.kind, c.points) for c in out] == [("primary", 3), ("secondary", 1), ("deduction", -2)]
    assert "<reference>" in prompts[0] and "Within 30 days only." in prompts[0]
    assert "deductions/0/points" in prompts[1]
    deduction = out[2].to_criterion()
    assert deduction.passes("not_met") and not deduction.passes("met")


def test_contrastive_keeps_only_preference_consistent_criteria(
    tmp_path: Path,
    script,  # type: ignore[no-untyped-def]
    keyword_judge,
) -> None:
    prompts = script(
        [
            json.dumps(
                {
                    "hard_rules": [{"text": "States the `30 days` window"}],
                    "principles": [
                        {"text": "Says `thank`", "points": 1},  # met by both: never separates
                        {"text": "Says `any time`", "points": 1},  # favours the rejected response
                        {"text": "Apologises: `sorry`", "points": 2},
                    ],
                }
            )
        ]
    )  # separates p1, ties p2
    out = asyncio.run(ContrastiveGenerator(_context(tmp_path)).generate(GenerationRequest(CASE, PAIRS)))
    assert [(c.text, c.must, c.kind, c.points) for c in out] == [
        ("States the `30 days` window", True, "hard_rule", 1.0),
        ("Apologises: `sorry`", False, "principle", 2.0),
    ]
    assert out[0].meta == {"filter": "preference-consistency", "pairs": 2, "pairs_separated": 2}
    assert "(preferred over)" in prompts[0] and "Sure, any time, thanks." in prompts[0]
    # every proposal was judged on both responses of both pairs, in one request per response
    assert len(keyword_judge.calls) == 4 and {len(r.criteria) for r in keyword_judge.calls} == {4}


def test_contrastive_requires_a_judge_unless_the_filter_is_off(tmp_path: Path, script) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(GenerationError, match="needs a judge"):
        ContrastiveGenerator(_context(tmp_path, judge=False))
    script([json.dumps({"hard_rules": [], "principles": [{"text": "Says `thank`"}]})])
    gen = ContrastiveGenerator(_context(tmp_path, judge=False, options={"filter": "off"}))
    assert [c.text for c in asyncio.run(gen.generate(GenerationRequest(CASE, PAIRS)))] == ["Says `thank`"]


def test_decompose_splits_filters_and_weights(tmp_path: Path, script, keyword_judge) -> None:  # type: ignore[no-untyped-def]
    def reply(prompt: str) -> str:
        if "too coarse" in prompt:
            assert "Criterion: Is helpful" in prompt
            return json.dumps(
                {
                    "criteria": [
                        {"text": "Names the `30 days` window"},  # separates both pairs
                        {"text": "Names the 30-day `30 days` window"},  # same verdicts as the one above
                        {"text": "Says `no problem`"},  # favours the rejected response
                        {"text": "Says `sorry`"},
                    ]
                }
            )  # separates p1 only
        return json.dumps(
            {
                "criteria": [
                    {"text": "Is helpful"},  # met by neither: too coarse
                    {"text": "Says `any time`"},
                ]
            }
        )  # misaligned at once

    prompts = script(reply)
    gen = DecomposeGenerator(_context(tmp_path, options={"max_depth": "1"}))
    out = asyncio.run(gen.generate(GenerationRequest(CASE, PAIRS)))
    assert [c.text for c in out] == ["Names the `30 days` window", "Says `sorry`"]
    # verdicts over the 4 responses: [1,1,0,0] and [1,0,0,0]: phi = 1/sqrt(3); equal weights
    assert [c.points for c in out] == [1.0, 1.0]
    assert out[0].meta["parent"] == "Is helpful" and out[0].meta["depth"] == 1
    assert out[0].meta["filter"]["dropped"] == {"misaligned": 2, "correlated verdicts": 1}
    assert len(prompts) == 2


def test_decompose_weights_down_a_correlated_cluster(tmp_path: Path, script, keyword_judge) -> None:  # type: ignore[no-untyped-def]
    pairs = (
        LabelledPair("refund", "alpha beta", "none", "p1"),
        LabelledPair("refund", "alpha beta", "none", "p2"),
        LabelledPair("refund", "alpha", "beta", "p3"),
        LabelledPair("refund", "delta", "none", "p4"),
    )
    script(
        [json.dumps({"criteria": [{"text": "Has `alpha`"}, {"text": "Mentions `beta` too"}, {"text": "Has `delta`"}]})]
    )
    out = asyncio.run(DecomposeGenerator(_context(tmp_path)).generate(GenerationRequest(CASE, pairs)))
    assert [c.text for c in out] == ["Has `alpha`", "Mentions `beta` too", "Has `delta`"]
    # over the 8 responses (chosen then rejected): alpha 11100000, beta 11000010, delta 00010000.
    # phi(alpha, beta) = 7/15; delta is anticorrelated with both. Raw weights 15/22, 15/22, 1,
    # scaled to sum 3: 0.865, 0.865, 1.269.
    assert [c.points for c in out] == [0.865, 0.865, 1.269]


def test_retrieve_uses_the_most_similar_rubric_as_exemplar(tmp_path: Path, script) -> None:  # type: ignore[no-untyped-def]
    library = tmp_path / "lib.jsonl"
    library.write_text(
        "\n".join(
            json.dumps(r)
            for r in [
                {
                    "id": "returns",
                    "prompt": "Can I return boots after 60 days?",
                    "criteria": ["States the return window"],
                },
                {"id": "pasta", "prompt": "How do I cook pasta?", "criteria": ["Gives a cooking time"]},
            ]
        )
        + "\n"
    )
    other = Case(
        suite="s",
        id="shipping",
        input="How long does shipping take?",
        criteria=(Criterion(id="days", text="Gives a number of days"),),
    )
    prompts = script([json.dumps({"criteria": [{"text": "States `30 days`", "must": True}]})])
    gen = RetrieveGenerator(
        _context(tmp_path, judge=False, options={"library": [str(library)], "k": "1"}, suite_cases=[CASE, other])
    )
    req = GenerationRequest(CASE)
    asyncio.run(gen.prepare([req]))
    out = asyncio.run(gen.generate(req))
    assert out[0].must and out[0].kind == "retrieved"
    assert [e["id"] for e in out[0].meta["exemplars"]] == ["returns"]
    assert "States the return window" in prompts[0] and "cooking time" not in prompts[0]


def test_retrieve_without_any_library_is_a_clear_error(tmp_path: Path) -> None:
    gen = RetrieveGenerator(_context(tmp_path, judge=False, suite_cases=[CASE]))
    with pytest.raises(GenerationError, match="nothing to retrieve from"):
        asyncio.run(gen.prepare([GenerationRequest(CASE)]))


def test_retrieve_adopt_needs_no_model(tmp_path: Path) -> None:
    library = tmp_path / "lib.jsonl"
    library.write_text(
        json.dumps(
            {
                "id": "r",
                "prompt": "Can I return boots after 60 days?",
                "criteria": ["States the return window", {"text": "Blames the customer", "points": -2}],
            }
        )
        + "\n"
    )
    with pytest.raises(GenerationError, match="needs a model"):
        RetrieveGenerator(GeneratorContext(options={"library": [str(library)]}))
    gen = RetrieveGenerator(GeneratorContext(options={"library": [str(library)], "adopt": "true"}))
    asyncio.run(gen.prepare([GenerationRequest(CASE)]))
    out = asyncio.run(gen.generate(GenerationRequest(CASE)))
    assert [(c.text, c.points, c.provenance.model) for c in out] == [
        ("States the return window", 1.0, None),
        ("Blames the customer", -2.0, None),
    ]


def test_a_judge_that_gives_no_verdict_is_a_clear_error(tmp_path: Path, script) -> None:  # type: ignore[no-untyped-def]
    recorded = tmp_path / "labels.jsonl"
    recorded.write_text(json.dumps({"case": "other", "criterion": "x", "met": True}) + "\n")
    ctx = _context(tmp_path, judge=False)
    ctx.judge = JudgeClient(ComponentSpec(plugin="recorded", model=str(recorded)), ComponentContext(tmp_path, tmp_path))
    script([json.dumps({"hard_rules": [{"text": "States `30 days`"}], "principles": []})])
    with pytest.raises(GenerationError, match="gave no verdict to filter with: no recorded verdict for case 'refund'"):
        asyncio.run(ContrastiveGenerator(ctx).generate(GenerationRequest(CASE, PAIRS)))


def test_checklist_refine_adds_missing_and_sharpens_ambiguous_questions_that_pass_the_filter(  # type: ignore[no-untyped-def]
    tmp_path: Path, script, keyword_judge
) -> None:
    from rubrictest_generators import ChecklistGenerator

    prompts = script(
        [
            json.dumps(
                {
                    "checklist": [
                        {"question": "Does it give the `30 days` window?"},  # separates both pairs
                        {"question": "Is it polite: `thank`?"},  # met by every response
                        {"question": "Is it helpful: `any time`?"},
                    ]
                }
            ),  # favours the rejected
            json.dumps(
                {
                    "missing": [
                        {"question": "Does it apologise: `Sorry`?"},  # separates p1, ties p2: kept
                        {"question": "Does it say `no problem`?"},
                    ],  # favours the rejected: dropped
                    "ambiguous": [
                        {
                            "question": "Is it polite: `thank`?",
                            "rewrite": "Does it thank the customer: `thank`?",
                        },  # ties both pairs: dropped
                        {
                            "question": "Is it helpful: `any time`?",
                            "rewrite": "Does it state the return `window`?",
                        },  # separates p2 only: kept
                        {"question": "Not on the checklist", "rewrite": "Says `30`"},
                    ],
                }
            ),
        ]
    )  # no such question
    gen = ChecklistGenerator(_context(tmp_path, options={"refine": "on"}))
    out = asyncio.run(gen.generate(GenerationRequest(CASE, PAIRS)))
    assert [c.text for c in out] == [
        "Does it give the `30 days` window?",
        "Is it polite: `thank`?",
        "Does it state the return `window`?",
        "Does it apologise: `Sorry`?",
    ]
    assert out[2].meta == {
        "refine": "rewrite",
        "filter": "preference-consistency",
        "pairs": 2,
        "pairs_separated": 1,
        "replaces": "Is it helpful: `any time`?",
    }
    assert out[3].meta["refine"] == "missing" and out[3].kind == "checklist"
    # the refine prompt shows how each question judged the pairs, and the pairs themselves
    assert (
        "1. Does it give the `30 days` window? -- favoured the preferred response in 2, the rejected one in 0"
        in prompts[1]
    )
    assert "3. Is it helpful: `any time`? -- favoured the preferred response in 0, the rejected one in 1" in prompts[1]
    assert "(preferred over)" in prompts[1]
    # the checklist judged once per response (4), the proposals once per response (4)
    assert len(keyword_judge.calls) == 8


def test_checklist_refine_needs_a_judge_and_leaves_cases_without_pairs_alone(  # type: ignore[no-untyped-def]
    tmp_path: Path, script, keyword_judge
) -> None:
    from rubrictest_generators import ChecklistGenerator

    with pytest.raises(GenerationError, match="refine=on judges its checklist on labelled pairs: give --pairs FILE"):
        ChecklistGenerator(_context(tmp_path, judge=False, options={"refine": "on"}))
    with pytest.raises(GenerationError, match="refine='maybe' must be on or off"):
        ChecklistGenerator(_context(tmp_path, options={"refine": "maybe"}))
    script([json.dumps({"checklist": [{"question": "Does it give the `30 days` window?"}]})])
    gen = ChecklistGenerator(_context(tmp_path, options={"refine": "on"}))
    out = asyncio.run(gen.generate(GenerationRequest(CASE)))
    assert [c.text for c in out] == ["Does it give the `30 days` window?"] and keyword_judge.calls == []
