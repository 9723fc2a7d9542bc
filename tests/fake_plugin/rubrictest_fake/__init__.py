"""A fake third-party rubrictest plugin: a ``shout`` target, a ``length_at_most`` check and
a ``fake-hello`` command. It imports only rubrictest's public API, as a real plugin must."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import click

from rubrictest import Case, Check, JudgeRequest, Register, Target, TargetResult, hookimpl


class ShoutTarget(Target):
    """Answers every case with its input in upper case."""

    cacheable = False

    async def generate(self, case: Case) -> TargetResult:
        return TargetResult((case.input or "").upper() + "!")


class LengthAtMost(Check):
    """The response has at most ``max`` characters."""

    def validate_criterion(self, criterion: Any) -> None:
        if not isinstance(criterion.params.get("max"), int):
            raise ValueError("missing parameter `max` (an integer)")

    def check(self, response: str, params: Mapping[str, Any], request: JudgeRequest) -> tuple[bool, str]:
        limit = int(params["max"])
        return len(response) <= limit, f"{len(response)} characters (limit {limit})"


@hookimpl
def register_targets(register: Register) -> None:
    register("shout", ShoutTarget)


@hookimpl
def register_judges(register: Register) -> None:
    register("length_at_most", LengthAtMost)


@hookimpl
def register_commands(cli: click.Group) -> None:
    @cli.command(name="fake-hello")
    def fake_hello() -> None:
        """Print a greeting from the fake plugin."""
        click.echo("hello from rubrictest-fake")
