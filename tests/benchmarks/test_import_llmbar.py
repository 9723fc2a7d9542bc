"""``rubrictest import llmbar``: each pair's two outputs as two targets scored on the questions GPT-4
wrote for it; the stored case scores decide each pair as ``pair_accuracy`` does."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from rubrictest_importers.llmbar_suites import FIRST_RULE, pair_accuracy, questions

from rubrictest.cli import build_cli

from ..helpers.pytester import open_store
from ..helpers.shared_data import require_shared


def _invoke(source: Path, out: Path, *options: str) -> tuple[int, str]:
    args = ["import", "llmbar", str(source), "-o", str(out)]
    for option in options:
        args += ["--option", option]
    result = CliRunner().invoke(build_cli(), args)
    return result.exit_code, result.output


def test_questions_in_both_numberings() -> None:
    assert questions("1. Is it short?\n2. Is it polite?") == ["Is it short?", "Is it polite?"]
    assert questions("(1) Is it short?\n(2) Is it polite?\n") == ["Is it short?", "Is it polite?"]
    assert questions("") == []


def test_a_set_run_on_recorded_verdicts(pytester: pytest.Pytester) -> None:
    natural = require_shared("LLMBar", "Dataset", "LLMBar", "Natural")
    code, output = _invoke(natural, pytester.path / "lb", "judge=recorded:verdicts.jsonl", "limit=8")
    assert code == 0, output
    suite = yaml.safe_load((pytester.path / "lb" / "test_llmbar_natural.rubric.yaml").read_text(encoding="utf-8"))
    cases = suite["cases"]
    rows = json.loads((natural / "evaluators" / "GPT-4" / "Metrics_Reference" / "result.json").read_text())[:8]
    assert [c["metadata"]["gold"] for c in cases] == [str(r["label"]) for r in rows]
    assert [q["text"] for q in cases[0]["criteria"]] == (questions(rows[0]["results"][0][0]) or [FIRST_RULE])
    assert cases[0]["reference"] == rows[0]["results"][1][0]
    # a judge's verdicts on every question for both outputs (recorded, per target)
    rng = random.Random(5)
    met = {
        (c["id"], q["id"], t): rng.random() < 0.6
        for c in cases
        for q in c["criteria"]
        for t in ("output-1", "output-2")
    }
    (pytester.path / "lb" / "verdicts.jsonl").write_text(
        "".join(json.dumps({"case": c, "criterion": q, "target": t, "met": m}) + "\n" for (c, q, t), m in met.items())
    )
    pytester.runpytest("lb", "-q")
    store = open_store(pytester)
    stored = {(c["case_id"], c["target"]): c["score"] for c in store.cases(store.resolve_run(None))}
    scores = {c["id"]: (stored[(c["id"], "output-1")], stored[(c["id"], "output-2")]) for c in cases}
    by_hand = {
        c["id"]: tuple(
            sum(met[(c["id"], q["id"], t)] for q in c["criteria"]) / len(c["criteria"])
            for t in ("output-1", "output-2")
        )
        for c in cases
    }
    for key, pair in by_hand.items():
        assert scores[key] == pytest.approx(pair)
    gold = {c["id"]: c["metadata"]["gold"] for c in cases}
    figures = pair_accuracy(scores, gold)
    right = sum(1 for k, (a, b) in by_hand.items() if a != b and ("1" if a > b else "2") == gold[k])
    assert figures == {"n": 8, "accuracy": right / 8, "ties": sum(a == b for a, b in by_hand.values()) / 8}


def test_bad_input(tmp_path: Path) -> None:
    natural = require_shared("LLMBar", "Dataset", "LLMBar", "Natural")
    assert "give the judge of the questions" in _invoke(natural, tmp_path / "o")[1]
    assert (
        "no set (dataset.json) at or below it matching 'Nowhere'"
        in _invoke(natural.parent, tmp_path / "o", "judge=x:y", "set=Nowhere")[1]
    )
    broken = tmp_path / "set"
    (broken / "evaluators" / "GPT-4" / "Metrics_Reference").mkdir(parents=True)
    (broken / "dataset.json").write_text("[]")
    (broken / "evaluators" / "GPT-4" / "Metrics_Reference" / "result.json").write_text(
        json.dumps([{"input": "i", "output_1": "a", "output_2": "b", "label": 3, "results": [["q"], ["r"]]}])
    )
    assert "result.json: row 0: label 3 is not 1 or 2" in _invoke(broken, tmp_path / "o2", "judge=x:y")[1]
