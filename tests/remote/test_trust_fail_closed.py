"""Trust commands fail closed (issue 11, item 6): ``pairwise``, ``probe`` and ``drift`` with an
OpenAI-wire judge on the scripted server, over real HTTP.

A check that measured nothing exits 2 and says so; ``pairwise`` fails a judge whose preferred
answer flips with the order. The server's default answer is "met" for every criterion: asked
"Response 1 meets this better than Response 2", it always prefers the first-shown answer.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from rubrictest.cli.commands import drift, pairwise, probe

from .fake_provider import FakeProvider

_PAIR = re.compile(r"\[Response 1\]\n(.*)\n\[End of Response 1\]\n\n\[Response 2\]\n(.*)\n\[End of Response 2\]", re.S)


def _judge(provider: FakeProvider) -> str:
    return json.dumps(
        {
            "plugin": "openai",
            "model": "judge-model",
            "base_url": provider.openai_url,
            "options": {"retry": {"base_delay": 0.01, "max_delay": 0.05, "max_attempts": 2}},
        }
    )


def _unreachable(model: str) -> str:
    """An openai spec whose server refuses every connection, asked once."""
    return json.dumps(
        {
            "plugin": "openai",
            "model": model,
            "base_url": "http://127.0.0.1:9/v1",
            "options": {"retry": {"max_attempts": 1}},
        }
    )


def _fair(criterion_id: str, response: str) -> tuple[bool, str]:
    """Prefers the answer that says 'refund' (or 'express'), whichever position it is shown in."""
    pair = _PAIR.search(response)
    word = "express" if "express" in criterion_id else "refund"
    if pair is None:
        return word in response.lower(), response[:20]
    first, second = (p.lower() for p in pair.groups())
    return (word in first) and (word not in second), first[:10]


def _release(tmp_path: Path) -> Path:
    (tmp_path / "v1.jsonl").write_text(
        '{"id": "refund", "output": "It is on its way."}\n'
        '{"id": "shipping", "output": "Express shipping takes a day."}\n'
    )
    (tmp_path / "v2.jsonl").write_text(
        '{"id": "refund", "output": "Your refund is on its way."}\n'
        '{"id": "shipping", "output": "Shipping takes a few days."}\n'
    )
    suite = tmp_path / "test_rel.rubric.yaml"
    suite.write_text(
        "target: jsonl:v2.jsonl\njudge: openai:judge-model\ncases:\n"
        "  - {id: refund, input: Where is my refund?, criteria: [\"Mentions 'refund'.\"]}\n"
        "  - {id: shipping, input: How fast?, criteria: [\"Mentions 'express'.\"]}\n"
    )
    return suite


def _pairwise(suite: Path, provider: FakeProvider, *extra: str) -> Result:
    return CliRunner().invoke(
        pairwise.command,
        [
            str(suite),
            "--baseline",
            "jsonl:v1.jsonl",
            "--candidate",
            "jsonl:v2.jsonl",
            "--judge",
            _judge(provider),
            "--no-store",
            *extra,
        ],
    )


def test_pairwise_fails_a_judge_that_always_prefers_the_first_answer(
    tmp_path: Path, provider: FakeProvider, api_keys: str
) -> None:
    # Before: every pair was a tie, the baseline won none, and --max-loss-rate passed the judge.
    suite = _release(tmp_path)
    result = _pairwise(suite, provider, "--max-loss-rate", "0.2", "--json")
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert report["overall"]["ties"] == 2 and report["overall"]["baseline_wins"] == 0
    assert report["overall"]["inconsistency"] == 1.0 and report["overall"]["first_shown_won"] == 2
    assert "flips with the order in 2 of 2 pairs" in result.stderr
    assert "no pair was decided (2 ties)" in result.stderr
    assert provider.count("chat/completions") == 4  # each pair judged in both orders


def test_pairwise_passes_a_judge_consistent_across_orders(
    tmp_path: Path, provider: FakeProvider, api_keys: str
) -> None:
    provider.decide = _fair
    suite = _release(tmp_path)
    result = _pairwise(suite, provider, "--max-loss-rate", "0.5", "--json")
    assert result.exit_code == 0, result.output
    overall = json.loads(result.stdout)["overall"]
    assert (overall["candidate_wins"], overall["baseline_wins"], overall["inconsistency"]) == (1, 1, 0.0)
    # the same judge under a stricter loss gate fails on the loss, not on position
    strict = _pairwise(suite, provider, "--max-loss-rate", "0.2")
    assert strict.exit_code == 1 and "the baseline won 1 of 2 pairs" in strict.stderr
    assert "flips with the order" not in strict.stderr


def test_pairwise_with_every_pair_an_error_measured_nothing(
    tmp_path: Path, provider: FakeProvider, api_keys: str
) -> None:
    suite = _release(tmp_path)
    result = CliRunner().invoke(
        pairwise.command,
        [str(suite), "--baseline", "jsonl:v1.jsonl", "--candidate", "jsonl:v2.jsonl"]
        + ["--judge", _unreachable("judge-model"), "--no-store"],
    )
    assert result.exit_code == 2, result.output
    assert "nothing measured: pairwise: 0 pairs compared in both orders (2 pairs, 2 with a judge ERROR" in result.output


def test_pairwise_says_why_a_target_gave_no_response(tmp_path: Path, provider: FakeProvider, api_keys: str) -> None:
    suite = _release(tmp_path)
    result = CliRunner().invoke(
        pairwise.command,
        [str(suite), "--baseline", _unreachable("old-model"), "--candidate", "jsonl:v2.jsonl"]
        + ["--judge", _judge(provider), "--no-store"],
    )
    assert result.exit_code == 2, result.output
    # Before: "refund: baseline gave no response", and nothing on why.
    assert "refund: baseline gave no response (target openai:old-model: gave up after 1 attempt" in result.output
    assert "connection failed" in result.output and provider.count() == 0


def test_probe_that_measured_nothing_fails(tmp_path: Path, provider: FakeProvider, api_keys: str) -> None:
    suite = tmp_path / "test_p.rubric.yaml"
    suite.write_text(
        "judge: openai:judge-model\ncases:\n"
        "  - {id: a, input: Where is my refund?, output: Your refund is sent., "
        "criteria: [\"Mentions 'refund'.\"]}\n"
    )
    # No case has a reference: the position probe has no pair to judge. Before: exit 0.
    result = CliRunner().invoke(
        probe.command,
        [str(suite), "--judge", _judge(provider), "--probe", "position", "--fail-above", "position=0.1", "--no-store"],
    )
    assert result.exit_code == 2, result.output
    assert "no case has a reference to pair the response with" in result.output
    # The judge calls everything met: no not-met verdict for a canary to flip, so the injection
    # gate is unmeasured and fails beside a length probe that did measure.
    both = CliRunner().invoke(
        probe.command,
        [
            str(suite),
            "--judge",
            _judge(provider),
            "--probe",
            "injection",
            "--probe",
            "length-pad",
            "--max-rate",
            "0.5",
            "--no-store",
            "--json",
        ],
    )
    assert both.exit_code == 1, both.output
    data = json.loads(both.stdout)
    assert data["failed"] == ["injection"] and data["probes"]["length-pad"]["n"] == 1
    assert "injection: nothing measured: 0 items measured (no response was judged not met" in both.stderr


@pytest.mark.parametrize("with_output", [False, True])
def test_drift_without_responses_measured_nothing(
    tmp_path: Path, provider: FakeProvider, api_keys: str, with_output: bool
) -> None:
    output = ", output: Your refund is sent." if with_output else ""
    old = tmp_path / "old.rubric.yaml"
    head = "judge: openai:judge-model\ntarget: openai:app-model\ncases:\n"
    old.write_text(f"{head}  - {{id: a, input: Refund?{output}, criteria: [{{id: c, text: Mentions 'refund'.}}]}}\n")
    new = tmp_path / "test_new.rubric.yaml"
    new.write_text(f"{head}  - {{id: a, input: Refund?{output}, criteria: [{{id: c, text: Says 'refund'.}}]}}\n")
    result = CliRunner().invoke(
        drift.command,
        [str(new), "--old", str(old), "--judge", _judge(provider), "--max-flip-rate", "0.1", "--no-store"],
    )
    if with_output:
        assert result.exit_code == 0, result.output
        assert "1 verdict pairs compared" in result.output
        return
    # Before: "0 verdict pairs compared" and exit 0, so the CI recipe passed any suite without outputs.
    assert result.exit_code == 2, result.output
    assert "nothing measured: drift: 1 criteria changed, 0 verdict pairs compared; a::c: no response" in result.output
    assert provider.count("chat/completions") == 0


def test_drift_of_an_edit_that_changed_no_criterion_passes(
    tmp_path: Path, provider: FakeProvider, api_keys: str
) -> None:
    suite = tmp_path / "test_same.rubric.yaml"
    suite.write_text(
        "judge: openai:judge-model\ntarget: openai:app-model\ncases:\n"
        "  - {id: a, input: Refund?, criteria: [{id: c, text: Mentions 'refund'.}]}\n"
    )
    result = CliRunner().invoke(
        drift.command,
        [str(suite), "--old", str(suite), "--judge", _judge(provider), "--max-flip-rate", "0.1", "--no-store"],
    )
    assert result.exit_code == 0, result.output
    assert "0 criteria changed" in result.output
