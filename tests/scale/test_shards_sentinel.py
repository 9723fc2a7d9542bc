"""A gate on rubric-holistic disagreements across shards: each shard defers it, and
``rubrictest merge`` decides it over every shard's sentinel verdicts as the unsharded run does."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from rubrictest.cli import build_cli

CASES = 8


def write_suite(root: Path, bound: float) -> None:
    rubric, sentinel, cases = [], [], []
    for i in range(CASES):
        cases.append(
            f"  - {{id: c{i}, input: 'Question {i}?', output: 'Answer {i}.', criteria: [{{id: k, text: Answers.}}]}}"
        )
        rubric.append({"case": f"c{i}", "criterion": "k", "met": True})
        # cases 0 and 5 game the rubric: it passes them, the sentinel does not
        sentinel.append({"case": f"c{i}", "criterion": "sentinel", "met": i not in (0, 5)})
    (root / "rubric.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rubric))
    (root / "sentinel.jsonl").write_text("".join(json.dumps(r) + "\n" for r in sentinel))
    (root / "test_s.rubric.yaml").write_text(
        "suite: s\njudge: recorded:rubric.jsonl\nsentinel: recorded:sentinel.jsonl\nthreshold: 0.5\n"
        f"gate: {{max_disagreement: {bound}}}\ncases:\n" + "\n".join(cases) + "\n"
    )


def run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )


def gate_row(db: Path) -> tuple[object, ...]:
    with sqlite3.connect(db) as con:
        return tuple(
            con.execute(
                "SELECT status, total, max_disagreement, disagreements, disagreement_rate FROM gates "
                "ORDER BY rowid DESC LIMIT 1"
            ).fetchone()
        )


def test_merge_decides_the_disagreement_gate_over_every_shard(tmp_path: Path) -> None:
    write_suite(tmp_path, 0.2)  # 2 of 8 cases disagree: 25% > 20%
    full = run(tmp_path, "--rubric-db=full.db")
    assert full.returncode == 1 and "2/8 cases are rubric-holistic disagreements (25.0%)" in full.stdout, full.stdout
    shards = []
    for k in (1, 2):
        done = run(tmp_path, f"--rubric-shard={k}/2")
        assert done.returncode == 0 and "skipped" in done.stdout, done.stdout  # the gate deferred, not failed
        shards.append(tmp_path / ".rubrictest" / f"rubrictest-shard-{k}-of-2.db")
        assert gate_row(shards[-1])[0] == "DEFERRED" and gate_row(shards[-1])[2] == 0.2
    merged = CliRunner().invoke(build_cli(), ["merge", str(tmp_path / "merged.db"), *map(str, shards)])
    assert merged.exit_code == 0 and "failed" in merged.output, merged.output  # the merged run failed its gate
    row = gate_row(tmp_path / "merged.db")
    assert row == gate_row(tmp_path / "full.db") == ("FAIL", 8, 0.2, '["c0", "c5"]', 0.25)
    gate = CliRunner().invoke(build_cli(), ["gate", "--db", str(tmp_path / "merged.db")])
    assert gate.exit_code == 1 and "s: FAIL: 2 rubric-holistic disagreement(s) (25.0%) > max 0.2" in gate.output, (
        gate.output
    )
