"""Benchmark: every page of ``rubrictest view`` on a large results database.

Builds (in a temporary directory) a database of two runs of CASES cases x TARGETS targets x
CRITERIA criteria each (default 5,000 x 2 x 10: 100,000 verdicts per run, 200,000 in the
file, one judge call per case run with a realistic request and response), then requests
every page kind through the ASGI app (no network), several times each, and prints the
median and worst time per page. It also writes the self-contained HTML report of a
5,000-criterion run and prints its size.

    python bench/bench_view.py                       # the figures in docs/benchmarks.md
    python bench/bench_view.py --cases 500 -r 3      # quicker
    python bench/bench_view.py --insert-cost 100000  # what the viewer's index costs a run's store

``make_db`` is also used by the tests (the report-size test) to build smaller databases.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

_WORDS = (
    "refund window policy shipping order customer warranty days delivery tracking apology escalate "
    "answer polite clear accurate express standard return faulty replace store credit"
).split()


def _text(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(n)).capitalize() + "."


def _run_rows(
    store: Any, run_id: str, started: str, cases: int, targets: int, criteria: int, rng: random.Random, quality: float
) -> None:
    counts = {"PASS": 0, "FAIL": 0, "MISSED": 0, "ERROR": 0}
    store.db.conn.execute(
        "INSERT INTO runs (id, started_at, finished_at, status, rootdir, argv, version, counts, usage) "
        "VALUES (?, ?, ?, 'failed', '.', '[]', 'bench', '{}', '{}')",
        [run_id, started, started],
    )
    crit_texts = [_text(rng, 8) for _ in range(criteria)]
    for c in range(cases):
        suite = f"suite-{c % 4}"
        for t in range(targets):
            target = f"model-{t}"
            position = c * targets + t
            response = _text(rng, 60)
            call_id = store.insert_now(
                "judge_calls",
                {
                    "run_id": run_id,
                    "kind": "judge",
                    "component": "openai:judge-model",
                    "plugin": "openai",
                    "model": "judge-model",
                    "request": {"messages": [{"role": "user", "content": _text(rng, 150)}]},
                    "response": {"choices": [{"message": {"content": _text(rng, 80)}}]},
                    "input_tokens": 900,
                    "output_tokens": 200,
                    "cost_usd": 0.0011,
                    "latency_s": 0.8,
                    "attempts": 1,
                },
            )
            score = 0.0
            for k in range(criteria):
                met = rng.random() < quality - 0.02 * k
                status = "PASS" if met else ("FAIL" if k % 3 else "MISSED")
                if rng.random() < 0.005:
                    status = "ERROR"
                counts[status] += 1
                words = response.split()
                start = rng.randrange(0, len(words) - 5)
                store.insert(
                    "verdicts",
                    {
                        "run_id": run_id,
                        "suite": suite,
                        "case_id": f"case-{c}",
                        "target": target,
                        "criterion_id": f"crit-{k}",
                        "position": position * 10_000 + k,
                        "criterion_hash": f"h{k:015d}",
                        "criterion_text": crit_texts[k],
                        "points": 1.0,
                        "must": 0,
                        "judge": "openai:judge-model",
                        "outcome": "met" if met else "not_met",
                        "status": status,
                        "confidence": round(rng.uniform(0.5, 1.0), 3),
                        "evidence": " ".join(words[start : start + 5]),
                        "evidence_supported": 1,
                        "rationale": _text(rng, 20),
                        "cached": 0,
                        "judge_call_id": call_id,
                        "tags": [f"tag-{k % 5}", suite],
                        "created_at": started,
                    },
                )
                score += met
            store.insert(
                "cases",
                {
                    "run_id": run_id,
                    "suite": suite,
                    "suite_path": f"suites/{suite}.rubric.yaml",
                    "case_id": f"case-{c}",
                    "position": position,
                    "target": target,
                    "input": _text(rng, 25),
                    "reference": _text(rng, 15),
                    "response": response,
                    "score": score / criteria,
                    "outcome": "passed" if score / criteria > 0.7 else "failed",
                    "tags": [suite],
                },
            )
    store.flush()
    store.update(
        "runs",
        run_id,
        {
            "counts": counts,
            "usage": {
                "total": {
                    "calls": cases * targets,
                    "input_tokens": 900 * cases * targets,
                    "output_tokens": 200 * cases * targets,
                    "cost_usd": 0.0011 * cases * targets,
                }
            },
        },
    )


def make_db(path: Path, *, cases: int, targets: int = 2, criteria: int = 10, runs: int = 2, seed: int = 0) -> list[str]:
    """Write a results database of ``runs`` runs; returns the run ids, oldest first."""
    from rubrictest.store import Store

    rng = random.Random(seed)
    store = Store.open(path)
    ids = []
    for r in range(runs):
        run_id = f"20260101T00{r:02d}00Z-bench{r}"
        _run_rows(
            store, run_id, f"2026-01-01T00:{r:02d}:00.000+00:00", cases, targets, criteria, rng, quality=0.8 + 0.05 * r
        )
        ids.append(run_id)
    store.close()
    return ids


def _pages(run_ids: list[str]) -> dict[str, str]:
    old, new = run_ids[0], run_ids[-1]
    return {
        "runs": "/",
        "run": f"/runs/{new}",
        "run, page 40": f"/runs/{new}?page=40&cpage=3",
        "run, filtered (status+tag+text)": f"/runs/{new}?status=FAIL&tag=tag-2&q=refund",
        "case": f"/runs/{new}/case?suite=suite-1&case=case-2001&target=model-1",
        "compare runs": f"/compare?a={old}&b={new}",
        "compare targets": f"/compare?a={new}&b={new}&ta=model-0&tb=model-1",
        "compare, side by side": f"/compare/case?a={old}&b={new}&suite=suite-1&case=case-2001",
        "trends": "/trends",
        "trend of a criterion": "/trends/criterion/h000000000000003",
        "judge": "/trends/judge?judge=openai:judge-model",
    }


def insert_cost(verdicts: int, repeat: int) -> None:
    """Time storing ``verdicts`` verdict rows with the viewer's covering index (migration m004)
    and with the narrow index it replaces, side by side, alternating: what it costs a pytest run."""
    from rubrictest.store import Store

    rows = [
        {
            "run_id": "r",
            "suite": f"s{i % 4}",
            "case_id": f"c{i // 10}",
            "target": "t",
            "criterion_id": f"k{i % 10}",
            "position": i,
            "criterion_hash": f"h{i % 10:015d}",
            "criterion_text": "A criterion text.",
            "judge": "openai:judge",
            "outcome": "met",
            "status": "PASS",
            "confidence": 0.9,
            "evidence": "some quoted words",
            "evidence_supported": 1,
            "rationale": "Because the reply says so." * 3,
            "cached": 0,
            "tags": ["a", "b"],
            "created_at": "2026-01-01T00:00:00",
        }
        for i in range(verdicts)
    ]
    times: dict[str, list[float]] = {"with m004 (covering)": [], "m002 (narrow)": []}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(repeat):
            for name in times:
                store = Store.open(Path(tmp) / f"{r}-{name[:4]}.db")
                if name == "m002 (narrow)":  # the schema before m004: its (run_id, position) index
                    store.db.conn.execute("DROP INDEX idx_verdicts_run_summary")
                    store.db.conn.execute("CREATE INDEX idx_verdicts_run_id_position ON verdicts (run_id, position)")
                t = time.perf_counter()
                for row in rows:
                    store.insert("verdicts", row)
                store.flush()
                times[name].append(time.perf_counter() - t)
                store.close()
    for name, ts in times.items():
        runs = ", ".join(f"{x:.2f}" for x in ts)
        print(
            f"store {verdicts:,} verdicts, {name:18}: median {statistics.median(ts):.2f} s "
            f"({statistics.median(ts) / verdicts * 1e6:.0f} µs per verdict; runs {runs})"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=int, default=5000)
    ap.add_argument("--targets", type=int, default=2)
    ap.add_argument("--criteria", type=int, default=10)
    ap.add_argument("-r", "--repeat", type=int, default=5)
    ap.add_argument(
        "--insert-cost",
        type=int,
        metavar="N",
        default=0,
        help="only time storing N verdicts with the viewer's covering index and without",
    )
    args = ap.parse_args()
    if args.insert_cost:
        insert_cost(args.insert_cost, args.repeat)
        return

    from starlette.testclient import TestClient

    from rubrictest.store.queries import ResultsDB
    from rubrictest.view.app import create_app
    from rubrictest.view.report import html_report

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        t0 = time.perf_counter()
        run_ids = make_db(path, cases=args.cases, targets=args.targets, criteria=args.criteria)
        per_run = args.cases * args.targets * args.criteria
        print(
            f"database: {len(run_ids)} runs x {per_run:,} verdicts ({path.stat().st_size / 1e6:.0f} MB), "
            f"built in {time.perf_counter() - t0:.1f} s"
        )
        db = ResultsDB.open(path)
        client = TestClient(create_app(db))
        print(f"{'page':34} {'median':>9} {'worst':>9} {'KB':>7}")
        for name, url in _pages(run_ids).items():
            times, size = [], 0
            for _ in range(args.repeat):
                t = time.perf_counter()
                response = client.get(url)
                times.append(time.perf_counter() - t)
                assert response.status_code == 200, (url, response.status_code, response.text[-2000:])
                size = len(response.content)
            print(f"{name:34} {statistics.median(times) * 1000:7.0f} ms {max(times) * 1000:6.0f} ms {size / 1e3:7.0f}")

        small = Path(tmp) / "report.db"
        make_db(small, cases=250, targets=2, criteria=10, runs=1, seed=1)
        t = time.perf_counter()
        small_db = ResultsDB.open(small)
        html = html_report(small_db, small_db.resolve_run("-1"))
        print(
            f"HTML report of a 5,000-criterion run (500 case runs): {len(html.encode()) / 1e6:.1f} MB "
            f"in {time.perf_counter() - t:.1f} s"
        )


if __name__ == "__main__":
    main()
