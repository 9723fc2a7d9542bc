"""``rubrictest view`` and the HTML report in a real browser: the system's Chromium, driven by Playwright.

The server is the real command (``rubrictest view`` in a subprocess, on 127.0.0.1) over a
database made by running the example suites (and a hostile one). Every page kind is opened,
the runs -> run -> case -> compare path is clicked through, a filter is applied, the
highlighted evidence and the inertness of an injected ``<script>`` are checked, and each page
is saved as a screenshot (``$RUBRICTEST_SCREENSHOTS``, else a folder under pytest's tmp path).

Playwright cannot download a browser here: it drives Chromium from the system's package
manager (``apt-get install chromium``; ``$RUBRICTEST_CHROMIUM`` to point elsewhere). Without
one the tests skip with that reason, except under ``CI=true``, where a missing browser fails.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rubrictest.store.queries import ResultsDB

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def _chromium() -> str | None:
    for candidate in (
        os.environ.get("RUBRICTEST_CHROMIUM"),
        shutil.which("chromium"),
        "/usr/bin/chromium",
        shutil.which("chromium-browser"),
    ):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def _need(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: the browser tests must run in CI; .ci/run installs chromium)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _need("playwright is not installed (pip install -e '.[dev]')")
    executable = _chromium()
    if executable is None:
        _need("no Chromium installed (apt-get install chromium, or set RUBRICTEST_CHROMIUM)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    configured = os.environ.get("RUBRICTEST_SCREENSHOTS")
    path = Path(configured) if configured else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(examples_db: Path) -> Iterator[str]:
    """``rubrictest view`` on the examples database, as a user starts it."""
    yield from _serve(examples_db)


@pytest.fixture(scope="module")
def release_server(release_db: Path) -> Iterator[str]:
    """``rubrictest view`` on a run of the release example (a baseline and a candidate)."""
    yield from _serve(release_db)


@pytest.fixture(scope="module")
def repeat_server(repeat_db: Path) -> Iterator[str]:
    """``rubrictest view`` on a run made with ``--rubric-repeat 3`` (one criterion flips)."""
    yield from _serve(repeat_db)


def _serve(examples_db: Path) -> Iterator[str]:
    port = _free_port()
    command = [
        sys.executable,
        "-c",
        "from rubrictest.cli import main; main()",
        "view",
        "--db",
        str(examples_db),
        "--port",
        str(port),
    ]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail(f"rubrictest view exited: {proc.stdout.read() if proc.stdout else ''}")
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("rubrictest view did not start listening within 30 s")
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=10)


class Tab:
    """A browser page that records console errors and every address it requested."""

    def __init__(self, browser: Any, shots: Path) -> None:
        self.context = browser.new_context(viewport={"width": 1400, "height": 900})
        self.page = self.context.new_page()
        self.shots = shots
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(self.shots / f"{name}.png"), full_page=True)

    def charts_drawn(self, n: int = 1) -> None:
        # A locator, not wait_for_function: the pages' CSP forbids evaluating strings as code.
        self.page.locator("div.chart svg").nth(n - 1).wait_for(state="attached", timeout=15000)


@pytest.fixture
def tab(browser: Any, shots: Path) -> Iterator[Tab]:
    t = Tab(browser, shots)
    yield t
    t.context.close()


def _run_ids(db: Path) -> list[str]:
    return [r["id"] for r in ResultsDB.open(db).rows("SELECT id FROM runs ORDER BY started_at, id")]


def test_click_through_runs_run_case_compare(tab: Tab, server: str, examples_db: Path) -> None:
    from playwright.sync_api import expect

    first, second, _hostile = _run_ids(examples_db)
    page = tab.page
    page.goto(server + "/")
    page.wait_for_selector("table#runs")
    tab.shot("runs")
    page.click(f'tr[data-run="{second}"] a[href="/runs/{second}"]')
    page.wait_for_url(f"**/runs/{second}")
    tab.charts_drawn(2)
    assert page.locator("h1").inner_text().startswith("Run")
    tab.shot("run")

    page.click('table.verdicts a:text-is("refund-window")')
    page.wait_for_selector("pre[data-response]")
    marks = page.locator("pre[data-response] mark.ev")
    assert marks.count() >= 3
    assert "our return window is 30 days from delivery" in marks.all_inner_texts()
    card = page.locator('article.verdict:has(.cid:text-is("states-that-the-return-window-is-30-days"))')
    card.hover()
    # The highlight is set by a mouseenter handler: wait for it rather than read at once
    # (on a loaded machine the assertion ran before the handler had).
    expect(page.locator("pre[data-response] mark.ev.hot")).to_have_text(["our return window is 30 days from delivery"])
    tab.shot("case")

    page.go_back()
    page.click("text=Compare v1 → v2")
    page.wait_for_selector("table#paired")
    assert "canberra" in page.locator("table#paired").inner_text()
    tab.shot("compare-targets")

    page.goto(server + "/")
    page.click(f'tr[data-run="{second}"] >> text=compare with previous')
    page.wait_for_selector("table#paired")
    assert first in page.locator("h1").inner_text() and second in page.locator("h1").inner_text()
    tab.shot("compare-runs")
    assert not tab.errors, tab.errors
    assert all(url.startswith(server) for url in tab.requests), tab.requests


def test_filter_by_status_and_text(tab: Tab, server: str, examples_db: Path) -> None:
    run = _run_ids(examples_db)[1]
    page = tab.page
    page.goto(f"{server}/runs/{run}")
    page.select_option('form.filters select[name="status"]', "MISSED")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**status=MISSED**")
    rows = page.locator("table.verdicts tbody tr")
    assert rows.count() == 1 and "mentions-express" in rows.inner_text()
    page.fill('form.filters input[name="q"]', "warranty")
    page.select_option('form.filters select[name="status"]', "")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**q=warranty**")
    assert "offers-alternative" in page.locator("table.verdicts").inner_text()
    tab.shot("run-filtered")


def test_injected_script_is_inert(tab: Tab, server: str, examples_db: Path) -> None:
    run = _run_ids(examples_db)[2]
    page = tab.page
    page.goto(f"{server}/runs/{run}/case?suite=hostile&case=xss&target=-")
    response = page.locator("pre[data-response]")
    assert "<script>window.__pwned = 1</script>" in response.inner_text()
    assert '<img src=x onerror="window.__pwned = 2">' in response.inner_text()
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.locator("pre[data-response] img, pre[data-response] script").count() == 0
    # the quoted evidence, itself a script tag, is highlighted as text
    assert "<script>window.__pwned = 1</script>" in page.locator("mark.ev").all_inner_texts()
    tab.shot("case-hostile")
    page.goto(f"{server}/runs/{run}")
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert not tab.errors, tab.errors


def test_trends_and_judge_pages(tab: Tab, server: str) -> None:
    page = tab.page
    page.goto(server + "/trends")
    page.click('table#trend-criteria a:text-is("polite")')
    page.wait_for_selector("table#trend-runs")
    tab.charts_drawn(1)
    assert page.locator("table#trend-runs tbody tr").count() == 2  # both example runs judged it
    tab.shot("trend")
    page.goto(server + "/trends")
    page.click("#judges a")
    page.wait_for_selector("text=No calibration of this judge is stored")
    tab.shot("judge")
    assert not tab.errors, tab.errors


def test_html_report_works_from_disk_offline(tab: Tab, examples_db: Path, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from rubrictest.cli import build_cli

    out = tmp_path / "report.html"
    run = _run_ids(examples_db)[1]
    result = CliRunner().invoke(build_cli(), ["report", run, "--db", str(examples_db), "--html", str(out)])
    assert result.exit_code == 0, result.output
    tab.context.set_offline(True)
    page = tab.page
    page.goto(out.as_uri())
    tab.charts_drawn(2)
    tab.shot("report-run")
    page.click('table.verdicts a:text-is("refund-window")')
    page.wait_for_selector("section.rpage:target pre[data-response] mark.ev")
    assert (
        "our return window is 30 days from delivery" in page.locator("section.rpage:target mark.ev").all_inner_texts()
    )
    tab.shot("report-case")
    page.click("header nav >> text=v1 → v2")
    page.wait_for_selector("section.rpage:target table#paired")
    tab.charts_drawn(2)
    tab.shot("report-compare")
    page.goto(out.as_uri() + "#run")
    page.select_option("section#run form.filters select[name=status]", "MISSED")
    visible = page.locator("section#run table.verdicts tbody tr:visible")
    assert visible.count() == 1 and "mentions-express" in visible.inner_text()
    assert all(url.startswith("file:") for url in tab.requests), tab.requests
    assert not tab.errors, tab.errors


def test_compare_page_shows_the_statistics_of_rubrictest_compare(
    tab: Tab, release_server: str, release_db: Path
) -> None:
    """The Compare page of the release example: the regression the CLI finds, with the same
    p-values and interval, and the criterion that is worse but within noise."""
    from click.testing import CliRunner

    from rubrictest.cli import build_cli

    (run,) = _run_ids(release_db)
    cli = CliRunner().invoke(
        build_cli(), ["compare", "--targets", "baseline", "candidate", "--db", str(release_db), "--json"]
    )
    expected = json.loads(cli.output)
    page = tab.page
    page.goto(f"{release_server}/compare?a={run}&b={run}&ta=baseline&tb=candidate")
    page.wait_for_selector("table#paired")
    tab.charts_drawn(1)
    verdict = page.locator("#verdict").inner_text()
    for r in expected["regressions"]:
        assert r["line"] in verdict
    assert "not a regression: order-status::thanks" in verdict
    rows = {
        r.locator("td").nth(0).inner_text().split("\n")[0]: r.locator("td").all_inner_texts()
        for r in page.locator("table#paired tbody tr").all()
    }
    nxt = next(c for c in expected["criteria"] if c["criterion_id"] == "next-step")
    assert rows["order-status::next-step"][1:7] == ["20", "8", "0", "0", "12", "0"]
    assert rows["order-status::next-step"][9:12] == [f"{nxt['p_value']:.3g}", f"{nxt['p_adjusted']:.3g}", "regression"]
    assert rows["order-status::thanks"][11] == ""
    scores = page.locator("table#scores tbody tr").first.locator("td").all_inner_texts()
    ci = expected["suites"][0]["ci"]
    assert scores[4:7] == ["-0.233", f"[{ci[0]:+.3f}, {ci[1]:+.3f}]", "regression"]
    tab.shot("compare-release")
    assert not tab.errors, tab.errors


def _check_repeats(page: Any, scope: str) -> None:
    """The Run page's repeats panel, then (clicked through) the Case page's repeat outcomes."""
    headline = page.locator(f"{scope} [data-repeat-headline]").inner_text()
    assert "judged 3 times: 1 of 2 criteria flipped at least once, 1 unstable" in headline
    rows = page.locator(f"{scope} table[data-unstable-criteria] tbody tr")
    assert rows.count() == 1  # the steady criterion never flipped: not listed
    cells = rows.first.locator("td").all_inner_texts()
    assert cells[0] == "refund::coin" and cells[4] == "0.33" and cells[6] == "unstable"
    assert sorted(rows.first.locator("td").nth(5).locator(".tag").all_inner_texts()) == ["met", "met", "not met"]
    rows.first.locator("a").click()
    card = page.locator('article.verdict:visible:has(.cid:text-is("coin"))')
    card.wait_for()
    assert card.locator("[data-unstable]").inner_text() == "unstable"
    assert card.locator("[data-flip-rate]").inner_text() == "3 repeats · flip rate 0.33"
    tags = card.locator("[data-repeats] .tag")
    assert sorted(tags.all_inner_texts()) == ["met", "met", "not met"]
    dissent = card.locator("[data-repeats] .tag.flip")
    assert dissent.count() == 1 and dissent.inner_text() == "not met"
    # the check's reason is markup, shown as text in the repeat's tooltip, never as an element
    assert "<b>said</b> so" in (dissent.get_attribute("title") or "")
    assert card.locator("[data-repeats] b").count() == 0
    steady = page.locator('article.verdict:visible:has(.cid:text-is("steady"))')
    assert steady.locator("[data-flip-rate]").inner_text() == "3 repeats · flip rate 0.00"
    assert steady.locator("[data-unstable]").count() == 0


def test_repeats_flip_rate_and_unstable_mark(tab: Tab, repeat_server: str, repeat_db: Path, tmp_path: Path) -> None:
    """``--rubric-repeat 3`` on a criterion that flips once: the Run page counts and lists it as
    unstable, the Case page shows its three outcomes and flip rate; so does ``report --html``."""
    from click.testing import CliRunner

    from rubrictest.cli import build_cli

    (run,) = _run_ids(repeat_db)
    page = tab.page
    page.goto(f"{repeat_server}/runs/{run}")
    page.wait_for_selector("#repeats")
    tab.shot("run-repeats")
    _check_repeats(page, "")
    tab.shot("case-repeats")

    out = tmp_path / "report.html"
    result = CliRunner().invoke(build_cli(), ["report", run, "--db", str(repeat_db), "--html", str(out)])
    assert result.exit_code == 0, result.output
    tab.context.set_offline(True)
    page.goto(out.as_uri())
    page.wait_for_selector("section#run #repeats")
    _check_repeats(page, "section#run")
    tab.shot("report-case-repeats")
    assert not tab.errors, tab.errors
