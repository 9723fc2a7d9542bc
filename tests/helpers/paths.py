"""Where the tests find the repository and the small data excerpts under tests/data."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EXCERPTS = REPO / "tests" / "data"
