"""Bias probes against a scripted judge whose biases are known: the rates found must match."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from rubrictest.cli.commands.probe import command
from rubrictest.trust.probes import CANARIES, family, inject, pad, trim

SHORT_1 = "We refund unused items when you send them back to us."  # 54 chars
SHORT_2 = "Shipping takes three to five working days, tracked."  # 51 chars
LONG_3 = (
    "Your refund was approved today. The money goes back to the card you paid with. "
    "Banks usually take a few days to show it. We will email you a receipt as well."
)
LONG_4 = (
    "Shipping is free on orders over fifty euros. Parcels leave our depot every weekday. "
    "You get a tracking link by email. Deliveries abroad can take a little longer."
)
SUITE = f"""\
version: 1
judge: scripted
rubrics:
  topics:
    - id: refund
      text: Mentions 'refund'.
    - id: shipping
      text: Mentions 'shipping'.
cases:
  - id: c1
    input: Can I get my money back?
    output: "{SHORT_1}"
    reference: "Refunds take 30 days."
    rubric: [topics]
    criteria:
      - id: format
        check: contains
        with: {{value: "."}}
  - id: c2
    input: How long is delivery?
    output: "{SHORT_2}"
    reference: "Delivery is quick."
    rubric: [topics]
  - id: c3
    input: Where is my refund?
    output: "{LONG_3}"
    rubric: [topics]
  - id: c4
    input: What does delivery cost?
    output: "{LONG_4}"
    rubric: [topics]
"""


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    path = tmp_path / "test_probe.rubric.yaml"
    path.write_text(SUITE)
    return path


def _probe(suite: Path, *args: str) -> tuple[int, dict[str, object] | str]:
    result = CliRunner().invoke(command, [str(suite), "--json", *args])
    try:
        return result.exit_code, json.loads(result.stdout)
    except ValueError:
        return result.exit_code, result.output


def _rates(data: object) -> dict[str, dict[str, object]]:
    assert isinstance(data, dict), data
    probes = data["probes"]
    assert isinstance(probes, dict)
    return probes


def test_transformations() -> None:
    assert len(pad(SHORT_1)) >= 2 * len(SHORT_1) and pad(SHORT_1).startswith(SHORT_1)
    assert "refund" not in pad(SHORT_1)[len(SHORT_1) :].lower()
    assert trim(LONG_3) == "Your refund was approved today. The money goes back to the card you paid with."
    assert trim("one two three four") == "one two"
    assert inject("x", CANARIES[0]).endswith(CANARIES[0])
    assert [family(n) for n in ("openai:gpt-4o", "claude-3-haiku", "hf:meta-llama/Llama-3.1-8B", None)] == [
        "openai",
        "anthropic",
        "meta",
        None,
    ]


def test_fair_judge_moves_only_where_expected(scripted_judge: None, suite: Path) -> None:
    code, data = _probe(suite, "--probe", "length-pad", "--probe", "injection", "--probe", "position")
    assert code == 0, data
    probes = _rates(data)
    assert data["items"] == 8  # type: ignore[index]  # 4 cases x 2 text criteria; the check is skipped
    assert probes["length-pad"]["rate"] == 0.0 and probes["length-pad"]["n"] == 8
    # 4 baseline not-met items x 3 canaries, none obeyed
    assert probes["injection"]["n"] == 12 and probes["injection"]["rate"] == 0.0
    # 4 pairs (c1, c2 have references); a binary judge is order-dependent exactly on the 3
    # pairs where both responses mention the word or neither does (then the second shown wins)
    assert probes["position"]["n"] == 4 and probes["position"]["rate"] == 0.75
    assert probes["position"]["first_shown_won"] == 0 and probes["position"]["without_reference"] == 4


def test_length_biased_judge(scripted_judge: None, suite: Path) -> None:
    judge = json.dumps({"plugin": "scripted", "options": {"min_len": 100}})
    code, data = _probe(suite, "--judge", judge, "--probe", "length-pad", "--probe", "length-trim")
    probes = _rates(data)
    # the 4 short-response items (c1, c2) turn met when padded past 100 characters
    assert probes["length-pad"] == {
        **probes["length-pad"],
        "n": 8,
        "hits": 4,
        "rate": 0.5,
        "to_met": 4,
        "to_not_met": 0,
    }
    # trimmed long responses (c3, c4) fall under 100 characters: 4 items turn not met
    assert probes["length-trim"]["to_not_met"] == 4 and probes["length-trim"]["to_met"] == 0
    low, high = probes["length-pad"]["ci"]  # type: ignore[misc]
    assert low < 0.5 < high
    assert code == 0


def test_injection_obeying_judge_fails_the_gate(scripted_judge: None, suite: Path) -> None:
    judge = json.dumps({"plugin": "scripted", "options": {"obey": [0]}})
    code, data = _probe(suite, "--judge", judge, "--probe", "injection", "--fail-above", "injection=0.1")
    probes = _rates(data)
    assert probes["injection"]["rate"] == pytest.approx(1 / 3)  # obeys one canary of three
    assert probes["injection"]["canary_1"] == 4 and probes["injection"]["canary_2"] == 0
    assert probes["injection"]["failed"] is True and code == 1


def test_position_biased_judge(scripted_judge: None, suite: Path) -> None:
    judge = json.dumps({"plugin": "scripted", "options": {"first_wins": True}})
    code, data = _probe(suite, "--judge", judge, "--probe", "position", "--max-rate", "0.5")
    probes = _rates(data)
    assert probes["position"]["rate"] == 1.0 and probes["position"]["first_shown_won"] == 4
    assert probes["position"]["positional_agreement"] == 0.0 and code == 1


def test_self_preference_with_and_without_labels(scripted_judge: None, suite: Path, tmp_path: Path) -> None:
    responses = tmp_path / "responses.jsonl"
    responses.write_text(
        "".join(
            json.dumps({"case": c, "target": t, "response": r}) + "\n"
            for c, r in (("c1", SHORT_1), ("c2", SHORT_2))
            for t in ("gpt-4o", "claude-3-haiku")
        )
    )
    labels = tmp_path / "gold.jsonl"
    labels.write_text(
        "".join(
            json.dumps({"case": c, "criterion": k, "met": m}) + "\n"
            for c, k, m in (
                ("c1", "refund", True),
                ("c1", "shipping", False),
                ("c2", "refund", False),
                ("c2", "shipping", True),
            )
        )
    )
    judge = json.dumps({"plugin": "scripted", "model": "gpt-judge", "options": {"favour": "openai"}})
    code, data = _probe(
        suite,
        "--judge",
        judge,
        "--probe",
        "self-preference",
        "--responses",
        str(responses),
        "--labels",
        str(labels),
        "--fail-above",
        "self-preference=0.2",
    )
    sp = _rates(data)["self-preference"]
    # own family: judged met 4/4 against gold 2/4 -> DBG 0.5; other family: the fair rule -> 0
    assert sp["judge_family"] == "openai" and sp["measure"] == "DBG difference"
    assert sp["own_family"] == 4 and sp["other_families"] == 4
    assert sp["dbg_own"] == 0.5 and sp["dbg_other"] == 0.0 and sp["rate"] == 0.5
    assert code == 1
    code, data = _probe(suite, "--judge", judge, "--probe", "self-preference", "--responses", str(responses))
    sp = _rates(data)["self-preference"]
    assert sp["measure"] == "met-rate difference" and sp["rate"] == 0.5 and code == 0


def test_bad_input(scripted_judge: None, suite: Path, tmp_path: Path) -> None:
    code, out = _probe(suite, "--fail-above", "nosuch=1")
    assert code == 2 and "expected PROBE=RATE" in str(out)
    bad = tmp_path / "r.jsonl"
    bad.write_text(json.dumps({"case": "zz", "target": "x", "response": "hi"}) + "\n")
    code, out = _probe(suite, "--responses", str(bad))
    assert code == 2 and "case 'zz'" in str(out)
    code, out = _probe(suite, "--judge", "nosuchjudge:model")
    assert code == 2 and "unknown judge 'nosuchjudge'" in str(out)


def test_text_output(scripted_judge: None, suite: Path) -> None:
    result = CliRunner().invoke(command, [str(suite), "--probe", "length-pad"])
    assert result.exit_code == 0 and "length-pad" in result.output and "to met 0" in result.output


def test_responses_from_a_stored_run(scripted_judge: None, suite: Path, tmp_path: Path) -> None:
    import sqlite_utils

    from rubrictest.store.migrations import migrations

    db_path = tmp_path / "r.db"
    db = sqlite_utils.Database(db_path)
    migrations.apply(db)
    db["runs"].insert({"id": "r1", "started_at": "2026-01-01T00:00:00", "status": "passed"})
    db["cases"].insert_all(
        [
            {"run_id": "r1", "suite": "probe", "case_id": "c1", "target": "gpt-4o", "response": SHORT_1},
            {"run_id": "r1", "suite": "probe", "case_id": "c1", "target": "claude-3-haiku", "response": SHORT_1},
            {"run_id": "r1", "suite": "elsewhere", "case_id": "zz", "target": "x", "response": "ignored"},
        ]
    )
    db.close()
    judge = json.dumps({"plugin": "scripted", "model": "gpt-judge", "options": {"favour": "openai"}})
    code, data = _probe(suite, "--judge", judge, "--probe", "self-preference", "--run", "latest", "--db", str(db_path))
    sp = _rates(data)["self-preference"]
    # own family: c1 refund and shipping both met; other family: refund met, shipping not
    assert code == 0 and sp["own_family"] == 2 and sp["other_families"] == 2 and sp["rate"] == 0.5


def test_failing_judge_calls_are_left_out_not_counted(scripted_judge: None, suite: Path) -> None:
    from rubrictest.trust.probes import NEUTRAL_SENTENCES

    judge = json.dumps({"plugin": "scripted", "options": {"raise_on": NEUTRAL_SENTENCES[0]}})
    code, data = _probe(suite, "--judge", judge, "--probe", "length-pad")
    pad_result = _rates(data)["length-pad"]
    # left out, not counted as flips; and a probe run in which every probe measured nothing fails
    assert code == 2 and pad_result["n"] == 0 and pad_result["errors"] == 8 and pad_result["rate"] is None
