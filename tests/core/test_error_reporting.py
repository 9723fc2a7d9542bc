"""ERROR items are reported at PASS speed: no traceback is formatted for a rubric verdict.

A judge that could not decide raises in the item's set-up; pytest would format a full
traceback for it (reading and parsing the source of every frame, ~0.2 s an item) that the
plugin then replaced by the verdict. The report is now built from the rendered text.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from _pytest._code.code import ExceptionInfo


def _suite(path: Path, n_cases: int, *, errors: bool) -> None:
    lines = ["version: 1", "suite: s", "judge: recorded:labels.jsonl", "cases:"]
    for c in range(n_cases):
        lines += [f"  - id: c{c}", "    output: hello", "    criteria:"]
        if errors:  # no label for any criterion: every item is ERROR
            lines += [f"      - {{id: k{k}, text: 'Says hello {k}.'}}" for k in range(10)]
        else:
            lines += [f"      - {{id: k{k}, check: contains, with: {{value: hello}}}}" for k in range(10)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    (path.parent / "labels.jsonl").write_text('{"case": "x", "criterion": "y", "met": true}\n', encoding="utf-8")


def test_an_error_item_formats_no_traceback(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    _suite(pytester.path / "test_e.rubric.yaml", 3, errors=True)
    calls: list[object] = []
    original = ExceptionInfo.getrepr

    def counting(self: ExceptionInfo[BaseException], *args: object, **kwargs: object) -> object:
        calls.append(self.value)
        return original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ExceptionInfo, "getrepr", counting)
    result = pytester.runpytest("--rubric-no-store", "-rE")
    result.assert_outcomes(errors=30)
    assert calls == []
    # the one-line reason reaches pytest's short summary
    result.stdout.fnmatch_lines(["ERROR test_e.rubric.yaml::c0::k0 - ERROR: no recorded verdict for case 'c0'*"])
    assert "Traceback" not in result.stdout.str()


def test_error_items_take_about_as_long_as_passing_ones(pytester: pytest.Pytester) -> None:
    """A generous bound (the figure is in docs/benchmarks.md, from bench/bench_errors.py):
    before, 300 ERROR items took ~50x as long as 300 PASS items."""
    (pytester.path / "ok").mkdir()
    (pytester.path / "err").mkdir()
    _suite(pytester.path / "ok" / "test_ok.rubric.yaml", 30, errors=False)
    _suite(pytester.path / "err" / "test_err.rubric.yaml", 30, errors=True)

    def timed(folder: str) -> float:
        started = time.perf_counter()
        pytester.runpytest_subprocess(folder, "--rubric-no-store", "-q", "-p", "no:cacheprovider")
        return time.perf_counter() - started

    ok, err = timed("ok"), timed("err")
    assert err < 5 * ok + 1.0, f"300 ERROR items took {err:.2f} s, 300 PASS items {ok:.2f} s"
