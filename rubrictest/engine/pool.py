"""The component pool: each target, judge and aggregator built once per session.

Suites name components by spec (``openai:gpt-4.1``...). The pool builds one instance per
distinct spec (per directory for plugins whose factory is ``per_directory``, such as
``python:`` and ``jsonl:`` targets), runs its ``check_ready`` once before any call (a missing
API key is one clear error, not one per item), and owns its concurrency limit. Validation at
collection uses the same instances, so a suite is checked by the components that will run it.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Literal

from ..errors import ConfigError, OptionsError, SuiteError
from ..plugins import build_component, registry
from ..protocol import Aggregator, Check, Component, ComponentContext, ComponentSpec, Criterion, Judge
from ..protocol.voting import VotingRule
from ..secrets import redact_text
from ..suite import CaseRun, Suite
from ..suite.parsing import dotted, line_for


class ComponentPool:
    """The components of one session (a pytest run, a command, a Python process).

    Args:
        rootdir: the project root given to components.
    """

    def __init__(self, rootdir: Path | None = None) -> None:
        self.rootdir = rootdir or Path.cwd()
        self.config_errors: dict[str, str] = {}
        # --rubric-max-cost: a billable component without a price is refused at collection
        self.max_cost: float | None = None
        self._components: dict[tuple[str, str, str], Component] = {}
        self._by_spec: dict[tuple[str, str, Path], Component] = {}
        self._ready: dict[int, str | None] = {}
        self._semaphores: dict[tuple[int, int], asyncio.Semaphore] = {}
        self._aggregators: dict[str, Aggregator] = {}
        self._rules: dict[str, VotingRule] = {}
        self._lock = threading.Lock()

    def component(self, kind: Literal["targets", "judges"], spec: ComponentSpec, base_dir: Path) -> Component:
        """The single instance of the component ``spec`` names (built on first use).

        Raises:
            ConfigError: no plugin registers that name (the message lists the available ones),
                or the factory refused the spec.
        """
        fast = self._by_spec.get((kind, spec.key(), base_dir))
        if fast is not None:
            return fast
        entry = registry().get(kind, spec.plugin)
        per_dir = bool(getattr(entry.factory, "per_directory", False))
        key = (kind, spec.key(), str(base_dir) if per_dir else "")
        with self._lock:
            comp = self._components.get(key)
            if comp is None:
                comp = build_component(kind, spec, ComponentContext(base_dir=base_dir, rootdir=self.rootdir))
                self._components[key] = comp
            self._by_spec[(kind, spec.key(), base_dir)] = comp
        return comp

    def judge_for(self, criterion: Criterion, base_dir: Path) -> Judge:
        """The judge that answers ``criterion`` (a panel's first member, for a panel)."""
        assert criterion.judge is not None
        return self._judge(criterion.judge, base_dir)

    def _judge(self, spec: ComponentSpec, base_dir: Path) -> Judge:
        judge = self.component("judges", spec, base_dir)
        assert isinstance(judge, Judge)
        return judge

    def aggregator(self, name: str) -> Aggregator:
        """The aggregator registered as ``name``."""
        if name not in self._aggregators:
            self._aggregators[name] = registry().get("aggregators", name).factory()
        return self._aggregators[name]

    def voting_rule(self, name: str) -> VotingRule:
        """The voting rule registered as ``name`` (``vote:`` of a judge panel).

        Raises:
            ConfigError: no plugin registers it (the message lists the available ones).
        """
        if name not in self._rules:
            rule = registry().get("voting_rules", name).factory()
            if not isinstance(rule, VotingRule):
                raise ConfigError(f"voting rule {name!r} did not build a VotingRule (got {type(rule).__name__})")
            self._rules[name] = rule
        return self._rules[name]

    def ensure_ready(self, comp: Component) -> str | None:
        """Run ``check_ready`` once per component; return the error message, if any."""
        ident = id(comp)
        if ident not in self._ready:
            try:
                comp.check_ready()
                self._ready[ident] = None
            except Exception as exc:  # a broken component errors its items, not the session
                message = redact_text(str(exc) if isinstance(exc, ConfigError) else f"{type(exc).__name__}: {exc}")
                self._ready[ident] = f"{comp.label}: {message}"
                self.config_errors[comp.label] = message
        return self._ready[ident]

    def semaphore(self, comp: Component) -> asyncio.Semaphore:
        """The concurrency limit of ``comp`` in the running event loop (a command may run
        several loops one after another; a semaphore belongs to one)."""
        key = (id(comp), id(asyncio.get_running_loop()))
        sem = self._semaphores.get(key)
        if sem is None:
            sem = self._semaphores[key] = asyncio.Semaphore(comp.concurrency)
        return sem

    def validate(self, suite: Suite) -> None:
        """Check at collection that every plugin a suite names exists and every criterion is
        acceptable to its judge.

        Raises:
            SuiteError: pointing at the target, criterion or ``with:`` at fault.
        """
        base_dir = suite.path.parent
        try:
            self.aggregator(suite.aggregator)
        except ConfigError as exc:
            raise SuiteError(
                str(exc), path=str(suite.path), line=suite.lines.get(("aggregator",)), key="aggregator"
            ) from None
        seen_targets: set[str] = set()
        for run in suite.runs:
            if run.target is not None and run.target.key() not in seen_targets:
                seen_targets.add(run.target.key())
                try:
                    self._priced(self.component("targets", run.target, base_dir))
                except OptionsError as exc:
                    raise suite.options_error("targets", run.target, exc) from None
                except ConfigError as exc:
                    line, key = suite.target_location(run)
                    raise SuiteError(str(exc), path=str(run.case.path), line=line, key=key) from None
            for crit in run.case.criteria:
                self._validate_criterion(suite, crit, base_dir)
            if run.sentinel is not None:
                self._validate_sentinel(suite, run, base_dir)

    def _validate_sentinel(self, suite: Suite, run: CaseRun, base_dir: Path) -> None:
        assert run.sentinel is not None
        spec = run.sentinel.judge
        try:
            if isinstance(self._judge(spec, base_dir), Check):
                raise ConfigError(
                    "a deterministic check cannot judge a response as a whole; name a model judge (or recorded:)"
                )
        except OptionsError as exc:
            raise suite.options_error("judges", spec, exc) from None
        except ConfigError as exc:
            shown, at, lines = suite.spec_at.get(("judges", spec.key()), (str(suite.path), ("sentinel",), suite.lines))
            raise SuiteError(
                f"sentinel {spec.label}: {exc}", path=shown, line=line_for(lines, at), key=dotted(at)
            ) from None

    def _validate_criterion(self, suite: Suite, crit: Criterion, base_dir: Path) -> None:
        where = crit.source or str(suite.path)
        key = "check" if crit.check else "judge"
        at = f"{crit.key}.{key}" if crit.key else key
        # a panel's members judge the criterion; its meta judge only needs to exist
        members = crit.panel.panel if crit.panel is not None else (crit.judge,)
        judges: list[Judge] = []
        building: ComponentSpec | None = None
        try:
            if crit.panel is not None:
                self.voting_rule(crit.panel.vote)
                if crit.panel.meta is not None:
                    building = crit.panel.meta
                    self._priced(self.component("judges", building, base_dir))
            for building in members:
                if building is not None:
                    judges.append(self._judge(building, base_dir))
                    self._priced(judges[-1])
        except OptionsError as exc:
            assert building is not None
            raise suite.options_error("judges", building, exc) from None
        except ConfigError as exc:
            panel = f" (judge panel {crit.panel.label})" if crit.panel is not None else ""
            raise SuiteError(f"criterion {crit.id!r}{panel}: {exc}", path=where, line=crit.line, key=at) from None
        for judge in judges:
            try:
                judge.validate_criterion(crit)
            except (ConfigError, ValueError) as exc:
                raise SuiteError(
                    f"criterion {crit.id!r}: {exc}",
                    path=where,
                    line=crit.line,
                    key=f"{crit.key}.with" if crit.key else "with",
                ) from None

    def _priced(self, comp: Component) -> None:
        """Under a budget, a billable component must have a price (its worst case is reserved
        before each call).

        Raises:
            ConfigError: it has none.
        """
        if self.max_cost is not None and comp.billable and comp.max_request_cost(0) is None:
            from .calls import no_price_message

            raise ConfigError(no_price_message(comp))

    async def aclose(self) -> None:
        """Release every component built (clients, models, servers)."""
        await asyncio.gather(*(c.aclose() for c in self._components.values()), return_exceptions=True)
        self._components.clear()
        self._by_spec.clear()
