"""Collection nodes and items: a suite file, its cases, and criterion, score and gate items."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ..engine import CaseOutcome, Engine, GateOutcome, VerdictInfo
from ..engine.gate import DisagreementGate
from ..errors import ConfigError, RubricTestError, SuiteError
from ..protocol import Criterion
from ..suite import ID_LIMIT, CaseRun, Suite, load_suite, missing_env, read_suite_model
from .render import one_line, render_score, render_verdict
from .session import rubric_session


class SuiteFile(pytest.File):
    """A ``test_*.rubric.yaml`` file."""

    suite: Suite

    def collect(self) -> Any:
        rs = rubric_session(self.config)
        pool = rs.get_pool()
        shown = self.nodeid
        try:
            parsed = read_suite_model(self.path, shown)
            missing = missing_env(parsed[0])
            if missing:
                pytest.skip(f"{shown}: {', '.join(missing)} not set (requires_env)", allow_module_level=True)
            suite = load_suite(self.path, display_path=shown, model=parsed)
            rs.claim_suite_name(suite, shown)
            pool.validate(suite)
            suite.compact()  # validated: the session keeps only what the run needs
        except SuiteError as exc:
            raise self.CollectError(str(exc)) from None
        except (ConfigError, RubricTestError) as exc:
            raise self.CollectError(f"{shown}: {exc}") from None
        self.suite = suite
        if suite.truncated_ids:
            self.warn(RubricIdWarning(_truncation_message(suite)))
        by_case: dict[str, list[CaseRun]] = {}
        for run in suite.runs:
            by_case.setdefault(run.case.id, []).append(run)
        for case_id, runs in by_case.items():
            case = runs[0].case
            if suite.gate is not None and case_id == "gate":
                raise self.CollectError(f"{shown}:{case.line}: case id 'gate' is reserved when the suite has a gate")
            if case.threshold is not None:
                clash = [c for c in case.criteria if c.id == "score"]
                if clash:
                    raise self.CollectError(
                        f"{clash[0].source}:{clash[0].line}: criterion id 'score' is "
                        f"reserved in scored mode (case {case.id!r}); give it another id"
                    )
            for tag in {*case.tags, *(t for c in case.criteria for t in c.tags)}:
                self.config.addinivalue_line("markers", f"{tag}: rubrictest tag")
            units: list[tuple[CaseRun, str]] = []
            for run in runs:
                unit_key = f"{self.nodeid}::{run.key}"  # the engine's key, not a node id
                rs.register(suite, run, unit_key)
                units.append((run, unit_key))
            yield CaseNode.from_parent(self, name=case_id, units=units)
        if suite.gate is not None:
            # One gate per target: a release gate is a statement about one model.
            targets = list(dict.fromkeys(run.target_label or "" for run in suite.runs))
            for target in targets:
                yield GateItem.from_parent(
                    self, name=with_target("gate", target), target=target, **_node_id(self, "gate", target)
                )


def with_target(name: str, target: str | None) -> str:
    """An item's name: with several targets, the target in brackets at the end, exactly where
    pytest puts a parametrization id (``canberra[v1]``), so that copy-paste selection, ``--lf``,
    ``-k``, JUnit and xdist treat it as they treat any parametrized test."""
    return f"{name}[{target}]" if target else name


def _node_id(parent: pytest.Collector, name: str, target: str | None) -> dict[str, Any]:
    """The ``nodeid`` keyword for an item with a target, where pytest needs one.

    pytest 9 keeps node ids structured (path, names, parametrization) and compares them so,
    e.g. ``--lf`` against ids read back from its cache: an item named ``canberra[v1]`` must
    carry ``v1`` as its parametrization, as a parametrized function does. pytest 8 joins
    strings: nothing to pass.
    """
    parent_id = getattr(parent, "id", None)
    if target and hasattr(parent_id, "with_params"):
        return {"nodeid": parent_id.child(name).with_params(target)}  # type: ignore[union-attr]
    return {}


class RubricIdWarning(pytest.PytestWarning):
    """A generated criterion id was cut short (labels and selections must use the cut id)."""


def _truncation_message(suite: Suite) -> str:
    cut = suite.truncated_ids
    listed = "; ".join(f"{t.source}:{t.line}: {t.id!r} (from {t.full!r})" for t in cut[:10])
    more = f"; and {len(cut) - 10} more" if len(cut) > 10 else ""
    return (
        f"{len(cut)} generated criterion id(s) cut to {ID_LIMIT} characters: {listed}{more}. Node ids and "
        "labels use the cut id; give the criterion an `id` to choose one."
    )


class CaseNode(pytest.Collector):
    """One case: collects its criteria and, in scored mode, its score, for every target.

    With several targets each item's name ends with the target in brackets
    (``canberra[v1]``, ``score[v1]``), criterion by criterion, as pytest orders the
    parametrizations of one test function.
    """

    def __init__(self, *, units: list[tuple[CaseRun, str]], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.units = units
        self.case = units[0][0].case
        for tag in self.case.tags:
            self.add_marker(tag)

    def collect(self) -> Any:
        for crit in self.case.criteria:
            for run, key in self.units:
                yield CriterionItem.from_parent(
                    self,
                    name=with_target(crit.id, run.target_label),
                    criterion=crit,
                    run=run,
                    unit_key=key,
                    **_node_id(self, crit.id, run.target_label),
                )
        if self.case.threshold is not None:
            for run, key in self.units:
                yield ScoreItem.from_parent(
                    self,
                    name=with_target("score", run.target_label),
                    run=run,
                    unit_key=key,
                    **_node_id(self, "score", run.target_label),
                )


_MARKS: dict[str, pytest.Mark] = {}


def _mark(node: pytest.Item, name: str) -> None:
    """``node.add_marker(name)`` without building a new MarkDecorator for every item."""
    mark = _MARKS.get(name)
    if mark is None:
        mark = _MARKS[name] = getattr(pytest.mark, name).mark
    node.keywords[name] = mark
    node.own_markers.append(mark)


def _domain(text: str) -> str:
    """An item's domain for pytest's reports. pytest shows a domain that ends the node id with its
    dots turned into ``::`` (right for ``Class.method``, wrong for ``paper.method.impl``, a rubric
    tree's path): a domain with a dot gets a trailing space, so pytest shows the node id as it is
    and a line copied from ``-v`` output selects the item again."""
    return f"{text} " if "." in text.split("[", 1)[0] else text


_PROPERTIES: dict[tuple[str, Any], tuple[str, Any]] = {}


def _shared(prop: tuple[str, Any]) -> tuple[str, Any]:
    """One tuple for each of the few (name, value) properties that most items repeat (pytest
    copies every item's properties into each of its three reports)."""
    return _PROPERTIES.setdefault(prop, prop) if len(_PROPERTIES) < 4096 else prop


class RubricFailure(Exception):
    """A criterion, score or gate did not pass: rendered as a verdict, not a traceback."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class RubricJudgeError(Exception):
    """No verdict could be produced (raised in set-up, so pytest reports ERROR)."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class RubricItem(pytest.Item):
    """Base of criterion, score and gate items."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # Set here, not first in runtest: an attribute added after __init__ gives the item a
        # dict of its own instead of one sharing its keys with every other item's.
        self.rubric_status: str | None = None

    def unit_keys(self) -> list[str]:
        """The engine units this item needs."""
        raise NotImplementedError

    @property
    def engine(self) -> Engine:
        return rubric_session(self.config).get_engine()

    def rubric_report(self, call: pytest.CallInfo[None]) -> pytest.TestReport | None:
        """The report of a FAIL or ERROR raised by rubrictest itself, built without a traceback
        (``None``: anything else, reported by pytest as usual)."""
        exc = call.excinfo.value if call.excinfo is not None else None
        if not isinstance(exc, RubricFailure | RubricJudgeError):
            return None
        sections = [(f"Captured {key} {when}", content) for when, key, content in getattr(self, "_report_sections", [])]
        when = "call" if call.when == "collect" else call.when  # items are never collected
        return pytest.TestReport(
            self.nodeid,
            self.location,
            dict.fromkeys(self.keywords, 1),
            "failed",
            exc.text,
            when,
            sections,
            call.duration,
            start=call.start,
            stop=call.stop,
            user_properties=self.user_properties,
        )

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str | Any:
        if isinstance(excinfo.value, RubricFailure | RubricJudgeError):
            return excinfo.value.text
        return super().repr_failure(excinfo, style=style)


class CriterionItem(RubricItem):
    """One criterion of one case."""

    def __init__(self, *, criterion: Criterion, run: CaseRun, unit_key: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.criterion = criterion
        self.run = run
        self.unit_key = unit_key
        _mark(self, "rubric")
        for tag in criterion.tags:
            _mark(self, tag)
        self.info: VerdictInfo | None = None

    def unit_keys(self) -> list[str]:
        return [self.unit_key]

    def setup(self) -> None:
        info = rubric_session(self.config).wait_verdict(self.unit_key, self.criterion.id)
        self.info = info
        self._record_properties(info)
        if info.status == "ERROR":
            self.rubric_status = "ERROR"
            raise RubricJudgeError(self._render(info, "ERROR: " + one_line(info.verdict.error or "no verdict")))

    def runtest(self) -> None:
        info = self.info
        assert info is not None
        self.rubric_status = info.status
        if info.status == "FAIL":
            raise RubricFailure(self._render(info, "FAIL"))

    def event_json(self) -> dict[str, Any]:
        """This item's verdict event, for an xdist worker to send to its controller."""
        from ..engine.run import event_to_json
        from ..events import VerdictEvent

        info = self.info
        assert info is not None
        run = self.run
        engine = self.engine
        event = VerdictEvent(
            run_id=engine.run.id,
            case=run.case,
            criterion=self.criterion,
            verdict=info.verdict,
            judge=info.judge,
            target=run.target.label if run.target else None,
            cached=info.cached,
        )
        return event_to_json(event, info.status)

    def _render(self, info: VerdictInfo, headline: str) -> str:
        run = self.run
        response = self.engine.units[self.unit_key].outcome.response
        return render_verdict(run, info, response, headline=headline)

    def _record_properties(self, info: VerdictInfo) -> None:
        v = info.verdict
        props = [
            _shared(("status", info.status)),
            _shared(("outcome", v.outcome)),
            _shared(("judge", info.judge)),
            ("criterion_hash", self.criterion.hash),
            _shared(("points", self.criterion.points)),
        ]
        if v.confidence is not None:
            props.append(("confidence", round(v.confidence, 4)))
        if v.score is not None:
            props.append(("score", v.score))
        if v.evidence_supported is not None:
            props.append(("evidence_supported", v.evidence_supported))
        if info.cached:
            props.append(("cached", True))
        if info.repeats is not None:  # --rubric-repeat: CI can read the flakiness from the JUnit XML
            props.append(("repeats", len(info.repeats.answers)))
            if info.repeats.flip_rate is not None:
                props.append(("flip_rate", round(info.repeats.flip_rate, 4)))
            props.append(("unstable", info.repeats.unstable))
        self.user_properties.extend(props)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, (self.criterion.line or 1) - 1, _domain(f"{self.run.case.id}::{self.name}")


class ScoreItem(RubricItem):
    """The score of a case in scored mode: fails when score < threshold or a ``must`` fails."""

    def __init__(self, *, run: CaseRun, unit_key: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.run = run
        self.unit_key = unit_key
        _mark(self, "rubric")
        self.outcome: CaseOutcome | None = None

    def unit_keys(self) -> list[str]:
        return [self.unit_key]

    def setup(self) -> None:
        rubric_session(self.config).wait_cases([self.unit_key])
        outcome = self.engine.case(self.unit_key)
        self.outcome = outcome
        if outcome.score is not None:
            self.user_properties.append(("score", round(outcome.score.score or 0.0, 4)))
            self.user_properties.append(("threshold", outcome.run.case.threshold))
        if outcome.passed is None:
            self.rubric_status = "ERROR"
            raise RubricJudgeError(f"ERROR: case {outcome.run.case.id}::{self.name} has no score: {outcome.error}")

    def runtest(self) -> None:
        outcome = self.outcome
        assert outcome is not None and outcome.score is not None
        self.rubric_status = "PASS" if outcome.score.passed else "FAIL"
        if not outcome.score.passed:
            raise RubricFailure(render_score(outcome))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, (self.run.case.line or 1) - 1, _domain(f"{self.run.case.id}::{self.name}")


class GateItem(RubricItem):
    """The suite's release gate on the Wilson lower bound of the case pass rate."""

    def __init__(self, *, target: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        _mark(self, "rubric")
        self.target = target
        self.outcome: GateOutcome | None = None
        self.disagreement: DisagreementGate | None = None

    @property
    def suite(self) -> Suite:
        assert isinstance(self.parent, SuiteFile)
        return self.parent.suite

    def unit_keys(self) -> list[str]:
        rs = rubric_session(self.config)
        if rs.shard is not None:  # decided by `rubrictest merge`, over every shard's cases
            return []
        return [
            k
            for k, (suite, run) in rs.registered.items()
            if suite is self.suite and (run.target_label or "") == self.target
        ]

    def setup(self) -> None:
        gate = self.suite.gate
        assert gate is not None
        rs = rubric_session(self.config)
        if rs.shard is not None:
            self._defer()
            self.rubric_status = "DEFERRED"
            pytest.skip(f"gate deferred to `rubrictest merge`: shard {rs.shard} judges part of the cases")
        rs.wait_cases(self.unit_keys())
        target = self.target or self._only_target()
        passing, disagreeing = self.engine.gates(
            str(self.suite.path), target, gate.min_pass_rate, gate.confidence, gate.max_disagreement
        )
        self.outcome, self.disagreement = passing, disagreeing
        undecided: list[str] = []
        if passing is not None:
            self.user_properties.extend(
                [
                    ("passes", passing.passes),
                    ("cases", passing.total),
                    ("lower_bound", passing.lower_bound),
                    ("min_pass_rate", gate.min_pass_rate),
                ]
            )
            if passing.passed is None:
                undecided.append(f"{len(passing.errors)} case(s) have no verdict: " + ", ".join(passing.errors[:10]))
        if disagreeing is not None:
            self.user_properties.extend(
                [
                    ("disagreements", len(disagreeing.flagged)),
                    ("disagreement_rate", disagreeing.rate),
                    ("max_disagreement", gate.max_disagreement),
                ]
            )
            if disagreeing.passed is None:
                undecided.append(
                    f"{len(disagreeing.errors)} case(s) have no rubric score or no sentinel score to "
                    "compare: " + ", ".join(disagreeing.errors[:10])
                )
        if undecided:
            self.rubric_status = "ERROR"
            raise RubricJudgeError("ERROR: gate undecided: " + "; ".join(undecided))

    def runtest(self) -> None:
        failures: list[str] = []
        o = self.outcome
        if o is not None and o.lower_bound is not None:
            if not o.passed:
                failures.append(
                    f"gate FAILED: {o.passes}/{o.total} cases passed ({o.passes / o.total:.1%}); Wilson lower bound "
                    f"at {o.confidence:.0%} confidence = {o.lower_bound:.3f} < min_pass_rate {o.min_pass_rate:g}"
                )
        d = self.disagreement
        if d is not None and not d.passed:
            assert d.rate is not None
            failures.append(
                f"gate FAILED: {len(d.flagged)}/{d.total} cases are rubric-holistic disagreements ({d.rate:.1%}) > "
                f"max_disagreement {d.max_disagreement:g}: " + ", ".join(d.flagged[:10])
            )
        self.rubric_status = "FAIL" if failures else "PASS"
        if failures:
            raise RubricFailure("\n".join(failures))

    def _defer(self) -> None:
        """A shard's gate: stored as ``DEFERRED`` with what ``rubrictest merge`` decides it by."""
        gate = self.suite.gate
        engine = self.engine
        if gate is None or engine.run.store is None:
            return
        target = self.target or self._registered_target()
        engine.run.store.record_deferred_gate(
            engine.run.id,
            suite=self.suite.name,
            suite_path=self.parent.nodeid if self.parent else "",
            target=target,
            total=self._case_runs(target),
            min_pass_rate=gate.min_pass_rate,
            confidence=gate.confidence,
            max_disagreement=gate.max_disagreement,
        )

    def _case_runs(self, target: str) -> int:
        """How many case runs of this suite the gate is decided over (a deferred gate tells merge)."""
        return sum(
            1
            for s, r in rubric_session(self.config).registered.values()
            if s is self.suite and (r.target_label or (r.target.label if r.target else "")) == target
        )

    def _registered_target(self) -> str:
        labels = {
            (r.target_label or (r.target.label if r.target else ""))
            for s, r in rubric_session(self.config).registered.values()
            if s is self.suite
        }
        return labels.pop() if len(labels) == 1 else ""

    def _only_target(self) -> str:
        # one target: stored under its label, but the gate item carries no suffix
        labels = {u.target for u in self.engine.suites[str(self.suite.path)]}
        return labels.pop() if len(labels) == 1 else ""

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, (self.suite.lines.get(("gate",)) or 1) - 1, self.name
