"""``report --html`` (one self-contained file), ``report --format github`` and the job summary a run writes."""

from __future__ import annotations

import importlib.util
import re
from html import unescape
from pathlib import Path

import pytest
from click.testing import CliRunner

from rubrictest.cli import build_cli
from rubrictest.store.queries import ResultsDB
from rubrictest.view.highlight import Segment, locate, segments, truncate

from ..helpers.paths import REPO
from ..helpers.view import run_suites, write_hostile_suite


def _run(db: Path, index: int) -> str:
    """The id of the ``index``-th run (oldest first)."""
    return str(ResultsDB.open(db).rows("SELECT id FROM runs ORDER BY started_at, id")[index]["id"])


def _report(db: Path, out: Path, *args: str) -> str:
    result = CliRunner().invoke(build_cli(), ["report", "--db", str(db), "--html", str(out), *args])
    assert result.exit_code == 0, result.output
    return out.read_text(encoding="utf-8")


def test_html_report_is_self_contained(examples_db: Path, tmp_path: Path) -> None:
    html = _report(examples_db, tmp_path / "r.html", _run(examples_db, 1))
    # Every page kind of the run is in the file, addressed by #fragment.
    for anchor in ('id="run"', 'id="case-0"', 'id="compare-0"'):
        assert anchor in html
    assert "refund-window" in html and "v1 → v2" in html
    # No network: nothing is loaded from anywhere; a CSP in the file forbids it.
    assert not re.search(r'(src|href)="(https?:)?//', html)
    csp = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    assert csp is not None
    policy = unescape(csp.group(1))
    assert "default-src 'none'" in policy and "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
    assert html.count("<script>") == 4  # vega, vega-lite, vega-embed, the page script: all inline


def test_html_report_escapes_a_hostile_response(examples_db: Path, tmp_path: Path) -> None:
    html = _report(examples_db, tmp_path / "h.html", _run(examples_db, 2))
    assert "<script>window.__pwned" not in html and 'onerror="window' not in html
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in html


def test_html_report_cuts_long_responses_unless_full(tmp_path: Path) -> None:
    suite = tmp_path / "long" / "test_long.rubric.yaml"
    suite.parent.mkdir()
    long_text = "word " * 3000 + "THE-END"
    suite.write_text(
        f"version: 1\nsuite: long\ncases:\n  - id: c\n    output: {long_text!r}\n    criteria:\n"
        "      - {id: k, check: contains, with: {value: word}}\n",
        encoding="utf-8",
    )
    db = tmp_path / "r.db"
    assert run_suites(db, suite).returncode == 0
    cut = _report(db, tmp_path / "cut.html")
    assert "THE-END" not in cut and "11,007 more characters not shown" in cut
    full = _report(db, tmp_path / "full.html", "--full")
    assert "THE-END" in full and "more characters not shown" not in full


def test_html_report_of_5000_criteria_stays_about_10_megabytes(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("bench_view", REPO / "bench" / "bench_view.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    bench.make_db(tmp_path / "big.db", cases=250, targets=2, criteria=10, runs=1)
    html = _report(tmp_path / "big.db", tmp_path / "big.html")
    cases = html.split('id="compare-0"')[0]
    assert cases.count('class="verdict ') == 5000
    size_mb = len(html.encode("utf-8")) / 1e6
    assert size_mb < 12, f"{size_mb:.1f} MB"  # 10 MB measured: docs/benchmarks.md


def test_report_html_errors_are_clear(examples_db: Path, tmp_path: Path) -> None:
    bad = CliRunner().invoke(
        build_cli(), ["report", "--db", str(examples_db), "--html", str(tmp_path / "no-dir" / "r.html")]
    )
    assert bad.exit_code == 1 and "cannot write" in bad.output
    assert not (tmp_path / "no-dir").exists()
    alone = CliRunner().invoke(build_cli(), ["report", "--db", str(examples_db), "--full"])
    assert alone.exit_code == 2 and "--full and --compare go with --html" in alone.output


def test_github_format_and_step_summary(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n", encoding="utf-8")
    db = tmp_path / "r.db"
    result = run_suites(db, REPO / "suites" / "demo-failures", env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert result.returncode == 1
    written = summary.read_text(encoding="utf-8")
    assert written.startswith("earlier step\n### rubrictest run `")  # appended, not replaced
    assert "| demo-failures | fixed outputs | no gate | 0/1 (0%) | 0/3 (0%) |" in written
    assert (
        "| wrong-capital | correct-capital | FAIL | Sydney is the largest city; the capital is Canberra. |" in written
    )
    printed = CliRunner().invoke(build_cli(), ["report", "--db", str(db), "--format", "github"])
    assert printed.exit_code == 0 and printed.output in written


def test_github_summary_escapes_markdown_and_html(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    assert run_suites(db, write_hostile_suite(tmp_path / "h")).returncode == 1
    out = CliRunner().invoke(build_cli(), ["report", "--db", str(db), "--format", "github"]).output
    row = next(line for line in out.splitlines() if line.startswith("| xss | greets |"))
    assert row.count(" | ") == 3  # the pipes in the rationale did not add columns
    assert "<b>" not in out and "&lt;b&gt;markup&lt;/b&gt;" in out


def test_no_summary_without_the_variable(tmp_path: Path) -> None:
    result = run_suites(tmp_path / "r.db", REPO / "suites" / "examples")
    assert result.returncode == 0 and not list(tmp_path.glob("*.md"))


_RESPONSE = "I'm sorry, our return  window is 30 days from delivery, after 40 days no."


def _span(text: str) -> tuple[int, int]:
    start = _RESPONSE.index(text)
    return start, start + len(text)


@pytest.mark.parametrize(
    ("quote", "expected"),
    [
        ("return  window is 30 days", [_span("return  window is 30 days")]),
        ("RETURN window\nis 30 days", [_span("return  window is 30 days")]),
        ("\u201cOur return\u201d ... 40 days", [_span("our return"), _span("40 days")]),
        ("not in there", None),
        ("", None),
    ],
)
def test_evidence_is_located_like_it_is_checked(quote: str, expected: list[tuple[int, int]] | None) -> None:
    assert locate(quote, _RESPONSE) == expected


def test_segments_mark_overlapping_evidence_and_truncate() -> None:
    segs, located = segments("abc def ghi", ["abc def", "def ghi", "zzz", None])
    assert [(s.text, s.marks) for s in segs] == [("abc ", [1]), ("def", [1, 2]), (" ghi", [2])]
    assert located == [True, True, False, None]
    cut, more = truncate([Segment("abcdef"), Segment("ghij", [1])], 8)
    assert [s.text for s in cut] == ["abcdef", "gh"] and more == 2


def test_read_only_queries_refuse_writes(examples_db: Path) -> None:
    db = ResultsDB.open(examples_db)
    import sqlite3

    with pytest.raises(sqlite3.OperationalError):
        db.conn().execute("CREATE TABLE x (y)")


def test_html_report_shows_repeats_escaped(repeat_db: Path, tmp_path: Path) -> None:
    """Without a browser too: the repeats of a ``--rubric-repeat 3`` run are in the report, the
    flipping check's markup reason escaped (the browser test clicks through the same pages)."""
    html = _report(repeat_db, tmp_path / "r.html")
    assert "1</b> of 2 criteria flipped at least once, <b>1</b> unstable" in html
    assert "3 repeats · flip rate 0.33" in html and "3 repeats · flip rate 0.00" in html
    assert html.count("data-unstable") == 1 + 1  # the Run page's list, and the Case page's badge
    assert "&lt;b&gt;said&lt;/b&gt; so" in html and "<b>said</b>" not in html
