"""Keep the README honest: every hook, command and first-party component is documented."""

from __future__ import annotations

import re
from pathlib import Path

from rubrictest import hookspecs
from rubrictest.cli import build_cli
from rubrictest.plugins import list_plugins

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def test_every_hook_is_documented() -> None:
    hooks = [
        name
        for name in dir(hookspecs)
        if callable(getattr(hookspecs, name)) and hasattr(getattr(hookspecs, name), "rubrictest_spec")
    ]
    assert hooks, "no hookspecs found"
    for name in hooks:
        assert f"`{name}(" in README, f"hook {name} is not in the README's hook table"


def test_every_command_is_documented() -> None:
    for name in build_cli().commands:
        assert re.search(rf"rubrictest {re.escape(name)}\b", README), f"command {name} is not in the README"


def test_every_first_party_component_is_documented() -> None:
    for plugin in list_plugins():
        for kind, names in plugin["registered"].items():
            for name in names:
                assert f"`{name}" in README, f"{kind[:-1]} {name!r} of plugin {plugin['name']} is not in the README"
