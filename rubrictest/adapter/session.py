"""Per-pytest-session state of the adapter: the component pool, the run and the engine.

Registered as a pytest plugin object at ``pytest_configure`` (kept in ``config.stash``), as
pytest's own junitxml does. Everything heavy is imported inside the hooks, and only once a
suite file has been collected (:attr:`RubricSession.has_suites`), so a project without
suites loads none of it.

The lifecycle, in one process or under pytest-xdist:

* collection: suite files are validated against the :class:`~rubrictest.engine.ComponentPool`
  and their case runs registered (:meth:`RubricSession.register`);
* end of collection: the store is opened, the :class:`~rubrictest.engine.Run` started and the
  :class:`~rubrictest.engine.Engine` built; in a plain run every case starts at once;
* items wait for their verdicts; under xdist each worker judges its share, and sends every
  verdict to the controller with the item's report;
* end of session: the engine closes and the run is finished (status, counts, usage).

``on_run_start``, ``on_verdict`` and ``on_run_end`` fire once each, in the process that
owns the run: the only process, or the xdist controller.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from ..engine import ComponentPool, Engine, ModelCalls, Run, VerdictInfo
    from ..store import Store
    from ..suite import CaseRun, Suite
    from .nodes import RubricItem
    from .shard import Shard
    from .status import StatusLine

SESSION_KEY = pytest.StashKey["RubricSession"]()


def repeat_options(config: pytest.Config) -> tuple[int, float]:
    """``--rubric-repeat`` and ``--rubric-unstable-at`` (else their ini values), checked."""
    raw_k = config.getoption("rubric_repeat")
    raw_rate = config.getoption("rubric_unstable_at")
    where_k = "--rubric-repeat" if raw_k is not None else "ini option rubric_repeat"
    where_rate = "--rubric-unstable-at" if raw_rate is not None else "ini option rubric_unstable_at"
    try:
        k = int(raw_k if raw_k is not None else config.getini("rubric_repeat"))
    except ValueError:
        raise pytest.UsageError(f"{where_k}: {config.getini('rubric_repeat')!r} is not a whole number") from None
    try:
        rate = float(raw_rate if raw_rate is not None else config.getini("rubric_unstable_at"))
    except ValueError:
        raise pytest.UsageError(f"{where_rate}: {config.getini('rubric_unstable_at')!r} is not a number") from None
    if k < 1:
        raise pytest.UsageError(f"{where_k}: {k} repeats; give 1 or more")
    if not 0 < rate <= 1:
        raise pytest.UsageError(f"{where_rate}: {rate:g} is not a share in (0, 1]")
    return k, rate


def rubric_session(config: pytest.Config) -> RubricSession:
    """The session object of ``config``'s pytest run."""
    return config.stash[SESSION_KEY]


class RubricSession:
    """Per-pytest-session state (kept in ``config.stash``)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.has_suites = False
        self.pool: ComponentPool | None = None
        self.store: Store | None = None
        self.run: Run | None = None
        self.calls: ModelCalls | None = None
        self.engine: Engine | None = None
        self.items: list[RubricItem] = []
        self.status: StatusLine | None = None
        # --rubric-resume: the stored verdicts, case rows and sentinel verdicts of the resumed run
        self.prior: tuple[dict[Any, Any], dict[Any, Any], dict[Any, Any]] | None = None
        self.registered: dict[str, tuple[Suite, CaseRun]] = {}
        self.suite_names: dict[str, str] = {}  # suite name -> the file that holds it
        workerinput = getattr(config, "workerinput", None)
        self.is_worker = workerinput is not None
        self.shared_run_id: str | None = workerinput.get("rubrictest_run_id") if workerinput else None
        # the xdist controller owns the run its workers write (a killed controller abandons it)
        self.run_owner: dict[str, Any] | None = workerinput.get("rubrictest_run_owner") if workerinput else None
        self.controller_run_id: str | None = None  # xdist controller: the run its workers share
        from .signals import Interrupts

        self.interrupts = Interrupts()  # SIGTERM as Ctrl-C, a second one exits at once (once suites exist)
        from .collection_gc import CollectionGC

        self.gc = CollectionGC(config)  # paused from the first suite file to the end of collection
        self.shard: Shard | None = None
        shard = config.getoption("rubric_shard", None)
        if shard:
            from .shard import Shard

            try:
                self.shard = Shard.parse(shard)
            except ValueError as exc:
                raise pytest.UsageError(str(exc)) from None
        # --rubric-resume: None (off), "" (the latest unfinished run of these suites) or a run reference
        self.resume: str | None = config.getoption("rubric_resume", None)
        self.resumed = False
        if self.resume is not None and config.getoption("numprocesses", None) not in (None, 0, "0"):
            # The workers would each have to agree on the run, its reuse and its re-opening.
            raise pytest.UsageError(
                "--rubric-resume runs in one process: drop -n (the items left are judged concurrently all the same)"
            )

    # ---------------------------------------------------------------- collection

    def get_pool(self) -> ComponentPool:
        """The session's component pool (loads the plugins on first use)."""
        if self.pool is None:
            from ..engine import ComponentPool
            from ..plugins import load_plugins

            load_plugins()
            self.has_suites = True
            self.gc.pause()
            self.interrupts.install()
            from ..secrets import redact_logs

            redact_logs()
            self.pool = ComponentPool(self.config.rootpath)
            self.pool.max_cost = self.config.getoption("rubric_max_cost")
        return self.pool

    def claim_suite_name(self, suite: Suite, shown: str) -> None:
        """Record that ``shown`` holds suite ``suite.name``.

        Raises:
            SuiteError: another collected file claims the same name (their verdicts would be
                stored as one suite's).
        """
        from ..errors import SuiteError

        other = self.suite_names.setdefault(suite.name, shown)
        if other != shown:
            named = suite.model.suite is not None
            raise SuiteError(
                f"suite name {suite.name!r} is already used by {other}; a suite name is unique under the "
                "rootdir" + ("" if named else " (the name comes from the file name: give one a `suite:` name)"),
                path=shown,
                line=suite.lines.get(("suite",)) if named else None,
                key="suite" if named else None,
            )

    def register(self, suite: Suite, run: CaseRun, key: str) -> None:
        """A case run collected under node-id prefix ``key``."""
        self.registered.setdefault(key, (suite, run))

    def db_path(self) -> Path:
        from ..store import DEFAULT_DB

        opt = self.config.getoption("rubric_db") or os.environ.get("RUBRICTEST_DB")
        if opt:
            return Path(opt)
        if self.shard is not None:  # each shard its own database, for `rubrictest merge`
            return self.config.rootpath / DEFAULT_DB.with_name(
                f"rubrictest-shard-{self.shard.index}-of-{self.shard.count}.db"
            )
        return self.config.rootpath / DEFAULT_DB

    def pytest_collection_modifyitems(
        self, session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        """``--rubric-shard K/N``: deselect the rubric items of the cases other shards judge
        (gate items stay: each shard stores its gate as deferred to ``rubrictest merge``)."""
        if self.shard is None or not self.has_suites:
            return
        from .nodes import GateItem, RubricItem
        from .shard import select

        mine = select(self.registered, self.shard)
        keep: list[pytest.Item] = []
        drop: list[pytest.Item] = []
        for item in items:
            ok = not isinstance(item, RubricItem) or isinstance(item, GateItem) or set(item.unit_keys()) <= mine
            (keep if ok else drop).append(item)
        if drop:
            config.hook.pytest_deselected(items=drop)
            items[:] = keep

    # ---------------------------------------------------------------- hooks

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_make_scheduler(self, config: pytest.Config, log: Any) -> Any:
        """Under ``-n`` with the default ``--dist load``: keep the items of one case on one
        worker (and a gated suite on one worker), so no case is judged twice; other tests
        are distributed exactly as ``load`` does."""
        if config.getoption("dist", "load") != "load":
            return None
        from .xdist import RubricScheduling

        return RubricScheduling(config, log)

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        """xdist controller: reserve a run id for every worker to share. The run row is
        written by the first worker that collects a suite, so a session without suites
        writes nothing."""
        if self.controller_run_id is None:
            from ..store import new_run_id

            self.controller_run_id = new_run_id()
        from ..store.owner import Owner

        node.workerinput["rubrictest_run_id"] = self.controller_run_id
        node.workerinput["rubrictest_run_owner"] = Owner.current().to_json()

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        """xdist controller: the first worker's collection tells which suites run."""
        patterns = self.config.getini("rubric_files")
        files = sorted(
            {
                i.split("::", 1)[0]
                for i in ids
                if "::" in i and any(Path(i.split("::", 1)[0]).match(p) for p in patterns)
            }
        )
        if not files or self.controller_run_id is None:
            return
        self.interrupts.install()  # the controller collects nothing itself: its suites are known here
        run = self._controller_run()
        run.announce(files, sum(1 for i in ids if i.split("::", 1)[0] in files))

    def _controller_run(self) -> Run:
        if self.run is None:
            from ..engine import Run

            assert self.controller_run_id is not None
            self.run = Run(None, self.controller_run_id, "pytest")
        return self.run

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """xdist controller: fire ``on_verdict`` for a verdict a worker sent."""
        data = getattr(report, "rubric_event", None)
        if data is None or self.is_worker or self.controller_run_id is None:
            return
        from ..engine.run import event_from_json

        event, status = event_from_json(data)
        self._controller_run().verdict(event, status)

    @pytest.hookimpl(tryfirst=True)  # before the terminal reporter prints the collection header
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        if not self.has_suites:
            return
        self.gc.settle()
        from .nodes import RubricItem

        self.items = [i for i in session.items if isinstance(i, RubricItem)]
        if not self.items or self.config.option.collectonly:
            return
        if session.testsfailed and not self.config.option.continue_on_collection_errors:
            return  # pytest stops after collection errors: make no call, open no run
        engine = self._start()
        keys = list(dict.fromkeys(k for item in self.items for k in item.unit_keys()))
        positions = {k: i for i, k in enumerate(self.registered)}
        for key in keys:
            unit = engine.add(*self.registered[key], key, position=positions[key])
            if self.prior is not None:
                from .resume import reuse

                reuse(unit, *self.prior)
        assert self.run is not None
        self.run.announce(sorted({str(engine.units[k].suite.path) for k in keys}), len(self.items))
        self.gc.freeze()  # the store, the run and the engine live for the session too
        if not self.is_worker:
            # Start every case now: all model calls of the session run concurrently.
            engine.schedule(keys)
            self.status = self._status_line()
        # xdist workers run a share of the items each: their cases start lazily, item by item,
        # so that no case is judged by every worker.

    def _start(self) -> Engine:
        """Open the store, start the run and build the engine."""
        from .. import __version__
        from ..engine import Engine, ModelCalls, Run
        from ..errors import StoreError
        from ..store.owner import Owner
        from .shard import fingerprint

        self.store = self._open_store()
        run_id = self.shared_run_id
        stamp = fingerprint(self.registered.values())
        suites = sorted({suite.name for suite, _ in self.registered.values()})
        shard = str(self.shard) if self.shard is not None else None
        if self.resume is not None and self.store is not None:
            from ..store.resume import find_run

            try:
                run_id = find_run(self.store, self.resume, fingerprint=stamp, suites=suites, shard=shard)
                self.resumed = True
            except StoreError as exc:
                hint = ""
                if self.resume and (self.config.rootpath / self.resume).exists():
                    # `--rubric-resume suites/` takes the path as the run to resume
                    hint = (
                        f" ({self.resume!r} is a path: write --rubric-resume=RUN to name a run, or put "
                        "--rubric-resume after the paths)"
                    )
                raise pytest.UsageError(str(exc) + hint) from None
        elif self.resume is not None:
            raise pytest.UsageError("--rubric-resume needs the results database: drop --rubric-no-store")
        self.run = Run.start(
            self.store,
            kind="pytest",
            rootdir=str(self.config.rootpath),
            argv=self.config.invocation_params.args,
            version=__version__,
            run_id=run_id,
            observe=not self.is_worker,
            owner=Owner.from_json(self.run_owner) if self.run_owner else None,
        )
        if self.store is not None:
            if self.resumed:
                self.store.reopen_run(self.run.id)
            self.store.set_run_info(self.run.id, shard=shard, fingerprint=stamp, suites=suites)
            if self.resumed:
                from ..engine.pipeline import INTERRUPTED
                from ..store.resume import stored_results

                self.prior = stored_results(self.store, self.run.id, INTERRUPTED)
        self.calls = ModelCalls(
            self.get_pool(),
            self.run,
            cache=self.config.getoption("rubric_cache"),
            max_cost=self.config.getoption("rubric_max_cost"),
        )
        self.calls.resumed = self.resumed
        repeat, unstable_at = repeat_options(self.config)
        self.engine = Engine(self.calls, repeat=repeat, unstable_at=unstable_at)
        return self.engine

    def _open_store(self) -> Store | None:
        from ..errors import StoreError
        from ..store import Store

        if self.config.getoption("rubric_no_store"):
            return None
        try:
            return Store.open(self.db_path())
        except StoreError as exc:
            if not self.is_worker:
                raise pytest.UsageError(str(exc)) from None
            # An exception here would leave the xdist controller waiting for this worker
            # forever: judge without storing, and say so.
            warnings.warn(f"rubrictest: results not stored by this worker: {exc}", stacklevel=1)
            return None

    def _status_line(self) -> StatusLine | None:
        """The live call counts, on a terminal and without ``-q`` only."""
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        capman = self.config.pluginmanager.get_plugin("capturemanager")
        if (
            reporter is None
            or capman is None
            or not getattr(reporter, "isatty", False)
            or self.config.get_verbosity() < 0
        ):
            return None
        from .status import StatusLine, status_text

        calls = self.calls
        assert calls is not None

        def text(width: int) -> str:
            return status_text(calls.progress, calls.usage_summary()["total"], width)

        return StatusLine(self.config.get_terminal_writer(), capman.global_and_fixture_disabled, text)

    def wait_verdict(self, key: str, criterion_id: str) -> VerdictInfo:
        """The verdict of ``criterion_id`` in unit ``key``, showing live progress while it is awaited."""
        engine = self.get_engine()
        unit = engine.units[key]
        if self.status is not None and unit.started:
            self.status.wait(lambda timeout: unit.wait_verdict(criterion_id, timeout) is not None)
        info = engine.verdict(key, criterion_id)
        engine.wait_idle()  # calls in flight first: reporting this item can wait a moment
        return info

    def wait_cases(self, keys: list[str]) -> None:
        """Block until the units ``keys`` are done, showing live progress while they are awaited."""
        if self.status is None:
            return
        engine = self.get_engine()
        units = [engine.units[k] for k in keys if engine.units[k].started]
        self.status.wait(lambda timeout: all(u.wait_finished(timeout) for u in units))
        engine.wait_idle()

    def get_engine(self) -> Engine:
        """The session's engine (built at the end of collection)."""
        if self.engine is None:  # an item run without collection_finish (pytester edge cases)
            self._start()
            assert self.engine is not None
            for key, (suite, run) in self.registered.items():
                self.engine.add(suite, run, key)
        return self.engine

    def pytest_report_collectionfinish(
        self, config: pytest.Config, start_path: Path, items: list[pytest.Item]
    ) -> list[str]:
        engine = self.engine
        if engine is None or not self.items:
            return []
        from .. import __version__

        targets = sorted({u.run.target.label for u in engine.units.values() if u.run.target is not None})
        judges = sorted(
            {j.label for u in engine.units.values() for c in u.run.case.criteria if c.check is None for j in c.judges}
        )
        lines = [f"rubrictest {__version__}: {len(self.items)} rubric items, {len(engine.units)} case runs"]
        if targets:
            lines.append("  targets: " + ", ".join(targets))
        if judges:
            lines.append("  judges:  " + ", ".join(judges))
        sentinels = sorted({u.run.sentinel.judge.label for u in engine.units.values() if u.run.sentinel is not None})
        if sentinels:
            lines.append("  sentinel: " + ", ".join(sentinels) + " (rubric-free)")
        if self.store is not None and self.run is not None:
            lines.append(f"  results: {self.store.path} (run {self.run.id})")
        for label, message in sorted(engine.pool.config_errors.items()):
            lines.append(f"  NOT READY {label}: {message}")
        return lines

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        report = yield
        if not self.has_suites:
            return report
        from .nodes import CriterionItem, RubricFailure, RubricJudgeError

        if call.excinfo is not None and isinstance(call.excinfo.value, RubricFailure | RubricJudgeError):
            # Set-up errors bypass repr_failure: render the verdict, never a traceback.
            report.longrepr = call.excinfo.value.text
        status = getattr(item, "rubric_status", None)
        if status and report.when == "call":
            report.rubric_status = status
        if (
            self.is_worker
            and isinstance(item, CriterionItem)
            and item.info is not None
            and (report.when == "call" or (report.when == "setup" and report.failed))
        ):
            # the controller fires on_verdict from this (it never sees the engine's objects)
            report.rubric_event = item.event_json()
        return report

    def pytest_report_teststatus(self, report: pytest.TestReport, config: pytest.Config) -> Any:
        if getattr(report, "rubric_status", None) == "MISSED" and report.when == "call" and report.passed:
            return "missed", "m", ("MISSED", {"yellow": True})
        return None

    # Last (the terminal reporter, a wrapper, prints its summary after every implementation):
    # under xdist after the controller's DSession has waited for its workers, which store the
    # verdicts the controller counts, also when a Ctrl-C stopped them.
    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        interrupted = exitstatus == pytest.ExitCode.INTERRUPTED or bool(session.shouldstop)
        if self.engine is not None:
            # Stopped early (Ctrl-C, -x): cancel what is still in flight, keep what arrived.
            # Otherwise let the last cases finish storing their rows.
            self.engine.close(cancel=interrupted)
        if self.is_worker:
            if self.store is not None:
                self.store.close()  # every row written before the controller reads the counts
            return
        if self.run is None:
            return
        if self.controller_run_id is not None:
            self.store = self.run.store = self._open_shared_run()  # the workers wrote the run
            if self.store is None:
                return
        usage = self._usage()
        status = "interrupted" if interrupted else ("passed" if exitstatus == 0 else "failed")
        self.run.finish(status, usage)
        self._write_step_summary()

    def _write_step_summary(self) -> None:
        """On GitHub Actions (``$GITHUB_STEP_SUMMARY`` set): append the run's job summary."""
        target = os.environ.get("GITHUB_STEP_SUMMARY")
        if not target or self.store is None or self.run is None:
            return
        from ..errors import StoreError
        from ..store.github import github_summary
        from ..store.queries import ResultsDB

        try:
            self.store.flush()
            db = ResultsDB.open(self.store.path)
            try:
                text = github_summary(db, self.run.id)
            finally:
                db.close()
            with open(target, "a", encoding="utf-8") as fh:
                fh.write(text + "\n")
        except (OSError, StoreError) as exc:
            warnings.warn(f"rubrictest: could not write the job summary to {target}: {exc}", stacklevel=1)

    def _open_shared_run(self) -> Store | None:
        from ..store import Store

        path = self.db_path()
        if self.config.getoption("rubric_no_store") or not path.exists() or self.controller_run_id is None:
            return None
        store = Store.open(path)
        if not store.has_run(self.controller_run_id):
            store.close()
            return None
        return store

    def _usage(self) -> dict[str, Any]:
        """Usage totals: live from this process's calls, or from the store under xdist."""
        if self.calls is not None:
            summary = self.calls.usage_summary()
            if self.resumed and self.store is not None and self.run is not None:
                # one run over every session that worked on it: its calls are all stored
                summary["total"] = self.store.usage_totals(self.run.id)
            return summary
        assert self.store is not None and self.run is not None
        return {"total": self.store.usage_totals(self.run.id), "components": {}}

    def close(self) -> None:
        """At the end of the pytest session (``pytest_unconfigure``): close the store, with its
        WAL checkpointed into the database file, and put back the signal handlers."""
        self.interrupts.restore()
        if self.has_suites:
            from ..secrets import stop_redacting_logs

            stop_redacting_logs()
        if self.store is not None:
            self.store.close()

    def pytest_terminal_summary(self, terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
        if self.store is None or self.run is None or self.is_worker:
            return
        from ..store.report import terminal_summary_lines

        tr = terminalreporter
        tr.section("rubrictest")
        for line in terminal_summary_lines(self.store, self.run.id, self._usage()):
            tr.write_line(line)
