"""The pipeline: every case run of a session scheduled at once, on one event loop.

pytest runs items one at a time; rubrictest must not call models one at a time. After
collection the adapter hands the engine every case run it needs (:meth:`Engine.add`,
:meth:`Engine.schedule`). The engine runs an asyncio loop in a background thread and
starts all of them at once:

* a case's response comes from its fixed ``output`` or from its target;
* as soon as a response arrives, the case's criteria go to their judges -- all criteria of
  the case that share a judge in one request when the judge batches criteria; criteria
  judged by a panel go to every member, and the panel's rule decides (:mod:`.panel`);
* every verdict is stored as it arrives, and the pytest item waiting for it is released;
* with a ``sentinel``, the rubric-free judge is asked about the task and response alongside
  (:mod:`rubrictest.protocol.sentinel`); once the case is scored, its verdict is set against the
  rubric's score.

Calls go through :class:`~.calls.ModelCalls` (cache, budget, records, concurrency).
Failures are never verdicts: a target or judge that fails makes the criteria it owed
ERROR, with the reason.
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import dataclasses
import queue
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from ..errors import ConfigError, JudgeError
from ..events import VerdictEvent
from ..protocol import Criterion, Judge, JudgeRequest, Target, Verdict
from ..protocol.sentinel import SentinelOutcome, sentinel_criterion, sentinel_score
from ..protocol.tree import outline, score_tree
from ..protocol.voting import PanelSpec
from ..secrets import redact_fields, redact_text
from ..suite import CaseRun, Suite
from .calls import ModelCalls
from .gate import DisagreementGate, GateOutcome, decide_disagreement, decide_gate
from .loop import LoopThread
from .outcomes import CaseOutcome, Status, VerdictInfo, criterion_status
from .panel import MemberVerdict, PanelJudging
from .repeats import DEFAULT_UNSTABLE_AT, REPEAT, RepeatAnswer, RepeatSummary, decide_repeats

Collect = Callable[..., None]
"""Where one judging pass hands each criterion's verdict: ``(criterion, verdict, judge label,
cached, call id, panel members=None)``."""

# The error of a verdict a run never got because it was stopped: ``--rubric-resume`` judges it again.
INTERRUPTED = "interrupted"

WAIT_SLICE_S = 0.2
"""The longest a blocked wait of the main thread sleeps before it looks again. The kernel hands
a Ctrl-C sent to the process (or its group) to any of its threads; Python runs the handler,
which raises ``KeyboardInterrupt``, only once the main thread executes again. A wait that never
woke would keep a run waiting on a slow model call after Ctrl-C (``tests/test_interrupt.py``)."""


class Unit:
    """One scheduled case run, and what the pytest items wait on: its verdicts as they arrive
    and its end (one wake-up queue per case rather than a future per criterion: cheaper for large
    suites).

    The waits hold no lock of Python code while they sleep: ``KeyboardInterrupt`` is raised in
    the main thread between any two bytecodes, and one raised inside a ``threading.Condition``
    (or a ``concurrent.futures.Future``) it had entered could leave that lock held, and the
    engine's thread, which needs it to deliver the next verdict, blocked for good. The engine
    publishes a verdict with one dict assignment and a ``put`` on a ``queue.SimpleQueue``, both
    atomic, and the waiter only reads and calls ``get`` (C code, safe to interrupt).
    """

    def __init__(self, suite: Suite, run: CaseRun, position: int = 0) -> None:
        self.suite = suite
        self.run = run
        self.position = position
        self.outcome = CaseOutcome(run)
        self.finished = False  # set once the case is judged and scored (its outcome is final)
        self._wake: queue.SimpleQueue[None] = queue.SimpleQueue()  # one token per verdict and at the end
        self.started = False
        # ``--rubric-resume``: the verdicts this case run already has in the resumed run, and
        # its stored case row when it was finished (then nothing is called again).
        self.prior: dict[str, VerdictInfo] = {}
        self.prior_case: dict[str, Any] | None = None
        self.prior_sentinel: SentinelOutcome | None = None
        # Positions in tree order (leaves and inner nodes): how reports list them.
        self.index = {node_id: i for i, node_id in enumerate(outline(run.case))}
        # ``evaluate(..., repeat=K)``: this case's repeats and unstable mark, where they differ
        # from the engine's (``--rubric-repeat`` sets the engine's for a whole session).
        self.repeat: int | None = None
        self.unstable_at: float | None = None

    @property
    def target(self) -> str:
        """The target's label as stored ('' for a fixed output)."""
        return self.run.target_label or (self.run.target.label if self.run.target else "")

    def delivered(self, criterion_id: str) -> bool:
        """Whether the verdict of ``criterion_id`` has arrived."""
        return criterion_id in self.outcome.verdicts

    def set_verdict(self, criterion_id: str, info: VerdictInfo) -> None:
        """Record a verdict and wake the items waiting for it."""
        self.outcome.verdicts[criterion_id] = info
        self._wake.put(None)

    def finish(self) -> None:
        """Mark the case judged and scored, and wake whoever waits for it (once)."""
        if self.finished:
            return
        self.finished = True
        self._wake.put(None)

    def wait_verdict(self, criterion_id: str, timeout: float | None = None) -> VerdictInfo | None:
        """Block until the verdict of ``criterion_id`` arrives (``None`` after ``timeout`` seconds)."""
        self._wait(lambda: criterion_id in self.outcome.verdicts, timeout)
        return self.outcome.verdicts.get(criterion_id)

    def wait_finished(self, timeout: float | None = None) -> bool:
        """Block until the case is judged and scored; whether it is (``False`` after ``timeout``)."""
        self._wait(lambda: self.finished, timeout)
        return self.finished

    def _wait(self, ready: Callable[[], bool], timeout: float | None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while not ready():
            left = WAIT_SLICE_S if deadline is None else min(WAIT_SLICE_S, deadline - time.monotonic())
            if left <= 0:
                return
            try:
                self._wake.get(timeout=left)
            except queue.Empty:
                pass


class Engine:
    """Runs the case runs of a session. One per pytest session, command or Python process.

    Args:
        calls: the run's model calls (its pool, run, cache and budget).
        repeat: judge every criterion this many times; the majority decides (:mod:`.repeats`).
        unstable_at: the flip rate from which a repeated criterion is marked unstable.
    """

    def __init__(self, calls: ModelCalls, *, repeat: int = 1, unstable_at: float = DEFAULT_UNSTABLE_AT) -> None:
        if repeat < 1:
            raise ConfigError(f"repeat must be at least 1, not {repeat}")
        self.repeat = repeat
        self.unstable_at = unstable_at
        self.calls = calls
        self.pool = calls.pool
        self.run = calls.run
        self.panels = PanelJudging(calls)
        self.units: dict[str, Unit] = {}
        self.suites: dict[str, list[Unit]] = defaultdict(list)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: LoopThread | None = None
        self._tasks: set[cf.Future[Any]] = set()
        self._closed = False

    # ------------------------------------------------------------------ scheduling

    def add(self, suite: Suite, run: CaseRun, key: str, position: int | None = None) -> Unit:
        """Register a case run under ``key`` (its node-id prefix) without starting it.

        ``position``: its place among every collected case run (default: the order of ``add``),
        so that a shard or a resumed run stores the positions an unsharded run would."""
        unit = self.units.get(key)
        if unit is None:
            unit = Unit(suite, run, len(self.units) if position is None else position)
            self.units[key] = unit
            self.suites[str(suite.path)].append(unit)
        return unit

    def schedule(self, keys: Sequence[str] | None = None) -> None:
        """Start the given units (default: all registered), all at once."""
        units = [self.units[k] for k in keys] if keys is not None else list(self.units.values())
        units = [u for u in units if not u.started]
        if not units:
            return
        for unit in units:
            unit.started = True
            self._check_ready(unit)
        loop = self._start_loop()
        for unit in units:
            fut = asyncio.run_coroutine_threadsafe(self._run_case(unit), loop)
            self._tasks.add(fut)
            fut.add_done_callback(self._tasks.discard)

    def _check_ready(self, unit: Unit) -> None:
        # Before any call: a missing key is one clear error (the header shows it).
        base_dir = unit.suite.base_dir
        try:
            if unit.run.target is not None:
                self.pool.ensure_ready(self.pool.component("targets", unit.run.target, base_dir))
            for crit in unit.run.case.criteria:
                for spec in crit.judges:
                    self.pool.ensure_ready(self.pool.component("judges", spec, base_dir))
            if unit.run.sentinel is not None:
                self.pool.ensure_ready(self.pool.component("judges", unit.run.sentinel.judge, base_dir))
        except ConfigError:
            pass  # reported per criterion when the case runs

    def _start_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._thread = LoopThread("rubrictest-engine")
            self._loop = self._thread.loop
        return self._loop

    def wait_idle(self) -> None:
        """Give the loop priority: return once it has no work ready, or after a short wait.

        The adapter calls this before it reports an item whose verdict is ready (see
        :mod:`.loop`): while the loop is busy with calls in flight, reporting waits."""
        if self._thread is not None:
            self._thread.wait_idle()

    # ------------------------------------------------------------------ waiting

    def verdict(self, key: str, criterion_id: str) -> VerdictInfo:
        """Block until the verdict of ``criterion_id`` in unit ``key`` is known."""
        unit = self.units[key]
        if not unit.started:
            self.schedule([key])
        info = unit.wait_verdict(criterion_id)
        assert info is not None
        return info

    def case(self, key: str) -> CaseOutcome:
        """Block until unit ``key`` is fully judged and scored."""
        unit = self.units[key]
        if not unit.started:
            self.schedule([key])
        unit.wait_finished()
        return unit.outcome

    def gate(self, suite_path: str, target: str, min_pass_rate: float, confidence: float) -> GateOutcome:
        """Block until every case of the suite for ``target`` is done; decide its gate (stored
        with the verdicts, so ``report`` and ``compare`` can say whether a release passed)."""
        outcome, _ = self.gates(suite_path, target, min_pass_rate, confidence, None)
        assert outcome is not None
        return outcome

    def gates(
        self,
        suite_path: str,
        target: str,
        min_pass_rate: float | None,
        confidence: float,
        max_disagreement: float | None,
    ) -> tuple[GateOutcome | None, DisagreementGate | None]:
        """Block until every case of the suite for ``target`` is done; decide its gate on the
        pass rate (with ``min_pass_rate``) and on rubric-holistic disagreements (with
        ``max_disagreement``), and store both in one gate row."""
        outcomes = self._suite_outcomes(suite_path, target)
        passing = decide_gate(outcomes, min_pass_rate, confidence) if min_pass_rate is not None else None
        disagreeing = decide_disagreement(outcomes, max_disagreement) if max_disagreement is not None else None
        units = [u for u in self.suites[suite_path] if u.target == target]
        if self.run.store is not None and units:
            self.run.store.record_gate(
                self.run.id,
                suite=units[0].suite.name,
                suite_path=units[0].run.case.path or "",
                target=target,
                gate=passing,
                disagreement=disagreeing,
            )
            self.run.store.flush()
        return passing, disagreeing

    def _suite_outcomes(self, suite_path: str, target: str) -> list[CaseOutcome]:
        units = [u for u in self.suites[suite_path] if u.target == target]
        wanted = {id(u) for u in units}
        self.schedule([k for k, u in self.units.items() if id(u) in wanted])
        for u in units:
            u.wait_finished()
        return [u.outcome for u in units]

    # ------------------------------------------------------------------ the pipeline

    async def _run_case(self, unit: Unit) -> None:
        outcome = unit.outcome
        try:
            await self._run_case_inner(unit)
        except BaseException as exc:  # never leave an item waiting forever
            reason = INTERRUPTED if isinstance(exc, asyncio.CancelledError) else f"{type(exc).__name__}: {exc}"
            for crit in unit.run.case.criteria:
                if not unit.delivered(crit.id):
                    self._deliver(unit, crit, Verdict.failed(crit.id, reason), "", False, None)
            outcome.error = outcome.error or reason
            unit.finish()
            if isinstance(exc, asyncio.CancelledError):
                raise

    async def _run_case_inner(self, unit: Unit) -> None:
        run, case, outcome = unit.run, unit.run.case, unit.outcome
        for info in unit.prior.values():
            self._deliver(
                unit, info.criterion, info.verdict, info.judge, info.cached, None, store=False, status=info.status
            )
        if unit.prior_case is not None and all(unit.delivered(c.id) for c in case.criteria):
            # Finished before the run was interrupted: scored again from its stored verdicts.
            outcome.response = unit.prior_case.get("response")
            outcome.sentinel = unit.prior_sentinel
            outcome.target_error = unit.prior_case.get("reason") if outcome.response is None else None
            if outcome.response is None:
                outcome.error = outcome.target_error or "no response"
            else:
                self._score(unit)
            unit.finish()
            return
        if case.output is not None:
            outcome.response = case.output
        else:
            assert run.target is not None
            try:
                target = self.pool.component("targets", run.target, unit.suite.base_dir)
                assert isinstance(target, Target)
                outcome.response = await self.calls.generate(target, case)
            except (JudgeError, ConfigError) as exc:
                outcome.target_error = redact_text(f"target {run.target.label} failed: {exc}")
        if outcome.response is None:
            reason = outcome.target_error or "no response"
            for crit in case.criteria:
                self._deliver(unit, crit, Verdict.failed(crit.id, reason), "", False, None)
            outcome.error = reason
        else:
            await self._judge_case(unit, outcome.response)
            self._score(unit)
        self._store_case(unit)
        unit.finish()

    async def _judge_case(self, unit: Unit, response: str) -> None:
        # The sentinel is asked once per case, whatever the repeats of its criteria.
        if unit.run.sentinel is None:  # no task to gather: the common case, one case of thousands
            await self._judge_criteria(unit, response)
            return
        await asyncio.gather(self._judge_criteria(unit, response), self._judge_sentinel(unit, response))

    async def _judge_criteria(self, unit: Unit, response: str) -> None:
        repeat = unit.repeat or self.repeat
        unstable_at = self.unstable_at if unit.unstable_at is None else unit.unstable_at
        if repeat == 1:
            await self._judge_once(unit, response, self._deliver_answer(unit))
            return
        answers: dict[str, list[RepeatAnswer]] = defaultdict(list)
        members: dict[tuple[str, int], list[MemberVerdict]] = {}

        def collect(index: int) -> Collect:
            def keep(
                crit: Criterion,
                verdict: Verdict,
                judge: str,
                cached: bool,
                call_id: int | None,
                panel_members: list[MemberVerdict] | None = None,
            ) -> None:
                answers[crit.id].append(RepeatAnswer(index, verdict, judge, cached, call_id))
                if panel_members:
                    members[(crit.id, index)] = panel_members

            return keep

        async def one(index: int) -> None:
            REPEAT.set(index)  # this task's context: the cache keys of its calls carry the repeat
            await self._judge_once(unit, response, collect(index))

        await asyncio.gather(*(asyncio.create_task(one(i)) for i in range(repeat)))
        for crit in unit.run.case.criteria:
            # every pass answers every criterion (a configuration error too, as an ERROR verdict)
            got = sorted(answers[crit.id], key=lambda a: a.index)
            summary = decide_repeats(crit, got, unstable_at)
            chosen = next((a.index for a in got if a.verdict.outcome == summary.verdict.outcome), 0)
            self._deliver(
                unit,
                crit,
                summary.verdict,
                got[0].judge if got else "",
                summary.cached,
                summary.call_id,
                members.get((crit.id, chosen)),
                summary,
            )

    def _deliver_answer(self, unit: Unit) -> Collect:
        def deliver(
            crit: Criterion,
            verdict: Verdict,
            judge: str,
            cached: bool,
            call_id: int | None,
            members: list[MemberVerdict] | None = None,
        ) -> None:
            self._deliver(unit, crit, verdict, judge, cached, call_id, members)

        return deliver

    async def _judge_once(self, unit: Unit, response: str, answer: Collect) -> None:
        """Judge every criterion of ``unit`` once, handing each verdict to ``answer``."""
        case = unit.run.case
        groups: dict[int, tuple[Judge, list[Criterion]]] = {}
        panels: dict[str, tuple[PanelSpec, list[Criterion]]] = {}
        for crit in case.criteria:
            if unit.delivered(crit.id):  # reused from the resumed run
                continue
            if crit.panel is not None:
                panels.setdefault(crit.panel.key(), (crit.panel, []))[1].append(crit)
                continue
            try:
                judge = self.pool.judge_for(crit, unit.suite.base_dir)
            except ConfigError as exc:
                answer(crit, Verdict.failed(crit.id, str(exc)), "", False, None)
                continue
            groups.setdefault(id(judge), (judge, []))[1].append(crit)
        requests: list[tuple[Judge, JudgeRequest]] = []
        for judge, crits in groups.values():
            batches = [crits] if judge.batch_criteria else [[c] for c in crits]
            for batch in batches:
                requests.append(
                    (
                        judge,
                        JudgeRequest(case=case, response=response, criteria=tuple(batch), target=unit.run.target_label),
                    )
                )
        await asyncio.gather(
            *(self._judge_request(judge, req, answer) for judge, req in requests),
            *(self._judge_panel(unit, panel, crits, response, answer) for panel, crits in panels.values()),
        )

    async def _judge_sentinel(self, unit: Unit, response: str) -> None:
        spec = unit.run.sentinel
        if spec is None:
            return
        crit = sentinel_criterion()
        try:
            judge = self.pool.component("judges", spec.judge, unit.suite.base_dir)
            assert isinstance(judge, Judge)
        except ConfigError as exc:
            unit.outcome.sentinel = SentinelOutcome(spec.judge.label, Verdict.failed(crit.id, str(exc)), None)
            return
        # The task and the response only: no criteria, rubric tree or reference reach the sentinel.
        case = dataclasses.replace(unit.run.case, criteria=(crit,), nodes=(), top_level=(), reference=None)
        judged = await self.calls.judge(
            judge, JudgeRequest(case=case, response=response, criteria=(crit,), target=unit.run.target_label)
        )
        verdict = judged.verdicts[crit.id]
        unit.outcome.sentinel = SentinelOutcome(
            judge.label, verdict, sentinel_score(verdict), judged.cached, judged.call_id
        )

    async def _judge_request(self, judge: Judge, request: JudgeRequest, answer: Collect) -> None:
        judged = await self.calls.judge(judge, request)
        for crit in request.criteria:
            answer(crit, judged.verdicts[crit.id], judge.label, judged.cached, judged.call_id)

    async def _judge_panel(
        self, unit: Unit, panel: PanelSpec, crits: list[Criterion], response: str, answer: Collect
    ) -> None:
        request = JudgeRequest(
            case=unit.run.case, response=response, criteria=tuple(crits), target=unit.run.target_label
        )
        decided = await self.panels.judge(panel, request, unit.suite.base_dir)
        for crit in crits:
            pv = decided[crit.id]
            answer(crit, pv.verdict, panel.label, pv.cached, None, pv.members)

    # ------------------------------------------------------------------ results

    def _deliver(
        self,
        unit: Unit,
        crit: Criterion,
        verdict: Verdict,
        judge: str,
        cached: bool,
        call_id: int | None,
        members: list[MemberVerdict] | None = None,
        repeats: RepeatSummary | None = None,
        *,
        store: bool = True,
        status: Status | None = None,
    ) -> None:
        if unit.delivered(crit.id):
            return
        verdict = redact_fields(verdict)  # reasons made here (exceptions, interruptions) too
        verdict = self._check_level(crit, verdict, judge)
        case = unit.run.case
        status = status or criterion_status(crit, verdict, case.threshold is not None)
        if self.run.store is not None and store:
            self.run.store.record_verdict(
                self.run.id,
                case=case,
                target=unit.target,
                criterion=crit,
                verdict=verdict,
                status=status,
                judge=judge,
                cached=cached,
                call_id=call_id,
                position=unit.position * 10_000 + unit.index[crit.id],
                repeats=len(repeats.answers) if repeats else None,
                flip_rate=repeats.flip_rate if repeats else None,
                unstable=repeats.unstable if repeats else None,
            )
            if members:
                self.run.store.record_members(
                    self.run.id, case=case, target=unit.target, criterion=crit, members=members
                )
            if repeats is not None:
                self.run.store.record_repeats(
                    self.run.id,
                    case=case,
                    target=unit.target,
                    criterion=crit,
                    answers=[
                        (a.index, self._check_level(crit, a.verdict, a.judge), a.judge, a.cached, a.call_id)
                        for a in repeats.answers
                    ],
                )
        self.run.verdict(
            VerdictEvent(
                run_id=self.run.id,
                case=case,
                criterion=crit,
                verdict=verdict,
                judge=judge,
                target=unit.run.target.label if unit.run.target else None,
                cached=cached,
            ),
            status,
        )
        unit.set_verdict(crit.id, VerdictInfo(crit, verdict, status, judge, cached, members, repeats))

    @staticmethod
    def _check_level(crit: Criterion, verdict: Verdict, judge: str) -> Verdict:
        if crit.scale is not None and verdict.outcome != "error" and verdict.level is None:
            return Verdict.failed(
                crit.id,
                f"judge {judge} gave no level for a criterion graded on a scale (it answers met / not met only)",
            )
        return verdict

    def _score(self, unit: Unit) -> None:
        outcome = unit.outcome
        case = unit.run.case
        if case.nodes:  # every inner node's score, as far as the verdicts go (replaced by the aggregator's)
            outcome.nodes = score_tree(case, {k: i.verdict for k, i in outcome.verdicts.items()}).nodes
        errors = [i.criterion.id for i in outcome.verdicts.values() if i.status == "ERROR"]
        if errors:
            outcome.error = "no verdict for " + ", ".join(errors)
            return
        results = [(outcome.verdicts[c.id].criterion, outcome.verdicts[c.id].verdict) for c in case.criteria]
        try:
            outcome.score = self.pool.aggregator(unit.suite.aggregator).aggregate(case, results, case.threshold)
        except Exception as exc:
            outcome.error = f"aggregator {unit.suite.aggregator} failed: {type(exc).__name__}: {exc}"
            return
        if outcome.score.nodes is not None:
            outcome.nodes = dict(outcome.score.nodes)
        sentinel, spec = outcome.sentinel, unit.run.sentinel
        if sentinel is not None and spec is not None:
            sentinel.rubric_score = outcome.score.score
            sentinel.disagreement = spec.disagreement(sentinel.rubric_score, sentinel.score)

    def _store_case(self, unit: Unit) -> None:
        if self.run.store is None:
            return
        o = unit.outcome
        self.run.store.record_case(
            self.run.id,
            case=unit.run.case,
            target=unit.target,
            position=unit.position,
            response=o.response,
            score=o.score.score if o.score else None,
            passed=o.passed,
            reason=o.error or (o.score.reason if o.score else None),
        )
        if o.sentinel is not None:
            self.run.store.record_sentinel(self.run.id, case=unit.run.case, target=unit.target, sentinel=o.sentinel)
        if unit.run.case.nodes:
            self.run.store.record_nodes(
                self.run.id,
                case=unit.run.case,
                target=unit.target,
                scores=o.nodes,
                positions={k: unit.position * 10_000 + i for k, i in unit.index.items()},
            )

    # ------------------------------------------------------------------ shutdown

    def close(self, *, cancel: bool = False, timeout: float = 30.0) -> None:
        """Stop the loop (cancelling pending work when ``cancel``), release components and
        flush the store. Every verdict already received is kept."""
        if self._closed:
            return
        self._closed = True
        loop = self._loop
        if loop is not None:
            if cancel:
                for fut in list(self._tasks):
                    fut.cancel()
            else:
                cf.wait(list(self._tasks), timeout=timeout)
            try:
                asyncio.run_coroutine_threadsafe(self.pool.aclose(), loop).result(timeout)
            except Exception:  # noqa: BLE001 - a component that fails to close must not lose the results
                pass
            loop.call_soon_threadsafe(loop.stop)
            if self._thread is not None:
                self._thread.join(timeout)
            if not loop.is_running():
                loop.close()
        else:
            try:
                asyncio.run(self.pool.aclose())
            except Exception:  # noqa: BLE001
                pass
        if self.run.store is not None:
            self.run.store.flush()
