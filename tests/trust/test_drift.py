"""``rubrictest drift`` with the scripted judge: known edits must give known flips per tag."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from rubrictest.cli.commands.drift import command

TEMPLATE = """\
version: 1
judge: scripted
cases:
  - id: a
    output: We refund the full price.
    tags: [billing]
    criteria:
      - {{id: topic, text: "Mentions '{billing}'."}}
      - {{id: article, text: "Mentions 'the'."}}
  - id: b
    output: Your refund and reimbursement are on the way.
    tags: [billing]
    criteria:
      - {{id: topic, text: "Mentions '{billing}'."}}
  - id: c
    output: Shipping is free.
    tags: [delivery]
    criteria:
      - {{id: topic, text: "Mentions 'shipping'."}}
      - {{id: extra, text: "Mentions '{delivery}'."}}
  - id: d
    output: Delivery by courier; shipping takes two days.
    tags: [delivery]
    criteria:
      - {{id: topic, text: "Mentions 'shipping'."}}
      - {{id: extra, text: "Mentions '{delivery}'."}}
"""
OLD = TEMPLATE.format(billing="refund", delivery="courier")
NEW = TEMPLATE.format(billing="reimbursement", delivery="shipping")


@pytest.fixture
def versions(tmp_path: Path) -> tuple[Path, Path]:
    old, new = tmp_path / "old.rubric.yaml", tmp_path / "test_drift.rubric.yaml"
    old.write_text(OLD)
    new.write_text(NEW)
    return old, new


def _drift(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(command, list(args))
    return result.exit_code, result.output


def test_flips_per_tag_by_direction(scripted_judge: None, versions: tuple[Path, Path]) -> None:
    old, new = versions
    code, out = _drift("--old", str(old), str(new), "--json")
    assert code == 0, out
    data = json.loads(out)
    assert data["changed"] == ["a::topic", "b::topic", "c::extra", "d::extra"]
    overall, billing, delivery = data["overall"], data["by_tag"]["billing"], data["by_tag"]["delivery"]
    # a: 'refund' met -> 'reimbursement' not met; b: met under both
    assert (billing["n"], billing["to_met"], billing["to_not_met"]) == (2, 0, 1)
    # c: 'courier' not met -> 'shipping' met; d: met under both
    assert (delivery["n"], delivery["to_met"], delivery["to_not_met"]) == (2, 1, 0)
    assert overall["flip_rate"] == 0.5 and overall["net_direction"] == 0.0  # flat overall, not per tag
    assert billing["net_direction"] == -0.5 and delivery["net_direction"] == 0.5
    assert {(f["case"], f["direction"]) for f in data["flips"]} == {("a", "to_not_met"), ("c", "to_met")}


def test_threshold_fails_and_labels_add_accuracy(
    scripted_judge: None, versions: tuple[Path, Path], tmp_path: Path
) -> None:
    old, new = versions
    labels = tmp_path / "gold.jsonl"
    labels.write_text(
        "".join(
            json.dumps({"case": c, "criterion": k, "met": m}) + "\n"
            for c, k, m in (
                ("a", "topic", True),
                ("b", "topic", True),
                ("c", "extra", False),
                ("d", "extra", True),
            )
        )
    )
    code, out = _drift("--old", str(old), str(new), "--labels", str(labels), "--max-flip-rate", "0.3", "--json")
    assert code == 1
    data = json.loads(out.split("\nrubric drift")[0])
    assert data["failed"] == ["overall", "billing", "delivery"]
    assert data["by_tag"]["billing"]["accuracy_old"] == 1.0 and data["by_tag"]["billing"]["accuracy_new"] == 0.5
    assert data["by_tag"]["delivery"]["accuracy_old"] == 1.0 and data["by_tag"]["delivery"]["accuracy_new"] == 0.5


def test_all_rejudges_unchanged_criteria(scripted_judge: None, versions: tuple[Path, Path]) -> None:
    old, new = versions
    code, out = _drift("--old", str(old), str(new), "--all", "--json")
    assert code == 0 and json.loads(out)["overall"]["n"] == 7


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_old_version_from_a_git_revision(scripted_judge: None, tmp_path: Path) -> None:
    suite = tmp_path / "test_drift.rubric.yaml"
    suite.write_text(OLD)
    git = ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", "-c", "commit.gpgsign=false"]
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run([*git, "add", "."], cwd=tmp_path, check=True)
    subprocess.run([*git, "commit", "-qm", "v1"], cwd=tmp_path, check=True)
    suite.write_text(NEW)
    code, out = _drift("--old", "HEAD", str(suite))
    assert code == 0, out
    assert "4 criteria changed" in out and "to_not_met a::topic" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".git",
        "test_drift.rubric.yaml",
    ]  # no temp file left
    code, out = _drift("--old", "no-such-rev", str(suite))
    assert code == 2 and "not a git revision" in out


def test_invalid_old_version_is_a_clear_error(scripted_judge: None, versions: tuple[Path, Path]) -> None:
    old, new = versions
    old.write_text("version: 1\ncases: []\n")
    code, out = _drift("--old", str(old), str(new))
    assert code == 2 and "old.rubric.yaml" in out and "Traceback" not in out
