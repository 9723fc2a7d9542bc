"""Parameters of the viewer's queries: filters, pages, and the two sides of a comparison."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Page:
    """One page of a longer list."""

    items: list[dict[str, Any]]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


@dataclass
class VerdictFilter:
    """Filters of a run's verdicts; empty fields do not filter."""

    status: str = ""
    tag: str = ""
    suite: str = ""
    target: str | None = None  # "" is a real target label (fixed outputs): None means any
    judge: str = ""
    text: str = ""

    def where(self) -> tuple[str, list[Any]]:
        """SQL conditions (joined by AND, each starting with `` AND``) and their parameters."""
        sql, params = "", []
        for column in ("status", "suite", "judge"):
            value = getattr(self, column)
            if value:
                sql += f" AND v.{column} = ?"
                params.append(value)
        if self.target is not None:
            sql += " AND v.target = ?"
            params.append(self.target)
        if self.tag:
            sql += " AND EXISTS (SELECT 1 FROM json_each(v.tags) WHERE json_each.value = ?)"
            params.append(self.tag)
        if self.text:
            like = like_pattern(self.text)
            sql += (
                " AND ("
                + " OR ".join(
                    f"v.{c} LIKE ? ESCAPE '\\'"
                    for c in ("case_id", "criterion_id", "criterion_text", "rationale", "evidence", "error")
                )
                + ")"
            )
            params.extend([like] * 6)
        return sql, params

    def active(self) -> bool:
        return bool(self.status or self.tag or self.suite or self.target is not None or self.judge or self.text)


@dataclass
class RunFilter:
    """Filters of the runs list."""

    suite: str = ""
    target: str | None = None
    status: str = ""
    kind: str = ""  # what made the run: pytest, evaluate, or a command (runs.kind)


@dataclass
class Pair:
    """What a comparison puts side by side: two runs, or two targets of one run."""

    run_a: str
    run_b: str
    target_a: str | None = None
    target_b: str | None = None
    label_a: str = ""
    label_b: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def like_pattern(text: str, kind: str = "contains") -> str:
    """A ``LIKE ... ESCAPE '\\'`` pattern matching ``text`` literally (``%`` and ``_`` included)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%" if kind == "prefix" else "%" + escaped + "%"
