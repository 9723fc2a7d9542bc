"""The generation core: labelled files, structured output with retries, companion files."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import yaml
from rubrictest_generators import ChecklistGenerator

from rubrictest import Case, ComponentContext, ComponentSpec
from rubrictest.generation import (
    CompanionEditedError,
    GeneratedCriterion,
    GenerationError,
    GenerationRequest,
    GeneratorContext,
    ModelClient,
    Provenance,
    check_companion,
    companion_path_for,
    extract_json,
    plan_companion,
    read_labelled,
    write_companion,
)
from rubrictest.suite import load_suite

from .rubrictest_gen_fakes import MODEL, write_jsonl


def test_read_labelled_accepts_three_forms(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "pairs.jsonl",
        [
            {"case": "a", "chosen": "good one", "rejected": "bad one"},
            {"case": "a", "output_1": "worse", "output_2": "better", "label": 2, "id": "llmbar-7"},
            {"case": "b", "response": "fine", "label": "good"},
            {"case": "b", "response": "meh", "label": 0},
        ],
    )
    pairs, singles = read_labelled(path, case_ids=["a", "b"])
    assert [(p.chosen, p.rejected, p.id) for p in pairs] == [
        ("good one", "bad one", "line-1"),
        ("better", "worse", "llmbar-7"),
    ]
    assert [(r.case_id, r.good) for r in singles] == [("b", True), ("b", False)]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"case": "a", "chosen": "x"}, "pairs.jsonl:2: missing field 'rejected'"),
        ({"chosen": "x", "rejected": "y"}, "pairs.jsonl:2: missing field 'case'"),
        ({"case": "a", "output_1": "x", "output_2": "y", "label": 3}, "pairs.jsonl:2: field 'label' must be 1 or 2"),
        ({"case": "a", "response": "x", "label": "great"}, "pairs.jsonl:2: field 'label' must be one of good, bad"),
        ({"case": "a", "response": "x"}, "pairs.jsonl:2: missing field 'label'"),
        ({"case": "zzz", "chosen": "x", "rejected": "y"}, "pairs.jsonl:2: unknown case 'zzz'"),
        ({"case": "a", "chosen": 5, "rejected": "y"}, "pairs.jsonl:2: field 'chosen' must be a string"),
        ({"case": "a", "text": "x"}, "pairs.jsonl:2: expected `chosen`/`rejected`"),
    ],
)
def test_read_labelled_errors_name_file_line_and_field(tmp_path: Path, row: dict[str, object], message: str) -> None:
    path = write_jsonl(tmp_path / "pairs.jsonl", [{"case": "a", "chosen": "x", "rejected": "y"}, row])
    with pytest.raises(GenerationError) as info:
        read_labelled(path, case_ids=["a"])
    assert message in str(info.value)


def test_extract_json_from_fences_and_prose() -> None:
    assert extract_json('```json\n{"a": 1}\n```') == {"a": 1}
    assert extract_json('Here you go: {"a": [1, 2]} hope it helps') == {"a": [1, 2]}
    with pytest.raises(ValueError, match="no JSON"):
        extract_json("I cannot help with that.")


def _context(tmp_path: Path, **kw: object) -> GeneratorContext:
    model = ModelClient(ComponentSpec.model_validate(MODEL), ComponentContext(tmp_path, tmp_path))
    return GeneratorContext(model=model, date="2026-11-22", **kw)  # type: ignore[arg-type]


def test_ask_json_retries_with_the_validation_error(tmp_path: Path, script) -> None:  # type: ignore[no-untyped-def]
    prompts = script(
        [
            "Sure! Here is a checklist.",
            '{"checklist": [{"q": "wrong key"}]}',
            '{"checklist": [{"question": "Does the response state `30 days`?"}]}',
        ]
    )
    gen = ChecklistGenerator(_context(tmp_path))
    out = asyncio.run(gen.generate(GenerationRequest(Case(suite="s", id="c", input="Explain the return window."))))
    assert [c.text for c in out] == ["Does the response state `30 days`?"]
    assert len(prompts) == 3
    assert "no JSON object" in prompts[1] and "'question' is a required property" in prompts[2]
    assert out[0].provenance == Provenance("checklist", MODEL, "1", "2026-11-22")


def test_ask_json_gives_up_with_a_clear_error(tmp_path: Path, script) -> None:  # type: ignore[no-untyped-def]
    script(lambda prompt: '{"checklist": []}')
    gen = ChecklistGenerator(_context(tmp_path, max_attempts=2))
    with pytest.raises(GenerationError) as info:
        asyncio.run(gen.generate(GenerationRequest(Case(suite="s", id="c", input="x"))))
    text = str(info.value)
    assert "checklist:c" in text and "after 2 attempt(s)" in text and "should be non-empty" in text


def _crit(text: str, generator: str = "checklist", **kw: object) -> GeneratedCriterion:
    return GeneratedCriterion(text=text, provenance=Provenance(generator, "m", "1", "2026-11-22"), **kw)  # type: ignore[arg-type]


def test_companion_round_trip_through_the_suite_loader(suite_file: Path, keyword_judge) -> None:  # type: ignore[no-untyped-def]
    path = companion_path_for(suite_file)
    assert path.name == "test_support.generated.yaml"
    plan = plan_companion(
        path,
        {
            "refund": [_crit("Is polite: says `thank`"), _crit("States `30 days`", points=2)],
            "shipping": [_crit("Gives `2 days`", must=True, kind="hard_rule")],
        },
        generator="checklist",
        provenance={"generator": "checklist"},
        existing_ids={"refund": ["polite"]},
    )
    assert plan.added == 3 and plan.old_text == "" and "+++ test_support.generated.yaml" in plan.diff()
    write_companion(plan)
    assert check_companion(path) is None
    suite_file.write_text(suite_file.read_text() + "include: [test_support.generated.yaml]\n")
    suite = load_suite(suite_file)
    crits = {r.case.id: r.case.criteria for r in suite.runs}
    assert [c.id for c in crits["refund"]] == ["checklist-is-polite-says-thank", "checklist-states-30-days", "polite"]
    assert crits["refund"][1].points == 2
    # the hash written in provenance is the one the loader computes (and stores with verdicts)
    written = yaml.safe_load(path.read_text())["cases"]["refund"]
    assert [c["meta"]["content_hash"] for c in written] == [c.hash for c in crits["refund"][:2]]
    assert crits["shipping"][0].must and crits["shipping"][0].tags == ("hard_rule",)
    data = path.read_text()
    assert "prompt_version: '1'" in data and "content_hash:" in data and "date: '2026-11-22'" in data


def test_companion_hash_detects_a_hand_edit(tmp_path: Path) -> None:
    path = tmp_path / "x.generated.yaml"
    write_companion(plan_companion(path, {"a": [_crit("One")]}, generator="checklist", provenance={}))
    # editing meta (provenance) is not a content change
    path.write_text(path.read_text().replace("model: m", "model: other"))
    assert check_companion(path) is None
    path.write_text(path.read_text().replace("text: One", "text: One, edited"))
    assert "edited by hand" in (check_companion(path) or "")
    before = path.read_text()
    with pytest.raises(CompanionEditedError, match="Not overwriting it"):
        plan_companion(path, {"a": [_crit("Two")]}, generator="checklist", provenance={})
    assert path.read_text() == before
    forced = plan_companion(path, {"a": [_crit("Two")]}, generator="checklist", provenance={}, force=True)
    assert forced.removed == 1 and "Two" in forced.new_text and "edited" not in forced.new_text


def test_regenerating_replaces_only_the_same_generator(tmp_path: Path) -> None:
    path = tmp_path / "x.generated.yaml"
    write_companion(plan_companion(path, {"a": [_crit("From checklist")]}, generator="checklist", provenance={}))
    write_companion(plan_companion(path, {"a": [_crit("From scoring", "scoring")]}, generator="scoring", provenance={}))
    plan = plan_companion(path, {"a": [_crit("New checklist")]}, generator="checklist", provenance={})
    assert plan.removed == 1
    assert "From scoring" in plan.new_text and "New checklist" in plan.new_text
    assert "From checklist" not in plan.new_text
    assert json.dumps(plan.ids) == '{"a": ["checklist-new-checklist"]}'
