"""Benchmark: memory and time of rubrictest as a suite grows to 100,000 criteria.

For each size N (default 10,000, 30,000 and 100,000), writes in a temporary directory the
same kind of suite as ``bench/bench_core.py`` (``write_rubric_suite``: N/10 cases of 10
deterministic criteria, fixed outputs, checks only, no model), then times, as separate
``python -m pytest -p no:cacheprovider -q`` processes with a fresh ``--rubric-db`` each,
``--collect-only`` and a full run. Wall time and peak RSS are read from the child's own
resource usage (``os.wait4``). A suite over the suite-file size cap
(``rubrictest.suite.parsing.MAX_YAML_BYTES``) is split into files of 10,000 criteria.

Prints a table of per-criterion time (µs) and peak RSS per size, the marginal cost between
consecutive sizes, and the ratio of the per-criterion time at the largest size to the
smallest (about 1.0 means linear; below 1.0, start-up is being amortized). Exits 1 if the
peak RSS of the largest size is 1 GiB or more, or if that ratio (collection or full run)
exceeds ``--max-growth``.

Usage::

    python bench/bench_scale.py                          # 10k, 30k, 100k; 3 repetitions
    python bench/bench_scale.py --sizes 10000 100000 -r 1
    python bench/bench_scale.py --max-growth 1.2
    python bench/bench_scale.py --profile                # also cProfile the largest collection
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench_core import CRITERIA_PER_CASE, child_env, write_rubric_suite  # the script's folder is on sys.path

from rubrictest.suite.parsing import MAX_YAML_BYTES

GIB = 1024**3
CHUNK = 10_000  # criteria per file when a suite must be split
PHASES = ("collect", "run")


@dataclass(frozen=True)
class Sample:
    """One pytest process: wall seconds and peak resident set size in bytes."""

    seconds: float
    peak_rss: int


@dataclass(frozen=True)
class Measured:
    """Medians of the repetitions of one size, per phase."""

    n: int
    files: int
    seconds: dict[str, float]
    peak_rss: dict[str, int]


def suite_files(work: Path, n: int) -> list[Path]:
    """Write ``n`` criteria as one suite file, or as files of :data:`CHUNK` criteria (each its
    own suite) when one file would exceed ``MAX_YAML_BYTES``."""
    whole = work / "test_scale.rubric.yaml"
    write_rubric_suite(whole, n)
    if whole.stat().st_size <= MAX_YAML_BYTES:
        return [whole]
    whole.unlink()
    files = []
    for i, start in enumerate(range(0, n, CHUNK)):
        part = work / f"test_scale_{i:03d}.rubric.yaml"
        write_rubric_suite(part, min(CHUNK, n - start))
        part.write_text(part.read_text(encoding="utf-8").replace("suite: bench\n", f"suite: bench-{i}\n", 1))
        files.append(part)
    return files


def fresh_db(work: Path) -> str:
    """A database path with nothing at it (nor a WAL or shared-memory file)."""
    path = work / "scale.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return str(path)


def max_rss_bytes(ru_maxrss: int) -> int:
    """``ru_maxrss`` in bytes (Linux reports KiB, macOS bytes)."""
    return ru_maxrss if sys.platform == "darwin" else ru_maxrss * 1024


def measure(args: list[str], cwd: Path) -> Sample:
    """Run one pytest process to the end; it must exit 0."""
    log = cwd / "pytest.log"
    with log.open("w", encoding="utf-8") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args],
            cwd=cwd,
            env=child_env(),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace")[-3000:]
        raise SystemExit(f"pytest {' '.join(args)} exited {proc.returncode}:\n{tail}")
    return Sample(elapsed, max_rss_bytes(usage.ru_maxrss))


def phase_args(phase: str, work: Path, files: list[Path]) -> list[str]:
    """pytest arguments of one phase, with a fresh database."""
    names = [f.name for f in files]
    extra = ["--collect-only"] if phase == "collect" else []
    return [*extra, "--rubric-db", fresh_db(work), *names]


def measure_size(n: int, repeat: int) -> Measured:
    """Both phases of a suite of ``n`` criteria, ``repeat`` times each, alternating."""
    with tempfile.TemporaryDirectory(prefix="rubrictest-scale-") as tmp:
        work = Path(tmp)
        (work / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")  # own rootdir, no repo config
        files = suite_files(work, n)
        samples: dict[str, list[Sample]] = {phase: [] for phase in PHASES}
        for rep in range(repeat):
            for phase in PHASES:
                samples[phase].append(measure(phase_args(phase, work, files), work))
            done = ", ".join(f"{p} {s[-1].seconds:.1f} s {s[-1].peak_rss / 2**20:.0f} MiB" for p, s in samples.items())
            print(f"N={n:,} repetition {rep + 1}/{repeat}: {done}", file=sys.stderr)
    return Measured(
        n=n,
        files=len(files),
        seconds={p: statistics.median(s.seconds for s in v) for p, v in samples.items()},
        peak_rss={p: int(statistics.median(s.peak_rss for s in v)) for p, v in samples.items()},
    )


def per_criterion_us(m: Measured, phase: str) -> float:
    return m.seconds[phase] / m.n * 1e6


def marginal(prev: Measured | None, m: Measured, phase: str) -> str:
    """Time and memory per added criterion since the previous size."""
    if prev is None:
        return "–"
    added = m.n - prev.n
    us = (m.seconds[phase] - prev.seconds[phase]) / added * 1e6
    kib = (m.peak_rss[phase] - prev.peak_rss[phase]) / added / 1024
    return f"{us:.0f} µs, {kib:.1f} KiB"


def growth(results: list[Measured], phase: str) -> float:
    """Per-criterion time at the largest size over that at the smallest."""
    return per_criterion_us(results[-1], phase) / per_criterion_us(results[0], phase)


def print_report(results: list[Measured], repeat: int) -> None:
    print(f"# rubrictest scale benchmark: {repeat} repetition(s) per size (medians)")
    print(f"# python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs")
    split = [m for m in results if m.files > 1]
    for m in split:
        print(f"# N={m.n:,}: over the {MAX_YAML_BYTES:,}-byte suite-file cap, split into {m.files} files")
    print()
    print("| criteria | phase | wall | per criterion | peak RSS | marginal per added criterion |")
    print("|---|---|---|---|---|---|")
    for phase in PHASES:
        prev = None
        for m in results:
            print(
                f"| {m.n:,} | {phase} | {m.seconds[phase]:.2f} s | {per_criterion_us(m, phase):.0f} µs "
                f"| {m.peak_rss[phase] / 2**20:.0f} MiB | {marginal(prev, m, phase)} |"
            )
            prev = m
    print()
    small, large = results[0].n, results[-1].n
    for phase in PHASES:
        print(f"per-criterion time growth {small:,} -> {large:,} ({phase}): {growth(results, phase):.2f}x")


def failures(results: list[Measured], max_growth: float) -> list[str]:
    """The goals missed: peak RSS of the largest size under 1 GiB, per-criterion time growth."""
    largest = results[-1]
    missed = [
        f"peak RSS of {phase} at N={largest.n:,} is {largest.peak_rss[phase] / 2**20:.0f} MiB (limit 1024 MiB)"
        for phase in PHASES
        if largest.peak_rss[phase] >= GIB
    ]
    missed += [
        f"per-criterion time of {phase} grew {growth(results, phase):.2f}x (limit {max_growth:.2f}x)"
        for phase in PHASES
        if growth(results, phase) > max_growth
    ]
    return missed


def profile_collection(n: int, top: int = 25) -> None:
    """cProfile one ``--collect-only`` of ``n`` criteria; print the top functions."""
    import pstats

    with tempfile.TemporaryDirectory(prefix="rubrictest-scale-") as tmp:
        work = Path(tmp)
        (work / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
        names = [f.name for f in suite_files(work, n)]
        out = work / "collect.prof"
        command = [sys.executable, "-m", "cProfile", "-o", str(out), "-m", "pytest", "-p", "no:cacheprovider"]
        subprocess.run(
            [*command, "-q", "--collect-only", "--rubric-db", fresh_db(work), *names],
            cwd=work,
            env=child_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=True,
        )
        print(f"\n## cProfile of --collect-only, {n:,} criteria (top {top} by own time)\n")
        pstats.Stats(str(out)).sort_stats("tottime").print_stats(top)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 30_000, 100_000], help="criteria per suite")
    parser.add_argument("-r", "--repeat", type=int, default=3, help="repetitions per size (medians are reported)")
    parser.add_argument("--max-growth", type=float, default=1.5, help="largest allowed per-criterion time ratio")
    parser.add_argument("--profile", action="store_true", help="cProfile the collection of the largest size")
    opts = parser.parse_args()
    sizes = sorted({n - n % CRITERIA_PER_CASE for n in opts.sizes})
    if len(sizes) < 2 or sizes[0] <= 0:
        parser.error(f"--sizes needs two or more distinct sizes of at least {CRITERIA_PER_CASE}")
    opts.sizes = sizes
    return opts


def main() -> int:
    opts = parse_args()
    results = [measure_size(n, opts.repeat) for n in opts.sizes]
    print_report(results, opts.repeat)
    if opts.profile:
        profile_collection(opts.sizes[-1])
    missed = failures(results, opts.max_growth)
    for line in missed:
        print(f"FAIL: {line}")
    if not missed:
        print("OK: peak RSS under 1 GiB and per-criterion time within the growth limit")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
