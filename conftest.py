"""The repository's own pytest configuration."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--live",
        action="store_true",
        default=False,
        help="also run tests marked `live`, which call real provider APIs (needs keys)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--live"):
        return
    skip = pytest.mark.skip(reason="calls a real provider API: run with --live (and set the API key)")
    for item in items:
        if "live" in item.keywords:
            item.add_marker(skip)
