"""``rubrictest lock`` and ``lock --check``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from rubrictest.cli.commands.lock import command

SUITE = """\
version: 1
judge: recorded:labels.jsonl
cases:
  - id: refund
    input: Can I return shoes after 40 days?
    output: Returns are accepted within 30 days.
    criteria:
      - id: window
        text: States that the return window is 30 days.
      - id: mentions
        check: contains
        with: {value: "30 days"}
  - id: late
    input: Where is my parcel?
    output: It left the depot today.
    criteria:
      - Gives a delivery estimate.
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "suites").mkdir()
    (tmp_path / "suites" / "test_support.rubric.yaml").write_text(SUITE)
    (tmp_path / "suites" / "notes.yaml").write_text("not: a suite\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _lock(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(command, list(args))
    return result.exit_code, result.output


def test_lock_writes_hashes_then_check_passes(project: Path) -> None:
    code, out = _lock("suites")
    assert code == 0, out
    data = json.loads((project / "rubrictest.lock").read_text())
    entry = data["suites"]["suites/test_support.rubric.yaml"]
    assert entry["suite"] == "support"
    assert set(entry["criteria"]) == {"refund::window", "refund::mentions", "late::gives-a-delivery-estimate"}
    assert all(len(h) == 16 for h in entry["criteria"].values())
    code, out = _lock("--check", "suites")
    assert code == 0 and "all match the lock" in out


def test_check_names_changed_added_and_removed(project: Path) -> None:
    assert _lock("suites")[0] == 0
    suite = project / "suites" / "test_support.rubric.yaml"
    text = SUITE.replace("return window is 30 days", "return window is thirty days")
    text = text.replace("Gives a delivery estimate.", "Apologises for the delay.")
    suite.write_text(text)
    code, out = _lock("--check", "suites", "--json")
    assert code == 1
    changes = {(c["kind"], c["node"]) for c in json.loads(out.split("\nrubric changed")[0])["changes"]}
    assert changes == {
        ("changed", "suites/test_support.rubric.yaml::refund::window"),
        ("added", "suites/test_support.rubric.yaml::late::apologises-for-the-delay"),
        ("removed", "suites/test_support.rubric.yaml::late::gives-a-delivery-estimate"),
    }
    code, out = _lock("--check", "suites")
    assert code == 1 and "changed  suites/test_support.rubric.yaml::refund::window (" in out
    # re-locking accepts the edit
    assert _lock("suites")[0] == 0 and _lock("--check", "suites")[0] == 0


def test_points_change_is_a_change(project: Path) -> None:
    assert _lock("suites")[0] == 0
    suite = project / "suites" / "test_support.rubric.yaml"
    suite.write_text(
        SUITE.replace(
            "text: States that the return window is 30 days.",
            "text: States that the return window is 30 days.\n        points: 2",
        )
    )
    code, out = _lock("--check", "suites")
    assert code == 1 and "refund::window" in out and "mentions" not in out


def test_deleted_suite_is_removed(project: Path) -> None:
    assert _lock("suites")[0] == 0
    (project / "suites" / "test_support.rubric.yaml").unlink()
    code, out = _lock("--check", "suites")
    assert code == 1 and out.count("removed") == 3


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "rubrictest.lock:1: not a valid lockfile: invalid JSON"),
        ('{"version": 7, "suites": {}}', 'expected an object with "version": 1'),
        (
            '{"version": 1, "suites": {"s.yaml": {"suite": "s", "criteria": {"x": 3}}}}',
            'suites.s.yaml.criteria.x: expected "case::criterion": "hash"',
        ),
    ],
)
def test_invalid_lockfile_is_a_clear_error(project: Path, content: str, message: str) -> None:
    (project / "rubrictest.lock").write_text(content)
    code, out = _lock("--check", "suites")
    assert code == 2 and message in out and "Traceback" not in out
    # writing over an invalid lockfile is refused too, and leaves it untouched
    assert _lock("suites")[0] == 2
    assert (project / "rubrictest.lock").read_text() == content


def test_invalid_suite_writes_nothing(project: Path) -> None:
    (project / "suites" / "test_broken.rubric.yaml").write_text("version: 1\ncases:\n  - id: a\n    critera: []\n")
    code, out = _lock("suites")
    assert code == 2 and "test_broken.rubric.yaml" in out and "critera" in out
    assert not (project / "rubrictest.lock").exists()


def test_missing_lockfile_on_check(project: Path) -> None:
    code, out = _lock("--check", "suites")
    assert code == 2 and "no lockfile" in out
