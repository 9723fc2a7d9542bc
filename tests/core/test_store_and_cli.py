"""The store (DESIGN.md "Store") and the CLI (run, report, plugins, schema)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from rubrictest.cli import build_cli
from rubrictest.store import Store
from rubrictest.store.migrations import migrations

from ..helpers.fakes import FakeJudgeState
from ..helpers.pytester import db_path, open_store

REPO = Path(__file__).resolve().parents[2]

SUITE = """
    suite: store-demo
    judge: fake:m1
    threshold: 0.5
    tags: [demo]
    cases:
      - id: c1
        input: "Q1"
        output: "good answer"
        criteria:
          - {id: judged, text: "yes it is good"}
          - {id: checked, check: contains, with: {value: good}}
          - {id: missed, check: contains, with: {value: excellent}}
      - id: c2
        output: "bad"
        criteria:
          - {id: judged, text: "yes it is good"}
"""


@pytest.fixture
def stored_run(pytester: pytest.Pytester, write_suite: Callable[..., Path], fake_judge: FakeJudgeState) -> Store:
    write_suite(SUITE)
    pytester.runpytest()
    return open_store(pytester)


def test_migrations_create_the_contract_tables_and_columns(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "new.db")
    db = store.db
    assert {"runs", "cases", "verdicts", "judge_calls", "_sqlite_migrations"} <= set(db.table_names())
    columns = {t: set(db[t].columns_dict) for t in ("runs", "cases", "verdicts", "judge_calls")}
    assert {"id", "started_at", "finished_at", "status", "argv", "version", "counts", "usage"} <= columns["runs"]
    assert {"run_id", "suite", "case_id", "target", "response", "score", "outcome"} <= columns["cases"]
    assert {
        "run_id",
        "suite",
        "case_id",
        "target",
        "criterion_id",
        "criterion_hash",
        "judge",
        "outcome",
        "status",
        "confidence",
        "evidence",
        "rationale",
        "error",
        "judge_call_id",
    } <= columns["verdicts"]
    assert {
        "run_id",
        "request",
        "response",
        "input_tokens",
        "output_tokens",
        "cost_usd",
        "latency_s",
        "cache_key",
        "result",
    } <= columns["judge_calls"]
    applied = [m.name for m in migrations.applied(db)]
    assert applied == [m.name for m in migrations._migrations]
    assert applied[0] == "m001_initial"
    # numbered, never repeated
    numbers = [name.split("_", 1)[0] for name in applied]
    assert numbers == sorted(set(numbers))
    store.close()
    # opening again applies nothing new and keeps the data
    again = Store.open(tmp_path / "new.db")
    assert [m.name for m in migrations.applied(again.db)] == applied


def test_wal_mode_and_busy_timeout(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "w.db")
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.db.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
    store.close()


def test_default_database_is_under_the_rootdir_and_rubric_db_changes_it(
    pytester: pytest.Pytester, write_suite: Callable[..., Path]
) -> None:
    write_suite("cases:\n  - {id: c1, output: a, criteria: [{check: equals, with: {value: a}}]}\n")
    pytester.mkdir("sub")
    pytester.runpytest().assert_outcomes(passed=1)
    assert db_path(pytester).is_file()
    pytester.runpytest("--rubric-db", "sub/other.db").assert_outcomes(passed=1)
    assert len(Store.open(pytester.path / "sub" / "other.db").runs()) == 1
    pytester.runpytest("--rubric-no-store").assert_outcomes(passed=1)
    assert len(open_store(pytester).runs()) == 1


def test_every_verdict_has_its_criterion_hash_and_judge(stored_run: Store) -> None:
    run_id = stored_run.resolve_run(None)
    verdicts = stored_run.verdicts(run_id)
    assert len(verdicts) == 4
    assert all(v["criterion_hash"] and len(v["criterion_hash"]) == 16 for v in verdicts)
    by_key = {(v["case_id"], v["criterion_id"]): v for v in verdicts}
    assert by_key[("c1", "judged")]["criterion_hash"] == by_key[("c2", "judged")]["criterion_hash"]
    assert by_key[("c1", "judged")]["judge"] == "fake:m1"
    assert by_key[("c1", "checked")]["judge"] == "contains"
    assert [by_key[k]["status"] for k in sorted(by_key)] == ["PASS", "PASS", "MISSED", "MISSED"]
    assert by_key[("c1", "judged")]["tags"] == ["demo"]
    run = stored_run.run(run_id)
    assert run["status"] == "failed" and run["finished_at"]  # c2's score item fails
    assert run["counts"] == {"PASS": 2, "MISSED": 2}
    cases = {c["case_id"]: c for c in stored_run.cases(run_id)}
    assert cases["c1"]["response"] == "good answer" and cases["c1"]["score"] == pytest.approx(2 / 3)
    calls = list(stored_run.calls(run_id))
    assert len(calls) == 2 and all(c["cache_key"] for c in calls)
    assert calls[0]["input_tokens"] == 10 and calls[0]["request"] == {"criteria": ["judged"]}


def test_report_text_json_and_markdown(stored_run: Store) -> None:
    run_id = stored_run.resolve_run(None)
    runner = CliRunner()
    db = str(stored_run.path)
    text = runner.invoke(build_cli(), ["report", "--db", db])
    assert text.exit_code == 0, text.output
    assert f"run {run_id}  failed" in text.output
    # Per suite and target: case scores (with why a case failed), then every criterion with the
    # reason of each verdict that did not pass.
    assert "\n== store-demo\n" in text.output
    assert "c2    0.000  failed   score 0.000 < threshold 0.5" in text.output
    assert "c1    judged     PASS    0.88  fake:m1" in text.output
    assert "c1    missed     MISSED  1.00  contains  e36acce2  not met: missing ['excellent']" in text.output
    assert "c2    judged     MISSED  0.88  fake:m1   e2813bdf  not met: fake rationale for judged" in text.output

    as_json = runner.invoke(build_cli(), ["report", run_id[:12], "--db", db, "--json"])
    assert as_json.exit_code == 0, as_json.output
    report = json.loads(as_json.output)
    assert report["run"]["id"] == run_id
    assert {(c["case_id"], c["criterion_id"], c["status"]) for c in report["criteria"]} == {
        ("c1", "judged", "PASS"),
        ("c1", "checked", "PASS"),
        ("c1", "missed", "MISSED"),
        ("c2", "judged", "MISSED"),
    }
    assert report["suites"] == [
        {
            "suite": "store-demo",
            "path": "test_s.rubric.yaml",
            "cases": 2,
            "passed": 1,
            "failed": 1,
            "errors": 0,
            "mean_score": pytest.approx(1 / 3),
        }
    ]
    assert report["tags"] == {"demo": {"PASS": 2, "MISSED": 2}}

    md = runner.invoke(build_cli(), ["report", "--db", db, "--format", "markdown"])
    assert md.exit_code == 0, md.output
    assert md.output.startswith(f"## rubrictest run `{run_id}`")
    assert "| store-demo | - | c1 | judged | PASS | 0.88 | fake:m1 |  |" in md.output
    assert (
        "| store-demo | - | c2 | judged | MISSED | 0.88 | fake:m1 | not met: fake rationale for judged |" in md.output
    )
    assert "| store-demo | - | c2 | 0.000 | failed | score 0.000 &lt; threshold 0.5 |" in md.output
    assert [(c["case_id"], c["score"], c["outcome"]) for c in report["cases"]] == [
        ("c1", pytest.approx(2 / 3), "passed"),
        ("c2", 0.0, "failed"),
    ]
    assert report["gates"] == [] and report["targets"][0]["gate"] is None


def test_report_errors_are_one_line(tmp_path: Path, stored_run: Store) -> None:
    runner = CliRunner()
    missing = runner.invoke(build_cli(), ["report", "--db", str(tmp_path / "none.db")])
    assert missing.exit_code == 1 and "no results database at" in missing.output
    unknown = runner.invoke(build_cli(), ["report", "nosuchrun", "--db", str(stored_run.path)])
    assert unknown.exit_code == 1 and "no run 'nosuchrun'" in unknown.output
    assert "Traceback" not in missing.output + unknown.output


def test_plugins_command_lists_name_version_and_components() -> None:
    runner = CliRunner()
    result = runner.invoke(build_cli(), ["plugins"])
    assert result.exit_code == 0, result.output
    assert (
        "checks 0.1.0\n  hooks: register_judges\n  judges: contains, equals, json_schema, python, regex\n"
        in result.output
    )
    data = json.loads(runner.invoke(build_cli(), ["plugins", "--json"]).output)
    by_name = {p["name"]: p for p in data}
    assert by_name["targets"]["registered"] == {"targets": ["jsonl", "python", "static"]}
    assert by_name["aggregators"]["registered"] == {"aggregators": ["points", "relative", "strict"]}
    assert by_name["recorded"]["version"] == by_name["checks"]["version"]


DESIGN_EXAMPLE = """
version: 1
suite: support-bot
target: openai:gpt-4o-mini
judge: openai:gpt-4.1
threshold: 0.8
gate: {min_pass_rate: 0.9, confidence: 0.95}
rubrics:
  tone: ["The reply is polite and does not blame the customer."]
cases:
  - id: refund-window
    input: "Can I return shoes after 40 days?"
    reference: "Returns are accepted within 30 days."
    output: null
    rubric: [tone]
    criteria:
      - "States that the return window is 30 days."
      - id: no-false-promise
        text: Promises a refund after the window.
        points: -5
      - id: valid-json
        check: json_schema
        with: {schema: {type: object}}
      - id: mentions-window
        check: contains
        with: {value: "30 days"}
        must: true
"""


def _schema() -> dict[str, object]:
    result = CliRunner().invoke(build_cli(), ["schema"])
    assert result.exit_code == 0, result.output
    schema: dict[str, object] = json.loads(result.output)
    return schema


def test_schema_validates_a_suite_written_with_mappings() -> None:
    schema = _schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    suite = {
        "version": 1,
        "suite": "s",
        "target": {"plugin": "python", "model": "m:f"},
        "judge": {"plugin": "recorded", "model": "labels.jsonl"},
        "threshold": 0.8,
        "gate": {"min_pass_rate": 0.9, "confidence": 0.95},
        "tags": ["t"],
        "rubrics": {"tone": [{"text": "Is polite."}]},
        "cases": [
            {
                "id": "c",
                "input": "q",
                "rubric": ["tone"],
                "threshold": 0.5,
                "criteria": [
                    {"id": "x", "text": "States it.", "points": -5, "tags": ["safety"]},
                    {"id": "y", "check": "contains", "with": {"value": "30"}, "must": True},
                ],
            }
        ],
    }
    jsonschema.Draft202012Validator(schema).validate(suite)


def test_schema_validates_the_design_example_and_the_repo_suites() -> None:
    validator = jsonschema.Draft202012Validator(_schema())
    validator.validate(yaml.safe_load(DESIGN_EXAMPLE))
    suites = sorted((REPO / "suites").rglob("test_*.rubric.y*ml"))
    assert len(suites) >= 4, suites  # examples, demo-failures, release
    for path in suites:
        validator.validate(yaml.safe_load(path.read_text(encoding="utf-8")))


@pytest.mark.parametrize(
    "bad",
    [
        {"cases": [{"id": "c", "output": "a", "critera": ["x"]}]},
        {"treshold": 0.5, "cases": [{"id": "c", "output": "a", "criteria": ["x"]}]},
        {"cases": [{"id": "c", "output": "a", "criteria": [{"text": "x", "pionts": 2}]}]},
        {"cases": []},
    ],
)
def test_schema_rejects_unknown_keys_and_empty_cases(bad: dict[str, object]) -> None:
    validator = jsonschema.Draft202012Validator(_schema())
    assert list(validator.iter_errors(bad)), f"the schema accepted {bad}"


def test_every_command_has_help_with_an_example() -> None:
    cli = build_cli()
    runner = CliRunner()
    for name in ("run", "report", "plugins", "schema"):
        result = runner.invoke(cli, [name, "--help"])
        assert result.exit_code == 0, result.output
        assert "Example" in result.output, f"`rubrictest {name} --help` shows no example"
    assert runner.invoke(cli, ["-h"]).exit_code == 0


def test_run_passes_arguments_to_pytest_and_the_run_is_reported(tmp_path: Path) -> None:
    (tmp_path / "test_cli.rubric.yaml").write_text(
        "cases:\n  - {id: c1, output: a, criteria: [{id: k, check: equals, with: {value: a}},"
        " {id: bad, check: equals, with: {value: b}}]}\n"
    )
    cmd = [sys.executable, "-c", "from rubrictest.cli import main; main()"]
    run = subprocess.run(
        [*cmd, "run", "-v", "-k", "k", "-p", "no:cacheprovider"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "test_cli.rubric.yaml::c1::k PASSED" in run.stdout and "1 deselected" in run.stdout
    failing = subprocess.run(
        [*cmd, "run", "-p", "no:cacheprovider"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert failing.returncode == 1
    report = subprocess.run([*cmd, "report", "--json"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert report.returncode == 0, report.stderr
    assert [c["status"] for c in json.loads(report.stdout)["criteria"]] == ["PASS", "FAIL"]
    with sqlite3.connect(tmp_path / ".rubrictest" / "rubrictest.db") as conn:
        assert conn.execute("SELECT count(*) FROM runs").fetchone() == (2,)


def test_sqlite_writes_are_batched(
    pytester: pytest.Pytester, write_suite: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """1,000 verdicts and 100 case rows are written in a handful of transactions, not 1,100."""
    statements: list[str] = []
    real_open = Store.open.__func__  # type: ignore[attr-defined]

    def traced_open(cls: type[Store], /, *args: object, **kwargs: object) -> Store:
        store: Store = real_open(cls, *args, **kwargs)
        store.db.conn.set_trace_callback(statements.append)
        return store

    monkeypatch.setattr(Store, "open", classmethod(traced_open))
    cases = "\n".join(
        f"  - {{id: c{i}, output: 'a{i}', criteria: ["
        + ", ".join(f"{{id: k{j}, check: contains, with: {{value: a}}}}" for j in range(10))
        + "]}"
        for i in range(100)
    )
    write_suite("cases:\n" + cases + "\n")
    pytester.runpytest("-q").assert_outcomes(passed=1000)
    commits = [s for s in statements if s.strip().upper().startswith("COMMIT")]
    inserts = [s for s in statements if s.lstrip().upper().startswith("INSERT") and "verdicts" in s[:40]]
    assert len(open_store(pytester).verdicts(open_store(pytester).resolve_run(None))) == 1000
    assert inserts and commits, "the trace saw no write"
    # one prepared statement run by executemany (the trace shows each row's execution), and
    # what matters for speed: a handful of transactions, not one per verdict
    assert len({s.split("VALUES")[0] for s in inserts}) <= 2
    assert len(commits) <= 10, f"{len(commits)} transactions for 1,000 verdicts"
