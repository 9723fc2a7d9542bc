"""Small helpers shared by the judge-trust commands (calibrate, lock, probe, drift)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import click

from ..store.report import table as text_table


class InputError(click.ClickException):
    """Bad input (a file of the wrong shape, an unknown name): exit status 2, nothing written."""

    exit_code = 2


def fmt(value: Any, pct: bool = False) -> str:
    """A metric for a text table: ``undefined`` for ``None``, 3 decimals (or 1 for percentages)."""
    if value is None:
        return "undefined"
    if isinstance(value, float):
        return f"{value:.1f}" if pct else f"{value:.3f}"
    return str(value)


def fmt_ci(ci: Sequence[float] | None, pct: bool = False) -> str:
    """``[low, high]`` or an empty string."""
    if not ci:
        return ""
    return f"[{fmt(ci[0], pct)}, {fmt(ci[1], pct)}]"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain left-aligned text table, as one string."""
    return "\n".join(line.rstrip() for line in text_table(list(headers), [list(r) for r in rows]))


def dump_json(data: Any) -> str:
    """Indented JSON for ``--json`` output."""
    return json.dumps(data, indent=2, ensure_ascii=False)
