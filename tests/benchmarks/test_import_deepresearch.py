"""``rubrictest import deepresearch`` and the ``relative`` aggregator: a suite run scores every task
exactly as RACE's code does (``race_scores``), target / (target + reference)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from click.testing import CliRunner
from rubrictest_aggregators.relative import RelativeAggregator
from rubrictest_importers.deepresearch import DIMENSIONS, Task, race_scores, read_release

from rubrictest import Case, ConfigError, Criterion, RubricNode, Verdict
from rubrictest.cli import build_cli

from ..helpers.paths import EXCERPTS
from ..helpers.pytester import open_store

SOURCE = EXCERPTS / "deepresearch"


def _reports(path: Path, tasks: list[Task], text: str) -> Path:
    path.write_text(
        "".join(
            json.dumps({"id": str(t.id), "prompt": t.prompt, "article": f"{text} {t.id}"}, ensure_ascii=False) + "\n"
            for t in tasks
        ),
        encoding="utf-8",
    )
    return path


def _import(out: Path, *options: str) -> None:
    args = ["import", "deepresearch", str(SOURCE), "-o", str(out)]
    for option in options:
        args += ["--option", option]
    result = CliRunner().invoke(build_cli(), args)
    assert result.exit_code == 0, result.output


def _scores(tasks: list[Task], seed: int) -> dict[tuple[int, str], dict[str, list[int]]]:
    """Judge scores 0-10 of every criterion, for both reports (RACE's judge's answers)."""
    rng = random.Random(seed)
    return {
        (t.id, side): {d: [rng.randint(0, 10) for _ in t.criteria[d]] for d in DIMENSIONS}
        for t in tasks
        for side in ("target", "reference")
    }


def test_a_suite_run_gives_races_scores(pytester: pytest.Pytester, tmp_path: Path) -> None:
    tasks = read_release(SOURCE).tasks
    _import(
        pytester.path / "drb",
        f"articles={_reports(tmp_path / 'a.jsonl', tasks, 'Report')}",
        f"reference={_reports(tmp_path / 'r.jsonl', tasks, 'Reference')}",
        "judge=recorded:grades.jsonl",
    )
    scores = _scores(tasks, seed=13)
    grades = [
        {"case": f"task-{tid}", "criterion": f"{side}.{d}.c{i + 1:02d}", "level": level}
        for (tid, side), dims in scores.items()
        for d in DIMENSIONS
        for i, level in enumerate(dims[d])
    ]
    (pytester.path / "drb" / "grades.jsonl").write_text("".join(json.dumps(g) + "\n" for g in grades))
    pytester.runpytest("drb", "-q")
    store = open_store(pytester)
    run = store.resolve_run(None)
    cases = {c["case_id"]: c for c in store.cases(run)}
    nodes = {(n["case_id"], n["node_id"]): n for n in store.nodes(run)}
    for task in tasks:
        race = race_scores(task, scores[(task.id, "target")], scores[(task.id, "reference")])
        case = cases[f"task-{task.id}"]
        assert case["score"] == pytest.approx(race["overall"], abs=1e-12)
        assert case["outcome"] == ("passed" if race["overall"] >= 0.5 else "failed")
        for dim in DIMENSIONS:
            assert nodes[(case["case_id"], f"target.{dim}")]["score"] == pytest.approx(race[dim], abs=1e-12)
    assert cases["task-1"]["tags"] == ["zh"] and cases["task-51"]["tags"] == ["en"]


def _case(target: dict[str, float], reference: dict[str, float]) -> tuple[Case, list[tuple[Criterion, Verdict]]]:
    """A two-sided tree with leaves on 0/1 (met = 1) and the given weights."""
    nodes, crits, results = [], [], []
    for side, weights in (("target", target), ("reference", reference)):
        nodes.append(RubricNode(side, children=tuple(f"{side}.{k}" for k in weights)))
        for key, weight in weights.items():
            crit = Criterion(id=f"{side}.{key}", text=key, points=weight, parent=side)
            crits.append(crit)
            results.append((crit, Verdict(crit.id, "met" if key.startswith("yes") else "not_met")))
    return Case(
        suite="s", id="c", input="q", criteria=tuple(crits), nodes=tuple(nodes), top_level=("target", "reference")
    ), results


def test_relative_by_hand() -> None:
    case, results = _case({"yes1": 3, "no1": 1}, {"yes1": 3, "no1": 1})
    # target 3/4, reference 3/4: as good as the reference
    assert RelativeAggregator().aggregate(case, results, 0.5).score == pytest.approx(0.5)
    results = [(c, Verdict(c.id, "not_met") if c.id == "reference.yes1" else v) for c, v in results]
    got = RelativeAggregator().aggregate(case, results, 0.5)
    assert got.score == pytest.approx(0.75 / (0.75 + 0.0)) and got.passed
    assert got.nodes is not None and got.nodes["target"].detail == {"target": 0.75, "reference": 0.0}


def test_sides_must_match() -> None:
    case, results = _case({"yes1": 3, "no1": 1}, {"yes1": 2, "no1": 1})
    with pytest.raises(ConfigError, match="they differ at yes1"):
        RelativeAggregator().aggregate(case, results, None)
    flat = Case(suite="s", id="c", input="q", criteria=(Criterion(id="a", text="a"),))
    with pytest.raises(ConfigError, match="top level is exactly `target` and `reference` \\(found a\\)"):
        RelativeAggregator().aggregate(flat, [(flat.criteria[0], Verdict("a", "met"))], None)


def test_bad_options_and_reports(tmp_path: Path) -> None:
    cli = build_cli()
    tasks = read_release(SOURCE).tasks

    def run(*options: str) -> str:
        args = ["import", "deepresearch", str(SOURCE), "-o", str(tmp_path / "out")]
        for option in options:
            args += ["--option", option]
        result = CliRunner().invoke(cli, args)
        assert result.exit_code != 0
        return result.output

    assert "give the reports under test" in run()
    assert "give the judge of the criteria" in run("target=openai:gpt-4.1")
    judge = "judge=openai:gpt-4.1"
    assert "no task 7 in criteria.jsonl" in run("target=openai:gpt-4.1", judge, "task=7")
    assert "expected zh or en" in run("target=openai:gpt-4.1", judge, "language=fr")
    one = _reports(tmp_path / "one.jsonl", tasks[:1], "Report")
    assert f"{one}: no report for task 51" in run(f"articles={one}", judge)
    wrong = tmp_path / "wrong.jsonl"
    wrong.write_text(json.dumps({"id": 51, "prompt": tasks[0].prompt, "article": "x"}) + "\n", encoding="utf-8")
    assert f"{wrong}:1: prompt: not task 51's request" in run(f"articles={wrong}", judge)
    assert (
        "not a DeepResearch Bench folder"
        in CliRunner()
        .invoke(
            cli,
            [
                "import",
                "deepresearch",
                str(tmp_path),
                "-o",
                str(tmp_path / "o2"),
                "--option",
                "target=x:y",
                "--option",
                judge,
            ],
        )
        .output
    )
