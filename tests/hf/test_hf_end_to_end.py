"""Suites with ``judge: {plugin: hf}`` run by pytest: verdicts and confidences in the store."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

pytest.importorskip("torch")

JUDGED = """
version: 1
suite: hf-judged
judge: {{plugin: hf, model: "{model}"}}
cases:
  - id: refund
    input: "Can I return shoes after 40 days?"
    output: "Returns are accepted within 30 days."
    criteria:
      - The reply is polite.
      - The reply states that the return window is 30 days.
      - id: window
        check: contains
        with: {{value: "30 days"}}
  - id: capital
    input: "What is the capital of France?"
    output: "Paris is the capital of France."
    criteria: ["It mentions the refund policy."]
"""

GENERATED = """
version: 1
suite: hf-generated
target: {{plugin: hf, model: "{model}", params: {{max_new_tokens: 6}}}}
judge: {{plugin: hf, model: "{model}", options: {{max_batch_tokens: 4096}}}}
threshold: 0.5
cases:
  - id: returns
    input: "Can I return shoes?"
    criteria: ["The reply is polite.", "It mentions the refund policy."]
  - id: capital
    input: "What is the capital of France?"
    criteria: ["The reply is polite."]
"""

MISSING = """
version: 1
suite: hf-missing
judge: {{plugin: hf, model: "{model}"}}
cases:
  - id: one
    input: "Can I return shoes?"
    output: "Yes."
    criteria: ["The reply is polite."]
"""


def rows(db: Path, sql: str) -> list[sqlite3.Row]:
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    try:
        return list(con.execute(sql))
    finally:
        con.close()


def test_suites_judged_by_hf_land_in_the_store(pytester: pytest.Pytester, models: dict[str, Path]) -> None:
    from rubrictest_hf import loading

    model = models["plain"].as_posix()
    (pytester.path / "test_judged.rubric.yaml").write_text(JUDGED.format(model=model))
    (pytester.path / "test_generated.rubric.yaml").write_text(GENERATED.format(model=model))
    (pytester.path / "test_missing.rubric.yaml").write_text(MISSING.format(model=model + "-missing"))
    db = pytester.path / "results.db"
    before = loading.LOAD_COUNT

    # In process: torch is imported once, and the load counter can be read afterwards.
    result = pytester.runpytest_inprocess("-v", f"--rubric-db={db}", "-p", "no:cacheprovider")
    out = result.stdout.str()
    assert "test_judged.rubric.yaml::refund::window PASSED" in out
    assert "test_missing.rubric.yaml::one::the-reply-is-polite ERROR" in out
    assert "model path not found" in out
    # One model for two suites, a judge and a target (three specs): loaded once, released at the end.
    assert loading.LOAD_COUNT == before + 1
    assert model not in loading.loaded_models()

    verdicts = rows(db, "SELECT * FROM verdicts WHERE check_name IS NULL OR check_name = ''")
    judged = [v for v in verdicts if v["suite"] in ("hf-judged", "hf-generated")]
    assert len(judged) == 6
    for v in judged:
        assert v["outcome"] in ("met", "not_met"), dict(v)
        assert v["status"] in ("PASS", "FAIL", "MISSED")
        assert 0.5 <= v["confidence"] <= 1.0
        assert 0.0 <= v["score"] <= 1.0
        assert v["judge"].startswith("hf:")
        assert "P(yes)" in v["rationale"]
    missing = [v for v in verdicts if v["suite"] == "hf-missing"]
    assert [(v["outcome"], v["status"]) for v in missing] == [("error", "ERROR")]
    assert "model path not found" in missing[0]["error"]

    # Again: every answer comes from the cache, so the model is not even loaded.
    again = pytester.runpytest_inprocess("-v", f"--rubric-db={db}", "-p", "no:cacheprovider")
    assert again.ret == result.ret
    assert loading.LOAD_COUNT == before + 1
    last_run = rows(db, "SELECT id FROM runs ORDER BY started_at DESC LIMIT 1")[0]["id"]
    second = rows(
        db,
        f"SELECT * FROM verdicts WHERE run_id = '{last_run}' AND suite != 'hf-missing' "
        "AND (check_name IS NULL OR check_name = '')",
    )
    assert len(second) == 6 and all(v["cached"] == 1 for v in second)
    assert sorted(v["confidence"] for v in second) == sorted(v["confidence"] for v in judged)

    calls = rows(db, "SELECT * FROM judge_calls")
    targets = [c for c in calls if c["kind"] == "target"]
    assert len(targets) == 2 and all(c["output_tokens"] is not None for c in targets)
    judge_calls = [c for c in calls if c["kind"] == "judge" and c["plugin"] == "hf"]
    assert judge_calls and all(json.loads(c["request"])["mode"] == "logprob" for c in judge_calls)


def test_under_xdist_workers_report_a_clear_error(pytester: pytest.Pytester, models: dict[str, Path]) -> None:
    pytest.importorskip("xdist")
    (pytester.path / "test_judged.rubric.yaml").write_text(JUDGED.format(model=models["plain"].as_posix()))
    # The workers refuse before importing torch, so this stays cheap.
    result = pytester.runpytest_subprocess("-n", "2", "--rubric-no-store", "-p", "no:cacheprovider", "-rE")
    out = result.stdout.str()
    assert "pytest-xdist worker" in out and "-n 0" in out
    result.assert_outcomes(passed=1, errors=3)  # the contains check passes; model criteria ERROR
