"""Suites with remote judges and targets, end to end: YAML -> pytest -> store -> report.

The scripted server runs in this process; pytest runs the suite in a subprocess that talks to
it over HTTP with the real SDKs.
"""

from __future__ import annotations

import json
import sqlite3
import textwrap
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from rubrictest.cli import build_cli

from ..helpers.remote import SENTINEL_KEY
from .fake_provider import FakeProvider, Step


def write_suite(
    pytester: pytest.Pytester, provider: FakeProvider, *, extra_case: str = "", judge_extra: str = ""
) -> Path:
    suite = (
        textwrap.dedent(f"""\
        version: 1
        suite: remote-e2e
        judge:
          plugin: openai
          model: gpt-4.1
          base_url: {provider.openai_url}
          concurrency: 8
          options: {{retry: {{base_delay: 0.01, max_delay: 0.05, max_attempts: 3}}}}
          {judge_extra}
        target:
          plugin: anthropic
          model: claude-haiku-4-5
          base_url: {provider.anthropic_url}
        cases:
          - id: generated
            input: What is the capital of France?
            reference: Paris.
            criteria:
              - Names the capital of France.
              - Is polite.
              - id: no-rudeness
                text: Insults the user.
                points: -1
          - id: fixed-a
            input: Capital of Italy?
            output: The capital of Italy is Rome.
            criteria: [Names Rome., Is one sentence., Is in English.]
          - id: fixed-b
            input: Capital of Spain?
            output: The capital of Spain is Madrid.
            criteria:
              - Names Madrid.
              - id: has-madrid
                check: contains
                with: {{value: Madrid}}
        """)
        + extra_case
    )
    path = pytester.path / "test_remote.rubric.yaml"
    path.write_text(suite)
    return path


def decide(criterion_id: str, response: str) -> tuple[bool, str]:
    # "Insults the user." is a deduction: not met is a pass.
    return criterion_id != "no-rudeness", " ".join(response.split()[:4])


def run_suite(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", f"--rubric-db={pytester.path / 'r.db'}", "-v", *args)


def rows(db: Path, sql: str) -> list[dict[str, Any]]:
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in con.execute(sql)]
    finally:
        con.close()


def test_suite_with_remote_judge_and_target(pytester: pytest.Pytester, provider: FakeProvider, api_keys: str) -> None:
    provider.decide = decide
    write_suite(pytester, provider)
    result = run_suite(pytester)
    assert result.ret == 0, result.stdout.str()
    result.assert_outcomes(passed=8)
    # one target call, one judge call per case (all its text criteria at once)
    assert provider.count("/v1/messages") == 1
    assert provider.count("/chat/completions") == 3
    judged = [r.body for r in provider.requests if r.path.endswith("/chat/completions")]
    assert sorted(
        len(
            b["response_format"]["json_schema"]["schema"]["properties"]["verdicts"]["items"]["properties"]["id"]["enum"]
        )
        for b in judged
    ) == [1, 3, 3]

    db = pytester.path / "r.db"
    verdicts = rows(db, "select * from verdicts where check_name is null or check_name = ''")
    assert len(verdicts) == 7
    assert all(v["evidence"] and v["evidence_supported"] == 1 and v["confidence"] == 1.0 for v in verdicts)
    calls = rows(db, "select * from judge_calls")
    judge_calls = [c for c in calls if c["kind"] == "judge"]
    target_calls = [c for c in calls if c["kind"] == "target"]
    assert len(judge_calls) == 3 and len(target_calls) == 1
    assert all(c["input_tokens"] == 100 and c["cost_usd"] > 0 for c in judge_calls)
    assert target_calls[0]["cost_usd"] == pytest.approx((120 * 1.0 + 30 * 5.0) / 1e6)

    report = CliRunner().invoke(build_cli(), ["report", "--db", str(db), "--json"])
    assert report.exit_code == 0, report.output
    data = json.loads(report.output)
    usage = {u["kind"]: u for u in data["usage"]}
    assert (usage["judge"]["calls"], usage["target"]["calls"]) == (3, 1)
    assert usage["judge"]["cost_usd"] + usage["target"]["cost_usd"] == pytest.approx(sum(c["cost_usd"] for c in calls))

    # An unchanged re-run makes zero calls and marks the verdicts as cached.
    before = len(provider.requests)
    again = run_suite(pytester)
    assert again.ret == 0, again.stdout.str()
    assert len(provider.requests) == before
    latest = rows(
        db,
        "select * from verdicts where run_id = (select id from runs order by started_at desc limit 1)"
        " and (check_name is null or check_name = '')",
    )
    assert len(latest) == 7 and all(v["cached"] == 1 for v in latest)

    # --rubric-cache=refresh asks again; changing a judge parameter misses the cache too.
    refreshed = run_suite(pytester, "--rubric-cache=refresh")
    assert refreshed.ret == 0 and len(provider.requests) == before + 4
    write_suite(pytester, provider, judge_extra="params: {temperature: 0}")
    changed = run_suite(pytester)
    assert changed.ret == 0
    assert provider.count("/chat/completions") == 3 + 3 + 3 and provider.count("/v1/messages") == 2


def test_faults_make_errors_and_keep_other_verdicts(
    pytester: pytest.Pytester, provider: FakeProvider, api_keys: str
) -> None:
    provider.decide = decide
    provider.by_marker = {
        "HTML-PAGE": Step("html"),
        "REFUSE-ME": Step("refusal"),
        "BAD-KEY": Step(
            "status", status=401, body={"error": {"message": f"Incorrect API key provided: {SENTINEL_KEY}"}}
        ),
        "ALWAYS-500": Step("status", status=500, body={"error": {"message": "upstream exploded"}}),
    }
    extra = "".join(
        textwrap.indent(
            textwrap.dedent(f"""\
        - id: {cid}
          input: q
          output: "{marker} in this response"
          criteria: [Is fine., Is short.]
        """),
            "  ",
        )
        for cid, marker in [
            ("html", "HTML-PAGE"),
            ("refused", "REFUSE-ME"),
            ("unauthorised", "BAD-KEY"),
            ("flaky", "ALWAYS-500"),
        ]
    )
    write_suite(pytester, provider, extra_case=extra)
    junit = pytester.path / "junit.xml"
    log = pytester.path / "log.txt"
    result = run_suite(pytester, f"--junitxml={junit}", f"--log-file={log}", "--log-file-level=DEBUG", "-rA")
    assert result.ret == 1
    result.assert_outcomes(passed=8, errors=8)
    out = result.stdout.str()
    assert "not JSON (check base_url)" in out
    assert "the model refused" in out
    assert "HTTP 401: Incorrect API key provided" in out
    assert "gave up after 3 attempts; last error: HTTP 500: upstream exploded" in out
    assert provider.count("ALWAYS-500") == 0  # markers are in bodies, not paths
    flaky = [r for r in provider.requests if "ALWAYS-500" in json.dumps(r.body)]
    assert len(flaky) == 3

    db = pytester.path / "r.db"
    statuses = rows(db, "select case_id, status, error from verdicts")
    errors = [s for s in statuses if s["status"] == "ERROR"]
    assert len(errors) == 8 and {s["case_id"] for s in errors} == {"html", "refused", "unauthorised", "flaky"}
    assert all(s["error"] for s in errors)

    # The sentinel key is nowhere: database, JUnit, log file, terminal, every report format.
    report_outputs = [
        CliRunner().invoke(build_cli(), ["report", "--db", str(db), *fmt]).output
        for fmt in ([], ["--json"], ["--format", "markdown"])
    ]
    haystacks = {
        "database": db.read_bytes().decode("utf-8", "replace"),
        "junit": junit.read_text(),
        "log file": log.read_text(),
        "terminal": out + result.stderr.str(),
        "reports": "\n".join(report_outputs),
    }
    assert "HTTP 401" in haystacks["reports"] or "HTTP 401" in haystacks["database"]
    for where, text in haystacks.items():
        assert SENTINEL_KEY not in text, f"the API key leaked into the {where}"
    assert "[REDACTED]" in haystacks["database"]


def test_missing_key_is_one_clear_error_before_any_call(
    pytester: pytest.Pytester, provider: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("ANTHROPIC_API_KEY", SENTINEL_KEY)
    write_suite(pytester, provider)
    result = run_suite(pytester)
    assert result.ret == 1
    assert "OPENAI_API_KEY is not set" in result.stdout.str()
    assert provider.count("/chat/completions") == 0


def test_anthropic_judge_one_call_per_criterion_and_samples(
    pytester: pytest.Pytester, provider: FakeProvider, api_keys: str
) -> None:
    provider.decide = lambda c, r: (c == "names-paris", "Paris" if c == "names-paris" else "")
    (pytester.path / "test_anthropic.rubric.yaml").write_text(
        textwrap.dedent(f"""\
        version: 1
        judge:
          plugin: anthropic
          model: claude-sonnet-4-5
          base_url: {provider.anthropic_url}
          batch_criteria: false
          samples: 3
        cases:
          - id: one
            input: Capital of France?
            output: Paris is the capital of France.
            criteria:
              - {{id: names-paris, text: Names Paris.}}
              - {{id: short, text: Is short.}}
        """)
    )
    result = run_suite(pytester)
    assert result.ret == 1, result.stdout.str()
    result.assert_outcomes(passed=1, failed=1)
    assert provider.count("/v1/messages") == 2 * 3  # one request per criterion, three samples each
    verdicts = {v["criterion_id"]: v for v in rows(pytester.path / "r.db", "select * from verdicts")}
    assert json.loads(verdicts["names-paris"]["votes"]) == ["met"] * 3
    assert verdicts["names-paris"]["evidence_supported"] == 1
    assert verdicts["short"]["outcome"] == "not_met" and verdicts["short"]["status"] == "FAIL"
    assert verdicts["short"]["confidence"] == 1.0
    assert len(rows(pytester.path / "r.db", "select * from judge_calls where kind = 'judge'")) == 6
