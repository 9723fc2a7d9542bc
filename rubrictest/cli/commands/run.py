"""``rubrictest run``: pytest with the rubrictest plugin."""

from __future__ import annotations

import sys

import click


@click.command(
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True, "help_option_names": ["-h", "--help"]}
)
@click.argument("pytest_args", nargs=-1, type=click.UNPROCESSED)
def command(pytest_args: tuple[str, ...]) -> None:
    """Run suites with pytest; every argument is passed to pytest.

    \b
    Examples:
        rubrictest run suites/examples -v
        rubrictest run suites/ -m safety --junitxml=report.xml
        rubrictest run suites/ --rubric-cache=refresh --rubric-max-cost 5
    """
    import pytest

    sys.exit(int(pytest.main(list(pytest_args))))
