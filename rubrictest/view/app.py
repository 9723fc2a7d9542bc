"""The ``rubrictest view`` web app: a read-only Starlette application over a results database.

Every route is a ``GET``; the database is opened read-only; every page is rendered through
autoescaping templates and served with a Content-Security-Policy that allows scripts from
the app itself only (no inline script, no ``eval``: the plots run Vega's expression
interpreter), so text from a model can never run as code in the browser.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from ..errors import StoreError
from ..store.queries import ResultsDB, RunFilter, VerdictFilter
from . import pages
from .render import ServerLinks, render

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'none'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def _page_number(request: Request, name: str = "page") -> int:
    try:
        return max(1, int(request.query_params.get(name, "1")))
    except ValueError:
        return 1


def _target(value: str | None) -> str | None:
    """A target from a query: ``*``/absent is any, ``-`` the empty label (fixed outputs)."""
    if value in (None, "*"):
        return None
    return "" if value == "-" else value


def _verdict_filter(request: Request) -> VerdictFilter:
    q = request.query_params
    return VerdictFilter(
        status=q.get("status", ""),
        tag=q.get("tag", ""),
        suite=q.get("suite", ""),
        target=_target(q.get("target")),
        judge=q.get("judge", ""),
        text=q.get("q", "").strip(),
    )


class Viewer:
    """The routes, bound to one database."""

    def __init__(self, db: ResultsDB) -> None:
        self.db = db

    def _html(self, request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        links = ServerLinks(dict(request.query_params))
        body = render(template, links=links, db_name=self.db.path.name, **context)
        return HTMLResponse(body, status_code=status_code)

    def _guard(self, fn: Callable[[Request], Response]) -> Callable[[Request], Any]:
        """Turn a missing subject into a 404 page and an unreadable database into a 503 page."""

        def endpoint(request: Request) -> Response:
            try:
                return fn(request)
            except pages.NotFound as exc:
                return self._html(request, "error.html", 404, title="Not found", message=str(exc))
            except StoreError as exc:
                return self._html(request, "error.html", 404, title="Not found", message=str(exc))
            except Exception as exc:  # sqlite errors: a locked or damaged file
                if type(exc).__module__ == "sqlite3":
                    return self._html(
                        request, "error.html", 503, title="Database unavailable", message=f"{self.db.path}: {exc}"
                    )
                raise

        return endpoint

    def runs(self, request: Request) -> Response:
        q = request.query_params
        flt = RunFilter(
            suite=q.get("suite", ""),
            target=_target(q.get("target")),
            status=q.get("status", ""),
            kind=q.get("kind", ""),
        )
        return self._html(request, "runs.html", nav="runs", **pages.runs_page(self.db, flt, _page_number(request)))

    def run(self, request: Request) -> Response:
        run_id = self.db.resolve_run(request.path_params["run_id"])
        ctx = pages.run_page(
            self.db, run_id, _verdict_filter(request), _page_number(request), _page_number(request, "cpage")
        )
        return self._html(request, "run.html", nav="runs", **ctx)

    def case(self, request: Request) -> Response:
        q = request.query_params
        run_id = self.db.resolve_run(request.path_params["run_id"])
        target = _target(q.get("target", "-"))
        ctx = pages.case_page(self.db, run_id, q.get("suite", ""), q.get("case", ""), target or "")
        return self._html(request, "case.html", nav="runs", **ctx)

    def _pair(self, request: Request) -> Any:
        q = request.query_params
        run_b = self.db.resolve_run(q.get("b") or "-1")
        run_a = self.db.resolve_run(q.get("a") or ("-2" if "ta" not in q else run_b))
        return pages.make_pair(run_a, run_b, _target(q.get("ta")), _target(q.get("tb")))

    def compare(self, request: Request) -> Response:
        pair = self._pair(request)
        return self._html(
            request, "compare.html", nav="runs", **pages.compare_page(self.db, pair, _page_number(request))
        )

    def pair_case(self, request: Request) -> Response:
        q = request.query_params
        ctx = pages.pair_case_page(self.db, self._pair(request), q.get("suite", ""), q.get("case", ""))
        return self._html(request, "pair_case.html", nav="runs", **ctx)

    def trends(self, request: Request) -> Response:
        ctx = pages.trends_page(self.db, request.query_params.get("q", "").strip(), _page_number(request))
        return self._html(request, "trends.html", nav="trends", **ctx)

    def trend(self, request: Request) -> Response:
        ctx = pages.trend_page(self.db, request.path_params["criterion_hash"])
        return self._html(request, "trend.html", nav="trends", **ctx)

    def judge(self, request: Request) -> Response:
        ctx = pages.judge_page(self.db, request.query_params.get("judge", ""))
        return self._html(request, "judge.html", nav="trends", **ctx)

    def not_found(self, request: Request) -> Response:
        return self._html(request, "error.html", 404, title="Not found", message=f"No page at {request.url.path}")


class _SecurityHeaders:
    """Adds the security headers to every response, static files included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                for name, value in _HEADERS.items():
                    if name.lower().encode() not in names:
                        headers.append((name.lower().encode(), value.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)  # type: ignore[arg-type]


def create_app(db: ResultsDB) -> ASGIApp:
    """The viewer for ``db``: GET routes only, static files from the package."""
    v = Viewer(db)
    routes = [
        Route("/", v._guard(v.runs), methods=["GET"]),
        Route("/runs/{run_id}", v._guard(v.run), methods=["GET"]),
        Route("/runs/{run_id}/case", v._guard(v.case), methods=["GET"]),
        Route("/compare", v._guard(v.compare), methods=["GET"]),
        Route("/compare/case", v._guard(v.pair_case), methods=["GET"]),
        Route("/trends", v._guard(v.trends), methods=["GET"]),
        Route("/trends/criterion/{criterion_hash}", v._guard(v.trend), methods=["GET"]),
        Route("/trends/judge", v._guard(v.judge), methods=["GET"]),
        Mount("/static", StaticFiles(packages=[("rubrictest.view", "static")]), name="static"),
    ]

    async def not_found(request: Request, exc: Exception) -> Response:
        return v.not_found(request)

    app = Starlette(routes=routes, exception_handlers={404: not_found})
    return _SecurityHeaders(app)
