"""``rubrictest schema``: the JSON Schema of suite files."""

from __future__ import annotations

import json

import click

from ...suite import json_schema


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
def command() -> None:
    """Print the JSON Schema of suite files (generated from the pydantic models).

    \b
    Example (editor validation with the YAML language server):
        rubrictest schema > rubrictest.schema.json
        # then in a suite: # yaml-language-server: $schema=rubrictest.schema.json
    """
    click.echo(json.dumps(json_schema(), indent=2))



