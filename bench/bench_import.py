"""What installing rubrictest costs a project without suites: ``pytest --co`` start-up.

Runs ``python -m pytest --co -q`` in a temporary project with one plain test, ``--repeat``
times each with the rubrictest plugin and with ``-p no:rubrictest`` (the baseline), side by
side, and reports the median wall time of each, their ratio, how many modules the plugin
adds, and which heavy modules (SDKs, numpy, the engine, the store) it loads.

    python bench/bench_import.py --repeat 15
    python bench/bench_import.py --src ../other-checkout   # measure another checkout's code

``--src`` puts that checkout first on PYTHONPATH, so two versions can be measured with one
installation.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEAVY = [
    "openai",
    "anthropic",
    "numpy",
    "sqlite_utils",
    "jsonschema",
    "pydantic",
    "yaml",
    "rubrictest.engine",
    "rubrictest.store",
    "rubrictest.suite",
]
PROBE = (
    "import json, sys, pytest; pytest.main(['--co', '-q', '-p', 'no:cacheprovider'] + sys.argv[1:]); "
    f"print(json.dumps({{'modules': len(sys.modules), 'heavy': [m for m in {HEAVY!r} if m in sys.modules]}}))"
)


def _once(project: Path, env: dict[str, str], extra: list[str]) -> tuple[float, dict[str, object]]:
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", PROBE, *extra], cwd=project, env=env, capture_output=True, text=True, check=True
    )
    return time.perf_counter() - started, json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--src", type=Path, help="a checkout whose code to measure (default: the installed one)")
    args = parser.parse_args()
    env = dict(os.environ)
    if args.src is not None:
        src = args.src.resolve()
        env["PYTHONPATH"] = os.pathsep.join([str(src), str(src / "plugins"), env.get("PYTHONPATH", "")])
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        (project / "test_plain.py").write_text("def test_a():\n    pass\n")
        with_plugin, without = [], []
        info: dict[str, object] = {}
        base: dict[str, object] = {}
        for _ in range(args.repeat):  # interleaved: both see the same machine load
            t, info = _once(project, env, [])
            with_plugin.append(t)
            t, base = _once(project, env, ["-p", "no:rubrictest"])
            without.append(t)
    med, med_base = statistics.median(with_plugin), statistics.median(without)
    print(
        f"pytest --co, no suites, median of {args.repeat}: with rubrictest {med:.3f} s, "
        f"-p no:rubrictest {med_base:.3f} s, ratio {med / med_base:.2f}"
    )
    print(
        f"modules: {info['modules']} with the plugin, {base['modules']} without "
        f"(+{int(info['modules']) - int(base['modules'])})"
    )  # type: ignore[call-overload]
    print(f"heavy modules loaded with the plugin: {info['heavy'] or 'none'}")


if __name__ == "__main__":
    main()
