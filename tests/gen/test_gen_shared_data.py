"""Importers of the public rubric sets in ../shared/data, and the metrics on their real data.

Skipped with the reason when ../shared/data is not next to the repository (failed under CI=true).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from rubrictest_generators.bm25 import BM25
from rubrictest_generators.library import (
    hellobench_verdicts,
    import_biggen,
    import_deep_research,
    import_hellobench,
    import_llmbar,
    llmbar_pairs,
    load_library,
)

from rubrictest.cli.commands.rubric_quality import command as rubric_quality
from rubrictest.generation import read_labelled
from rubrictest.generation._quality import saturation, verdict_correlation

from .rubrictest_gen_fakes import write_jsonl


def test_importers_read_every_rubric_set(shared_data: Path) -> None:
    hello = import_hellobench(str(shared_data / "HelloBench"))
    assert len(hello) == 200 and {len(e.criteria) for e in hello} == {7}
    llmbar = import_llmbar(str(shared_data / "LLMBar"))
    assert len(llmbar) == 100 and all(e.criteria and e.criteria[0].text.endswith("?") for e in llmbar)
    biggen = import_biggen(str(shared_data / "prometheus-eval" / "BiGGen-Bench"))
    assert len(biggen) == 765 and all(len(e.criteria) == 1 for e in biggen)
    drb = import_deep_research(str(shared_data / "deep_research_bench"))
    assert len(drb) == 100 and sum(len(e.criteria) for e in drb) == 2517
    # weights sum to 1 at both levels, so the points of a task sum to 1
    assert all(abs(sum(c.points for c in e.criteria) - 1) < 0.01 for e in drb)
    assert len(load_library("hellobench", Path.cwd())) == 200  # the default folder: ../shared/data
    assert load_library(f"biggen:{shared_data / 'prometheus-eval' / 'BiGGen-Bench'}", Path.cwd())[0].source == "biggen"


def test_bm25_retrieves_rubrics_of_the_same_task(shared_data: Path) -> None:
    """Leave-one-out on BiGGen-Bench: how often the nearest other prompt belongs to the same task."""
    entries = import_biggen(str(shared_data / "prometheus-eval" / "BiGGen-Bench"))
    index = BM25([e.prompt for e in entries])
    same = 0
    for i, entry in enumerate(entries):
        nearest = next((j for j, _ in index.top(entry.prompt, 2) if j != i), None)
        same += nearest is not None and entries[nearest].id.rsplit("_", 1)[0] == entry.id.rsplit("_", 1)[0]
    # 77 tasks of about 10 instances: chance is about 1.2%; BM25 finds the same task for 366 of 765
    assert same == 366


def test_hellobench_recorded_verdicts_as_a_quality_fixture(shared_data: Path) -> None:
    _, rows = hellobench_verdicts(str(shared_data / "HelloBench"))
    scores = np.array(rows)
    assert scores.shape == (200, 7)
    strict = (scores >= 1.0).astype(float)
    lenient = (scores >= 0.75).astype(float)
    # counted independently: full-score items per checklist position
    assert [int(c) for c in strict.sum(axis=0)] == [199, 187, 131, 97, 197, 73, 34]
    assert [saturation(lenient[:, j]) for j in range(7)].count("saturated") == 5
    corr = verdict_correlation(strict)
    assert np.allclose(corr, corr.T, equal_nan=True)
    assert corr[5, 6] == pytest.approx(0.60, abs=0.01)  # "human-like" and "flawless" move together


def test_rubric_quality_on_llmbar_gold_pairs(shared_data: Path, tmp_path: Path) -> None:
    """Deterministic criteria measured on LLMBar Natural's 100 gold-labelled pairs."""
    rows = llmbar_pairs(str(shared_data / "LLMBar"))
    suite = {
        "version": 1,
        "suite": "llmbar-natural",
        "target": "static",
        "rubrics": {
            "surface": [
                {"id": "at-least-30-words", "check": "regex", "with": {"pattern": r"(\S+\s+){29}\S+"}},
                {"id": "has-a-list", "check": "regex", "with": {"pattern": r"^\s*([-*]|\d+[.)])\s", "flags": "m"}},
                {
                    "id": "no-refusal",
                    "check": "regex",
                    "with": {"pattern": r"^(?!.*\b(I cannot|I can't|As an AI)\b)", "flags": "s"},
                },
            ]
        },
        "cases": [{"id": r["case"], "input": r["input"], "rubric": ["surface"]} for r in rows],
    }
    suite_path = tmp_path / "test_llmbar.rubric.yaml"
    suite_path.write_text(yaml.safe_dump(suite, sort_keys=False), encoding="utf-8")
    pairs = write_jsonl(
        tmp_path / "pairs.jsonl", [{k: r[k] for k in ("case", "output_1", "output_2", "label")} for r in rows]
    )
    assert len(read_labelled(pairs)[0]) == 100
    result = CliRunner().invoke(rubric_quality, [str(suite_path), "--pairs", str(pairs), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["responses"] == 200 and data["pairs"] == 100
    by = {c["name"]: c for c in data["criteria"]}
    assert {c["judged"] for c in data["criteria"]} == {200}
    for c in data["criteria"]:
        assert c["auroc"] is None or 0 <= c["auroc"] <= 1
        assert c["separated"] + c["ties"] == 100
    # recorded in docs/generators.md: the figures this data gives
    assert by["at-least-30-words"]["separated"] > 0


def test_generate_adopts_the_nearest_real_rubric_without_a_model(shared_data: Path, tmp_path: Path) -> None:
    from rubrictest.cli.commands.generate import command as generate

    suite = tmp_path / "test_trips.rubric.yaml"
    suite.write_text(
        yaml.safe_dump(
            {
                "version": 1,
                "judge": "openai:gpt-4.1",
                "cases": [
                    {
                        "id": "rome",
                        "input": "Design a travel plan for a tourist visiting Rome for 3 days. Transportation: "
                        "walk. Must have: Colosseum, gelato.",
                        "output": "Day 1 ...",
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    library = f"biggen:{shared_data / 'prometheus-eval' / 'BiGGen-Bench'}"
    result = CliRunner().invoke(generate, [str(suite), "-g", "retrieve", "-o", "adopt=true", "--library", library])
    assert result.exit_code == 0, result.output
    companion = yaml.safe_load(suite.with_name("test_trips.generated.yaml").read_text())
    [crit] = companion["cases"]["rome"]
    assert crit["meta"]["exemplars"][0]["id"].startswith("planning_travel_plan_")
    assert crit["meta"]["model"] is None and crit["meta"]["generator"] == "retrieve"
    assert "tourist" in crit["text"]  # adopted verbatim: the Paris rubric, which is why a model should adapt it
