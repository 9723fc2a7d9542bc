"""``rubrictest import hellobench``: checklist items as criteria on the quarter scale, weighted by
HelloEval; running the suite on the recorded GPT-4o judgements gives HelloEval's scores."""

from __future__ import annotations

from pathlib import Path
from statistics import mean

import pytest
from click.testing import CliRunner
from rubrictest_importers import hellobench as hb

from rubrictest.cli import build_cli

from ..helpers.paths import EXCERPTS
from ..helpers.pytester import open_store

MODEL, TASK = "gpt4o_0806", "open_ended_qa"


def _import(source: Path, out: Path, *options: str) -> None:
    result = CliRunner().invoke(build_cli(), ["import", "hellobench", str(source), "-o", str(out), *options])
    assert result.exit_code == 0, result.output


def _hello_eval_by_case(pytester: pytest.Pytester) -> dict[str, float]:
    store = open_store(pytester)
    return {c["case_id"]: hb.rescale(100 * c["score"]) for c in store.cases(store.resolve_run(None))}


def test_the_excerpt_runs_to_helloevals_scores(pytester: pytest.Pytester) -> None:
    source = EXCERPTS / "hellobench"
    _import(source, pytester.path / "hb")
    pytester.runpytest("hb")
    release = hb.read_release(source)
    expected = hb.hello_eval(release.instances[TASK], release.judgements[(MODEL, TASK)])
    assert len(expected) == 3
    assert _hello_eval_by_case(pytester) == pytest.approx(expected, abs=1e-9)
    store = open_store(pytester)
    verdicts = store.verdicts(store.resolve_run(None))
    judged = release.judgements[(MODEL, TASK)]
    assert sorted(v["level"] for v in verdicts) == sorted(s for j in judged for s in j.scores)
    assert all(v["outcome"] == ("met" if v["level"] >= 0.75 else "not_met") for v in verdicts)


def test_gpt4o_open_ended_qa_figure_through_a_suite_run(hellobench_dir: Path, pytester: pytest.Pytester) -> None:
    _import(hellobench_dir, pytester.path / "hb")
    pytester.runpytest("hb", "-q")
    got = _hello_eval_by_case(pytester)
    release = hb.read_release(hellobench_dir)
    expected = hb.hello_eval(release.instances[TASK], release.judgements[(MODEL, TASK)])
    assert len(got) == 200 and got == pytest.approx(expected, abs=1e-9)
    assert round(mean(got.values()), 2) == 54.82


def test_bad_options_and_sources(tmp_path: Path) -> None:
    cli = build_cli()
    source = EXCERPTS / "hellobench"
    for option, message in (
        ("model=nobody", "no recorded judgements"),
        ("pass_at=0.6", "expected 0, 0.25"),
        ("limit=0", "whole number"),
        ("threshold=2", "[0, 1]"),
    ):
        result = CliRunner().invoke(
            cli, ["import", "hellobench", str(source), "-o", str(tmp_path / "o"), "--option", option]
        )
        assert result.exit_code == 2 and message in result.output, result.output
    wrong = CliRunner().invoke(cli, ["import", "hellobench", str(tmp_path), "-o", str(tmp_path / "o")])
    assert wrong.exit_code == 2 and "not a HelloBench folder" in wrong.output
    assert sorted(p.name for p in tmp_path.iterdir()) == []
