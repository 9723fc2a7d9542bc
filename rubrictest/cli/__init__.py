"""The ``rubrictest`` command line.

The group is built by :func:`build_cli`, so tests get a fresh one without module reloads.
Built-in commands live one per module in :mod:`rubrictest.cli.commands` (each module defines a
click command named ``command``); plugins add theirs through the ``register_commands`` hook.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import click

from .. import __version__
from ..errors import RubricTestError
from ..plugins import load_plugins, pm
from . import commands


def build_cli() -> click.Group:
    """Build the ``rubrictest`` click group with every built-in and plugin command."""

    @click.group(context_settings={"help_option_names": ["-h", "--help"]})
    @click.version_option(__version__, prog_name="rubrictest")
    def cli() -> None:
        """rubrictest: rubric-based LLM evaluation as an ordinary pytest run.

        \b
        Example:
            rubrictest run suites/examples -v
            rubrictest report --format markdown
        """

    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        command = getattr(module, "command", None)
        if isinstance(command, click.Command):
            # A command keeps an explicit name; else it is named after its module.
            name = command.name if command.name not in (None, "command") else info.name.replace("_", "-")
            cli.add_command(command, name=name)
    load_plugins()
    pm.hook.register_commands(cli=cli)
    return cli


def main() -> None:
    """Console-script entry point: run the CLI, turning rubrictest errors into one line."""
    try:
        build_cli()(standalone_mode=True)
    except RubricTestError as exc:  # pragma: no cover - click usually handles it below
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)
