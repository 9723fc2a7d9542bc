"""BiGGen-Bench: one 1-5 score rubric per instance, a description per level."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from rubrictest_importers.biggen import find_file, parse_result, read_instances

from rubrictest import ImporterError

from ..helpers.paths import EXCERPTS
from ..helpers.shared_data import require_shared


def test_excerpt_reads() -> None:
    instances = read_instances(find_file(EXCERPTS / "biggen"))
    assert [i.id for i in instances] == ["planning_travel_plan_0", "reasoning_deductive_0"]
    assert all(len(i.levels) == 5 and i.criteria.endswith("?") for i in instances)
    assert instances[0].capability == "planning" and instances[0].task == "travel_plan"


def test_full_release() -> None:
    instances = read_instances(find_file(require_shared("prometheus-eval")))
    assert len(instances) == 765
    assert len(Counter(i.capability for i in instances)) == 9
    assert len({i.task for i in instances}) == 77
    # The released responses are placeholders: the file is the benchmark, not a model's results.
    assert {(i.response, i.response_model) for i in instances} == {("Hello World!", "sample-model")}


@pytest.mark.parametrize(
    ("feedback", "score"),
    [
        ("Feedback: The response is thorough. [RESULT] 4", 4),
        ("Feedback: weak.\n[RESULT] (2)", 2),
        ("[RESULT] 7", None),
        ("no result", None),
    ],
)
def test_parse_result(feedback: str, score: int | None) -> None:
    assert parse_result(feedback) == score


def test_bad_input(tmp_path: Path) -> None:
    with pytest.raises(ImporterError, match=f"{tmp_path}: not a BiGGen-Bench folder"):
        find_file(tmp_path)
    data = json.loads((EXCERPTS / "biggen/BiGGen-Bench/sample_responses.json").read_text(encoding="utf-8"))
    del data["reasoning_deductive_0"]["score_rubric"]["score3_description"]
    file = tmp_path / "sample_responses.json"
    file.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(
        ImporterError, match=f"{file}: instance 'reasoning_deductive_0': score_rubric: missing key 'score3_description'"
    ):
        read_instances(file)
    file.write_text(json.dumps(data)[:-40], encoding="utf-8")
    with pytest.raises(ImporterError, match=r"sample_responses\.json:1: invalid JSON: .*truncated\?"):
        read_instances(file)
