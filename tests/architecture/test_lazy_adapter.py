"""Installing rubrictest costs a project without suites nothing: the pytest plugin loads the
engine, the store, the provider SDKs and numpy only with the first suite file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HEAVY = [
    "openai",
    "anthropic",
    "numpy",
    "sqlite_utils",
    "jsonschema",
    "rubrictest.engine",
    "rubrictest.store",
    "rubrictest.suite",
    "rubrictest.adapter.nodes",
    "rubrictest_openai",
]
PROBE = (
    "import json, sys, pytest; code = pytest.main(['--co', '-q', '-p', 'no:cacheprovider', sys.argv[1]]); "
    "print(json.dumps({'code': int(code), 'plugin': 'rubrictest.pytest_plugin' in sys.modules, "
    f"'loaded': [m for m in {HEAVY!r} if m in sys.modules]}}))"
)


def _collect_only(project: Path) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(project)], cwd=project, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_collection_without_suites_imports_nothing_heavy(tmp_path: Path) -> None:
    (tmp_path / "test_plain.py").write_text("def test_a():\n    pass\n")
    result = _collect_only(tmp_path)
    assert result == {"code": 0, "plugin": True, "loaded": []}


def test_the_first_suite_loads_the_machinery(tmp_path: Path) -> None:
    # the check above is only meaningful if the same probe sees the heavy modules load with a suite
    (tmp_path / "test_one.rubric.yaml").write_text(
        "version: 1\ncases:\n  - id: a\n    output: hi\n    criteria:\n      - check: contains\n"
        "        with: {value: hi}\n"
    )
    result = _collect_only(tmp_path)
    assert result["code"] == 0
    assert {"rubrictest.engine", "rubrictest.suite", "rubrictest.adapter.nodes"} <= set(result["loaded"])  # type: ignore[arg-type]
