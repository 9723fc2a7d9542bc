"""Entry-point discovery end to end: pip installs the fake plugin package under
``tests/fake_plugin`` (offline: ``--no-index --no-deps --no-build-isolation`` with its in-tree
build backend) into a throwaway directory, and fresh processes find it through the
``rubrictest`` entry-point group.

Deselect with ``-m "not plugin_install"``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.plugin_install

FAKE_PLUGIN = Path(__file__).resolve().parents[1] / "fake_plugin"
CLI = [sys.executable, "-c", "from rubrictest.cli import main; main()"]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory the fake plugin is pip-installed into (once per module)."""
    target = tmp_path_factory.mktemp("fake-plugin-site")
    build = tmp_path_factory.mktemp("fake-plugin-src")
    # Build from a copy so nothing is written into the source tree.
    src = build / "fake_plugin"
    src.mkdir()
    for path in FAKE_PLUGIN.rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts:
            dest = src / path.relative_to(FAKE_PLUGIN)
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(path.read_bytes())
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-index",
            "--no-deps",
            "--no-build-isolation",
            "--disable-pip-version-check",
            "--target",
            str(target),
            str(src),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (target / "rubrictest_fake-0.0.7.dist-info" / "entry_points.txt").is_file()
    return target


def _env(site: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUBRICTEST_")}
    env["PYTHONPATH"] = os.pathsep.join([str(site), *filter(None, [os.environ.get("PYTHONPATH")])])
    env.update(extra)
    return env


def _run(args: list[str], site: Path, cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=_env(site, **env), capture_output=True, text=True, timeout=60)


def test_rubrictest_plugins_lists_the_installed_plugin(site: Path) -> None:
    proc = _run([*CLI, "plugins", "--json"], site)
    assert proc.returncode == 0, proc.stderr
    by_name = {p["name"]: p for p in json.loads(proc.stdout)}
    assert by_name["fake"] == {
        "name": "fake",
        "version": "0.0.7",
        "hooks": ["register_commands", "register_judges", "register_targets"],
        "registered": {"judges": ["length_at_most"], "targets": ["shout"]},
    }
    assert "checks" in by_name  # first-party plugins are there too


def test_the_plugin_adds_a_command(site: Path) -> None:
    proc = _run([*CLI, "fake-hello"], site)
    assert (proc.returncode, proc.stdout) == (0, "hello from rubrictest-fake\n"), proc.stderr


def test_a_suite_uses_the_plugins_target_and_check(site: Path, tmp_path: Path) -> None:
    (tmp_path / "test_fake.rubric.yaml").write_text(
        "target: shout\n"
        "cases:\n"
        "  - id: hi\n"
        "    input: hi\n"
        "    criteria:\n"
        "      - {id: shouted, check: equals, with: {value: 'HI!'}}\n"
        "      - {id: short, check: length_at_most, with: {max: 5}}\n"
        "      - {id: tiny, check: length_at_most, with: {max: 2}}\n"
    )
    proc = _run([sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider"], site, cwd=tmp_path)
    assert "::hi::shouted PASSED" in proc.stdout, proc.stdout + proc.stderr
    assert "::hi::short PASSED" in proc.stdout
    assert "::hi::tiny FAILED" in proc.stdout and "3 characters (limit 2)" in proc.stdout
    assert proc.returncode == 1


def test_rubrictest_load_plugins_can_exclude_it(site: Path, tmp_path: Path) -> None:
    proc = _run([*CLI, "plugins", "--json"], site, RUBRICTEST_LOAD_PLUGINS="")
    assert proc.returncode == 0, proc.stderr
    assert "fake" not in {p["name"] for p in json.loads(proc.stdout)}
    proc = _run([*CLI, "plugins", "--json"], site, RUBRICTEST_LOAD_PLUGINS="fake")
    assert "fake" in {p["name"] for p in json.loads(proc.stdout)}
    (tmp_path / "test_fake.rubric.yaml").write_text(
        "target: shout\ncases:\n  - {id: hi, input: hi, criteria: [{check: equals, with: {value: 'HI!'}}]}\n"
    )
    proc = _run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider"],
        site,
        cwd=tmp_path,
        RUBRICTEST_LOAD_PLUGINS="",
    )
    assert proc.returncode == pytest.ExitCode.INTERRUPTED
    assert "unknown target 'shout'; available targets: " in proc.stdout and "python, static" in proc.stdout
