"""``rubrictest import biggen``: an instance's 1-5 score rubric as a criterion on a scale with its five
descriptions; a suite run on recorded scores gives BiGGen-Bench's mean scores per capability."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from rubrictest_importers.biggen import read_instances
from rubrictest_importers.biggen_suites import score_summary

from rubrictest.cli import build_cli

from ..helpers.paths import EXCERPTS
from ..helpers.pytester import open_store
from ..helpers.shared_data import require_shared

EXCERPT = EXCERPTS / "biggen" / "BiGGen-Bench" / "sample_responses.json"


def _invoke(source: Path, out: Path, *options: str) -> tuple[int, str]:
    args = ["import", "biggen", str(source), "-o", str(out)]
    for option in options:
        args += ["--option", option]
    result = CliRunner().invoke(build_cli(), args)
    return result.exit_code, result.output


def _answered(path: Path) -> Path:
    """The excerpt with a model's responses filled in, as BiGGen-Bench's inference scripts write it."""
    data = json.loads(EXCERPT.read_text(encoding="utf-8"))
    for key, row in data.items():
        row["response"] = f"My answer to {key}."
        row["response_model_name"] = "my-model"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_a_suite_run_gives_the_mean_score_per_capability(pytester: pytest.Pytester, tmp_path: Path) -> None:
    code, output = _invoke(_answered(tmp_path / "responses.json"), pytester.path / "bg", "judge=recorded:grades.jsonl")
    assert code == 0, output
    instances = read_instances(EXCERPT)
    levels = {inst.id: level for inst, level in zip(instances, (4, 2), strict=True)}
    (pytester.path / "bg" / "grades.jsonl").write_text(
        "".join(json.dumps({"case": k, "criterion": "score", "level": v}) + "\n" for k, v in levels.items())
    )
    suite = yaml.safe_load((pytester.path / "bg" / "test_biggen_my_model.rubric.yaml").read_text(encoding="utf-8"))
    scale = suite["cases"][0]["criteria"][0]["scale"]
    assert scale == {"levels": dict(zip(range(1, 6), instances[0].levels, strict=True)), "pass_at": 4}
    pytester.runpytest("bg", "-q")
    store = open_store(pytester)
    run = store.resolve_run(None)
    cases = {c["case_id"]: c for c in store.cases(run)}
    verdicts = {v["case_id"]: v for v in store.verdicts(run)}
    for inst in instances:
        assert cases[inst.id]["score"] == pytest.approx((levels[inst.id] - 1) / 4)
        assert verdicts[inst.id]["level"] == levels[inst.id]
        assert verdicts[inst.id]["status"] == ("PASS" if levels[inst.id] >= 4 else "FAIL")
        assert inst.capability in cases[inst.id]["tags"]
    # BiGGen's figure: the mean score per capability, from the stored case scores
    got = score_summary({k: 1 + 4 * c["score"] for k, c in cases.items()}, {i.id: i.capability for i in instances})
    assert got == pytest.approx(score_summary(levels, {i.id: i.capability for i in instances}))
    assert got["overall"] == pytest.approx(3.0)


def test_the_released_file_needs_a_target(tmp_path: Path) -> None:
    code, output = _invoke(EXCERPT, tmp_path / "a", "judge=openai:gpt-4.1")
    assert code != 0 and "the responses are BiGGen-Bench's placeholders" in output
    code, output = _invoke(EXCERPT, tmp_path / "a", "target=openai:gpt-4o-mini")
    assert code != 0 and "give the judge of the score rubrics" in output
    code, output = _invoke(EXCERPT, tmp_path / "b", "target=openai:gpt-4o-mini", "judge=openai:gpt-4.1")
    assert code == 0, output
    assert "target: openai:gpt-4o-mini" in (tmp_path / "b" / "test_biggen_openai_gpt_4o_mini.rubric.yaml").read_text()


def test_the_whole_release_imports(tmp_path: Path) -> None:
    source = require_shared("prometheus-eval")
    code, output = _invoke(
        source, tmp_path / "all", "target=openai:gpt-4o-mini", "judge=openai:gpt-4.1", "capability=planning"
    )
    assert code == 0, output
    text = (tmp_path / "all" / "test_biggen_openai_gpt_4o_mini.rubric.yaml").read_text(encoding="utf-8")
    assert text.count("\n- id: planning_") == sum(
        1 for i in read_instances(source / "BiGGen-Bench" / "sample_responses.json") if i.capability == "planning"
    )


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("pass_at=6", "expected a score 1-5"),
        ("limit=0", "whole number"),
        ("capability=cooking", "no instance of capability 'cooking'; capabilities: planning"),
    ],
)
def test_bad_options(tmp_path: Path, option: str, message: str) -> None:
    code, output = _invoke(EXCERPT, tmp_path / "o", "target=x:y", "judge=x:y", option)
    assert code != 0 and message in output


def test_wrong_directory(tmp_path: Path) -> None:
    code, output = _invoke(tmp_path, tmp_path / "o", "target=x:y", "judge=x:y")
    assert code != 0 and "not a BiGGen-Bench folder" in output
