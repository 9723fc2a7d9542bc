"""``rubrictest calibrate`` on a run in the database and on JSONL verdicts, and its bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlite_utils
from click.testing import CliRunner

from rubrictest.cli.commands.calibrate import command
from rubrictest.store.migrations import migrations

# judge verdicts (case, criterion, outcome, confidence, tags) and gold labels
VERDICTS = [
    ("refund", "window", "met", 0.9, ["billing"]),
    ("refund", "polite", "met", 0.8, ["tone"]),
    ("late", "window", "not_met", 0.7, ["billing"]),
    ("late", "polite", "met", 0.6, ["tone"]),
    ("late", "apology", "error", None, ["tone"]),
]
GOLD = {
    ("refund", "window"): True,
    ("refund", "polite"): True,
    ("late", "window"): False,
    ("late", "polite"): False,
    ("late", "apology"): True,
}


def _jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture
def labels(tmp_path: Path) -> Path:
    return _jsonl(tmp_path / "gold.jsonl", [{"case": c, "criterion": k, "met": v} for (c, k), v in GOLD.items()])


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "rubrictest.db"
    database = sqlite_utils.Database(path)
    migrations.apply(database)
    for run, started in (("old-run", "2026-01-01T00:00:00"), ("new-run", "2026-01-02T00:00:00")):
        database["runs"].insert({"id": run, "started_at": started, "status": "passed"})
    database["verdicts"].insert_all(
        [
            {
                "run_id": "new-run",
                "suite": "support",
                "case_id": c,
                "target": "",
                "criterion_id": k,
                "criterion_hash": "h",
                "judge": "openai:gpt-4.1",
                "outcome": o,
                "confidence": conf,
                "tags": json.dumps(tags),
                "check_name": None,
            }
            for c, k, o, conf, tags in VERDICTS
        ]
        + [
            {
                "run_id": "new-run",
                "suite": "support",
                "case_id": "refund",
                "target": "",
                "criterion_id": "json",
                "criterion_hash": "h2",
                "judge": "json_schema",
                "outcome": "met",
                "check_name": "json_schema",
                "tags": "[]",
            },
            {
                "run_id": "old-run",
                "suite": "support",
                "case_id": "refund",
                "target": "",
                "criterion_id": "window",
                "criterion_hash": "h",
                "judge": "openai:gpt-4.1",
                "outcome": "not_met",
                "tags": "[]",
            },
        ]
    )
    database.close()
    return path


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(command, list(args))
    return result.exit_code, result.output


def test_latest_run_in_the_store(db: Path, labels: Path) -> None:
    code, out = _run("--db", str(db), "--labels", str(labels), "--json", "--resamples", "200")
    assert code == 0, out
    data = json.loads(out)
    overall = data["pointwise"]["overall"]
    # 4 judged (the error is left out): right on 3; judge met 3 times, labels 2 -> leniency +1/4
    assert overall["n"] == 4 and overall["accuracy"] == 0.75 and overall["leniency"] == 0.25
    assert overall["kappa"] == pytest.approx(0.5)  # p_o 0.75, p_e 0.5
    assert overall["precision"] == pytest.approx(2 / 3) and overall["recall"] == 1.0
    assert data["errors"] == 1 and data["unlabelled"] == 0  # the check is not calibrated by default
    assert data["pointwise"]["by_tag"]["tone"]["accuracy"] == 0.5
    assert data["pointwise"]["by_criterion"]["polite"]["accuracy"] == 0.5
    assert overall["brier"] == pytest.approx((0.01 + 0.04 + 0.09 + 0.36) / 4)
    assert "new-run" in data["source"]


def test_named_run_and_gates(db: Path, tmp_path: Path) -> None:
    gold = _jsonl(tmp_path / "g.jsonl", [{"case": "refund", "criterion": "window", "outcome": "met"}])
    code, out = _run("--db", str(db), "--run", "old-run", "--labels", str(gold), "--json", "--resamples", "0")
    assert code == 0 and json.loads(out)["pointwise"]["overall"]["accuracy"] == 0.0
    assert _run("--db", str(db), "--run", "old-run", "--labels", str(gold), "--min-accuracy", "0.5")[0] == 1


def test_labels_that_match_only_judge_errors_measured_nothing(db: Path, tmp_path: Path) -> None:
    # The one labelled criterion's verdict is an ERROR: 0 labels matched an answer. Before: exit 0
    # with every metric "undefined", and a stored calibration of nothing.
    gold = _jsonl(tmp_path / "g.jsonl", [{"case": "late", "criterion": "apology", "met": True}])
    code, out = _run("--db", str(db), "--labels", str(gold), "--resamples", "0")
    assert code == 2, out
    assert "nothing measured: calibrate: 0 of 1 labels matched a verdict the judge answered (1 judge ERRORs" in out
    assert sqlite_utils.Database(db)["calibrations"].count == 0


def test_a_label_for_another_response_than_the_runs_is_an_error(db: Path, tmp_path: Path) -> None:
    from rubrictest import response_sha256

    database = sqlite_utils.Database(db)
    database["cases"].insert(
        {
            "run_id": "new-run",
            "suite": "support",
            "case_id": "refund",
            "target": "",
            "response": "Returns are accepted within 30 days.",
        }
    )
    database.close()
    old = _jsonl(
        tmp_path / "old.jsonl",
        [
            {
                "case": "refund",
                "criterion": "window",
                "met": True,
                "response_sha256": response_sha256("Returns: 14 days."),
            }
        ],
    )
    code, out = _run("--db", str(db), "--labels", str(old), "--resamples", "0")
    # Before: the label of another response was counted, as agreement or as a judge's mistake.
    assert code == 2, out
    assert (
        f"old.jsonl:1: label is for another response: it was recorded for response sha256 "
        f"{response_sha256('Returns: 14 days.')[:12]}…, the response of case 'refund' in run new-run" in out
    )
    bound = _jsonl(
        tmp_path / "bound.jsonl",
        [{"case": "refund", "criterion": "window", "met": True, "response": "Returns are accepted within 30 days."}],
    )
    code, out = _run("--db", str(db), "--labels", str(bound), "--resamples", "0", "--json")
    assert code == 0, out
    assert json.loads(out)["pointwise"]["overall"]["accuracy"] == 1.0


def test_min_kappa_gate(db: Path, labels: Path) -> None:
    assert _run("--db", str(db), "--labels", str(labels), "--min-kappa", "0.4", "--resamples", "0")[0] == 0
    code, out = _run("--db", str(db), "--labels", str(labels), "--min-kappa", "0.6", "--resamples", "0")
    assert code == 1


def test_jsonl_verdicts_with_scores(tmp_path: Path) -> None:
    judged = _jsonl(
        tmp_path / "judge.jsonl",
        [
            {"case": "a", "criterion": "x", "met": True, "score": 0.9, "confidence": 1.0},
            {"case": "b", "criterion": "x", "met": False, "score": 0.2, "confidence": 1.0},
            {"case": "c", "criterion": "x", "met": True, "score": 0.6, "confidence": 1.0},
        ],
    )
    gold = _jsonl(
        tmp_path / "gold.jsonl",
        [
            {"case": "a", "criterion": "x", "label": 1, "score": 1.0},
            {"case": "b", "criterion": "x", "label": 0, "score": 0.0},
            {"case": "c", "criterion": "x", "label": "no", "score": 0.5},
        ],
    )
    code, out = _run("--verdicts", str(judged), "--labels", str(gold), "--json", "--resamples", "0")
    assert code == 0, out
    overall = json.loads(out)["pointwise"]["overall"]
    assert overall["spearman"] == pytest.approx(1.0)
    assert overall["ece"] == pytest.approx(1 / 3)  # all at confidence 1.0, 2 of 3 right
    assert overall["kappa"] == pytest.approx(0.4)  # p_o 2/3, p_e 4/9


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ({"case": "nosuch", "criterion": "window", "met": True}, "case 'nosuch' does not exist"),
        ({"case": "refund", "criterion": "nosuch", "met": True}, "has no criterion 'nosuch'"),
        ({"case": "refund", "criterion": "window", "met": "maybe"}, "met: 'maybe' is not a verdict"),
        (
            {"case": "refund", "criterion": "window", "met": True, "score": 3},
            "score: 3 is not a number in [0, 1]",
        ),
        ({"case": "refund", "met": True}, "criterion: expected a non-empty string"),
        (
            {"case": "refund", "criterion": "window", "met": True, "target": "gpt-x"},
            "no verdict for target 'gpt-x'",
        ),
    ],
)
def test_bad_labels_are_one_clear_error(db: Path, tmp_path: Path, line: dict[str, object], message: str) -> None:
    gold = _jsonl(tmp_path / "bad.jsonl", [{"case": "late", "criterion": "window", "met": False}, line])
    code, out = _run("--db", str(db), "--labels", str(gold))
    assert code == 2
    assert "bad.jsonl:2: " in out and message in out and "Traceback" not in out


def test_missing_inputs(tmp_path: Path, labels: Path) -> None:
    assert "give --labels" in _run()[1]
    code, out = _run("--db", str(tmp_path / "none.db"), "--labels", str(labels))
    assert code == 2 and "no results database" in out
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n")
    code, out = _run("--verdicts", str(bad), "--labels", str(labels))
    assert code == 2 and "bad.jsonl:1: invalid JSON" in out


def test_suite_field_and_filter(db: Path, tmp_path: Path) -> None:
    gold = _jsonl(tmp_path / "g.jsonl", [{"case": "refund", "criterion": "window", "met": True, "suite": "support"}])
    code, out = _run("--db", str(db), "--labels", str(gold), "--suite", "support", "--json", "--resamples", "0")
    assert code == 0 and json.loads(out)["pointwise"]["overall"]["accuracy"] == 1.0
    other = _jsonl(tmp_path / "o.jsonl", [{"case": "refund", "criterion": "window", "met": True, "suite": "other"}])
    code, out = _run("--db", str(db), "--labels", str(other))
    assert code == 2 and "o.jsonl:1: " in out and "no verdict in suite 'other'" in out
