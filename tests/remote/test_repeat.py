"""``--rubric-repeat K`` (issue 11, item 5): every criterion judged K times as distinct samples by
an OpenAI-wire judge on the scripted server, each repeat stored, the majority decides, a tie is
ERROR, and the terminal summary and ``rubrictest report`` show the flip rate per criterion.

The server answers each criterion by its own script, one entry per request it sees: the
multiset of a criterion's answers over K repeats is fixed whatever order the repeats arrive in.
"""

from __future__ import annotations

import json
import sqlite3
import textwrap
import threading
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from click.testing import CliRunner

from rubrictest.cli import build_cli

from .fake_provider import FakeProvider

SCRIPTS = {
    "steady": [True, True, True, True],  # never flips
    "shaky": [True, False, True, True],  # 3 repeats: 2 met, 1 not -> flip rate 1/3, unstable
    "split": [True, False, True, False],  # 4 repeats: 2 against 2 -> a tie, ERROR
    "firm-no": [False, False, False, False],  # a deduction never met: passes every time
}


class Scripted:
    """Answers criterion ``c`` with ``SCRIPTS[c][n]`` on its n-th request (thread-safe)."""

    def __init__(self) -> None:
        self.seen: dict[str, int] = {}
        self.lock = threading.Lock()

    def __call__(self, criterion_id: str, response: str) -> tuple[bool, str]:
        with self.lock:
            n = self.seen.get(criterion_id, 0)
            self.seen[criterion_id] = n + 1
        script = SCRIPTS[criterion_id]
        return script[n % len(script)], " ".join(response.split()[:3])


def _suite(pytester: pytest.Pytester, provider: FakeProvider) -> None:
    (pytester.path / "test_flaky.rubric.yaml").write_text(
        textwrap.dedent(f"""\
        suite: flaky
        judge:
          plugin: openai
          model: judge-model
          base_url: {provider.openai_url}
          options: {{retry: {{base_delay: 0.01, max_delay: 0.05, max_attempts: 2}}}}
        cases:
          - id: refund
            input: Can I return shoes?
            output: Returns are accepted within 30 days.
            criteria:
              - {{id: steady, text: States the window.}}
              - {{id: shaky, text: Is polite.}}
              - {{id: firm-no, text: Insults the user., points: -1}}
          - id: late
            input: Where is my parcel?
            output: It left the warehouse today.
            criteria:
              - {{id: split, text: Gives a date.}}
        """)
    )


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", f"--rubric-db={pytester.path / 'r.db'}", "-v", *args)


def _rows(db: Path, sql: str) -> list[dict[str, Any]]:
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in con.execute(sql)]
    finally:
        con.close()


def _latest(db: Path, table: str) -> list[dict[str, Any]]:
    return _rows(
        db,
        f"select * from {table} where run_id = (select id from runs order by started_at desc "
        "limit 1) order by case_id, criterion_id" + (", repeat" if table == "repeat_verdicts" else ""),
    )


def test_three_repeats_are_distinct_samples_stored_and_decided_by_majority(
    pytester: pytest.Pytester, provider: FakeProvider, api_keys: str
) -> None:
    provider.decide = Scripted()
    SCRIPTS["split"] = [True, False, True]  # three repeats: 2 of 3, no tie here
    try:
        _suite(pytester, provider)
        result = _run(pytester, "--rubric-repeat", "3")
    finally:
        SCRIPTS["split"] = [True, False, True, False]
    assert result.ret == 0, result.stdout.str()
    result.assert_outcomes(passed=4)
    # one request per case and repeat (the case's criteria batched): distinct calls, no cache hit
    assert provider.count("chat/completions") == 2 * 3
    db = pytester.path / "r.db"
    repeats = _latest(db, "repeat_verdicts")
    assert len(repeats) == 4 * 3 and {r["repeat"] for r in repeats} == {0, 1, 2}
    assert [r["outcome"] for r in repeats if r["criterion_id"] == "shaky"].count("not_met") == 1
    verdicts = {v["criterion_id"]: v for v in _latest(db, "verdicts")}
    assert {k: (v["outcome"], v["repeats"], v["unstable"]) for k, v in verdicts.items()} == {
        "firm-no": ("not_met", 3, 0),
        "shaky": ("met", 3, 1),
        "split": ("met", 3, 1),
        "steady": ("met", 3, 0),
    }
    assert verdicts["shaky"]["flip_rate"] == pytest.approx(1 / 3) and verdicts["steady"]["flip_rate"] == 0
    assert "majority of 2 met, 1 not met of 3 repeats (flip rate 0.33, UNSTABLE)" in verdicts["shaky"]["rationale"]
    # the terminal summary names the criteria that flipped, and only those
    result.stdout.fnmatch_lines(
        [
            "*repeats: 3 per criterion; 2 of 4 criteria flipped at least once, 2 unstable*",
            "*flaky*refund::shaky*met*PASS*0.33*UNSTABLE*",
        ]
    )
    assert "refund::steady" not in result.stdout.str().split("repeats: 3 per criterion")[1]
    # every repeat counts in the usage: 6 judge calls
    assert len(_rows(db, "select * from judge_calls where kind = 'judge' and request is not null")) == 6

    # The same K again is answered entirely from the cache (each repeat's own entry).
    again = _run(pytester, "--rubric-repeat", "3")
    assert again.ret == 0, again.stdout.str()
    assert provider.count("chat/completions") == 6
    assert all(r["cached"] == 1 for r in _latest(db, "repeat_verdicts"))
    # One more repeat asks only for the new one.
    more = _run(pytester, "--rubric-repeat", "4")
    assert provider.count("chat/completions") == 6 + 2
    assert more.ret == 1  # the fourth answer of 'split' makes it 2 against 2: a tie, ERROR


def test_a_tie_is_an_error_with_the_tally_and_reports_show_flip_rates(
    pytester: pytest.Pytester, provider: FakeProvider, api_keys: str
) -> None:
    provider.decide = Scripted()
    _suite(pytester, provider)
    pytester.makeini("[pytest]\nrubric_repeat = 4\nrubric_unstable_at = 0.3\n")
    result = _run(pytester)
    assert result.ret == 1
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines(
        ["*late::split ERROR*", "*the repeats tied: 2 met, 2 not met of 4 repeats (flip rate 0.50)*"]
    )
    db = pytester.path / "r.db"
    verdicts = {v["criterion_id"]: v for v in _latest(db, "verdicts")}
    # shaky: 3 met, 1 not of 4 -> flip rate 0.25, under the ini threshold of 0.3
    assert verdicts["shaky"]["flip_rate"] == 0.25 and verdicts["shaky"]["unstable"] == 0
    assert verdicts["split"]["status"] == "ERROR" and verdicts["split"]["unstable"] == 1

    cli = build_cli()
    data = json.loads(CliRunner().invoke(cli, ["report", "--db", str(db), "--json"]).output)
    section = {c["criterion_id"]: c for c in data["repeats"]["criteria"]}
    assert data["repeats"]["repeats"] == 4 and data["repeats"]["unstable"] == 1
    assert section["shaky"]["flip_rate"] == 0.25 and sorted(section["shaky"]["outcomes"]) == [
        "met",
        "met",
        "met",
        "not_met",
    ]
    assert section["split"]["majority"] == "error"
    text = CliRunner().invoke(cli, ["report", "--db", str(db)]).output
    assert "repeats: 4 per criterion; 2 of 4 criteria flipped at least once, 1 unstable" in text
    assert any(
        "late::split" in line and "tie/ERROR" in line and "0.50" in line and "UNSTABLE" in line
        for line in text.splitlines()
    )
    markdown = CliRunner().invoke(cli, ["report", "--db", str(db), "--format", "markdown"]).output
    assert "| flaky | refund::shaky | met | PASS | 0.25 |" in markdown


def test_repeats_under_xdist(pytester: pytest.Pytester, provider: FakeProvider, api_keys: str) -> None:
    provider.decide = Scripted()
    SCRIPTS["split"] = [True, False, True]
    try:
        _suite(pytester, provider)
        result = _run(pytester, "-n", "2", "--rubric-repeat", "3", f"--junitxml={pytester.path / 'junit.xml'}")
    finally:
        SCRIPTS["split"] = [True, False, True, False]
    assert result.ret == 0, result.stdout.str()
    result.assert_outcomes(passed=4)
    assert provider.count("chat/completions") == 2 * 3  # each case judged by one worker only
    db = pytester.path / "r.db"
    assert len(_latest(db, "repeat_verdicts")) == 12
    result.stdout.fnmatch_lines(["*repeats: 3 per criterion; 2 of 4 criteria flipped at least once, 2 unstable*"])
    # the JUnit XML carries each criterion's repeats and flip rate
    root = ElementTree.parse(pytester.path / "junit.xml").getroot()
    shaky = next(tc for tc in root.iter("testcase") if tc.get("name") == "shaky")
    props = {p.get("name"): p.get("value") for p in shaky.iter("property")}
    assert (props["repeats"], props["flip_rate"], props["unstable"]) == ("3", "0.3333", "True")


def test_bad_repeat_values_are_usage_errors(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--rubric-repeat", "0")
    assert result.ret == 4
    result.stderr.fnmatch_lines(["*--rubric-repeat: 0 repeats; give 1 or more*"])
    pytester.makeini("[pytest]\nrubric_unstable_at = often\n")
    bad = pytester.runpytest_subprocess()
    assert bad.ret == 4
    bad.stderr.fnmatch_lines(["*ini option rubric_unstable_at: 'often' is not a number*"])
