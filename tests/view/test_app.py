"""The web app: every page kind over the example suites' runs, filters, safety, read-only."""

from __future__ import annotations

import hashlib
import re
import sqlite3
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from rubrictest.cli import build_cli
from rubrictest.engine import GateOutcome
from rubrictest.errors import StoreError
from rubrictest.store.queries import ResultsDB

pytest.importorskip("starlette", reason="the view extra (starlette) is not installed")
from starlette.testclient import TestClient  # noqa: E402

from rubrictest.view.app import CSP, create_app  # noqa: E402


@pytest.fixture(scope="module")
def client(examples_db: Path) -> TestClient:
    return TestClient(create_app(ResultsDB.open(examples_db)))


def _runs(db_path: Path) -> list[str]:
    db = ResultsDB.open(db_path)
    return [r["id"] for r in db.rows("SELECT id FROM runs ORDER BY started_at, id")]


def test_every_page_kind_renders(client: TestClient, examples_db: Path) -> None:
    first, second, hostile = _runs(examples_db)
    pages = {
        "/": ["support-bot", "model-versions", second, "compare with previous"],
        f"/runs/{second}": [
            "refund-window",
            "mentions-express",
            "MISSED",
            "Wilson lower bound",
            "Per tag",
            "chart-scores-0",
            "Compare v1 → v2",
        ],
        f"/runs/{second}/case?suite=support-bot&case=refund-window&target=-": [
            "Can I return shoes after 40 days?",
            "Returns are accepted within 30 days",
            "no-false-promise",
            '<mark class="ev"',
            "Apologises and stays courteous.",
        ],
        f"/compare?a={first}&b={second}": ["both pass", "Flipped verdicts", "No verdict changed status"],
        f"/compare?a={second}&b={second}&ta=v1&tb=v2": ["Compare", "canberra", "hundred-celsius"],
        f"/compare/case?a={second}&b={second}&ta=v1&tb=v2&suite=model-versions&case=capital": [
            "side by side",
            "Canberra",
        ],
        "/trends": ["polite", "recorded:support_labels.jsonl"],
        "/trends/judge?judge=recorded:support_labels.jsonl": ["No calibration of this judge is stored"],
    }
    for url, wanted in pages.items():
        response = client.get(url)
        assert response.status_code == 200, (url, response.text[-2000:])
        for text in wanted:
            assert text in response.text, (url, text)
    trend_link = re.search(r'href="(/trends/criterion/[0-9a-f]+)"', client.get("/trends").text)
    assert trend_link is not None
    trend = client.get(trend_link.group(1))
    assert trend.status_code == 200 and "Pass rate per run" in trend.text and first in trend.text


def test_filters_narrow_the_run_page(client: TestClient, examples_db: Path) -> None:
    run = _runs(examples_db)[1]
    missed = client.get(f"/runs/{run}?status=MISSED").text
    verdicts = missed.split('class="verdicts"')[1]
    assert "mentions-express" in verdicts and "refund-window" not in verdicts
    by_target = client.get(f"/runs/{run}?target=v2").text.split('class="verdicts"')[1]
    assert by_target.count('data-target="v2"') == 3 and 'data-target="v1"' not in by_target
    by_text = client.get(f"/runs/{run}?q=warranty").text.split('class="verdicts"')[1]
    assert "offers-alternative" in by_text and "shipping-time" not in by_text
    by_tag = client.get(f"/runs/{run}?tag=shipping").text.split('class="verdicts"')[1]
    assert "shipping-time" in by_tag and "refund-window" not in by_tag
    runs = client.get("/?suite=hostile").text
    assert _runs(examples_db)[2] in runs and _runs(examples_db)[0] not in runs


def test_hostile_response_is_escaped_everywhere(client: TestClient, examples_db: Path) -> None:
    run = _runs(examples_db)[2]
    for url in (f"/runs/{run}", f"/runs/{run}/case?suite=hostile&case=xss&target=-", f"/runs/{run}?q=script"):
        html = client.get(url).text
        assert "<script>window.__pwned" not in html and 'onerror="window' not in html, url
        assert "<b>markup</b>" not in html
    case = client.get(f"/runs/{run}/case?suite=hostile&case=xss&target=-").text
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in case
    # the quoted evidence is found and marked, as text
    assert re.search(r'<mark class="ev"[^>]*>&lt;script&gt;window.__pwned = 1&lt;/script&gt;</mark>', case)


def test_security_headers_read_only_routes_and_404(client: TestClient, examples_db: Path) -> None:
    page = client.get("/")
    assert page.headers["content-security-policy"] == CSP
    assert "'unsafe-eval'" not in CSP and "'unsafe-inline'" not in CSP.split("script-src")[1].split(";")[0]
    assert page.headers["x-content-type-options"] == "nosniff"
    assert client.post("/").status_code == 405
    assert client.get("/runs/nope").status_code == 404
    assert client.get("/no/such/page").status_code == 404
    assert client.get("/static/vendor/vega.min.js").status_code == 200
    assert client.get("/static/../queries.py").status_code == 404


def test_pages_never_write_the_database(examples_db: Path) -> None:
    before = hashlib.sha256(examples_db.read_bytes()).hexdigest()
    db = ResultsDB.open(examples_db)
    client = TestClient(create_app(db))
    for url in ("/", "/trends", f"/runs/{_runs(examples_db)[1]}"):
        client.get(url)
    with pytest.raises(sqlite3.OperationalError):
        db.conn().execute("DELETE FROM runs")
    assert hashlib.sha256(examples_db.read_bytes()).hexdigest() == before


def test_credentials_in_a_stored_call_are_never_shown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from rubrictest.store import Store

    secret = "sk-test-SECRET-0123456789"
    monkeypatch.setenv("FAKEPROVIDER_API_KEY", secret)
    store = Store.open(tmp_path / "r.db")
    run = store.start_run(rootdir=".", argv=[], version="t")
    call = store.insert_now(
        "judge_calls",
        {
            "run_id": run,
            "kind": "judge",
            "component": "fake:j",
            "request": {"headers": {"authorization": f"Bearer {secret}"}},
            "response": f"echo {secret}",
        },
    )
    store.insert("cases", {"run_id": run, "suite": "s", "case_id": "c", "target": "", "response": "ok", "position": 0})
    store.insert(
        "verdicts",
        {
            "run_id": run,
            "suite": "s",
            "case_id": "c",
            "target": "",
            "criterion_id": "k",
            "status": "PASS",
            "outcome": "met",
            "judge": "fake:j",
            "judge_call_id": call,
            "position": 0,
        },
    )
    store.close()
    html = (
        TestClient(create_app(ResultsDB.open(tmp_path / "r.db"))).get(f"/runs/{run}/case?suite=s&case=c&target=-").text
    )
    assert secret not in html and "[REDACTED]" in html


def test_view_refuses_a_database_it_cannot_read(tmp_path: Path) -> None:
    cli = build_cli()
    missing = CliRunner().invoke(cli, ["view", "--db", str(tmp_path / "none.db")])
    assert missing.exit_code == 1 and "no results database" in missing.output
    text = tmp_path / "notes.db"
    text.write_text("not a database", encoding="utf-8")
    wrong = CliRunner().invoke(cli, ["view", "--db", str(text)])
    assert wrong.exit_code == 1 and "not a SQLite database" in wrong.output
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    foreign = CliRunner().invoke(cli, ["view", "--db", str(other)])
    assert foreign.exit_code == 1 and "not a rubrictest results database" in foreign.output
    with pytest.raises(StoreError, match="is not a file"):
        ResultsDB.open(tmp_path)


def test_view_without_the_extra_names_the_pip_command(monkeypatch: pytest.MonkeyPatch, examples_db: Path) -> None:
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # import fails as when the extra is missing
    result = CliRunner().invoke(build_cli(), ["view", "--db", str(examples_db)])
    assert result.exit_code == 1
    assert "pip install 'rubrictest[view]'" in result.output


def test_view_listens_on_loopback_by_default() -> None:
    command = build_cli().commands["view"]
    host = next(p for p in command.params if p.name == "host")
    assert host.default == "127.0.0.1"


def test_stored_gates_are_shown_when_the_database_has_them(tmp_path: Path) -> None:
    """The stored gates (m010): each target's gate, its bound and verdict."""
    from rubrictest.store import Store

    store = Store.open(tmp_path / "r.db")
    run = store.start_run(rootdir=".", argv=[], version="t")
    store.insert(
        "cases",
        {
            "run_id": run,
            "suite": "s",
            "case_id": "c",
            "target": "v1",
            "response": "ok",
            "position": 0,
            "outcome": "passed",
        },
    )
    store.record_gate(
        run, suite="s", suite_path="test_s.rubric.yaml", target="v1", gate=GateOutcome(False, 7, 10, 0.397, 0.6, 0.95)
    )
    store.close()
    client = TestClient(create_app(ResultsDB.open(tmp_path / "r.db")))
    gates = client.get(f"/runs/{run}").text.split('id="gates"')[1].split("</table>")[0]
    assert '<span class="badge FAIL">FAIL</span>' in gates
    assert "7 / 10" in gates and "70.0%" in gates and "0.397" in gates and "0.600" in gates
    runs = client.get("/").text
    assert 'class="badge FAIL"' in runs and "no gate stored" not in runs


def test_a_stored_calibration_shows_on_the_judge_page(examples_db: Path, tmp_path: Path) -> None:
    from ..helpers.view import REPO

    db = tmp_path / "r.db"
    with sqlite3.connect(examples_db) as src, sqlite3.connect(db) as dst:
        src.backup(dst)  # a copy that includes what is still in the write-ahead log
    run = _runs(db)[1]
    labels = REPO / "suites" / "examples" / "support_labels.jsonl"
    result = CliRunner().invoke(
        build_cli(),
        [
            "calibrate",
            "--labels",
            str(labels),
            "--db",
            str(db),
            "--run",
            run,
            "--judge",
            "recorded:support_labels.jsonl",
            "--resamples",
            "0",
        ],
    )
    assert result.exit_code == 0, result.output
    client = TestClient(create_app(ResultsDB.open(db)))
    page = client.get("/trends/judge?judge=recorded:support_labels.jsonl").text
    table = page.split('id="calibrations"')[1]
    assert run in table and "support_labels.jsonl" in table and "1.000" in table  # the labels agree with themselves
    assert "chart-reliability" in page
    assert "1 stored" in client.get("/trends").text
