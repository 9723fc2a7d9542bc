"""Running the example suites into a database, and a suite whose responses attack the viewer."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


HOSTILE_OUTPUT = (
    'Hello <script>window.__pwned = 1</script> and <img src=x onerror="window.__pwned = 2"> '
    '& "quotes" | pipes `ticks` </pre></textarea>'
)


def run_suites(
    db: Path, *paths: Path | str, env: dict[str, str] | None = None, args: Sequence[str] = ()
) -> subprocess.CompletedProcess[str]:
    """``pytest PATHS --rubric-db DB [ARGS]`` in a fresh process, as a user runs it."""
    full_env = {**os.environ, **(env or {})}
    for var in ("RUBRICTEST_DB", "RUBRICTEST_LOAD_PLUGINS", "GITHUB_STEP_SUMMARY"):
        if env is None or var not in env:
            full_env.pop(var, None)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--rubric-db={db}", *args, *map(str, paths)],
        cwd=Path(paths[0]).parent if paths else REPO,
        capture_output=True,
        text=True,
        env=full_env,
        timeout=300,
    )


def write_hostile_suite(directory: Path) -> Path:
    """A suite whose fixed response carries a script, an onerror attribute and Markdown/HTML breakers."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "labels.jsonl").write_text(
        '{"case": "xss", "criterion": "greets", "met": false, "evidence": "<script>window.__pwned = 1</script>", '
        '"rationale": "It answers with <b>markup</b> | and pipes"}\n',
        encoding="utf-8",
    )
    path = directory / "test_hostile.rubric.yaml"
    path.write_text(
        textwrap.dedent(f"""
        version: 1
        suite: hostile
        judge: recorded:labels.jsonl
        cases:
          - id: xss
            input: "Say hello <b>bold</b>"
            output: {HOSTILE_OUTPUT!r}
            criteria:
              - id: greets
                text: Greets the user.
              - id: has-hello
                check: contains
                with: {{value: "Hello"}}
        """),
        encoding="utf-8",
    )
    return path


def write_flaky_suite(directory: Path) -> Path:
    """A suite with a criterion whose verdict flips: a ``python`` check that says not met on every
    third call (so 3 repeats give 2 met, 1 not met), with markup in its reason; and a steady one."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "coin.py").write_text(
        textwrap.dedent("""
        import threading

        _lock = threading.Lock()
        _calls = [0]


        def flip(response):
            with _lock:
                _calls[0] += 1
                n = _calls[0]
            return n % 3 != 0, f"call {n} <b>said</b> so"
        """),
        encoding="utf-8",
    )
    path = directory / "test_flaky.rubric.yaml"
    path.write_text(
        textwrap.dedent("""
        version: 1
        suite: flaky
        cases:
          - id: refund
            input: Can I return shoes?
            output: Returns are accepted within 30 days.
            criteria:
              - id: steady
                check: contains
                with: {value: "30 days"}
              - id: coin
                check: python
                with: {function: "coin:flip"}
        """),
        encoding="utf-8",
    )
    return path
