"""The plugin system (DESIGN.md "Plugins"): one ``test_hook_<name>`` per hookspec, loading,
``check_pending``, duplicate and unknown component names."""

from __future__ import annotations

import types
from collections.abc import Callable, Iterator, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import click
import pluggy
import pytest
from click.testing import CliRunner

from rubrictest import (
    Aggregator,
    Case,
    CaseScore,
    ConfigError,
    Criterion,
    RunEnd,
    RunStart,
    Verdict,
    VerdictEvent,
    hookimpl,
    hookspecs,
    plugins,
)
from rubrictest.cli import build_cli
from rubrictest.plugins import list_plugins, pm, registry

from ..helpers.fakes import FakeJudgeState
from ..helpers.pytester import outcomes

RegisterPlugin = Callable[[Any, str], Any]


def _hookspec_names() -> list[str]:
    return sorted(name for name, fn in vars(hookspecs).items() if callable(fn) and hasattr(fn, "rubrictest_spec"))


def test_every_hookspec_has_a_test_and_a_docstring() -> None:
    names = _hookspec_names()
    assert {
        "register_targets",
        "register_judges",
        "register_generators",
        "register_aggregators",
        "register_commands",
        "on_run_start",
        "on_verdict",
        "on_run_end",
    } <= set(names)
    missing = [n for n in names if f"test_hook_{n}" not in globals()]
    assert not missing, f"hookspecs without a test_hook_<name> test: {missing}"
    for name in names:
        doc = getattr(hookspecs, name).__doc__ or ""
        assert "Called" in doc, f"{name}'s docstring does not say when it is called"


class _AllOrNothing(Aggregator):
    """Passes a case only when every criterion passes; the score is 1 or 0."""

    def aggregate(self, case: Case, results: Sequence[tuple[Criterion, Verdict]], threshold: float | None) -> CaseScore:
        failed = [c.id for c, v in results if not c.passes(v.outcome)]
        return CaseScore(0.0 if failed else 1.0, not failed, f"failed: {', '.join(failed)}" if failed else "")


class _Registers:
    """A plugin that registers one component of each registration kind."""

    class Gen:
        """A rubric generator that generates nothing."""

    class Imp:
        """An importer of nothing."""

    @hookimpl
    def register_generators(self, register: Any) -> None:
        register("null-gen", self.Gen)

    @hookimpl
    def register_importers(self, register: Any) -> None:
        register("null-import", self.Imp)

    @hookimpl
    def register_aggregators(self, register: Any) -> None:
        register("all-or-nothing", _AllOrNothing)


@pytest.fixture
def registers(register_plugin: RegisterPlugin) -> _Registers:
    plugin = _Registers()
    register_plugin(plugin, "test-registers")
    return plugin


def test_hook_register_targets(
    pytester: pytest.Pytester, write_suite: Callable[..., Path], register_plugin: RegisterPlugin
) -> None:
    from rubrictest import Target, TargetResult

    class Echo(Target):
        """Echoes the input."""

        async def generate(self, case: Case) -> TargetResult:
            return TargetResult(f"echo: {case.input}")

    class Plugin:
        @hookimpl
        def register_targets(self, register: Any) -> None:
            register("echo", Echo)

    register_plugin(Plugin(), "test-echo")
    entry = registry().get("targets", "echo")
    assert (entry.plugin, entry.description) == ("test-echo", "Echoes the input.")
    write_suite("""
        target: echo
        cases:
          - {id: c1, input: hi, criteria: [{check: equals, with: {value: "echo: hi"}}]}
    """)
    pytester.runpytest().assert_outcomes(passed=1)


def test_hook_register_judges(
    pytester: pytest.Pytester, write_suite: Callable[..., Path], fake_judge: FakeJudgeState
) -> None:
    assert registry().get("judges", "fake").plugin == "test-fake-judge"
    write_suite("""
        judge: fake:m
        cases:
          - {id: c1, output: hi, criteria: ["yes: says hi", "names the user"]}
    """)
    pytester.runpytest().assert_outcomes(passed=1, failed=1)
    assert len(fake_judge.calls) == 1


def test_hook_register_generators(registers: _Registers) -> None:
    assert registry().get("generators", "null-gen").factory is _Registers.Gen
    (mine,) = [p for p in list_plugins() if p["name"] == "test-registers"]
    assert mine["registered"]["generators"] == ["null-gen"]


def test_hook_register_importers(registers: _Registers) -> None:
    assert registry().get("importers", "null-import").description == "An importer of nothing."


def test_hook_register_aggregators(
    pytester: pytest.Pytester, write_suite: Callable[..., Path], registers: _Registers
) -> None:
    write_suite("""
        aggregator: all-or-nothing
        threshold: 0.1
        cases:
          - {id: c1, output: a, criteria: [{id: x, check: equals, with: {value: a}},
                                           {id: y, check: equals, with: {value: b}}]}
    """)
    result = pytester.runpytest("-v")
    result.stdout.fnmatch_lines(["*::c1::score FAILED*", "*failed: y*"])


def test_hook_register_voting_rules(
    pytester: pytest.Pytester, write_suite: Callable[..., Path], register_plugin: RegisterPlugin
) -> None:
    from rubrictest import Ballot, VotingRule, settle

    class LastWord(VotingRule):
        """The last member to answer decides."""

        name = "last-word"

        def decide(self, criterion: Criterion, ballots: Sequence[Ballot]) -> Verdict:
            return settle(criterion, ballots, [1.0] * len(ballots), ballots[-1].verdict.outcome, self.name)

    class Plugin:
        @hookimpl
        def register_voting_rules(self, register: Any) -> None:
            register("last-word", LastWord)

    register_plugin(Plugin(), "test-voting")
    assert registry().get("voting_rules", "last-word").plugin == "test-voting"
    for name, met in (("a", False), ("b", False), ("c", True)):
        (pytester.path / f"{name}.jsonl").write_text(f'{{"case": "c1", "criterion": "x", "met": {str(met).lower()}}}\n')
    write_suite("""
        judge: {panel: [recorded:a.jsonl, recorded:b.jsonl, recorded:c.jsonl], vote: last-word}
        cases:
          - {id: c1, output: a, criteria: [{id: x, text: Is fine.}]}
    """)
    result = pytester.runpytest("-v")
    result.stdout.fnmatch_lines(["*::c1::x PASSED*"])


def test_hook_register_commands(register_plugin: RegisterPlugin) -> None:
    class Plugin:
        @hookimpl
        def register_commands(self, cli: click.Group) -> None:
            @cli.command(name="hello-test")
            @click.argument("who")
            def hello(who: str) -> None:
                """Say hello."""
                click.echo(f"hello {who}")

    register_plugin(Plugin(), "test-commands")
    result = CliRunner().invoke(build_cli(), ["hello-test", "world"])
    assert result.exit_code == 0, result.output
    assert result.output == "hello world\n"
    assert "hello-test" in CliRunner().invoke(build_cli(), ["--help"]).output


class _Observer:
    def __init__(self) -> None:
        self.starts: list[RunStart] = []
        self.verdicts: list[VerdictEvent] = []
        self.ends: list[RunEnd] = []

    @hookimpl
    def on_run_start(self, event: RunStart) -> None:
        self.starts.append(event)

    @hookimpl
    def on_verdict(self, event: VerdictEvent) -> None:
        self.verdicts.append(event)

    @hookimpl
    def on_run_end(self, event: RunEnd) -> None:
        self.ends.append(event)


@pytest.fixture
def observed_run(
    pytester: pytest.Pytester, write_suite: Callable[..., Path], register_plugin: RegisterPlugin
) -> _Observer:
    observer = _Observer()
    register_plugin(observer, "test-observer")
    write_suite("""
        suite: observed
        cases:
          - {id: c1, output: a, criteria: [{id: x, check: equals, with: {value: a}},
                                           {id: y, check: equals, with: {value: b}}]}
          - {id: c2, output: a, criteria: [{id: x, check: equals, with: {value: a}}]}
    """)
    pytester.runpytest().assert_outcomes(passed=2, failed=1)
    return observer


def test_hook_on_run_start(observed_run: _Observer) -> None:
    (event,) = observed_run.starts
    assert event.items == 3 and event.run_id
    assert len(event.suites) == 1 and event.suites[0].endswith("test_s.rubric.yaml")


def test_hook_on_verdict(observed_run: _Observer) -> None:
    got = sorted((e.case.id, e.criterion.id, e.verdict.outcome, e.judge) for e in observed_run.verdicts)
    assert got == [
        ("c1", "x", "met", "equals"),
        ("c1", "y", "not_met", "equals"),
        ("c2", "x", "met", "equals"),
    ]
    assert {e.run_id for e in observed_run.verdicts} == {observed_run.starts[0].run_id}


def test_hook_on_run_end(observed_run: _Observer) -> None:
    (event,) = observed_run.ends
    assert event.run_id == observed_run.starts[0].run_id
    assert event.counts == {"PASS": 2, "FAIL": 1}


def test_an_observer_that_raises_does_not_break_the_run(
    pytester: pytest.Pytester, write_suite: Callable[..., Path], register_plugin: RegisterPlugin
) -> None:
    class Broken:
        @hookimpl
        def on_verdict(self, event: VerdictEvent) -> None:
            raise RuntimeError("observer bug")

    register_plugin(Broken(), "test-broken-observer")
    write_suite("cases:\n  - {id: c1, output: a, criteria: [{check: equals, with: {value: a}}]}\n")
    pytester.runpytest().assert_outcomes(passed=1)


def test_duplicate_component_names_are_an_error_naming_both_plugins(
    pytester: pytest.Pytester, write_suite: Callable[..., Path], register_plugin: RegisterPlugin
) -> None:
    from rubrictest_checks import Contains

    class Dup:
        @hookimpl
        def register_judges(self, register: Any) -> None:
            register("contains", Contains)

    register_plugin(Dup(), "test-dup")
    with pytest.raises(
        ConfigError,
        match="judge 'contains' is registered twice: by plugin '(checks|test-dup)' and by plugin '(checks|test-dup)'",
    ) as info:
        registry()
    assert "'checks'" in str(info.value) and "'test-dup'" in str(info.value)
    write_suite("cases:\n  - {id: c1, output: a, criteria: [{check: contains, with: {value: a}}]}\n")
    result = pytester.runpytest()
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*registered twice*"])


def test_registry_is_rebuilt_when_a_plugin_is_replaced_under_the_same_name(
    register_plugin: RegisterPlugin,
) -> None:
    from rubrictest_checks import Contains, Equals

    def plugin(factory: type) -> Any:
        class P:
            @hookimpl
            def register_judges(self, register: Any) -> None:
                register("swap", factory)

        return P()

    register_plugin(plugin(Contains), "test-swap")
    assert registry().get("judges", "swap").factory is Contains
    pm.unregister(name="test-swap")
    register_plugin(plugin(Equals), "test-swap")
    assert registry().get("judges", "swap").factory is Equals


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        (
            "judge: nosuch:model\ncases:\n  - {id: c1, output: a, criteria: [text]}\n",
            "*test_s.rubric.yaml:3*unknown judge 'nosuch'; available judges: *contains*equals*recorded*",
        ),
        (
            "target: nosuch:model\ncases:\n  - {id: c1, input: a, criteria: [{check: equals, with: {value: a}}]}\n",
            "*test_s.rubric.yaml:1*unknown target 'nosuch'; available targets: *jsonl*python, static*",
        ),
        (
            "cases:\n  - {id: c1, output: a, criteria: [{check: nosuch}]}\n",
            "*test_s.rubric.yaml:2*unknown judge 'nosuch'; available judges: *contains*",
        ),
        (
            "aggregator: nosuch\nthreshold: 0.5\ncases:\n"
            "  - {id: c1, output: a, criteria: [{check: equals, with: {value: a}}]}\n",
            "*test_s.rubric.yaml:1*unknown aggregator 'nosuch'; available aggregators: points, relative, strict*",
        ),
    ],
)
def test_unknown_plugin_name_in_a_suite_lists_the_available_ones(
    pytester: pytest.Pytester, write_suite: Callable[..., Path], yaml_text: str, message: str
) -> None:
    write_suite(yaml_text)
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.INTERRUPTED
    assert outcomes(result) == {"errors": 1}
    result.stdout.fnmatch_lines([message])


# ------------------------------------------------------------------ loading


@pytest.fixture
def fresh_loading(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[list[Any]], None]]:
    """Make ``load_plugins`` run again over a given list of fake entry points."""
    before = set(pm.get_plugins())

    def use(entry_points: list[Any]) -> None:
        monkeypatch.setattr(plugins, "_loaded", False)
        monkeypatch.setattr(
            "rubrictest.plugins.metadata.entry_points",
            lambda group: [ep for ep in entry_points if group == "rubrictest"],
        )

    yield use
    for plugin in set(pm.get_plugins()) - before:
        pm.unregister(plugin)


def _entry_point(name: str, module: types.ModuleType, dist: str) -> Any:
    class Dist:
        version = "9.9"

    Dist.name = dist  # type: ignore[attr-defined]
    return types.SimpleNamespace(name=name, dist=Dist, load=lambda: module)


def test_a_misspelt_hook_fails_loudly(fresh_loading: Callable[[list[Any]], None]) -> None:
    module = types.ModuleType("typo_plugin")

    @hookimpl
    def register_judgse(register: Any) -> None:  # sic: the misspelling under test
        raise AssertionError("never called")

    module.register_judgse = register_judgse  # type: ignore[attr-defined]
    fresh_loading([_entry_point("typo", module, "typo-dist")])
    with pytest.raises(pluggy.PluginValidationError, match="register_judgse"):
        plugins.load_plugins()


@pytest.mark.parametrize(
    ("allow", "loaded"),
    [(None, {"one", "two"}), ("", set()), ("two", {"two"}), (" one , two ", {"one", "two"})],
)
def test_rubrictest_load_plugins_restricts_third_party_plugins(
    fresh_loading: Callable[[list[Any]], None],
    monkeypatch: pytest.MonkeyPatch,
    allow: str | None,
    loaded: set[str],
) -> None:
    eps = [_entry_point(n, types.ModuleType(f"mod_{n}"), f"dist-{n}") for n in ("one", "two")]
    fresh_loading(eps)
    if allow is not None:
        monkeypatch.setenv("RUBRICTEST_LOAD_PLUGINS", allow)
    plugins.load_plugins()
    assert {n for n in ("one", "two") if pm.get_plugin(n) is not None} == loaded
    # first-party plugins are never filtered
    assert pm.get_plugin("checks") is not None
    if "two" in loaded:
        assert plugins.plugin_version("two") == "9.9"


def test_first_party_plugins_come_from_entry_points() -> None:
    eps = {
        ep.name: ep.value
        for ep in metadata.entry_points(group="rubrictest")
        if ep.dist is not None and ep.dist.name == "rubrictest"
    }
    assert (
        eps.items()
        >= {
            "checks": "rubrictest_checks",
            "targets": "rubrictest_targets",
            "recorded": "rubrictest_recorded",
            "aggregators": "rubrictest_aggregators",
        }.items()
    )
    for name in eps:
        assert pm.get_plugin(name) is not None


def test_on_run_end_carries_the_usage_totals(
    pytester: pytest.Pytester,
    write_suite: Callable[..., Path],
    register_plugin: RegisterPlugin,
    fake_judge: FakeJudgeState,
) -> None:
    observer = _Observer()
    register_plugin(observer, "test-observer")
    fake_judge.cost = 0.25
    write_suite(
        "judge: fake:m\ncases:\n  - {id: c1, output: a, criteria: ['yes']}\n"
        "  - {id: c2, output: b, criteria: ['yes']}\n"
    )
    pytester.runpytest().assert_outcomes(passed=2)
    (event,) = observer.ends
    assert (event.usage.input_tokens, event.usage.output_tokens) == (20, 10)
    assert event.usage.cost_usd == pytest.approx(0.5)
