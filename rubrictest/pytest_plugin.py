"""The pytest adapter: suite files become test items, verdicts become test outcomes.

Loaded automatically through the ``pytest11`` entry point once rubrictest is installed.
It collects only files matching the ini option ``rubric_files`` (default
``test_*.rubric.yaml test_*.rubric.yml``), so no other YAML file of a project is touched.
Turn it off with ``-p no:rubrictest``.

Each criterion is an item (``file::case::criterion``); a scored case adds ``::score`` and a
suite with a gate adds ``::gate``. After collection every needed case is handed to the
:class:`~rubrictest.engine.Engine`, which runs all model calls concurrently; each item only
waits for its own verdict.

Outcomes: a criterion that passes is PASSED; one that fails is FAILED; a scored-mode miss
is MISSED (reported, does not fail the run); a judge that could not decide is ERROR (shown
as a pytest error, never a failure).
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import os
import textwrap
from pathlib import Path
from typing import Any

import pytest

from . import __version__
from .engine import CacheMode, CaseOutcome, Engine, GateOutcome, VerdictInfo
from .errors import ConfigError, RubricTestError, StoreError, SuiteError
from .events import RunEnd, RunStart
from .plugins import load_plugins, pm
from .progress import StatusLine, status_text
from .protocol import Criterion, Usage
from .store import DEFAULT_DB, Store, new_run_id
from .suite import CaseRun, Suite, load_suite, missing_env, read_suite_model

_SESSION = pytest.StashKey["RubricSession"]()
_EXCERPT = 600


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("rubrictest", "rubric-based LLM evaluation")
    group.addoption("--rubric-db", metavar="PATH", default=None,
                    help="results database (default: .rubrictest/rubrictest.db under the rootdir, "
                         "or $RUBRICTEST_DB)")
    group.addoption("--rubric-cache", choices=("use", "refresh", "off"), default="use",
                    help="model-call cache: use (default), refresh (call again, store), off")
    group.addoption("--rubric-max-cost", type=float, metavar="USD", default=None,
                    help="stop issuing model calls once this many US dollars were spent")
    group.addoption("--rubric-no-store", action="store_true", default=False,
                    help="do not write results to the database (and do not use the cache)")
    parser.addini("rubric_files", type="args", default=["test_*.rubric.yaml", "test_*.rubric.yml"],
                  help="glob patterns of rubrictest suite files")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "rubric: a rubrictest criterion, score or gate item")
    session = RubricSession(config)
    config.stash[_SESSION] = session
    config.pluginmanager.register(session, "rubrictest-session")


def pytest_unconfigure(config: pytest.Config) -> None:
    session = config.stash.get(_SESSION, None)
    if session is not None:
        config.pluginmanager.unregister(session)
        del config.stash[_SESSION]


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    patterns = parent.config.getini("rubric_files")
    if any(file_path.match(p) for p in patterns):
        return SuiteFile.from_parent(parent, path=file_path)
    return None


def _session(config: pytest.Config) -> RubricSession:
    return config.stash[_SESSION]


class RubricSession:
    """Per-pytest-session state: the engine, the store and the run (kept in ``config.stash``)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.engine: Engine | None = None
        self.store: Store | None = None
        self.run_id: str = ""
        self.items: list[RubricItem] = []
        self.status: StatusLine | None = None
        workerinput = getattr(config, "workerinput", None)
        self.is_worker = workerinput is not None
        self.shared_run_id: str | None = workerinput.get("rubrictest_run_id") if workerinput else None

    # ---------------------------------------------------------------- set-up

    def get_engine(self) -> Engine:
        if self.engine is None:
            load_plugins()
            cache: CacheMode = self.config.getoption("rubric_cache")
            self.engine = Engine(None, "", rootdir=self.config.rootpath, cache=cache,
                                 max_cost=self.config.getoption("rubric_max_cost"))
        return self.engine

    def db_path(self) -> Path:
        opt = self.config.getoption("rubric_db") or os.environ.get("RUBRICTEST_DB")
        return Path(opt) if opt else self.config.rootpath / DEFAULT_DB

    def open_store(self) -> None:
        """Open the store and start the run (once, when there is something to run)."""
        if self.store is not None or self.config.getoption("rubric_no_store"):
            return
        engine = self.get_engine()
        self.store = Store.open(self.db_path())
        self.run_id = self.store.start_run(rootdir=str(self.config.rootpath),
                                           argv=list(self.config.invocation_params.args),
                                           version=__version__, run_id=self.shared_run_id)
        engine.store = self.store
        engine.run_id = self.run_id
        engine.cache = self.config.getoption("rubric_cache")

    # ---------------------------------------------------------------- hooks

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_make_scheduler(self, config: pytest.Config, log: Any) -> Any:
        """Under ``-n`` with the default ``--dist load``: keep the items of one case on one
        worker (and a gated suite on one worker), so no case is judged twice; other tests
        are distributed exactly as ``load`` does."""
        if config.getoption("dist", "load") != "load":
            return None
        from .xdist_scheduling import RubricScheduling

        return RubricScheduling(config, log)

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        """xdist controller: reserve a run id for every worker to share. The run row is
        written by the first worker that collects a suite, so a session without suites
        writes nothing."""
        if not self.run_id:
            self.run_id = new_run_id()
        node.workerinput["rubrictest_run_id"] = self.run_id

    @pytest.hookimpl(tryfirst=True)  # before the terminal reporter prints the collection header
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.items = [i for i in session.items if isinstance(i, RubricItem)]
        if not self.items or self.config.option.collectonly:
            return
        if session.testsfailed and not self.config.option.continue_on_collection_errors:
            return  # pytest stops after collection errors: make no call, open no run
        try:
            self.open_store()
        except StoreError as exc:
            if not self.is_worker:
                raise pytest.UsageError(str(exc)) from None
            # An exception here would leave the xdist controller waiting for this worker
            # forever: judge without storing, and say so.
            self.store = None
            import warnings

            warnings.warn(f"rubrictest: results not stored by this worker: {exc}", stacklevel=1)
        engine = self.get_engine()
        keys: list[str] = []
        for item in self.items:
            keys.extend(item.unit_keys())
        keys = list(dict.fromkeys(keys))
        if not self.shared_run_id:
            suites = tuple(sorted({str(engine.units[k].suite.path) for k in keys}))
            pm.hook.on_run_start(event=RunStart(run_id=self.run_id, suites=suites, items=len(self.items)))
        if not self.is_worker:
            # Start every case now: all model calls of the session run concurrently.
            engine.schedule(keys)
            self.status = self._status_line(engine)
        # xdist workers run a share of the items each: their cases start lazily, item by item,
        # so that no case is judged by every worker.

    def _status_line(self, engine: Engine) -> StatusLine | None:
        """The live call counts, on a terminal and without ``-q`` only."""
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        capman = self.config.pluginmanager.get_plugin("capturemanager")
        if reporter is None or capman is None or not getattr(reporter, "isatty", False) \
                or self.config.get_verbosity() < 0:
            return None

        def text(width: int) -> str:
            return status_text(engine.progress, engine.usage_summary()["total"], width)

        return StatusLine(self.config.get_terminal_writer(), capman.global_and_fixture_disabled, text)

    def wait_verdict(self, key: str, criterion_id: str) -> VerdictInfo:
        """The verdict of ``criterion_id`` in unit ``key``, showing live progress while it is awaited."""
        engine = self.get_engine()
        unit = engine.units[key]
        if self.status is not None and unit.started:
            self.status.wait(lambda timeout: unit.wait_verdict(criterion_id, timeout) is not None)
        return engine.verdict(key, criterion_id)

    def wait_cases(self, keys: list[str]) -> None:
        """Block until the units ``keys`` are done, showing live progress while they are awaited."""
        engine = self.get_engine()
        if self.status is None:
            return
        futures = [engine.units[k].case_future for k in keys if engine.units[k].started]
        self.status.wait(lambda timeout: not cf.wait(futures, timeout).not_done)

    def pytest_report_collectionfinish(self, config: pytest.Config, start_path: Path,
                                       items: list[pytest.Item]) -> list[str]:
        engine = self.engine
        if engine is None or not self.items:
            return []
        targets = sorted({u.run.target.label for u in engine.units.values() if u.run.target is not None})
        judges = sorted({c.judge.label for u in engine.units.values() for c in u.run.case.criteria
                         if c.judge is not None and c.check is None})
        lines = [f"rubrictest {__version__}: {len(self.items)} rubric items, "
                 f"{len(engine.units)} case runs"]
        if targets:
            lines.append("  targets: " + ", ".join(targets))
        if judges:
            lines.append("  judges:  " + ", ".join(judges))
        if self.store is not None:
            lines.append(f"  results: {self.store.path} (run {self.run_id})")
        for label, message in sorted(engine.config_errors.items()):
            lines.append(f"  NOT READY {label}: {message}")
        return lines

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        report = yield
        if call.excinfo is not None and isinstance(call.excinfo.value, RubricFailure | RubricJudgeError):
            # Set-up errors bypass repr_failure: render the verdict, never a traceback.
            report.longrepr = call.excinfo.value.text
        status = getattr(item, "rubric_status", None)
        if status and report.when == "call":
            report.rubric_status = status
        return report

    def pytest_report_teststatus(self, report: pytest.TestReport, config: pytest.Config) -> Any:
        if getattr(report, "rubric_status", None) == "MISSED" and report.when == "call" and report.passed:
            return "missed", "m", ("MISSED", {"yellow": True})
        return None

    @pytest.hookimpl(tryfirst=True)  # before the terminal reporter prints the summary
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        interrupted = exitstatus == pytest.ExitCode.INTERRUPTED or bool(session.shouldstop)
        if self.engine is not None:
            # Stopped early (Ctrl-C, -x): cancel what is still in flight, keep what arrived.
            # Otherwise let the last cases finish storing their rows.
            self.engine.close(cancel=interrupted)
        if self.is_worker:
            if self.store is not None:
                self.store.flush()
            return
        if self.store is None and self.run_id:
            self._open_shared_run()  # xdist controller: the workers wrote the run
        if self.store is None or not self.run_id:
            return
        counts = self._counts()
        usage = self._usage()
        status = "interrupted" if interrupted else ("passed" if exitstatus == 0 else "failed")
        self.store.finish_run(self.run_id, status=status, counts=counts, usage=usage)
        self._write_step_summary()
        total = usage["total"]
        pm.hook.on_run_end(event=RunEnd(run_id=self.run_id, counts=counts, usage=Usage(
            input_tokens=total["input_tokens"], output_tokens=total["output_tokens"], cost_usd=total["cost_usd"])))

    def _write_step_summary(self) -> None:
        """On GitHub Actions (``$GITHUB_STEP_SUMMARY`` set): append the run's job summary."""
        target = os.environ.get("GITHUB_STEP_SUMMARY")
        if not target or self.store is None:
            return
        from .view.github import github_summary
        from .view.queries import ResultsDB

        try:
            self.store.flush()
            db = ResultsDB.open(self.store.path)
            try:
                text = github_summary(db, self.run_id)
            finally:
                db.close()
            with open(target, "a", encoding="utf-8") as fh:
                fh.write(text + "\n")
        except (OSError, StoreError) as exc:
            import warnings

            warnings.warn(f"rubrictest: could not write the job summary to {target}: {exc}", stacklevel=1)

    def _open_shared_run(self) -> None:
        path = self.db_path()
        if self.config.getoption("rubric_no_store") or not path.exists():
            return
        store = Store.open(path)
        if store.db.execute("SELECT 1 FROM runs WHERE id = ?", [self.run_id]).fetchone() is None:
            store.close()
            return
        self.store = store

    def _usage(self) -> dict[str, Any]:
        """Usage totals: live from the engine, or from the store under xdist."""
        if self.engine is not None and not self.shared_run_id and self.engine.totals:
            return self.engine.usage_summary()
        assert self.store is not None
        return {"total": self.store.usage_totals(self.run_id), "components": {}}

    def _counts(self) -> dict[str, int]:
        assert self.store is not None
        counts: dict[str, int] = {}
        for row in self.store.db.query(
                "SELECT status, count(*) AS n FROM verdicts WHERE run_id = ? GROUP BY status", [self.run_id]):
            counts[row["status"]] = row["n"]
        return counts

    def pytest_terminal_summary(self, terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
        if self.store is None or not self.run_id or self.is_worker:
            return
        from .reporting import terminal_summary_lines

        tr = terminalreporter
        tr.section("rubrictest")
        for line in terminal_summary_lines(self.store, self.run_id, self._usage()):
            tr.write_line(line)


# ---------------------------------------------------------------------------- collection


class SuiteFile(pytest.File):
    """A ``test_*.rubric.yaml`` file."""

    suite: Suite

    def collect(self) -> Any:
        rs = _session(self.config)
        engine = rs.get_engine()
        shown = self.nodeid
        try:
            parsed = read_suite_model(self.path, shown)
            missing = missing_env(parsed[0])
            if missing:
                pytest.skip(f"{shown}: {', '.join(missing)} not set (requires_env)", allow_module_level=True)
            suite = load_suite(self.path, display_path=shown, model=parsed)
            engine.validate(suite)
        except SuiteError as exc:
            raise self.CollectError(str(exc)) from None
        except (ConfigError, RubricTestError) as exc:
            raise self.CollectError(f"{shown}: {exc}") from None
        self.suite = suite
        for run in suite.runs:
            case = run.case
            if suite.gate is not None and run.key == "gate":
                raise self.CollectError(f"{shown}:{case.line}: case id 'gate' is reserved when the suite has a gate")
            if case.threshold is not None:
                clash = [c for c in case.criteria if c.id == "score"]
                if clash:
                    raise self.CollectError(f"{clash[0].source}:{clash[0].line}: criterion id 'score' is "
                                            f"reserved in scored mode (case {case.id!r}); give it another id")
            for tag in {*case.tags, *(t for c in case.criteria for t in c.tags)}:
                self.config.addinivalue_line("markers", f"{tag}: rubrictest tag")
            unit_key = f"{self.nodeid}::{run.key}"
            engine.add(suite, run, unit_key)
            yield CaseNode.from_parent(self, name=run.key, run=run, unit_key=unit_key)
        if suite.gate is not None:
            yield GateItem.from_parent(self, name="gate")


class CaseNode(pytest.Collector):
    """One case (for one target): collects its criteria and, in scored mode, its score."""

    def __init__(self, *, run: CaseRun, unit_key: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.run = run
        self.unit_key = unit_key
        for tag in run.case.tags:
            self.add_marker(tag)

    def collect(self) -> Any:
        for crit in self.run.case.criteria:
            yield CriterionItem.from_parent(self, name=crit.id, criterion=crit)
        if self.run.case.threshold is not None:
            yield ScoreItem.from_parent(self, name="score")


_MARKS: dict[str, pytest.Mark] = {}


def _mark(node: pytest.Item, name: str) -> None:
    """``node.add_marker(name)`` without building a new MarkDecorator for every item."""
    mark = _MARKS.get(name)
    if mark is None:
        mark = _MARKS[name] = getattr(pytest.mark, name).mark
    node.keywords[name] = mark
    node.own_markers.append(mark)


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

    rubric_status: str | None = None

    def unit_keys(self) -> list[str]:
        """The engine units this item needs."""
        raise NotImplementedError

    @property
    def engine(self) -> Engine:
        return _session(self.config).get_engine()

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: Any = None) -> str | Any:
        if isinstance(excinfo.value, RubricFailure | RubricJudgeError):
            return excinfo.value.text
        return super().repr_failure(excinfo, style=style)


class CriterionItem(RubricItem):
    """One criterion of one case."""

    def __init__(self, *, criterion: Criterion, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.criterion = criterion
        self.case_node: CaseNode = self.parent  # type: ignore[assignment]
        _mark(self, "rubric")
        for tag in criterion.tags:
            _mark(self, tag)
        self.info: VerdictInfo | None = None

    def unit_keys(self) -> list[str]:
        return [self.case_node.unit_key]

    def setup(self) -> None:
        info = _session(self.config).wait_verdict(self.case_node.unit_key, self.criterion.id)
        self.info = info
        self._record_properties(info)
        if info.status == "ERROR":
            self.rubric_status = "ERROR"
            raise RubricJudgeError(render_verdict(self, info, headline="ERROR: no verdict"))

    def runtest(self) -> None:
        info = self.info
        assert info is not None
        self.rubric_status = info.status
        if info.status == "FAIL":
            raise RubricFailure(render_verdict(self, info, headline="FAIL"))

    def _record_properties(self, info: VerdictInfo) -> None:
        v = info.verdict
        props = [("status", info.status), ("outcome", v.outcome), ("judge", info.judge),
                 ("criterion_hash", self.criterion.hash), ("points", self.criterion.points)]
        if v.confidence is not None:
            props.append(("confidence", round(v.confidence, 4)))
        if v.score is not None:
            props.append(("score", v.score))
        if v.evidence_supported is not None:
            props.append(("evidence_supported", v.evidence_supported))
        if info.cached:
            props.append(("cached", True))
        self.user_properties.extend(props)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, (self.criterion.line or 1) - 1, f"{self.case_node.run.key}::{self.criterion.id}"


class ScoreItem(RubricItem):
    """The score of a case in scored mode: fails when score < threshold or a ``must`` fails."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case_node: CaseNode = self.parent  # type: ignore[assignment]
        _mark(self, "rubric")
        self.outcome: CaseOutcome | None = None

    def unit_keys(self) -> list[str]:
        return [self.case_node.unit_key]

    def setup(self) -> None:
        _session(self.config).wait_cases([self.case_node.unit_key])
        outcome = self.engine.case(self.case_node.unit_key)
        self.outcome = outcome
        if outcome.score is not None:
            self.user_properties.append(("score", round(outcome.score.score or 0.0, 4)))
            self.user_properties.append(("threshold", outcome.run.case.threshold))
        if outcome.passed is None:
            self.rubric_status = "ERROR"
            raise RubricJudgeError(f"ERROR: case {outcome.run.key} has no score: {outcome.error}")

    def runtest(self) -> None:
        outcome = self.outcome
        assert outcome is not None and outcome.score is not None
        self.rubric_status = "PASS" if outcome.score.passed else "FAIL"
        if not outcome.score.passed:
            raise RubricFailure(render_score(outcome))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, (self.case_node.run.case.line or 1) - 1, f"{self.case_node.run.key}::score"


class GateItem(RubricItem):
    """The suite's release gate on the Wilson lower bound of the case pass rate."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        _mark(self, "rubric")
        self.outcome: GateOutcome | None = None

    @property
    def suite(self) -> Suite:
        assert isinstance(self.parent, SuiteFile)
        return self.parent.suite

    def unit_keys(self) -> list[str]:
        return [k for k, u in self.engine.units.items() if u.suite is self.suite]

    def setup(self) -> None:
        gate = self.suite.gate
        assert gate is not None
        _session(self.config).wait_cases(self.unit_keys())
        outcome = self.engine.gate(str(self.suite.path), gate.min_pass_rate, gate.confidence)
        self.outcome = outcome
        self.user_properties.extend([("passes", outcome.passes), ("cases", outcome.total),
                                     ("lower_bound", outcome.lower_bound), ("min_pass_rate", gate.min_pass_rate)])
        if outcome.passed is None:
            self.rubric_status = "ERROR"
            raise RubricJudgeError(f"ERROR: gate undecided: {len(outcome.errors)} case(s) have no verdict: "
                                   + ", ".join(outcome.errors[:10]))

    def runtest(self) -> None:
        o = self.outcome
        assert o is not None and o.lower_bound is not None
        self.rubric_status = "PASS" if o.passed else "FAIL"
        if not o.passed:
            raise RubricFailure(
                f"gate FAILED: {o.passes}/{o.total} cases passed ({o.passes / o.total:.1%}); Wilson lower bound "
                f"at {o.confidence:.0%} confidence = {o.lower_bound:.3f} < min_pass_rate {o.min_pass_rate:g}")

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, (self.suite.lines.get(("gate",)) or 1) - 1, "gate"


# ---------------------------------------------------------------------------- rendering


def _excerpt(text: str | None, limit: int = _EXCERPT) -> str:
    if text is None:
        return "(no response)"
    text = text.strip()
    return text if len(text) <= limit else text[:limit] + f" ... [{len(text) - limit} more characters]"


def _block(label: str, text: str) -> str:
    body = textwrap.indent(text, " " * 12).lstrip()
    return f"{label:<11} {body}"


def render_verdict(item: CriterionItem, info: VerdictInfo, *, headline: str) -> str:
    """A failed or errored criterion as a person reads it: no traceback."""
    c, v = item.criterion, info.verdict
    run = item.case_node.run
    kind = "deduction: passes when NOT met" if c.is_deduction else ("hard rule" if c.must else "")
    lines = [f"{headline}  {run.key}::{c.id}", ""]
    points = f"{c.points:g} point" + ("" if abs(c.points) == 1 else "s")
    lines.append(_block("criterion", c.description + f"\n({points}{', ' + kind if kind else ''})"))
    lines.append(_block("judge", (info.judge or "-") + ("  [cached]" if info.cached else "")))
    if v.outcome == "error":
        lines.append(_block("reason", v.error or "unknown"))
    else:
        conf = f" (confidence {v.confidence:.2f})" if v.confidence is not None else ""
        lines.append(_block("verdict", f"{v.outcome.replace('_', ' ')}{conf}"))
        if v.votes:
            lines.append(_block("votes", ", ".join(v.votes)))
    if v.evidence:
        mark = {True: "found in the response", False: "NOT FOUND in the response (unsupported)",
                None: "not checked"}[v.evidence_supported]
        lines.append(_block("evidence", f"{json.dumps(v.evidence, ensure_ascii=False)}  [{mark}]"))
    if v.rationale:
        lines.append(_block("rationale", v.rationale))
    outcome = item.engine.units[item.case_node.unit_key].outcome
    lines.append(_block("input", _excerpt(run.case.prompt, 300)))
    lines.append(_block("response", _excerpt(outcome.response)))
    lines.append(_block("where", f"{c.source or run.case.path}:{c.line}"))
    return "\n".join(lines)


def render_score(outcome: CaseOutcome) -> str:
    """A failed score item: the score, the threshold and each criterion's status."""
    score = outcome.score
    assert score is not None
    case = outcome.run.case
    lines = [f"FAIL  {outcome.run.key}::score", "",
             _block("score", f"{(score.score or 0):.3f} (threshold {case.threshold:g})"),
             _block("reason", score.reason or "below threshold")]
    for cid, info in outcome.verdicts.items():
        lines.append(f"  {info.status:<7} {cid}  ({info.criterion.points:g} pts)")
    lines.append(_block("response", _excerpt(outcome.response)))
    return "\n".join(lines)
