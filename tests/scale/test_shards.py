"""``--rubric-shard K/N`` and ``rubrictest merge``: N shards merged are the unsharded run."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from rubrictest.adapter.shard import Shard, assign
from rubrictest.cli import build_cli
from rubrictest.store import Store

from ..helpers.paths import REPO
from ..helpers.remote import SENTINEL_KEY
from ..remote.fake_provider import FakeProvider

N_CASES = 14


def decide(criterion_id: str, response: str) -> tuple[bool, str]:
    """Met unless the response says ``bad`` (some cases fail: a gate with teeth)."""
    return "bad" not in response, " ".join(response.split()[:3])


def write_suites(root: Path, url: str) -> None:
    """The example suites (checks, recorded verdicts, two targets, scored mode, a gate) and a
    suite judged by a model over HTTP, with a rubric tree and a gate."""
    shutil.copytree(REPO / "suites" / "examples", root / "examples")
    cases = []
    for i in range(N_CASES):
        output = f"answer {i} " + ("bad" if i % 5 == 0 else "good") + " alpha beta"
        crits = ", ".join(f"crit-{j}" for j in range(1 + i % 4))
        cases.append(
            f"  - {{id: m{i}, output: '{output}', criteria: [{crits}, {{id: has-alpha, check: contains, "
            "with: {value: alpha}}]}"
        )
    cases.append("""  - id: tree
    output: alpha beta gamma
    criteria:
      - id: paper
        text: The paper is replicated.
        criteria:
          - {id: a, check: contains, with: {value: alpha}, weight: 3}
          - {id: d, check: contains, with: {value: delta}}
          - Describes the method.""")
    (root / "test_model.rubric.yaml").write_text(
        "suite: judged\n"
        f"judge: {{plugin: openai, model: judge-m, base_url: '{url}', options: {{retry: {{max_attempts: 1}}}}}}\n"
        "threshold: 0.6\n"
        "gate: {min_pass_rate: 0.7, confidence: 0.9}\n"
        "cases:\n" + "\n".join(cases) + "\n"
    )


def env() -> dict[str, str]:
    return {**os.environ, "OPENAI_API_KEY": SENTINEL_KEY}


def run_pytest(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=root,
        capture_output=True,
        text=True,
        env=env(),
        timeout=300,
    )


def merge(*args: str) -> Any:
    return CliRunner().invoke(build_cli(), ["merge", *args])


def snapshot(db: Path) -> dict[str, Any]:
    """The verdicts, cases, nodes, gates and counts of the newest run of ``db``, keyed so two
    runs compare row by row."""
    store = Store.open(db, create=False)
    try:
        run_id = store.resolve_run(None)
        run = store.run(run_id)
        return {
            "verdicts": {
                (v["suite"], v["case_id"], v["target"], v["criterion_id"]): (
                    v["status"],
                    v["outcome"],
                    v["score"],
                    v["criterion_hash"],
                    v["position"],
                )
                for v in store.verdicts(run_id)
            },
            "cases": {
                (c["suite"], c["case_id"], c["target"]): (c["score"], c["outcome"], c["response"], c["position"])
                for c in store.cases(run_id)
            },
            "nodes": {
                (n["suite"], n["case_id"], n["node_id"]): (n["score"], n["outcome"]) for n in store.nodes(run_id)
            },
            "gates": {
                (g["suite"], g["target"]): (g["status"], g["passes"], g["total"], g["lower_bound"])
                for g in store.gates(run_id)
            },
            "counts": run["counts"],
            "status": run["status"],
            "fingerprint": run["fingerprint"],
            "calls": sum(1 for c in store.calls(run_id) if c["kind"] == "judge" and c["request"] is not None),
        }
    finally:
        store.close()


def test_three_shards_merged_equal_the_unsharded_run(tmp_path: Path) -> None:
    with FakeProvider() as provider:
        provider.decide = decide
        write_suites(tmp_path, provider.openai_url)
        full = run_pytest(tmp_path, "--rubric-db=full.db", "--rubric-cache=off")
        assert full.returncode == 1, full.stdout  # some cases fail: the gate of `judged` too
        shards = []
        for k in (1, 2, 3):
            # -n 2 inside a shard: the shard's cases spread over two workers, each judged once
            extra = ["-n", "2"] if k == 2 else []
            done = run_pytest(tmp_path, f"--rubric-shard={k}/3", "--rubric-cache=off", *extra)
            failed = [line for line in done.stdout.splitlines() if line.startswith(("FAILED", "ERROR"))]
            assert not [line for line in failed if "::gate" in line], done.stdout  # deferred, never failed
            assert "skipped" in done.stdout, done.stdout
            shards.append(tmp_path / ".rubrictest" / f"rubrictest-shard-{k}-of-3.db")
    sharded = [snapshot(s) for s in shards]
    # every case in exactly one shard, and each shard judged a share of similar size
    sizes = [len(s["verdicts"]) for s in sharded]
    assert sum(sizes) == len(snapshot(tmp_path / "full.db")["verdicts"])
    assert max(sizes) - min(sizes) <= 5, sizes
    for s in sharded:
        assert set(s["gates"].values()) == {
            ("DEFERRED", None, s_total, None) for s_total in {t for _, _, t, _ in s["gates"].values()}
        }
    result = merge(str(tmp_path / "merged.db"), *map(str, shards))
    assert result.exit_code == 0, result.output
    merged, unsharded = snapshot(tmp_path / "merged.db"), snapshot(tmp_path / "full.db")
    assert merged["verdicts"] == unsharded["verdicts"]
    assert merged["cases"] == unsharded["cases"]
    assert merged["nodes"] == unsharded["nodes"]
    assert merged["gates"] == unsharded["gates"]
    assert ("judged", "") in merged["gates"] and merged["gates"][("judged", "")][0] == "FAIL"
    assert merged["counts"] == unsharded["counts"]
    assert merged["status"] == unsharded["status"] == "failed"
    assert merged["calls"] == unsharded["calls"] == sum(s["calls"] for s in sharded)
    gate = CliRunner().invoke(build_cli(), ["gate", "--db", str(tmp_path / "merged.db")])
    assert gate.exit_code == 1 and "judged: FAIL:" in gate.output and "support-bot: PASS:" in gate.output


def test_shard_assignment_is_balanced_stable_and_never_splits_a_case() -> None:
    weights = {("s", f"c{i}"): 1 + (i * 7) % 5 for i in range(200)}
    owner = assign(weights, 4)
    assert owner == assign(dict(reversed(list(weights.items()))), 4)  # collection order does not matter
    loads = [sum(w for c, w in weights.items() if owner[c] == k) for k in range(1, 5)]
    assert max(loads) - min(loads) <= max(weights.values())
    # fixed by the content alone (no PYTHONHASHSEED): the same in another process
    code = (
        "from rubrictest.adapter.shard import assign; "
        "w = {('s', f'c{i}'): 1 + (i * 7) % 5 for i in range(200)}; print(sorted(assign(w, 4).items()))"
    )
    other = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONHASHSEED": "123"},
        check=True,
    )
    assert other.stdout.strip() == str(sorted(owner.items()))
    with pytest.raises(ValueError, match="K must be between 1 and N"):
        Shard.parse("4/3")
    with pytest.raises(ValueError, match="expected K/N"):
        Shard.parse("two")


def test_merge_refuses_shards_that_do_not_belong_together(tmp_path: Path) -> None:
    shutil.copytree(REPO / "suites" / "examples", tmp_path / "examples")
    dbs = {}
    for k in (1, 2):
        done = run_pytest(tmp_path, f"--rubric-shard={k}/2", f"--rubric-db=s{k}.db")
        assert done.returncode == 0, done.stdout
        dbs[k] = str(tmp_path / f"s{k}.db")
    out = tmp_path / "out.db"

    def refused(*inputs: str) -> str:
        result = merge(str(out), *inputs)
        assert result.exit_code == 2, result.output
        assert not out.exists() and not list(tmp_path.glob(".out.db*"))  # nothing half-written
        return result.output

    assert "shard(s) 2/2 missing" in refused(dbs[1])
    shutil.copy(dbs[1], tmp_path / "again.db")
    assert "shard 1/2 given twice" in refused(dbs[1], str(tmp_path / "again.db"))
    # an unfinished shard
    shutil.copy(dbs[2], tmp_path / "stopped.db")
    with sqlite3.connect(tmp_path / "stopped.db") as conn:
        conn.execute("UPDATE runs SET status = 'interrupted'")
    assert "did not finish (interrupted)" in refused(dbs[1], str(tmp_path / "stopped.db"))
    # a shard of other suites: a criterion changed before shard 2 ran
    suite = tmp_path / "examples" / "test_versions.rubric.yaml"
    suite.write_text(suite.read_text().replace("value: Canberra", "value: Canberra City"))
    assert run_pytest(tmp_path, "--rubric-shard=2/2", "--rubric-db=changed.db").returncode in (0, 1)
    assert "judged different suites or criteria" in refused(dbs[1], str(tmp_path / "changed.db"))
    assert "is not a rubrictest results database" in refused(dbs[1], str(tmp_path / "examples" / "app.py"))
    assert run_pytest(tmp_path, "--rubric-db=plain.db").returncode in (0, 1)
    assert "holds no sharded run" in refused(dbs[1], str(tmp_path / "plain.db"))
    assert merge(str(out), dbs[1], dbs[2]).exit_code == 0
    assert "exists" in merge(str(out), dbs[1], dbs[2]).output
    assert merge(str(out), dbs[1], dbs[2], "--force").exit_code == 0
