"""What the commands share: one ``--db`` option, the options of commands that call models
(``--max-cost``, ``--cache``), one judge/target spec parser, one text-table renderer, and
the errors that exit with status 2 for bad input and for a check that measured nothing."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, overload

import click

from ..store.report import table as text_table

if TYPE_CHECKING:
    from ..engine.command import CommandRun
    from ..protocol import ComponentSpec
    from ..store import Store

F = TypeVar("F", bound=Callable[..., Any])
DEFAULT_DB_TEXT = ".rubrictest/rubrictest.db"


class InputError(click.ClickException):
    """Bad input (a file of the wrong shape, an unknown name): exit status 2, nothing written."""

    exit_code = 2


class NothingMeasured(click.ClickException):
    """A check that measured nothing (0 pairs compared, 0 labels matched): it has not passed.

    Exit status 2, as for input the check cannot use, so that CI never reads "nothing was
    measured" as "the judge passed"; status 1 stays "measured, and over a threshold".
    """

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(f"nothing measured: {message}")


_RUN_BACK = re.compile(r"-[0-9]+")
_MARK = "\x1frun-ref:"


class RunRefCommand(click.Command):
    """A command whose arguments may be ``-N`` run references (``report -2``, ``compare -3 -1``).

    click reads any token that starts with ``-`` as an option, so ``-2`` would be "No such
    option". Before parsing, a token that is ``-`` followed by digits only (never an option
    name: no option of these commands is a digit) is marked; after parsing, the mark is taken
    off every parameter value, so arguments and options (``--compare -2``) get ``-2`` as typed.
    A ``--`` ends the rewriting, as it ends options.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        marked: list[str] = []
        for i, arg in enumerate(args):
            if arg == "--":
                marked += args[i:]
                break
            marked.append(_MARK + arg if _RUN_BACK.fullmatch(arg) else arg)
        try:
            rest = super().parse_args(ctx, marked)
        except click.UsageError as exc:
            if _MARK not in exc.format_message():
                raise
            # The message quotes what was typed, not the mark.
            raise click.UsageError(exc.format_message().replace(_MARK, ""), ctx) from None
        for name, value in ctx.params.items():
            ctx.params[name] = _unmark(value)
        return rest


def _unmark(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_MARK):
        return value[len(_MARK) :]
    if isinstance(value, tuple | list):
        return type(value)(_unmark(v) for v in value)
    return value


def fmt(value: Any, pct: bool = False) -> str:
    """A metric for a text table: ``undefined`` for ``None``, 3 decimals (or 1 for percentages)."""
    if value is None:
        return "undefined"
    if isinstance(value, float):
        return f"{value:.1f}" if pct else f"{value:.3f}"
    return str(value)


def fmt_ci(ci: Sequence[float] | None, pct: bool = False) -> str:
    """``[low, high]`` or an empty string."""
    if not ci:
        return ""
    return f"[{fmt(ci[0], pct)}, {fmt(ci[1], pct)}]"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain left-aligned text table, as one string."""
    return "\n".join(line.rstrip() for line in text_table(list(headers), [list(r) for r in rows]))


def dump_json(data: Any) -> str:
    """Indented JSON for ``--json`` output."""
    return json.dumps(data, indent=2, ensure_ascii=False)


def db_option(fn: F) -> F:
    """The one ``--db`` option: the results database (``$RUBRICTEST_DB``, else the default)."""
    return click.option(
        "--db",
        "db_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        envvar="RUBRICTEST_DB",
        show_envvar=True,
        help=f"Results database (default: {DEFAULT_DB_TEXT}).",
    )(fn)


def db_path(value: Path | None) -> Path:
    """The database ``--db`` names, or the default."""
    from ..store import DEFAULT_DB

    return value or DEFAULT_DB


def open_store(value: Path | None) -> Store:
    """Open an existing results database for reading, as a click error if impossible."""
    from ..errors import StoreError
    from ..store import Store

    try:
        return Store.open(db_path(value), create=False)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None


def calls_options(fn: F) -> F:
    """``--db``, ``--max-cost`` and ``--cache`` for commands that call models: their calls are
    recorded in a run of their own, cached and budgeted like a suite run's."""
    fn = click.option(
        "--cache",
        type=click.Choice(["use", "refresh", "off"]),
        default="use",
        show_default=True,
        help="Model-call cache: reuse answers, call again and store, or neither.",
    )(fn)
    fn = click.option(
        "--max-cost",
        type=float,
        metavar="USD",
        default=None,
        help="Spend at most this many US dollars: each call reserves its worst-case cost "
        "before it is sent; a call the budget cannot hold is not sent (an error).",
    )(fn)
    fn = click.option("--no-store", is_flag=True, help="Record nothing and use no cache.")(fn)
    return db_option(fn)


def command_run(kind: str, *, db_path_: Path | None, no_store: bool, cache: str, max_cost: float | None) -> CommandRun:
    """The run holding a command's model calls (see :func:`calls_options`)."""
    from ..engine.command import CommandRun
    from ..errors import StoreError

    try:
        return CommandRun(
            kind,
            db=None if no_store else db_path(db_path_),
            cache=cache,  # type: ignore[arg-type]
            max_cost=max_cost,
        )
    except StoreError as exc:
        raise InputError(str(exc)) from None


@overload
def parse_spec(value: str, option: str) -> ComponentSpec: ...
@overload
def parse_spec(value: None, option: str) -> None: ...
def parse_spec(value: str | None, option: str) -> ComponentSpec | None:
    """A target or judge spec from the command line: ``plugin:model``, or JSON for a mapping
    (``None`` stays ``None``: the option was not given)."""
    from pydantic import ValidationError

    from ..protocol import ComponentSpec

    if value is None:
        return None
    try:
        data: Any = json.loads(value) if value.lstrip().startswith("{") else value
        return ComponentSpec.model_validate(data)
    except (ValueError, ValidationError) as exc:
        raise InputError(f"{option} {value!r}: not a component spec ({exc})") from None


def echo_summary(run: CommandRun, *, as_json: bool = False) -> None:
    """Say on stderr what the command's model calls cost and where they are (not with --json,
    whose output is the command's whole answer)."""
    line = run.summary()
    if line and not as_json:
        click.echo(line, err=True)
