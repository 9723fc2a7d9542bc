"""DeepResearch Bench (RACE): criteria, the scoring of its code, and the published figures.

Published figures: ``results/race/claude-3-7-sonnet-latest/race_result.txt`` (Overall 0.4218,
four dimensions), the means of the per-task rows of ``raw_results.jsonl`` beside it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rubrictest_importers.deepresearch import (
    DIMENSIONS,
    Criterion,
    Task,
    race_scores,
    read_criteria,
    read_race_rows,
    read_release,
    summarize,
    within_dimension_range,
)

from rubrictest import ImporterError

from ..helpers.paths import EXCERPTS

MODEL = "claude-3-7-sonnet-latest"


def test_excerpt_reads() -> None:
    release = read_release(EXCERPTS / "deepresearch")
    assert [t.id for t in release.tasks] == [1, 51]
    for task in release.tasks:
        assert sum(task.dimension_weights.values()) == pytest.approx(1)
        for dim in DIMENSIONS:
            assert sum(c.weight for c in task.criteria[dim]) == pytest.approx(1)
    assert [r.id for r in release.results[MODEL]] == [1, 51]
    assert release.summaries == {}


def _task(dimension_weights: dict[str, float], weights: dict[str, list[float]]) -> Task:
    return Task(
        1,
        "p",
        dimension_weights,
        {d: tuple(Criterion(f"{d}{i}", "", w) for i, w in enumerate(weights[d])) for d in DIMENSIONS},
    )


def test_race_scores_follow_their_code() -> None:
    """Dimension = weighted mean of criterion scores; total = Σ dimension weight × dimension;
    overall = target total / (target total + reference total)."""
    task = _task(
        {"comprehensiveness": 0.4, "insight": 0.3, "instruction_following": 0.2, "readability": 0.1},
        {d: [0.25, 0.75] for d in DIMENSIONS},
    )
    target = {"comprehensiveness": [8, 4], "insight": [2, 2], "instruction_following": [10, 10], "readability": [0, 0]}
    reference = {d: [5, 5] for d in DIMENSIONS}
    scores = race_scores(task, target, reference)
    t = {"comprehensiveness": 5.0, "insight": 2.0, "instruction_following": 10.0, "readability": 0.0}
    assert scores["comprehensiveness"] == pytest.approx(5 / 10)
    assert scores["insight"] == pytest.approx(2 / 7)
    assert scores["instruction_following"] == pytest.approx(10 / 15)
    assert scores["readability"] == 0.0
    total_t = sum(task.dimension_weights[d] * t[d] for d in DIMENSIONS)
    assert scores["overall"] == pytest.approx(total_t / (total_t + 5.0))
    # ... which is not the dimension-weighted mean of the relative dimension scores.
    naive = sum(task.dimension_weights[d] * scores[d] for d in DIMENSIONS)
    assert abs(naive - scores["overall"]) > 0.01


def test_both_reports_at_zero_score_zero() -> None:
    task = _task({d: 0.25 for d in DIMENSIONS}, {d: [1.0] for d in DIMENSIONS})
    zero = {d: [0.0] for d in DIMENSIONS}
    assert race_scores(task, zero, zero) == {**{d: 0.0 for d in DIMENSIONS}, "overall": 0.0}
    with pytest.raises(ValueError, match="2 scores for 1 criteria"):
        race_scores(task, {**zero, "insight": [1.0, 2.0]}, zero)


def test_published_overall_reproduced(drb_dir: Path) -> None:
    """(c) The published figures are the means of the per-task scores, to the 4 decimals printed."""
    release = read_release(drb_dir)
    published = release.summaries[MODEL]
    assert set(published) == {*DIMENSIONS, "overall"}
    computed = summarize(release.results[MODEL])
    for key, value in published.items():
        assert round(computed[key], 4) == pytest.approx(value, abs=1e-12), key
    assert len(release.results[MODEL]) == 100 and len(release.tasks) == 100


def test_per_task_overall_is_consistent_with_its_dimensions(drb_dir: Path) -> None:
    """(c) Every task's overall score is what RACE's formula can give for its dimension scores and
    weights: a mean of the dimension scores weighted by dimension weight × (target + reference),
    hence between the smallest and largest of them. The naive Σ weight × dimension score is not
    RACE's overall: it misses the published 0.4218."""
    release = read_release(drb_dir)
    tasks = {t.id: t for t in release.tasks}
    rows = release.results[MODEL]
    assert all(within_dimension_range(row, tasks[row.id]) for row in rows)
    naive = [sum(tasks[r.id].dimension_weights[d] * r.dimensions[d] for d in DIMENSIONS) for r in rows]
    assert round(sum(naive) / len(naive), 4) != release.summaries[MODEL]["overall"]
    assert max(abs(n - r.overall) for n, r in zip(naive, rows, strict=True)) > 1e-3


def test_criteria_of_every_task(drb_dir: Path) -> None:
    tasks = read_criteria(drb_dir / "data" / "criteria_data" / "criteria.jsonl")
    assert sum(len(t.criteria[d]) for t in tasks for d in DIMENSIONS) == 2517


# ----------------------------------------------------------------------------- bad input


def _line(**overrides: object) -> str:
    base: dict[str, object] = {
        "id": 7,
        "prompt": "p",
        "dimension_weight": {d: 0.25 for d in DIMENSIONS},
        "criterions": {d: [{"criterion": "c", "explanation": "e", "weight": 1.0}] for d in DIMENSIONS},
    }
    return json.dumps({**base, **overrides})


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (_line(dimension_weight={d: 0.3 for d in DIMENSIONS}), ":2: dimension_weight: weights sum to 1.2, expected 1"),
        (_line(dimension_weight={"depth": 1.0}), ":2: dimension_weight: expected the dimensions"),
        (
            _line(criterions={d: [{"criterion": "c", "explanation": "e", "weight": 0.5}] for d in DIMENSIONS}),
            ":2: criterions.comprehensiveness: weights sum to 0.5",
        ),
        (
            _line(criterions={d: [{"explanation": "e", "weight": 1.0}] for d in DIMENSIONS}),
            ":2: criterions.comprehensiveness[0]: missing key 'criterion'",
        ),
        (_line(id="seven"), ":2: id: expected an integer"),
        (
            '{"id": 7, "prompt": "cut sh',
            ":2: invalid JSON: Unterminated string starting at (the last line is cut short: truncated file?)",
        ),
    ],
)
def test_bad_criteria_name_file_line_and_key(tmp_path: Path, line: str, message: str) -> None:
    file = tmp_path / "criteria.jsonl"
    file.write_text(_line() + "\n" + line + ("" if line.endswith("sh") else "\n"), encoding="utf-8")
    with pytest.raises(ImporterError) as info:
        read_criteria(file)
    assert str(info.value).startswith(f"{file}:2: ")
    assert message in str(info.value)


def test_wrong_directory_and_mismatched_results(tmp_path: Path) -> None:
    with pytest.raises(
        ImporterError, match=f"{tmp_path}: not a DeepResearch Bench folder: data/criteria_data/criteria.jsonl not found"
    ):
        read_release(tmp_path)
    rows = tmp_path / "raw_results.jsonl"
    rows.write_text('{"id": 1, "prompt": "p", "comprehensiveness": 0.5}\n', encoding="utf-8")
    with pytest.raises(ImporterError, match=f"{rows}:1: missing key 'insight'"):
        read_race_rows(rows)
