"""Hook specifications of rubrictest's plugin manager (pluggy project ``rubrictest``).

Registration hooks receive a ``register`` callback rather than returning lists, so the core
records which plugin registered what and rejects duplicate names with a clear error.
Observer hooks take one event object, so fields can be added without breaking plugins.

A plugin is a module with functions decorated by :data:`hookimpl`, exposed through the
``rubrictest`` entry-point group::

    [project.entry-points.rubrictest]
    myplugin = "my_package.plugin"
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    import click

    from .events import RunEnd, RunStart, VerdictEvent
    from .registry import Register

hookspec = pluggy.HookspecMarker("rubrictest")
hookimpl = pluggy.HookimplMarker("rubrictest")


@hookspec
def register_targets(register: Register) -> None:
    """Register target factories (models under test).

    Called once, when plugins are loaded.

    Args:
        register: call ``register(name, factory, description="...")`` for each target.
            ``factory(spec, context)`` returns a :class:`rubrictest.Target`; a subclass of
            ``Target`` is a valid factory. ``name`` is what suites write before the colon
            (``target: name:model``).

    Returns:
        Nothing: registration happens through ``register``.
    """


@hookspec
def register_judges(register: Register) -> None:
    """Register judge factories: model judges and deterministic checks.

    Called once, when plugins are loaded. A model judge is named by ``judge: name:model``;
    a :class:`rubrictest.Check` by ``check: name`` in a criterion.

    Args:
        register: ``register(name, factory, description="...")``; ``factory(spec, context)``
            returns a :class:`rubrictest.Judge`.
    """


@hookspec
def register_generators(register: Register) -> None:
    """Register rubric generators used by ``rubrictest generate``.

    Called once, when plugins are loaded.

    Args:
        register: ``register(name, factory, description="...")``; ``factory(context)`` is called
            with a :class:`rubrictest.GeneratorContext` (the model and judge clients, options)
            and returns a :class:`rubrictest.Generator`.
    """


@hookspec
def register_aggregators(register: Register) -> None:
    """Register case aggregation rules, named by ``aggregator:`` in a suite.

    Called once, when plugins are loaded.

    Args:
        register: ``register(name, factory, description="...")``; ``factory()`` returns a
            :class:`rubrictest.Aggregator`.
    """


@hookspec
def register_voting_rules(register: Register) -> None:
    """Register voting rules of judge panels, named by ``vote:`` in a panel.

    Called once, when plugins are loaded. A rule turns the ballots of a panel's members on
    one criterion into the panel's verdict (majority, unanimous, weighted...). It has a hook
    of its own rather than ``register_aggregators``: an aggregator scores a case from its
    criteria, a rule decides one criterion from several judges -- different inputs and
    results. Quorum, errors and meta-judge selection are the engine's; a rule only votes.

    Args:
        register: ``register(name, factory, description="...")``; ``factory()`` returns a
            :class:`rubrictest.VotingRule`.
    """


@hookspec
def register_importers(register: Register) -> None:
    """Register importers of recorded judge data (``rubrictest calibrate --from NAME``) and of
    benchmarks as suites (``rubrictest import NAME``).

    Called once, when plugins are loaded.

    Args:
        register: ``register(name, factory, description="...")``; ``factory()`` returns a
            :class:`rubrictest.Importer` that reads a directory of recorded verdicts and gold labels
            (``load``) and/or writes a benchmark as suites (``write_suites``).
    """


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add click commands to the ``rubrictest`` command-line interface.

    Called each time the CLI group is built.

    Args:
        cli: the top-level click group; use ``@cli.command()``.
    """


@hookspec
def on_run_start(event: RunStart) -> None:
    """Called once per run, after collection and before the first model call.

    Args:
        event: the run id, the suites and the number of items to judge.
    """


@hookspec
def on_verdict(event: VerdictEvent) -> None:
    """Called for every verdict, as soon as it arrives (from the engine's thread).

    Implementations must be quick and thread-safe; they must not raise.

    Args:
        event: the case, the criterion and the :class:`rubrictest.Verdict`.
    """


@hookspec
def on_run_end(event: RunEnd) -> None:
    """Called once per run, after the last verdict has been stored.

    Args:
        event: the run id, counts per status and the totals of tokens and cost.
    """
