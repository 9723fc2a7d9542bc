"""``rubrictest plugins``: what every loaded plugin registered."""

from __future__ import annotations

import json

import click

from ...plugins import list_plugins


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--json", "as_json", is_flag=True, help="Output JSON.")
def command(as_json: bool) -> None:
    """List plugins, their versions, hooks and registered components.

    \b
    Examples:
        rubrictest plugins
        RUBRICTEST_LOAD_PLUGINS=my_plugin rubrictest plugins --json
    """
    plugins = list_plugins()
    if as_json:
        click.echo(json.dumps(plugins, indent=2))
        return
    for p in plugins:
        click.echo(f"{p['name']} {p['version']}".rstrip())
        click.echo(f"  hooks: {', '.join(p['hooks']) or '-'}")
        for kind, names in p["registered"].items():
            click.echo(f"  {kind}: {', '.join(names)}")
