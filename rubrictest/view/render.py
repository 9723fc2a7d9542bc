"""Templates: the Jinja environment (autoescaping everything), its filters, and links.

The same templates render the served pages and the self-contained report; what differs is
the :class:`Links` object that turns "the case page of X" into an address: a server path
with a query string, or an ``#anchor`` inside the report file.
"""

from __future__ import annotations

import json
import os
import re
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader, StrictUndefined

from ..store.queries import STATUSES, Pair
from .pages import make_pair

_SECRET_NAMES = re.compile(r"(API_KEY|_TOKEN|_SECRET|PASSWORD)$", re.IGNORECASE)
REDACTED = "[REDACTED]"


class Links(Protocol):
    """Addresses of pages; ``None`` where the page does not exist (a report has no runs list)."""

    def runs(self, **query: Any) -> str | None: ...
    def run(self, run_id: str, **query: Any) -> str | None: ...
    def case(self, run_id: str, suite: str, case_id: str, target: str) -> str | None: ...
    def compare(self, pair: Pair, **query: Any) -> str | None: ...
    def pair_case(self, pair: Pair, suite: str, case_id: str) -> str | None: ...
    def trends(self, **query: Any) -> str | None: ...
    def trend(self, criterion_hash: str | None) -> str | None: ...
    def judge(self, judge: str) -> str | None: ...
    def static(self, name: str) -> str: ...
    def here(self, **changes: Any) -> str | None: ...


def _query(params: dict[str, Any]) -> str:
    clean = {k: v for k, v in params.items() if v is not None and v != ""}
    return ("?" + urlencode(clean)) if clean else ""


class ServerLinks:
    """Links of the web app: paths with query strings; ``here`` keeps the current filters."""

    def __init__(self, current: dict[str, str] | None = None) -> None:
        self.current = dict(current or {})

    def runs(self, **query: Any) -> str:
        return "/" + _query(query)

    def run(self, run_id: str, **query: Any) -> str:
        return f"/runs/{run_id}" + _query(query)

    def case(self, run_id: str, suite: str, case_id: str, target: str) -> str:
        return f"/runs/{run_id}/case" + _query({"suite": suite, "case": case_id, "target": target or "-"})

    def compare(self, pair: Pair, **query: Any) -> str:
        return "/compare" + _query({**pair_query(pair), **query})

    def pair_case(self, pair: Pair, suite: str, case_id: str) -> str:
        return "/compare/case" + _query({**pair_query(pair), "suite": suite, "case": case_id})

    def trends(self, **query: Any) -> str:
        return "/trends" + _query(query)

    def trend(self, criterion_hash: str | None) -> str | None:
        return f"/trends/criterion/{criterion_hash}" if criterion_hash else None

    def judge(self, judge: str) -> str:
        return "/trends/judge" + _query({"judge": judge})

    def static(self, name: str) -> str:
        return f"/static/{name}"

    def here(self, **changes: Any) -> str:
        return "?" + urlencode({k: v for k, v in {**self.current, **changes}.items() if v not in (None, "")})


def pair_query(pair: Pair) -> dict[str, str]:
    """The query parameters naming a comparison (``-`` stands for the empty target label)."""
    out = {"a": pair.run_a, "b": pair.run_b}
    if pair.target_a is not None:
        out["ta"] = pair.target_a or "-"
    if pair.target_b is not None:
        out["tb"] = pair.target_b or "-"
    return out


def secrets_from_env() -> list[str]:
    """Values of this process's credential variables (``*_API_KEY``, ``*_TOKEN``...): a page never
    shows them, even if a stored call somehow held one."""
    return [v for k, v in os.environ.items() if _SECRET_NAMES.search(k) and len(v) >= 8]


def _redact(text: str) -> str:
    for secret in secrets_from_env():
        text = text.replace(secret, REDACTED)
    return text


def pretty(value: Any, limit: int | None = None) -> str:
    """A stored request or response as indented JSON (or its text), cut at ``limit`` characters."""
    if value is None:
        return "–"
    text = value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False, default=str)
    text = _redact(text)
    if limit is not None and len(text) > limit:
        return text[:limit] + f"\n… {len(text) - limit:,} more characters (rubrictest report --html --full shows them)"
    return text


def _num(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.2f}"
    return f"{int(value):,}"


def _pct(value: Any) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _fixed(value: Any, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _money(value: Any) -> str:
    return "–" if value is None else f"${value:,.4f}"


def _seconds(value: Any) -> str:
    if value is None:
        return "–"
    if value < 1:
        return f"{value * 1000:.0f} ms"
    if value < 120:
        return f"{value:.1f} s"
    return f"{value / 60:.1f} min"


def _when(value: Any) -> str:
    if not value:
        return "–"
    try:
        return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M:%S UTC")
    except ValueError:
        return str(value)


def _tokens(usage: Any) -> str:
    total = (usage or {}).get("total") or {}
    if not total:
        return "–"
    return _num((total.get("input_tokens") or 0) + (total.get("output_tokens") or 0))


def _points(value: Any) -> str:
    return f"{value:g}"


def environment() -> Environment:
    """The Jinja environment of the viewer: package templates, autoescape on for every template,
    undefined names are errors (a template bug fails loudly instead of showing blanks)."""
    env = Environment(
        loader=PackageLoader("rubrictest.view", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        num=_num,
        pct=_pct,
        fixed=_fixed,
        money=_money,
        seconds=_seconds,
        when=_when,
        tokens=_tokens,
        points=_points,
        pretty=pretty,
    )
    env.globals.update(STATUSES=STATUSES, make_pair=make_pair)
    return env


_ENV: Environment | None = None


def render(template: str, **context: Any) -> str:
    """Render ``template`` with ``context`` (which must hold ``links``)."""
    global _ENV
    if _ENV is None:
        _ENV = environment()
    context.setdefault("limit", None)
    context.setdefault("uid", "0")
    context.setdefault("client_filters", False)
    context.setdefault("truncated", 0)
    context.setdefault("nav", "")
    return _ENV.get_template(template).render(**context)


def static_path(name: str) -> Path:
    """A file of the package's ``static`` folder."""
    return Path(__file__).resolve().parent / "static" / name
