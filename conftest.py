"""The repository's own pytest configuration.

``--live`` enables tests that call real provider APIs (they also need the provider's key in
the environment); without it they are skipped with the reason. With pytest-timeout installed
(the dev extra), every test gets a 300 s limit.
"""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--live",
        action="store_true",
        default=False,
        help="run tests marked `live` against real provider APIs (needs API keys)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.pluginmanager.hasplugin("timeout"):
        # With the dev extra's pytest-timeout: a hung test fails alone instead of holding CI
        # until its deadline. (An ini `timeout` would warn where the plugin is not installed.)
        for item in items:
            if item.get_closest_marker("timeout") is None:
                item.add_marker(pytest.mark.timeout(300))
    if config.getoption("--live"):
        return
    skip = pytest.mark.skip(reason="talks to a real provider API: run with --live and the API key set")
    for item in items:
        if "live" in item.keywords:
            item.add_marker(skip)
