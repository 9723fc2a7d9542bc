"""``rubrictest generate`` and ``rubrictest rubric-quality`` through click."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from rubrictest.cli import build_cli
from rubrictest.cli.commands.generate import command as generate
from rubrictest.cli.commands.rubric_quality import command as rubric_quality

from .rubrictest_gen_fakes import MODEL, write_jsonl

CHECKLIST = json.dumps(
    {"checklist": [{"question": "Does the response state `30 days`?"}, {"question": "Does it say `thank`?"}]}
)


def test_commands_are_in_the_cli_with_help_and_an_example() -> None:
    cli = build_cli()
    for name in ("generate", "rubric-quality"):
        result = CliRunner().invoke(cli, [name, "--help"])
        assert result.exit_code == 0 and "Example:" in result.output and f"rubrictest {name}" in result.output


def test_generate_review_shows_the_diff_and_never_touches_the_suite(suite_file: Path, script) -> None:  # type: ignore[no-untyped-def]
    script([CHECKLIST, CHECKLIST])
    before = suite_file.read_bytes()
    result = CliRunner().invoke(
        generate, [str(suite_file), "-g", "checklist", "--model", MODEL, "--review"], input="n\n"
    )
    assert result.exit_code == 0, result.output
    assert "+++ test_support.generated.yaml (generated)" in result.output
    assert "+    text: Does the response state `30 days`?" in result.output
    assert "Nothing written." in result.output
    companion = suite_file.with_name("test_support.generated.yaml")
    assert not companion.exists()

    script([CHECKLIST, CHECKLIST])
    result = CliRunner().invoke(
        generate, [str(suite_file), "-g", "checklist", "--model", MODEL, "--review"], input="y\n"
    )
    assert result.exit_code == 0, result.output
    assert "Wrote 4 criteria for 2 case(s)" in result.output
    assert "include: [test_support.generated.yaml]" in result.output
    assert suite_file.read_bytes() == before
    assert companion.exists()


def test_invalid_model_output_writes_nothing(suite_file: Path, script) -> None:  # type: ignore[no-untyped-def]
    script(lambda prompt: "I'd rather not." if "shipping" in prompt else CHECKLIST)
    result = CliRunner().invoke(generate, [str(suite_file), "-g", "checklist", "--model", MODEL, "--max-attempts", "2"])
    assert result.exit_code == 1
    assert "checklist:shipping" in result.output and "after 2 attempt(s)" in result.output
    assert "Nothing was written." in result.output
    assert not suite_file.with_name("test_support.generated.yaml").exists()


def test_hand_edited_companion_is_reported_not_overwritten(suite_file: Path, script) -> None:  # type: ignore[no-untyped-def]
    script([CHECKLIST, CHECKLIST])
    args = [str(suite_file), "-g", "checklist", "--model", MODEL, "--case", "refund"]
    assert CliRunner().invoke(generate, args).exit_code == 0
    companion = suite_file.with_name("test_support.generated.yaml")
    companion.write_text(companion.read_text().replace("state `30 days`", "state `31 days`"))
    edited = companion.read_text()
    script([CHECKLIST])
    result = CliRunner().invoke(generate, args)
    assert result.exit_code == 1 and "edited by hand" in result.output and "--force" in result.output
    assert companion.read_text() == edited
    script([CHECKLIST])
    result = CliRunner().invoke(generate, [*args, "--force"])
    assert result.exit_code == 0 and "replacing 2 from an earlier run" in result.output
    assert "31 days" not in companion.read_text()


def test_bad_pairs_file_is_a_clear_error(suite_file: Path, tmp_path: Path, keyword_judge) -> None:  # type: ignore[no-untyped-def]
    pairs = write_jsonl(tmp_path / "pairs.jsonl", [{"case": "refund", "output_1": "a", "output_2": "b", "label": 0}])
    result = CliRunner().invoke(
        generate, [str(suite_file), "-g", "contrastive", "--model", MODEL, "--pairs", str(pairs)]
    )
    assert result.exit_code == 1
    assert f"{pairs}:1: field 'label' must be 1 or 2" in result.output
    result = CliRunner().invoke(generate, [str(suite_file), "-g", "decompose", "--model", MODEL])
    assert result.exit_code == 1 and "give --pairs FILE" in result.output


def test_generate_with_pairs_prints_quality(suite_file: Path, tmp_path: Path, script, keyword_judge) -> None:  # type: ignore[no-untyped-def]
    pairs = write_jsonl(
        tmp_path / "pairs.jsonl",
        [
            {"case": "refund", "chosen": "Within 30 days, thank you.", "rejected": "Any time!"},
            {"case": "refund", "chosen": "30 days. Sorry!", "rejected": "Whenever, thank you."},
        ],
    )
    script([json.dumps({"hard_rules": [{"text": "States `30 days`"}], "principles": [{"text": "Says `thank`"}]})])
    result = CliRunner().invoke(
        generate, [str(suite_file), "-g", "contrastive", "--model", MODEL, "--pairs", str(pairs), "--case", "refund"]
    )
    assert result.exit_code == 0, result.output
    assert "Wrote 1 criteria for 1 case(s)" in result.output  # "thank" favours the rejected once
    assert "Quality of the generated criteria" in result.output
    line = next(x for x in result.output.splitlines() if x.startswith("contrastive-states-30-days"))
    assert line.split()[1:6] == ["4", "0.50", "1.00", "+1.00", "1.00"]


def test_rubric_quality_command(suite_file: Path, tmp_path: Path, keyword_judge) -> None:  # type: ignore[no-untyped-def]
    suite_file.write_text(
        suite_file.read_text()
        .replace(
            '        text: "Is polite: says `thank`"\n',
            '        text: "Is polite: says `thank`"\n      - "States `30 days`"\n'
            '      - id: json\n        check: contains\n        with: {value: "{"}\n',
        )
        .replace("criteria: []", 'criteria: ["Gives `2 days`"]')
    )
    pairs = write_jsonl(
        tmp_path / "pairs.jsonl",
        [
            {"case": "refund", "chosen": "Within 30 days, thank you.", "rejected": "Any time!"},
            {"case": "refund", "chosen": "30 days, thanks", "rejected": "Any time, thanks"},
            {"case": "refund", "response": "30 days.", "label": "good"},
            {"case": "shipping", "response": "whatever", "label": "bad"},
        ],
    )
    result = CliRunner().invoke(rubric_quality, [str(suite_file), "--pairs", str(pairs), "--case", "refund", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    by = {c["name"]: c for c in data["criteria"]}
    assert data["responses"] == 5 and data["pairs"] == 2
    assert by["states-30-days"]["auroc"] == 1.0 and by["states-30-days"]["agreement"] == 1.0
    assert by["polite"]["separated"] == 1 and by["polite"]["ties"] == 1
    assert by["json"]["status"] == "unreachable"
    table = CliRunner().invoke(rubric_quality, [str(suite_file), "--pairs", str(pairs), "--case", "refund"])
    assert "l1 selection" in table.output and "unreachable" in table.output


def test_cli_and_generator_plugin_load_without_the_stats_extra() -> None:
    """numpy and scikit-learn are the optional `stats` extra: importing the commands and the
    generator plugin must not need them (every rubrictest run loads the plugin)."""
    import subprocess
    import sys

    code = (
        "import sys; import rubrictest.cli.commands.generate, rubrictest.cli.commands.rubric_quality, "
        "rubrictest_generators, rubrictest.generation; "
        "print(sorted(m for m in ('numpy', 'sklearn', 'scipy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
