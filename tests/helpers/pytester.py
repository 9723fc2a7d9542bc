"""Reading a pytester run as a user would: outcome counts, the failure text, the database."""

from __future__ import annotations

from pathlib import Path

import pytest

from rubrictest.store import Store


def outcomes(result: pytest.RunResult) -> dict[str, int]:
    """The outcome counts of a pytester run's summary line, without the warnings count."""
    found = result.parseoutcomes()
    found.pop("warnings", None)
    return found


def failure_text(result: pytest.RunResult) -> str:
    """The FAILURES and ERRORS sections of a pytester run's output (what a user reads)."""
    lines = result.stdout.lines
    start = next(
        (i for i, line in enumerate(lines) if line.startswith("=") and (" ERRORS " in line or " FAILURES " in line)),
        len(lines),
    )
    end = next(
        (
            i
            for i, line in enumerate(lines)
            if i > start and line.startswith("=") and not (" ERRORS " in line or " FAILURES " in line)
        ),
        len(lines),
    )
    return "\n".join(lines[start:end])


def assert_no_traceback(text: str) -> None:
    """A rendered rubric failure is a verdict, never Python code or a traceback."""
    for marker in ("Traceback", "def ", "raise ", ".py:", "self.", "^^^^"):
        assert marker not in text, f"{marker!r} in the failure text:\n{text}"


def db_path(pytester: pytest.Pytester) -> Path:
    """The default results database of a pytester run."""
    return pytester.path / ".rubrictest" / "rubrictest.db"


def open_store(pytester: pytest.Pytester) -> Store:
    """Open the default results database of a pytester run (it must exist)."""
    return Store.open(db_path(pytester), create=False)
