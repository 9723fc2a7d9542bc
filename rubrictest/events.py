"""Event objects passed to the observer hooks (``on_run_start``, ``on_verdict``, ``on_run_end``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .protocol import Case, Criterion, Usage, Verdict


@dataclass(frozen=True)
class RunStart:
    """A run is about to make its first call.

    ``kind``: ``pytest`` (a suite run), ``evaluate`` (the Python API) or the command that
    made the run (``generate``, ``probe``...).
    """

    run_id: str
    suites: tuple[str, ...]
    items: int
    kind: str = "pytest"


@dataclass(frozen=True)
class VerdictEvent:
    """A verdict arrived for one criterion of one case."""

    run_id: str
    case: Case
    criterion: Criterion
    verdict: Verdict
    judge: str
    target: str | None
    cached: bool


@dataclass(frozen=True)
class RunEnd:
    """A run has finished and every verdict is stored."""

    run_id: str
    counts: dict[str, int] = field(default_factory=dict)
    usage: Usage = field(default_factory=Usage)
    kind: str = "pytest"
