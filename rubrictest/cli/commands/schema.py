"""``rubrictest schema``: the JSON Schema of suite files."""

from __future__ import annotations

import json

import click

from ...suite import json_schema


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
def command() -> None:
    """Print the JSON Schema of suite files (generated from the pydantic models), with the
    ``options`` every installed target and judge plugin declares.

    \b
    Example (editor validation with the YAML language server):
        rubrictest schema > rubrictest.schema.json
        # then in a suite: # yaml-language-server: $schema=rubrictest.schema.json
    """
    from ...plugins import options_model, registry

    reg = registry()
    options = {
        kind: {
            name: model for name in reg.names(kind) if (model := options_model(reg.get(kind, name).factory)) is not None
        }
        for kind in ("targets", "judges")
    }
    click.echo(json.dumps(json_schema(options), indent=2))
