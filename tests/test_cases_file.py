"""Cases from JSONL files (`cases_file`) and rubrics applied to every case (`rubric`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rubrictest import SuiteError
from rubrictest.suite import load_suite

SUITE = """\
suite: dataset
rubrics:
  basics:
    - {id: nonempty, check: regex, with: {pattern: '\\S'}}
rubric: [basics]
cases_file: cases.jsonl
cases:
  - {id: inline, output: hello, criteria: [{check: contains, with: {value: hell}}]}
"""
ROWS = (
    '{"id": "r1", "input": "2+2?", "output": "4", "criteria": [{"check": "equals", "with": {"value": "4"}}]}\n'
    "\n"
    '{"id": "r2", "input": "capital?", "output": "Paris", "tags": [geo]}\n'
)


def _write(tmp_path: Path, rows: str = ROWS, suite: str = SUITE) -> Path:
    (tmp_path / "cases.jsonl").write_text(rows.replace("[geo]", '["geo"]'))
    path = tmp_path / "test_ds.rubric.yaml"
    path.write_text(suite)
    return path


def test_file_cases_join_inline_ones_with_the_suite_rubric(tmp_path: Path) -> None:
    suite = load_suite(_write(tmp_path))
    got = {run.case.id: [c.id for c in run.case.criteria] for run in suite.runs}
    assert got == {"inline": ["nonempty", "contains"], "r1": ["nonempty", "equals"], "r2": ["nonempty"]}
    r2 = next(r.case for r in suite.runs if r.case.id == "r2")
    assert r2.tags == ("geo",) and r2.line == 3 and r2.path is not None and r2.path.endswith("cases.jsonl")


def test_file_cases_run_under_pytest(pytester: pytest.Pytester) -> None:
    _write(pytester.path)
    result = pytester.runpytest("-v", "--rubric-no-store", "-p", "no:cacheprovider", "-m", "geo")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*test_ds.rubric.yaml::r2::nonempty PASSED*"])


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ('{"id": "r1", "outpt": "x"}\n', "cases.jsonl:1: outpt: unknown key 'outpt' (did you mean 'output'?)"),
        ('{"id": "r1", "output": "x"}\nnot json\n', "cases.jsonl:2: invalid JSON"),
        ('{"id": "inline", "output": "x"}\n', "duplicate case id 'inline'"),
    ],
)
def test_bad_rows_name_the_file_and_line(tmp_path: Path, rows: str, message: str) -> None:
    with pytest.raises(SuiteError) as info:
        load_suite(_write(tmp_path, rows))
    assert message in str(info.value)


def test_a_missing_cases_file_points_at_the_key(tmp_path: Path) -> None:
    path = tmp_path / "test_ds.rubric.yaml"
    path.write_text(SUITE)
    with pytest.raises(SuiteError) as info:
        load_suite(path)
    assert info.value.line == 6 and info.value.key == "cases_file" and "not found" in str(info.value)


def test_a_suite_needs_cases(tmp_path: Path) -> None:
    path = tmp_path / "test_empty.rubric.yaml"
    path.write_text("suite: empty\n")
    with pytest.raises(SuiteError, match="needs `cases`"):
        load_suite(path)
