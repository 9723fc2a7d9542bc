"""Benchmark: the pieces issue 15's second round changed, each measured on its own.

* ``secrets()``, asked for every verdict and stored row: the cached answer against a full scan
  of ``os.environ`` (what it did before), in µs per call;
* ``parse_verdicts`` of a valid five-criterion answer: the shape check against jsonschema's
  validation (what it did before), in µs per call;
* the garbage collector during ``--collect-only`` of a suite of N deterministic criteria
  (``bench_core``'s suite): seconds spent in collections and their count per generation, read
  with ``gc.callbacks`` in the pytest process. Run it with ``PYTHONPATH=OTHER_TREE:OTHER_TREE/plugins``
  to measure another checkout the same way.

Usage::

    python bench/bench_pieces.py                 # N=10000
    python bench/bench_pieces.py -n 2000 --skip-gc
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import timeit
from pathlib import Path

from bench_core import child_env, write_rubric_suite  # the script's folder is on sys.path

GC_PROBE = """
import atexit, gc, json, sys, time
_state = {"start": 0.0, "seconds": [0.0, 0.0, 0.0], "count": [0, 0, 0]}
def _on_gc(phase, info):
    if phase == "start":
        _state["start"] = time.perf_counter()
    else:
        g = info["generation"]
        _state["seconds"][g] += time.perf_counter() - _state["start"]
        _state["count"][g] += 1
gc.callbacks.append(_on_gc)
atexit.register(lambda: sys.stderr.write("GC " + json.dumps(_state) + "\\n"))
"""


def per_call_us(fn: object, number: int) -> float:
    """Microseconds per call of ``fn`` (best of five rounds)."""
    return min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e6  # type: ignore[arg-type]


def secrets_figures() -> tuple[float, float]:
    """µs per call: ``secrets()`` now, and the full scan of the environment it replaced."""
    from rubrictest import secrets

    os.environ.setdefault("BENCH_PIECES_API_KEY", "sk-bench-pieces-0123456789")
    return per_call_us(secrets.secrets, 20_000), per_call_us(secrets._scan_credential_variables, 20_000)


def parse_figures() -> tuple[float, float]:
    """µs per call of ``parse_verdicts`` on a valid answer, and of jsonschema validating it."""
    import jsonschema

    from rubrictest import Criterion
    from rubrictest.judging._protocol import _validator, parse_verdicts

    criteria = [Criterion(id=f"k{i}", text="Is right.") for i in range(5)]
    items = [{"id": c.id, "evidence": "", "rationale": "It is.", "met": True} for c in criteria]
    answer = json.dumps({"verdicts": items})
    data = json.loads(answer)
    validator = _validator(tuple(c.id for c in criteria), False)
    return (
        per_call_us(lambda: parse_verdicts(answer, criteria), 2_000),
        per_call_us(lambda: jsonschema.exceptions.best_match(validator.iter_errors(data)), 2_000),
    )


def gc_figures(n: int) -> dict[str, list[float]]:
    """Seconds and count of garbage collections per generation during ``--collect-only``."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_rubric_suite(folder / "test_bench.rubric.yaml", n)
        (folder / "sitecustomize.py").write_text(GC_PROBE)
        env = child_env()
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(folder), env.get("PYTHONPATH", "")]))
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-p",
                "no:cacheprovider",
                "--collect-only",
                "-q",
                "test_bench.rubric.yaml",
            ],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
        )
    lines = [line for line in proc.stderr.splitlines() if line.startswith("GC ")]
    if proc.returncode != 0 or not lines:
        raise SystemExit(f"the collection failed ({proc.returncode}):\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    state = json.loads(lines[-1][3:])
    return {"seconds": state["seconds"], "count": state["count"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=10_000, help="criteria of the collected suite (multiple of 10)")
    parser.add_argument("--skip-gc", action="store_true", help="do not measure the collection")
    args = parser.parse_args()
    try:
        now, scan = secrets_figures()
        print(f"secrets(): {now:.1f} µs per call; a full scan of the environment: {scan:.1f} µs")
        shortcut, schema = parse_figures()
        print(
            f"parse_verdicts, 5 criteria: {shortcut:.1f} µs per call; jsonschema validating the answer: {schema:.1f} µs"
        )
    except (AttributeError, ImportError) as exc:  # a tree from before these pieces: the GC only
        print(f"per-call pieces not in this tree ({exc})")
    if not args.skip_gc:
        gc = gc_figures(args.n)
        total = sum(gc["seconds"])
        print(
            f"garbage collection during --collect-only of {args.n:,} criteria: {total:.3f} s, "
            f"by generation {[round(s, 3) for s in gc['seconds']]} s, counts {gc['count']}"
        )


if __name__ == "__main__":
    main()
