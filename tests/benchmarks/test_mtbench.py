"""MT-Bench (FastChat llm_judge data): questions, reference answers, judge prompts and FastChat's parsers."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from rubrictest_importers.mtbench import (
    NEED_REF_CATS,
    judge_prompt_for,
    parse_pairwise,
    parse_rating,
    read_questions,
    read_release,
)

from rubrictest import ImporterError

from ..helpers.paths import EXCERPTS
from ..helpers.shared_data import require_shared


def test_excerpt_reads() -> None:
    release = read_release(EXCERPTS / "mtbench")
    assert [(q.id, q.category) for q in release.questions] == [(81, "writing"), (111, "math"), (131, "extraction")]
    assert all(len(q.turns) == 2 for q in release.questions)
    assert set(release.references) == {111} and len(release.references[111]) == 2
    math, writing = release.questions[1], release.questions[0]
    assert judge_prompt_for(math, release.prompts).name == "single-math-v1"
    assert judge_prompt_for(writing, release.prompts, turn=2).name == "single-v1-multi-turn"
    assert judge_prompt_for(writing, release.prompts, pairwise=True).name == "pair-v2"
    assert judge_prompt_for(math, release.prompts, turn=2, pairwise=True).name == "pair-math-v1-multi-turn"
    assert "{ref_answer_1}" in judge_prompt_for(math, release.prompts).template


def test_full_release() -> None:
    release = read_release(require_shared("FastChat"))
    assert len(release.questions) == 80
    assert Counter(q.category for q in release.questions) == {
        c: 10 for c in ("writing", "roleplay", "reasoning", "math", "coding", "extraction", "stem", "humanities")
    }
    by_id = {q.id: q for q in release.questions}
    assert len(release.references) == 30
    assert {by_id[i].category for i in release.references} <= set(NEED_REF_CATS)
    assert len(release.prompts) == 8
    assert {p.output_format for p in release.prompts.values()} == {"[[rating]]", "[[A]]"}


@pytest.mark.parametrize(
    ("judgment", "rating"),
    [
        ("The answer is fine. Rating: [[8]]", 8.0),
        ("Rating: [[7.5]] and later [[2]]", 7.5),
        ("Rating: [9]", 9.0),
        ("No rating here", None),
    ],
)
def test_parse_rating(judgment: str, rating: float | None) -> None:
    assert parse_rating(judgment) == rating


def test_parse_pairwise() -> None:
    assert [parse_pairwise(j) for j in ("[[A]]", "so [[B]]", "[[C]]", "A is better")] == ["A", "B", "tie", None]


def test_bad_input(tmp_path: Path) -> None:
    with pytest.raises(ImporterError, match=f"{tmp_path}: not an MT-Bench folder"):
        read_release(tmp_path)
    file = tmp_path / "question.jsonl"
    file.write_text(json.dumps({"question_id": 1, "category": "math", "turns": []}) + "\n", encoding="utf-8")
    with pytest.raises(ImporterError, match=f"{file}:1: turns: expected a non-empty list of strings"):
        read_questions(file)
    file.write_text(json.dumps({"question_id": "1", "category": "math", "turns": ["q"]}) + "\n", encoding="utf-8")
    with pytest.raises(ImporterError, match=f"{file}:1: question_id: expected an integer"):
        read_questions(file)
    (tmp_path / "mt_bench").mkdir()
    (tmp_path / "mt_bench" / "question.jsonl").write_text(file.read_text(encoding="utf-8").replace('"1"', "1"))
    with pytest.raises(ImporterError, match="judge_prompts.jsonl not found beside mt_bench/"):
        read_release(tmp_path)
