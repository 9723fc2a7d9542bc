"""The GitHub Actions recipe of docs/ci.md, run as written (without GitHub) on the example suites."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from rubrictest.store import Store

from ..helpers.paths import REPO

DOC = REPO / "docs" / "ci.md"


def workflow() -> dict[str, Any]:
    """The sharded workflow of docs/ci.md (its YAML block that uses --rubric-shard), parsed."""
    blocks = [
        b for b in re.findall(r"```yaml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S) if "--rubric-shard" in b
    ]
    assert len(blocks) == 1, "docs/ci.md has no sharded workflow"
    parsed: dict[str, Any] = yaml.safe_load(blocks[0])
    return parsed


def expand(text: str, matrix: dict[str, Any]) -> str:
    for key, value in matrix.items():
        text = text.replace(f"${{{{ matrix.{key} }}}}", str(value))
    assert "${{" not in text.replace("${{ !cancelled() }}", "").replace("${{ secrets.", ""), text
    return text


def run_job(job: dict[str, Any], root: Path, artifacts: Path, matrix: dict[str, Any], env: dict[str, str]) -> None:
    """Run a job's steps: ``run`` steps in bash (not the install: this checkout is installed),
    artifact uploads and downloads as copies through ``artifacts``."""
    for step in job["steps"]:
        uses = step.get("uses", "")
        with_ = {k: expand(str(v), matrix) for k, v in (step.get("with") or {}).items()}
        if uses.startswith("actions/upload-artifact"):
            target = artifacts / with_["name"]
            target.mkdir(parents=True, exist_ok=True)
            for line in with_["path"].split():
                shutil.copy(root / line, target / Path(line).name)
        elif uses.startswith("actions/download-artifact"):
            dest = root / with_["path"]
            dest.mkdir(parents=True, exist_ok=True)
            for folder in sorted(artifacts.glob(with_["pattern"])):
                for f in folder.iterdir():
                    shutil.copy(f, dest / f.name)
        elif "run" in step and not step["run"].startswith("pip install"):
            script = expand(step["run"], matrix)
            done = subprocess.run(
                ["bash", "-e", "-c", script], cwd=root, capture_output=True, text=True, env=env, timeout=300
            )
            assert done.returncode == 0, f"{script}\n{done.stdout}\n{done.stderr}"


def test_the_sharded_recipe_runs_as_written(tmp_path: Path) -> None:
    flow = workflow()
    root = tmp_path / "repo"
    shutil.copytree(REPO / "suites" / "examples", root / "suites" / "examples")
    artifacts = tmp_path / "artifacts"
    summary = tmp_path / "summary.md"
    env = {
        **os.environ,
        "GITHUB_STEP_SUMMARY": str(summary),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    env.pop("RUBRICTEST_DB", None)
    shard_job = flow["jobs"]["shard"]
    for value in shard_job["strategy"]["matrix"]["shard"]:
        run_job(shard_job, root, artifacts, {"shard": value}, env)
    assert sorted(p.name for p in artifacts.iterdir()) == ["rubric-shard-1", "rubric-shard-2", "rubric-shard-3"]
    run_job(flow["jobs"]["merge"], root, artifacts, {}, env)
    assert (root / "report.html").stat().st_size > 0
    assert "support-bot" in summary.read_text(encoding="utf-8")
    whole = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "suites", "--rubric-db=whole.db"],
        cwd=root,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert whole.returncode == 0, whole.stdout
    merged, unsharded = (_outcome(root / name) for name in ("merged.db", "whole.db"))
    assert merged == unsharded and merged[1], merged  # every verdict, and the gates, as one machine


def _outcome(db: Path) -> tuple[dict[str, int], list[tuple[str, str, str]]]:
    store = Store.open(db, create=False)
    try:
        run_id = store.resolve_run(None)
        return store.status_counts(run_id), sorted((g["suite"], g["target"], g["status"]) for g in store.gates(run_id))
    finally:
        store.close()
