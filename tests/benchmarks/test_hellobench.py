"""HelloBench: checklists, recorded GPT-4o judgements, and HelloEval's checklist scores.

HelloEval (the authors' evaluator, as contributed to OpenCompass): per instance, the checklist
item scores dotted with the subcategory's regression weights (summing to 100), rescaled
``(x - 75) * 4``; the task's figure is the mean. The release holds no table of these figures
for GPT-4o, so the test recomputes them from the raw file on a separate path.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest
from rubrictest_importers.hellobench import (
    LEVELS,
    checklist_score,
    hello_eval,
    load_weights,
    read_instances,
    read_judgements,
    read_release,
    rescale,
)

from rubrictest import ImporterError

from ..helpers.paths import EXCERPTS

MODEL = "gpt4o_0806"


def test_weights_are_helloevals() -> None:
    weights = load_weights()
    assert len(weights) == 38
    assert all(sum(w) == pytest.approx(100) and min(w) > 0 for w in weights.values())
    assert {len(weights[c]) for c in ("Science", "Tech", "travel", "music", "book")} == {7}


def test_rescale_anchors() -> None:
    w = load_weights()["Science"]
    assert rescale(checklist_score([1.0] * 7, w)) == pytest.approx(100)
    assert rescale(checklist_score([0.75] * 7, w)) == pytest.approx(0)
    with pytest.raises(ValueError, match="6 item scores for 7 weights"):
        checklist_score([1.0] * 6, w)


def test_excerpt_reads_and_scores() -> None:
    release = read_release(EXCERPTS / "hellobench")
    instances = release.instances["open_ended_qa"]
    judged = release.judgements[(MODEL, "open_ended_qa")]
    assert [i.id for i in instances] == [j.id for j in judged] == [f"open_ended_qa_00{n}" for n in range(3)]
    scores = hello_eval(instances, judged)
    assert set(scores) == {i.id for i in instances} and all(-300 <= s <= 100 for s in scores.values())


def _independent(root: Path) -> dict[str, float]:
    """HelloEval straight from the raw files: category from the data, scores sorted by checklist_id."""
    weights = json.loads(
        (Path(__file__).parents[2] / "plugins/rubrictest_importers/data/hellobench_weights.json").read_text(
            encoding="utf-8"
        )
    )["weights"]
    data = root / "data/main_data/open_ended_qa.jsonl"
    category = {r["id"]: r["category"] for r in map(json.loads, data.read_text(encoding="utf-8").splitlines())}
    out = {}
    results = root / f"results/judgements/main_exp/{MODEL}/open_ended_qa_results.jsonl"
    for row in map(json.loads, results.read_text(encoding="utf-8").splitlines()):
        items = {e["checklist_id"]: e["evaluation_score"] for e in row["checklist_wise_evaluation"]}
        w = weights[category[row["id"]]]
        out[row["id"]] = (sum(w[i] * items[i] for i in range(len(w))) - 75) * 4
    return out


def test_gpt4o_checklist_scores(hellobench_dir: Path) -> None:
    """(d) The 1,400 recorded item verdicts on GPT-4o's 200 open-ended QA answers, scored as
    HelloBench does, per instance and on average."""
    release = read_release(hellobench_dir)
    instances = release.instances["open_ended_qa"]
    judged = release.judgements[(MODEL, "open_ended_qa")]
    assert len(instances) == len(judged) == 200
    assert sum(len(j.scores) for j in judged) == 1400
    assert {s for j in judged for s in j.scores} <= set(LEVELS)
    scores = hello_eval(instances, judged)
    independent = _independent(hellobench_dir)
    assert scores.keys() == independent.keys()
    assert max(abs(scores[k] - independent[k]) for k in scores) < 1e-9
    # The weights matter: the unweighted mean of the items, rescaled, is another figure.
    unweighted = rescale(100 * statistics.mean(s for j in judged for s in j.scores))
    assert abs(statistics.mean(scores.values()) - unweighted) > 1


# ----------------------------------------------------------------------------- bad input


def _result(items: list[dict[str, object]]) -> str:
    return json.dumps({"id": "q0", "instruction": "i", "response": "r", "checklist_wise_evaluation": items})


@pytest.mark.parametrize(
    ("items", "message"),
    [
        (
            [{"checklist_id": 0, "evaluation_score": 0.6}],
            "checklist_wise_evaluation[0]: evaluation_score 0.6 is not one of",
        ),
        ([{"checklist_id": 1, "evaluation_score": 1}], "checklist ids are [1], expected 0..n-1"),
        (
            [{"checklist_id": "0", "evaluation_score": 1}],
            "checklist_wise_evaluation[0]: checklist_id: expected an integer",
        ),
        ([{"checklist_id": 0}], "checklist_wise_evaluation[0]: missing key 'evaluation_score'"),
    ],
)
def test_bad_judgements_name_file_line_and_item(tmp_path: Path, items: list[dict[str, object]], message: str) -> None:
    file = tmp_path / "open_ended_qa_results.jsonl"
    file.write_text(
        _result([{"checklist_id": 0, "evaluation_score": 1.0}]) + "\n" + _result(items) + "\n", encoding="utf-8"
    )
    with pytest.raises(ImporterError) as info:
        read_judgements(file)
    assert str(info.value).startswith(f"{file}:2: ")
    assert message in str(info.value)


def test_mismatches_and_wrong_folder(tmp_path: Path) -> None:
    data = tmp_path / "open_ended_qa.jsonl"
    data.write_text(
        json.dumps(
            {"id": "q0", "category": "Science", "instruction": "i", "checklists": ["a", "b"], "num_checklist": 3}
        )
        + "\n",
        encoding="utf-8",
    )
    with pytest.raises(ImporterError, match=f"{data}:1: num_checklist is 3 but checklists has 2"):
        read_instances(data)
    with pytest.raises(ImporterError, match=f"{tmp_path}: not a HelloBench folder"):
        read_release(tmp_path)
    instances = read_instances(EXCERPTS / "hellobench/data/main_data/open_ended_qa.jsonl")
    judged = read_judgements(EXCERPTS / f"hellobench/results/judgements/main_exp/{MODEL}/open_ended_qa_results.jsonl")
    with pytest.raises(ImporterError, match="no HelloEval weights for subcategory 'Science'"):
        hello_eval(instances, judged, weights={})
    with pytest.raises(ImporterError, match="judgement 'open_ended_qa_000': no such instance"):
        hello_eval(instances[1:], judged)
