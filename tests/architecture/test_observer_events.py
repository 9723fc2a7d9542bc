"""``on_run_start``, ``on_verdict`` and ``on_run_end`` fire exactly once each, in one process,
for a plain run, a pytest-xdist run and :func:`rubrictest.evaluate`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

OBSERVER = """
import json, os
from rubrictest import hookimpl
from rubrictest.plugins import pm

LOG = {log!r}


class Observer:
    def _write(self, name, **data):
        with open(LOG, "a") as fh:
            fh.write(json.dumps({{"event": name, "pid": os.getpid(), **data}}) + "\\n")

    @hookimpl
    def on_run_start(self, event):
        self._write("start", run=event.run_id, items=event.items, kind=event.kind)

    @hookimpl
    def on_verdict(self, event):
        self._write("verdict", run=event.run_id, case=event.case.id, criterion=event.criterion.id,
                    outcome=event.verdict.outcome)

    @hookimpl
    def on_run_end(self, event):
        self._write("end", run=event.run_id, counts=event.counts)


if pm.get_plugin("test-observer") is None:
    pm.register(Observer(), name="test-observer")
"""

SUITE = """\
version: 1
suite: observed
cases:
""" + "".join(
    f"""  - id: c{i}
    output: "answer {i}"
    criteria:
      - {{check: contains, with: {{value: "answer"}}}}
      - {{id: odd, check: contains, with: {{value: "{i if i % 2 else "x"}"}}}}
"""
    for i in range(6)
)


def _events(log: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in log.read_text().splitlines()]


def _check(events: list[dict[str, object]], verdicts: int) -> None:
    kinds = [e["event"] for e in events]
    assert kinds.count("start") == 1 and kinds.count("end") == 1 and kinds.count("verdict") == verdicts, kinds
    assert kinds[0] == "start" and kinds[-1] == "end"
    assert len({e["pid"] for e in events}) == 1, "every event in one process"
    assert len({e["run"] for e in events}) == 1, "every event of one run"
    keys = [(e["case"], e["criterion"]) for e in events if e["event"] == "verdict"]
    assert len(set(keys)) == len(keys), "no verdict twice"


@pytest.mark.parametrize("workers", [None, 2])
def test_a_pytest_run_fires_each_event_once(pytester: pytest.Pytester, workers: int | None) -> None:
    log = pytester.path / "events.jsonl"
    pytester.makeconftest(OBSERVER.format(log=str(log)))
    (pytester.path / "test_observed.rubric.yaml").write_text(SUITE)
    args = ["-p", "no:cacheprovider"] + (["-n", str(workers)] if workers else [])
    result = pytester.runpytest_subprocess(*args)
    assert result.ret == 1  # three of the `odd` criteria fail
    events = _events(log)
    _check(events, 12)
    assert events[0]["items"] == 12
    assert events[-1]["counts"] == {"PASS": 9, "FAIL": 3}


def test_evaluate_fires_each_event_once(tmp_path: Path) -> None:
    log = tmp_path / "events.jsonl"
    (tmp_path / "observer_plugin.py").write_text(textwrap.dedent(OBSERVER.format(log=str(log))))
    code = (
        "import observer_plugin\nfrom rubrictest import evaluate\n"
        "for i in range(3):\n"
        "    evaluate(f'answer {i}', [{'check': 'contains', 'with': {'value': 'answer'}}], db=None)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, check=True, timeout=120)
    events = _events(log)
    _check(events, 3)
    assert events[0]["kind"] == "evaluate"
