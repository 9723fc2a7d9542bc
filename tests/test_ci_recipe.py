"""docs/ci.md works as written: its workflow's ``run:`` steps, run with its ``env`` on the
example suite (without GitHub), gate the release as the page says; and the outputs the page
shows are what the commands print."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "ci.md"
RUN_ID = re.compile(r"\b\d{8}T\d{6}Z-[0-9a-f]{6}\b")
TIME = re.compile(r"\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?\+00:00\b")


def _blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def _workflow() -> dict[str, Any]:
    # the release-gate workflow (the page also holds the sharded one: tests/scale/test_ci_recipe.py)
    (workflow,) = [yaml.safe_load(b) for b in _blocks("yaml") if "jobs:" in b and "release-gate" in b]
    return workflow


def _env(workflow_env: dict[str, str], root: Path, summary: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RUBRICTEST_", "GITHUB_"))}
    # The tools of this interpreter's environment stand for the workflow's `pip install`.
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.update({k: str(v) for k, v in workflow_env.items()})
    env["GITHUB_STEP_SUMMARY"] = str(summary)
    return env


@pytest.fixture(scope="module")
def recipe(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The workflow's steps run in a checkout-like folder (the example suites at their paths)."""
    root = tmp_path_factory.mktemp("checkout")
    shutil.copytree(REPO / "suites" / "examples", root / "suites" / "examples")
    workflow = _workflow()
    (job,) = workflow["jobs"].values()
    summary = root / "summary.md"
    env = _env(job["env"], root, summary)
    results: dict[str, subprocess.CompletedProcess[str]] = {}
    for step in job["steps"]:
        if "run" not in step or step["name"] == "Install":
            continue
        results[step["name"]] = subprocess.run(
            ["bash", "-e", "-c", step["run"]], cwd=root, env=env, capture_output=True, text=True, timeout=300
        )
    return {"root": root, "job": job, "env": env, "results": results, "summary": summary}


def test_the_workflow_gates_the_release_as_documented(recipe: dict[str, Any]) -> None:
    results, job, root = recipe["results"], recipe["job"], recipe["root"]
    assert list(results) == [
        "Run the suites for the baseline and the candidate",
        "Compare the candidate with the baseline",
    ]
    suites, compare = results.values()
    assert suites.returncode == 0, suites.stdout + suites.stderr
    assert "::gate[baseline] PASSED" in suites.stdout and "::gate[candidate] PASSED" in suites.stdout
    assert compare.returncode == 1, compare.stdout + compare.stderr
    regressions = [line for line in compare.stdout.splitlines() if line.startswith("REGRESSION")]
    assert len(regressions) == 2 and "order-status::next-step" in regressions[0]
    assert "not a regression: order-status::thanks" in compare.stdout
    # The job summary: the run's (written by pytest) and the comparison's.
    summary = recipe["summary"].read_text(encoding="utf-8")
    assert "### rubrictest run `" in summary and "| order-status | candidate | **PASS**" in summary
    assert "### rubrictest compare: baseline → candidate" in summary and "**REGRESSION**" in summary
    # The upload step's file is there and complete on its own (no -wal needed).
    (upload,) = [s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/upload-artifact")]
    db = root / upload["with"]["path"]
    alone = root / "alone.db"
    shutil.copy(db, alone)
    with sqlite3.connect(alone) as conn:
        assert conn.execute("SELECT count(*) FROM verdicts").fetchone()[0] == 160
        assert conn.execute("SELECT count(*) FROM gates").fetchone()[0] == 2


def _normal(text: str) -> list[str]:
    return [TIME.sub("TIME", RUN_ID.sub("RUN", line)).rstrip() for line in text.splitlines()]


def test_the_outputs_shown_are_what_the_commands_print(recipe: dict[str, Any]) -> None:
    shown = [b for b in _blocks("console") if b.startswith("$ rubrictest ")]
    assert len(shown) == 2
    for block in shown:
        command, *expected = block.rstrip("\n").splitlines()
        done = subprocess.run(
            ["bash", "-c", command[2:]],
            cwd=recipe["root"],
            env=recipe["env"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        actual = _normal(done.stdout)
        # Every line shown appears, in order; `...` stands for lines left out.
        at = 0
        for line in expected:
            if line == "...":
                continue
            assert line in actual[at:], (command, line, "\n".join(actual))
            at = actual.index(line, at) + 1
        if "..." not in expected:
            assert actual == expected, command
