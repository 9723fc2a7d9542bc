"""Graded scales: a criterion judged on levels (1-5, 1-10, HelloBench's quarters) instead of
met / not met.

A scale has ordered levels, optionally a description per level (what a judge reads), and the
level at which the criterion passes (``pass_at``). A judge answers a level; the verdict's
``outcome`` is *met* from ``pass_at`` up, and its ``score`` is the level normalised into
[0, 1] -- ``(level - lowest) / (highest - lowest)`` -- which is what the criterion contributes
to its case score (and to the inner nodes above it in a rubric tree) instead of 0 or 1.

In a suite::

    criteria:
      - id: helpful
        text: Is the response helpful?
        scale:
          range: [1, 5]          # integer levels 1..5; or `levels` alone for discrete values
          levels:                # a description per level (every level, or none with a range)
            1: Not helpful at all.
            ...
            5: Fully answers the question.
          pass_at: 4
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .records import Verdict


def show_level(level: float) -> str:
    """A level as written in suites: ``4``, ``0.25``."""
    return f"{level:g}"


@dataclass(frozen=True)
class Scale:
    """The levels a criterion is graded on.

    Attributes:
        levels: the levels, ascending (at least two).
        pass_at: the lowest level at which the criterion passes (one of ``levels``).
        descriptions: what each level means (empty when the scale is a bare range).
    """

    levels: tuple[float, ...]
    pass_at: float
    descriptions: Mapping[float, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.levels) < 2 or list(self.levels) != sorted(set(self.levels)):
            raise ValueError(f"a scale needs at least two distinct levels, ascending (got {list(self.levels)})")
        if self.pass_at not in self.levels:
            raise ValueError(f"pass_at {show_level(self.pass_at)} is not a level of the scale")

    @property
    def low(self) -> float:
        """The lowest level."""
        return self.levels[0]

    @property
    def high(self) -> float:
        """The highest level."""
        return self.levels[-1]

    def normalise(self, level: float) -> float:
        """``level`` in [0, 1]: 0 at the lowest level, 1 at the highest."""
        return (level - self.low) / (self.high - self.low)

    def level_of(self, score: float) -> float:
        """The level whose normalised score is nearest ``score`` (a stored verdict's level)."""
        return min(self.levels, key=lambda lv: abs(self.normalise(lv) - score))

    def passes(self, level: float) -> bool:
        """Whether ``level`` reaches :attr:`pass_at`."""
        return level >= self.pass_at

    def parse(self, value: Any) -> float | None:
        """``value`` as one of the levels (``4``, ``"4"``, ``4.0``), or ``None`` when it is none."""
        if isinstance(value, bool):
            return None
        try:
            number = float(value)
        except (TypeError, ValueError):
            return None
        return next((lv for lv in self.levels if abs(lv - number) < 1e-9), None)

    def verdict(self, criterion_id: str, value: Any, **fields: Any) -> Verdict:
        """The verdict for a judge's answer ``value``: met from :attr:`pass_at` up, with the
        level and its normalised score; an ERROR verdict when ``value`` is not a level."""
        level = self.parse(value)
        if level is None:
            return Verdict.failed(
                criterion_id, f"level {value!r} is not on the scale ({', '.join(map(show_level, self.levels))})"
            )
        return Verdict(
            criterion_id=criterion_id,
            outcome="met" if self.passes(level) else "not_met",
            score=self.normalise(level),
            level=level,
            **fields,
        )

    def describe(self) -> str:
        """The scale as a judge prompt shows it: one line per level, with its description."""
        lines = [
            f"{show_level(lv)}: {self.descriptions[lv]}" if lv in self.descriptions else show_level(lv)
            for lv in self.levels
        ]
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        """A canonical form for content hashes and stored rows."""
        return {
            "levels": list(self.levels),
            "pass_at": self.pass_at,
            "descriptions": {show_level(k): v for k, v in sorted(self.descriptions.items())},
        }
