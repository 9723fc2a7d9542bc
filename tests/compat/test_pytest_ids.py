"""Node ids pytest can select, on every pytest major the project supports.

With several targets every item of a target ends with the target's name in brackets, where
pytest puts a parametrization id (``file::case::criterion[v1]``, ``file::case::score[v1]``,
``file::gate[v1]``). An id copied from a report selects that item again, and ``--lf``,
``-k``, JUnit XML and pytest-xdist see the same ids.

``.ci/run`` runs this module a second time under the other pytest major (see
``tests/compat/__init__.py``): the first run uses the pytest of the dev install.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

SUITE = """\
version: 1
suite: ids
target:
  - {plugin: jsonl, model: out_v1.jsonl, name: v1}
  - {plugin: jsonl, model: out_v2.jsonl, name: v2}
gate: {min_pass_rate: 0.3}
cases:
  - id: capital
    input: "What is the capital of Australia?"
    threshold: 1.0
    criteria:
      - {id: canberra, check: contains, with: {value: Canberra}}
      - {id: polite, check: contains, with: {value: please}}
  - id: boiling
    input: "At what temperature does water boil?"
    criteria:
      - {id: hundred, check: contains, with: {value: "100"}}
      - {id: judged, text: "The answer is correct.", judge: "recorded:labels.jsonl"}
"""
OUT_V1 = '{"id": "capital", "output": "Canberra, please note."}\n{"id": "boiling", "output": "100 degrees Celsius."}\n'
OUT_V2 = '{"id": "capital", "output": "Sydney."}\n{"id": "boiling", "output": "212 F."}\n'
LABELS = '{"case": "boiling", "criterion": "judged", "target": "v1", "met": true}\n'

F = "test_ids.rubric.yaml"
ALL_IDS = [
    f"{F}::capital::canberra[v1]",
    f"{F}::capital::canberra[v2]",
    f"{F}::capital::polite[v1]",
    f"{F}::capital::polite[v2]",
    f"{F}::capital::score[v1]",
    f"{F}::capital::score[v2]",
    f"{F}::boiling::hundred[v1]",
    f"{F}::boiling::hundred[v2]",
    f"{F}::boiling::judged[v1]",
    f"{F}::boiling::judged[v2]",
    f"{F}::gate[v1]",
    f"{F}::gate[v2]",
]
FAILED = {f"{F}::capital::score[v2]", f"{F}::boiling::hundred[v2]"}
ERRORS = {f"{F}::boiling::judged[v2]", f"{F}::gate[v2]"}


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makefile(".rubric.yaml", test_ids=SUITE)
    pytester.makefile(".jsonl", out_v1=OUT_V1, out_v2=OUT_V2, labels=LABELS)
    return pytester


def _summary(result: pytest.RunResult) -> tuple[set[str], set[str]]:
    """The FAILED and ERROR node ids of pytest's short summary (``-rfE``)."""
    failed, errors = set(), set()
    for line in result.outlines:
        m = re.match(r"(FAILED|ERROR) (\S+)", line)
        if m:
            (failed if m.group(1) == "FAILED" else errors).add(m.group(2))
    return failed, errors


def test_collected_ids_put_the_target_last(suite: pytest.Pytester) -> None:
    result = suite.runpytest("--collect-only", "-q", "--rubric-no-store")
    assert [line for line in result.outlines if "::" in line] == ALL_IDS


def test_a_failed_id_copied_from_the_summary_selects_that_item(suite: pytest.Pytester) -> None:
    result = suite.runpytest("-rfE", "--rubric-no-store")
    assert _summary(result) == (FAILED, ERRORS)
    for nodeid in sorted(FAILED | ERRORS):
        again = suite.runpytest(nodeid, "-rfE", "--rubric-no-store")
        assert "not found" not in again.stdout.str(), again.stdout.str()
        if nodeid in FAILED:
            again.assert_outcomes(failed=1)
        else:
            again.assert_outcomes(errors=1)
        assert _summary(again) == (({nodeid}, set()) if nodeid in FAILED else (set(), {nodeid}))


def test_a_case_id_selects_every_target_of_the_case(suite: pytest.Pytester) -> None:
    result = suite.runpytest(f"{F}::capital", "--collect-only", "-q", "--rubric-no-store")
    assert [line for line in result.outlines if "::" in line] == [i for i in ALL_IDS if "::capital::" in i]
    result = suite.runpytest(f"{F}::capital::canberra", "--collect-only", "-q", "--rubric-no-store")
    assert [line for line in result.outlines if "::" in line] == [
        f"{F}::capital::canberra[v1]",
        f"{F}::capital::canberra[v2]",
    ]


def test_last_failed_reruns_every_failure_and_error(suite: pytest.Pytester) -> None:
    first = suite.runpytest("-rfE", "--rubric-no-store")
    assert _summary(first) == (FAILED, ERRORS)
    again = suite.runpytest("--lf", "-rfE", "--rubric-no-store")
    assert _summary(again) == (FAILED, ERRORS)
    outcomes = again.parseoutcomes()
    assert (outcomes.get("failed"), outcomes.get("errors"), outcomes.get("passed", 0)) == (2, 2, 0)


def test_dash_k_selects_a_target(suite: pytest.Pytester) -> None:
    result = suite.runpytest("-k", "v1", "--collect-only", "-q", "--rubric-no-store")
    assert [line for line in result.outlines if "::" in line] == [i for i in ALL_IDS if i.endswith("[v1]")]
    result = suite.runpytest("-k", "capital and v2", "--collect-only", "-q", "--rubric-no-store")
    assert [line for line in result.outlines if "::" in line] == [
        i for i in ALL_IDS if i.endswith("[v2]") and "::capital::" in i
    ]


def test_junit_names_are_the_item_names(suite: pytest.Pytester) -> None:
    suite.runpytest("--junitxml=out.xml", "--rubric-no-store")
    cases = ET.parse(suite.path / "out.xml").getroot().iter("testcase")
    got = {(c.get("classname"), c.get("name")) for c in cases}
    want = {(".".join(i.split("::")[:-1]), i.split("::")[-1]) for i in ALL_IDS}
    assert got == want
    assert all(name.count("[") == 1 and name.endswith("]") for _, name in got)


def test_xdist_reports_the_same_ids(suite: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    result = suite.runpytest_subprocess("-n", "2", "-rfE", "-v", "--rubric-no-store", "-p", "no:cacheprovider")
    assert _summary(result) == (FAILED, ERRORS)
    ran = {tok for line in result.outlines for tok in line.split() if tok.startswith(f"{F}::")}
    assert ran == set(ALL_IDS), sorted(ran)
