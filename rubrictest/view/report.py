"""``rubrictest report --html FILE``: a run as one self-contained HTML file.

The file holds the Run page, a Case page for every case, and Compare pages (the run's
targets against each other, and optionally against another run), rendered by the same
templates as ``rubrictest view``. CSS, the plotting library and the page script are inlined;
a Content-Security-Policy in the file allows exactly those scripts (by hash) and no network
request at all, so the file opens from disk, offline, as a CI artifact. One page shows at a
time, chosen by the address's ``#fragment``.

Responses and judge calls are cut at ``max_chars`` with a visible marker unless ``full``,
so a run of thousands of criteria stays a few megabytes.
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

from markupsafe import Markup

from ..store.queries import ResultsDB
from ..store.query_params import Pair, VerdictFilter
from . import pages
from .highlight import truncate
from .render import pair_query, render, static_path

MAX_CHARS = 4000
CALL_CHARS = 600
MAX_PAIR_CASES = 20
_SCRIPTS = ("vendor/vega.min.js", "vendor/vega-lite.min.js", "vendor/vega-embed.min.js", "app.js")
_ALL = 10**9  # "every row": the report has no pagination


def _compact(html: str) -> str:
    """``html`` without the indentation between tags (a third of a large report), leaving every
    ``<pre>`` untouched: there, whitespace is the response's own."""
    parts = re.split(r"(<pre\b.*?</pre>)", html, flags=re.S)
    return "".join(p if i % 2 else re.sub(r">\s*\n\s*<", "><", p) for i, p in enumerate(parts))


def _inline_safe(js: str) -> str:
    # Inside <script> the HTML parser ends the element at "</script" whatever the JS means;
    # "<\/" is the same string to JavaScript.
    return js.replace("</script", "<\\/script").replace("</SCRIPT", "<\\/SCRIPT").replace("<!--", "<\\!--")


def _scripts() -> tuple[list[str], str]:
    """The inline scripts, and the CSP ``script-src`` allowing exactly them."""
    bodies = [_inline_safe(static_path(name).read_text(encoding="utf-8")) for name in _SCRIPTS]
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(b.encode("utf-8")).digest()).decode() + "'" for b in bodies
    )
    return bodies, hashes


class ReportLinks:
    """Links inside the report file: ``#anchors`` of the pages it holds, ``None`` for the rest."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.cases: dict[tuple[str, str, str, str], str] = {}
        self.compares: dict[tuple[tuple[str, str], ...], str] = {}
        self.pair_cases: dict[tuple[Any, ...], str] = {}

    def runs(self, **query: Any) -> None:
        return None

    def run(self, run_id: str, **query: Any) -> str | None:
        return "#run" if run_id == self.run_id else None

    def case(self, run_id: str, suite: str, case_id: str, target: str) -> str | None:
        return self.cases.get((run_id, suite, case_id, target or ""))

    def compare(self, pair: Pair, **query: Any) -> str | None:
        return self.compares.get(tuple(sorted(pair_query(pair).items())))

    def pair_case(self, pair: Pair, suite: str, case_id: str) -> str | None:
        return self.pair_cases.get((tuple(sorted(pair_query(pair).items())), suite, case_id))

    def trends(self, **query: Any) -> None:
        return None

    def trend(self, criterion_hash: str | None) -> None:
        return None

    def judge(self, judge: str) -> None:
        return None

    def static(self, name: str) -> str:
        return ""

    def here(self, **changes: Any) -> None:
        return None


def _pairs(db: ResultsDB, run_id: str, compare_with: str | None) -> list[Pair]:
    pairs = [pages.make_pair(run_id, run_id, a, b) for a, b in db.target_pairs(run_id)]
    if compare_with is not None:
        pairs.insert(0, pages.make_pair(compare_with, run_id, None, None))
    return pairs


def html_report(
    db: ResultsDB, run_id: str, *, full: bool = False, compare_with: str | None = None, max_chars: int = MAX_CHARS
) -> str:
    """The whole report of ``run_id`` as one HTML document."""
    limit = None if full else max_chars
    call_limit = None if full else min(max_chars, CALL_CHARS)
    links = ReportLinks(run_id)
    keys = db.case_keys(run_id)
    for n, k in enumerate(keys):
        links.cases[(run_id, k["suite"], k["case_id"], k["target"] or "")] = f"#case-{n}"
    pairs = _pairs(db, run_id, compare_with)
    compare_ctx = []
    for n, pair in enumerate(pairs):
        links.compares[tuple(sorted(pair_query(pair).items()))] = f"#compare-{n}"
        ctx = pages.compare_page(db, pair, 1, _ALL)
        flipped_cases = list(dict.fromkeys((f["suite"], f["case_id"]) for f in ctx["flipped"].items))
        ctx["pair_cases"] = flipped_cases[:MAX_PAIR_CASES]
        ctx["pair_cases_left_out"] = len(flipped_cases) - len(ctx["pair_cases"])
        for m, (suite, case_id) in enumerate(ctx["pair_cases"]):
            links.pair_cases[(tuple(sorted(pair_query(pair).items())), suite, case_id)] = f"#pair-{n}-{m}"
        compare_ctx.append(ctx)

    common = {"links": links, "limit": limit, "client_filters": True}
    sections: list[tuple[str, str]] = []
    run_ctx = pages.run_page(db, run_id, VerdictFilter(), 1, 1, _ALL)
    sections.append(("run", render("run_body.html", uid="run", **common, **run_ctx)))
    for n, k in enumerate(keys):
        ctx = pages.case_page(db, run_id, k["suite"], k["case_id"], k["target"] or "")
        ctx["segments"], truncated = truncate(ctx["segments"], limit)
        sections.append(
            (
                f"case-{n}",
                render("case_body.html", uid=f"c{n}", truncated=truncated, **{**common, "limit": call_limit}, **ctx),
            )
        )
    for n, ctx in enumerate(compare_ctx):
        sections.append((f"compare-{n}", render("compare_body.html", uid=f"p{n}", **common, **ctx)))
        for m, (suite, case_id) in enumerate(ctx["pair_cases"]):
            pc = pages.pair_case_page(db, ctx["pair"], suite, case_id)
            for side in pc["sides"]:
                if side is not None:
                    side["segments"], side["truncated"] = truncate(side["segments"], limit)
            sections.append((f"pair-{n}-{m}", render("pair_case_body.html", uid=f"p{n}-{m}", **common, **pc)))

    scripts, hashes = _scripts()
    css = static_path("app.css").read_text(encoding="utf-8")
    csp = (
        f"default-src 'none'; script-src {hashes}; style-src 'unsafe-inline'; img-src data:; "
        "base-uri 'none'; form-action 'none'"
    )
    return render(
        "report.html",
        links=links,
        run=run_ctx["run"],
        csp=csp,
        css=Markup(css),
        scripts=[Markup(s) for s in scripts],
        sections=[(a, Markup(_compact(html))) for a, html in sections],
        compares=[(f"#compare-{n}", c["pair"]) for n, c in enumerate(compare_ctx)],
        db_name=db.path.name,
    )
