"""The suites in suites/benchmarks: each runs offline on its recorded grades and reproduces the
benchmark's figure, and each is exactly what ``rubrictest import`` writes from the shared data."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from rubrictest_importers import hellobench as hb
from rubrictest_importers.paperbench import read_tree

from rubrictest.cli import build_cli

from ..helpers.paths import EXCERPTS, REPO
from ..helpers.pytester import open_store, outcomes

SUITES = REPO / "suites" / "benchmarks"


def _copy(name: str, pytester: pytest.Pytester) -> Path:
    dest = pytester.path / name
    shutil.copytree(SUITES / name, dest)
    return dest


def _case_scores(pytester: pytest.Pytester) -> dict[str, float]:
    store = open_store(pytester)
    return {c["case_id"]: c["score"] for c in store.cases(store.resolve_run(None))}


def _same_as_import(name: str, source: Path, tmp_path: Path) -> None:
    """Re-import from the source the marker names and compare every file."""
    marker = json.loads((SUITES / name / ".rubrictest-import.json").read_text())
    out = tmp_path / name
    args = ["import", marker["importer"], str(source), "-o", str(out)]
    for key, value in marker["options"].items():
        args += ["--option", f"{key}={value}"]
    result = CliRunner().invoke(build_cli(), args)
    assert result.exit_code == 0, result.output
    written = sorted(p.name for p in out.iterdir() if p.name != ".rubrictest-import.json")
    shipped = sorted(p.name for p in (SUITES / name).iterdir() if p.name != ".rubrictest-import.json")
    assert written == shipped
    for file in written:
        assert (out / file).read_text() == (SUITES / name / file).read_text(), file


def test_paperbench_suite_reproduces_the_human_root_score(pytester: pytest.Pytester) -> None:
    _copy("paperbench", pytester)
    result = pytester.runpytest("paperbench")
    assert outcomes(result)["passed"] > 1
    tree = read_tree(
        EXCERPTS
        / "paperbench"
        / "data"
        / "judge_eval"
        / "semantic-self-consistency"
        / "0"
        / "grading"
        / "expected_result.json"
    )
    assert tree.score is not None
    assert _case_scores(pytester) == {"semantic-self-consistency-0": pytest.approx(tree.score, abs=1e-9)}


def test_paperbench_suite_is_what_import_writes(paperbench_dir: Path, tmp_path: Path) -> None:
    _same_as_import("paperbench", paperbench_dir / "data" / "judge_eval" / "semantic-self-consistency", tmp_path)


def test_hellobench_suite_reproduces_helloeval(pytester: pytest.Pytester, hellobench_dir: Path) -> None:
    _copy("hellobench", pytester)
    pytester.runpytest("hellobench")
    scores = _case_scores(pytester)
    release = hb.read_release(hellobench_dir)
    judged = release.judgements[("gpt4o_0806", "open_ended_qa")][:20]
    expected = hb.hello_eval(release.instances["open_ended_qa"], judged)
    assert {k: hb.rescale(100 * v) for k, v in scores.items()} == pytest.approx(expected, abs=1e-9)


def test_hellobench_suite_is_what_import_writes(hellobench_dir: Path, tmp_path: Path) -> None:
    _same_as_import("hellobench", hellobench_dir, tmp_path)
