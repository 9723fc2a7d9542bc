"""The engine: every target and judge call of a session, as one concurrent pipeline.

pytest runs items one at a time; rubrictest must not call models one at a time. After
collection the pytest adapter hands the engine every case it needs (:meth:`Engine.schedule`).
The engine runs an asyncio loop in a background thread and starts all of them at once:

* a case's response comes from its fixed ``output`` or from its target;
* as soon as a response arrives, the case's criteria go to their judges -- all criteria of
  the case that share a judge in one request when the judge batches criteria;
* each component has its own concurrency limit (a semaphore); batching judges
  (:class:`~rubrictest.protocol.BatchJudge`) see every pending request at once;
* every verdict is stored as it arrives, and the pytest item waiting for it is released.

Calls are cached in the store, keyed by the component's identity (plugin, model, parameters,
prompt version) and the content it was asked about (criterion hashes, input, reference,
response): re-running an unchanged suite makes no call.

Failures are never verdicts: a target or judge that raises makes the criteria it owed ERROR,
with the reason.
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import dataclasses
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .errors import ConfigError, JudgeError, StoreError, SuiteError
from .events import VerdictEvent
from .plugins import build_component, pm, registry
from .progress import CallProgress
from .protocol import (
    Aggregator,
    CallRecord,
    Case,
    CaseScore,
    Check,
    Component,
    ComponentContext,
    ComponentSpec,
    Criterion,
    Judge,
    JudgeRequest,
    JudgeResult,
    Target,
    TargetResult,
    Usage,
    Verdict,
    content_hash,
)
from .stats import wilson_lower_bound
from .store import Store, utcnow
from .suite import CaseRun, Suite

CacheMode = Literal["use", "refresh", "off"]
Status = Literal["PASS", "FAIL", "MISSED", "ERROR"]


def criterion_status(criterion: Criterion, verdict: Verdict, scored: bool) -> Status:
    """The report status of a verdict: a miss in scored mode is MISSED, not FAIL."""
    passed = criterion.passes(verdict.outcome)
    if passed is None:
        return "ERROR"
    if passed:
        return "PASS"
    return "MISSED" if scored and not criterion.must else "FAIL"


@dataclass
class VerdictInfo:
    """A verdict with what the report needs around it."""

    criterion: Criterion
    verdict: Verdict
    status: Status
    judge: str
    cached: bool = False


@dataclass
class CaseOutcome:
    """Everything the engine learnt about one case run."""

    run: CaseRun
    response: str | None = None
    target_error: str | None = None
    verdicts: dict[str, VerdictInfo] = field(default_factory=dict)
    score: CaseScore | None = None
    error: str | None = None

    @property
    def passed(self) -> bool | None:
        """Whether the case passed; ``None`` when it could not be decided (ERROR)."""
        if self.error is not None or self.score is None:
            return None
        return self.score.passed


@dataclass
class GateOutcome:
    """The suite gate: Wilson lower bound of the case pass rate against ``min_pass_rate``."""

    passed: bool | None
    passes: int
    total: int
    lower_bound: float | None
    min_pass_rate: float
    confidence: float
    errors: list[str] = field(default_factory=list)


@dataclass
class Totals:
    """Usage accumulated over the run, per component label."""

    usage: Usage = field(default_factory=Usage)
    calls: int = 0
    cache_hits: int = 0


class Unit:
    """One scheduled case run, and what the pytest items wait on: the case's future, and a
    condition signalled as each criterion's verdict arrives (one per case rather than a
    future per criterion: cheaper for large suites)."""

    def __init__(self, suite: Suite, run: CaseRun, position: int = 0) -> None:
        self.suite = suite
        self.run = run
        self.position = position
        self.outcome = CaseOutcome(run)
        self.case_future: cf.Future[CaseOutcome] = cf.Future()
        self._arrived = threading.Condition()
        self.started = False
        self.index = {c.id: i for i, c in enumerate(run.case.criteria)}

    def delivered(self, criterion_id: str) -> bool:
        """Whether the verdict of ``criterion_id`` has arrived."""
        return criterion_id in self.outcome.verdicts

    def set_verdict(self, criterion_id: str, info: VerdictInfo) -> None:
        """Record a verdict and wake the items waiting for it."""
        with self._arrived:
            self.outcome.verdicts[criterion_id] = info
            self._arrived.notify_all()

    def wait_verdict(self, criterion_id: str, timeout: float | None = None) -> VerdictInfo | None:
        """Block until the verdict of ``criterion_id`` arrives (``None`` after ``timeout`` seconds)."""
        with self._arrived:
            self._arrived.wait_for(lambda: criterion_id in self.outcome.verdicts, timeout)
            return self.outcome.verdicts.get(criterion_id)


class Engine:
    """Runs the session's model calls. One per pytest session (or per CLI command).

    Args:
        store: where verdicts and calls go (``None``: nothing is stored, no cache).
        run_id: the run the rows belong to.
        rootdir: base for components' context.
        cache: ``use`` (read and write), ``refresh`` (write only), ``off``.
        max_cost: stop issuing calls once this many USD were spent.
    """

    def __init__(self, store: Store | None = None, run_id: str = "", *, rootdir: Path | None = None,
                 cache: CacheMode = "use", max_cost: float | None = None) -> None:
        self.store = store
        self.run_id = run_id
        self.rootdir = rootdir or Path.cwd()
        self.cache: CacheMode = cache if store is not None else "off"
        self.max_cost = max_cost
        self.units: dict[str, Unit] = {}
        self.suites: dict[str, list[Unit]] = defaultdict(list)
        self.totals: dict[str, Totals] = defaultdict(Totals)
        self.progress = CallProgress()
        self.config_errors: dict[str, str] = {}
        self._components: dict[tuple[str, str, str], Component] = {}
        self._by_spec: dict[tuple[str, str, Path], Component] = {}
        self._ready: dict[int, str | None] = {}
        self._semaphores: dict[int, asyncio.Semaphore] = {}
        self._aggregators: dict[str, Aggregator] = {}
        self._spent = 0.0
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._tasks: set[cf.Future[Any]] = set()
        self._closed = False

    # ------------------------------------------------------------------ components

    def component(self, kind: Literal["targets", "judges"], spec: ComponentSpec, base_dir: Path) -> Component:
        """The session's single instance of the component ``spec`` names (built on first use).

        Raises:
            ConfigError: no plugin registers that name (the message lists the available ones).
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
        """The judge that answers ``criterion``."""
        assert criterion.judge is not None
        judge = self.component("judges", criterion.judge, base_dir)
        assert isinstance(judge, Judge)
        return judge

    def aggregator(self, name: str) -> Aggregator:
        """The aggregator registered as ``name``."""
        if name not in self._aggregators:
            agg = registry().get("aggregators", name).factory()
            self._aggregators[name] = agg
        return self._aggregators[name]

    def validate(self, suite: Suite) -> None:
        """Check at collection that every plugin a suite names exists and every criterion
        is acceptable to its judge. Raises :class:`SuiteError` pointing at the criterion."""
        base_dir = suite.path.parent
        try:
            self.aggregator(suite.aggregator)
        except ConfigError as exc:
            raise SuiteError(str(exc), path=str(suite.path), line=suite.lines.get(("aggregator",)),
                             key="aggregator") from None
        seen_targets: set[str] = set()
        for run in suite.runs:
            if run.target is not None and run.target.key() not in seen_targets:
                seen_targets.add(run.target.key())
                try:
                    self.component("targets", run.target, base_dir)
                except ConfigError as exc:
                    line, key = suite.target_location(run)
                    raise SuiteError(str(exc), path=str(run.case.path), line=line, key=key) from None
            for crit in run.case.criteria:
                try:
                    judge = self.judge_for(crit, base_dir)
                except ConfigError as exc:
                    where = "check" if crit.check else "judge"
                    raise SuiteError(f"criterion {crit.id!r}: {exc}", path=crit.source or str(suite.path),
                                     line=crit.line, key=f"{crit.key}.{where}" if crit.key else where) from None
                try:
                    judge.validate_criterion(crit)
                except (ConfigError, ValueError) as exc:
                    raise SuiteError(f"criterion {crit.id!r}: {exc}", path=crit.source or str(suite.path),
                                     line=crit.line, key=f"{crit.key}.with" if crit.key else "with") from None

    def _ensure_ready(self, comp: Component) -> str | None:
        """Run ``check_ready`` once per component; return the error message, if any."""
        ident = id(comp)
        if ident not in self._ready:
            try:
                comp.check_ready()
                self._ready[ident] = None
            except Exception as exc:  # a broken component errors its items, not the session
                message = str(exc) if isinstance(exc, ConfigError) else f"{type(exc).__name__}: {exc}"
                self._ready[ident] = f"{comp.label}: {message}"
                self.config_errors[comp.label] = message
        return self._ready[ident]

    # ------------------------------------------------------------------ scheduling

    def add(self, suite: Suite, run: CaseRun, key: str) -> Unit:
        """Register a case run under ``key`` (its node-id prefix) without starting it."""
        unit = self.units.get(key)
        if unit is None:
            unit = Unit(suite, run, len(self.units))
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
            base_dir = unit.suite.path.parent
            comps: list[Component] = []
            try:
                if unit.run.target is not None:
                    comps.append(self.component("targets", unit.run.target, base_dir))
                comps.extend(self.judge_for(c, base_dir) for c in unit.run.case.criteria)
            except ConfigError:
                pass  # reported per criterion when the case runs
            for comp in comps:
                self._ensure_ready(comp)  # before any call: a missing key is one clear error
        loop = self._start_loop()
        for unit in units:
            fut = asyncio.run_coroutine_threadsafe(self._run_case(unit), loop)
            self._tasks.add(fut)
            fut.add_done_callback(self._tasks.discard)

    def _start_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
            self._thread = threading.Thread(target=self._loop.run_forever, name="rubrictest-engine",
                                            daemon=True)
            self._thread.start()
        return self._loop

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
        return unit.case_future.result()

    def gate(self, suite_path: str, min_pass_rate: float, confidence: float) -> GateOutcome:
        """Block until every case of the suite is done; evaluate the gate."""
        units = self.suites[suite_path]
        wanted = {id(u) for u in units}
        self.schedule([k for k, u in self.units.items() if id(u) in wanted])
        outcomes = [u.case_future.result() for u in units]
        errors = [o.run.key for o in outcomes if o.passed is None]
        passes = sum(1 for o in outcomes if o.passed)
        total = len(outcomes)
        if errors:
            return GateOutcome(None, passes, total, None, min_pass_rate, confidence, errors)
        lower = wilson_lower_bound(passes, total, confidence)
        return GateOutcome(lower >= min_pass_rate, passes, total, lower, min_pass_rate, confidence)

    # ------------------------------------------------------------------ the pipeline

    async def _run_case(self, unit: Unit) -> None:
        outcome = unit.outcome
        try:
            await self._run_case_inner(unit)
        except BaseException as exc:  # never leave an item waiting forever
            reason = "interrupted" if isinstance(exc, asyncio.CancelledError) else f"{type(exc).__name__}: {exc}"
            for crit in unit.run.case.criteria:
                if not unit.delivered(crit.id):
                    self._deliver(unit, crit, Verdict.failed(crit.id, reason), "", False, None)
            outcome.error = outcome.error or reason
            if not unit.case_future.done():
                unit.case_future.set_result(outcome)
            if isinstance(exc, asyncio.CancelledError):
                raise

    async def _run_case_inner(self, unit: Unit) -> None:
        run, case, outcome = unit.run, unit.run.case, unit.outcome
        base_dir = unit.suite.path.parent
        if case.output is not None:
            outcome.response = case.output
        else:
            assert run.target is not None
            try:
                target = self.component("targets", run.target, base_dir)
                assert isinstance(target, Target)
                outcome.response = await self._generate(target, case)
            except (JudgeError, ConfigError) as exc:
                outcome.target_error = f"target {run.target.label} failed: {exc}"
        if outcome.response is None:
            reason = outcome.target_error or "no response"
            for crit in case.criteria:
                self._deliver(unit, crit, Verdict.failed(crit.id, reason), "", False, None)
            outcome.error = reason
        else:
            await self._judge_case(unit, outcome.response, base_dir)
            self._score(unit)
        self._store_case(unit)
        unit.case_future.set_result(outcome)

    async def _judge_case(self, unit: Unit, response: str, base_dir: Path) -> None:
        case = unit.run.case
        groups: dict[int, tuple[Judge, list[Criterion]]] = {}
        for crit in case.criteria:
            try:
                judge = self.judge_for(crit, base_dir)
            except ConfigError as exc:
                self._deliver(unit, crit, Verdict.failed(crit.id, str(exc)), "", False, None)
                continue
            groups.setdefault(id(judge), (judge, []))[1].append(crit)
        requests: list[tuple[Judge, JudgeRequest]] = []
        for judge, crits in groups.values():
            batches = [crits] if judge.batch_criteria else [[c] for c in crits]
            for batch in batches:
                requests.append((judge, JudgeRequest(case=case, response=response, criteria=tuple(batch),
                                                     target=unit.run.target_label)))
        await asyncio.gather(*(self._judge_request(unit, judge, req) for judge, req in requests))

    async def _judge_request(self, unit: Unit, judge: Judge, request: JudgeRequest) -> None:
        not_ready = self._ensure_ready(judge)
        if not_ready is not None:
            for crit in request.criteria:
                self._deliver(unit, crit, Verdict.failed(crit.id, not_ready), judge.label, False, None)
            return
        key = None
        if judge.cacheable and self.cache != "off":
            key = content_hash({"judge": judge.cache_identity(), "criteria": [
                {"id": c.id, "hash": c.hash} for c in request.criteria],
                "input": request.case.input, "messages": request.case.messages,
                "reference": request.case.reference, "response": request.response})
        cached = self._from_cache(key) if key is not None and self.cache == "use" else None
        call_id: int | None = None
        if cached is not None:
            call_id, payload = cached
            result = JudgeResult([Verdict(**v) for v in payload])
            self._count(judge.label, Usage(), 0, cache_hit=True)
            from_cache = True
        else:
            from_cache = False
            try:
                async with self.progress.slot(self._semaphore(judge), counted=not isinstance(judge, Check)):
                    # Checked once a slot is free, so that queued requests see what the
                    # calls before them cost.
                    self._check_budget(judge)
                    started = time.perf_counter()
                    result = await judge.judge(request)
                    elapsed = time.perf_counter() - started
            except (JudgeError, ConfigError) as exc:
                result = JudgeResult([Verdict.failed(c.id, str(exc)) for c in request.criteria],
                                     getattr(exc, "calls", []))
            except Exception as exc:  # a plugin bug is an ERROR with its reason, not a crash
                result = JudgeResult([Verdict.failed(c.id, f"{type(exc).__name__}: {exc}")
                                      for c in request.criteria])
            else:
                for call in result.calls:
                    if call.usage.latency_s is None:
                        call.usage.latency_s = elapsed
            ok = all(v.outcome != "error" for v in result.verdicts) and \
                {v.criterion_id for v in result.verdicts} >= {c.id for c in request.criteria}
            call_id = self._record_calls("judge", judge, request.case, result.calls,
                                         key if ok else None,
                                         [dataclasses.asdict(v) for v in result.verdicts] if ok else None)
        by_id = {v.criterion_id: v for v in result.verdicts}
        for crit in request.criteria:
            verdict = by_id.get(crit.id) or Verdict.failed(crit.id, f"judge {judge.label} gave no verdict for it")
            self._deliver(unit, crit, verdict, judge.label, from_cache, call_id)

    async def _generate(self, target: Target, case: Case) -> str:
        not_ready = self._ensure_ready(target)
        if not_ready is not None:
            raise JudgeError(not_ready)
        key = None
        if target.cacheable and self.cache != "off":
            key = content_hash({"target": target.cache_identity(), "input": case.input,
                                "messages": case.messages})
        cached = self._from_cache(key) if key is not None and self.cache == "use" else None
        if cached is not None:
            self._count(target.label, Usage(), 0, cache_hit=True)
            return str(cached[1])
        async with self.progress.slot(self._semaphore(target)):
            self._check_budget(target)
            started = time.perf_counter()
            try:
                result: TargetResult = await target.generate(case)
            except JudgeError as exc:
                self._record_calls("target", target, case, getattr(exc, "calls", []), None, None)
                raise
            elapsed = time.perf_counter() - started
        for call in result.calls:
            if call.usage.latency_s is None:
                call.usage.latency_s = elapsed
        self._record_calls("target", target, case, result.calls, key, result.text)
        return result.text

    def _semaphore(self, comp: Component) -> asyncio.Semaphore:
        sem = self._semaphores.get(id(comp))
        if sem is None:
            sem = self._semaphores[id(comp)] = asyncio.Semaphore(comp.concurrency)
        return sem

    def _check_budget(self, comp: Component) -> None:
        if comp.billable and self.max_cost is not None and self._spent >= self.max_cost:
            raise JudgeError(f"cost budget exceeded: ${self._spent:.4f} spent of --rubric-max-cost "
                             f"${self.max_cost:.4f}; no further calls are made")

    def _from_cache(self, key: str) -> tuple[int, Any] | None:
        assert self.store is not None
        return self.store.cached_result(key)

    def _count(self, label: str, usage: Usage, calls: int, cache_hit: bool = False) -> None:
        with self._lock:
            tot = self.totals[label]
            tot.usage = tot.usage + usage
            tot.calls += calls
            tot.cache_hits += int(cache_hit)
            self._spent += usage.cost_usd or 0.0

    def _record_calls(self, kind: str, comp: Component, case: Case, calls: list[CallRecord],
                      cache_key: str | None, result: Any) -> int | None:
        for call in calls:
            self._count(comp.label, call.usage, 1)
        if self.store is None:
            return None
        if not calls and cache_key is None:
            return None
        rows = [{
            "run_id": self.run_id, "kind": kind, "component": comp.label, "plugin": comp.spec.plugin,
            "model": call.model or comp.spec.model, "request": call.request, "response": call.response,
            "error": call.error, "input_tokens": call.usage.input_tokens,
            "output_tokens": call.usage.output_tokens, "cost_usd": call.usage.cost_usd,
            "latency_s": call.usage.latency_s, "attempts": call.attempts, "created_at": utcnow(),
        } for call in calls] or [{"run_id": self.run_id, "kind": kind, "component": comp.label,
                                  "plugin": comp.spec.plugin, "model": comp.spec.model,
                                  "created_at": utcnow()}]
        # The last call of a request carries the cache key and the parsed result.
        rows[-1] = {**rows[-1], "cache_key": cache_key, "result": result}
        for row in rows[:-1]:
            self.store.insert("judge_calls", row)
        try:
            return self.store.insert_now("judge_calls", rows[-1])
        except StoreError:
            return None

    # ------------------------------------------------------------------ results

    def _deliver(self, unit: Unit, crit: Criterion, verdict: Verdict, judge: str, cached: bool,
                 call_id: int | None) -> None:
        if unit.delivered(crit.id):
            return
        case = unit.run.case
        status = criterion_status(crit, verdict, case.threshold is not None)
        info = VerdictInfo(crit, verdict, status, judge, cached)
        if self.store is not None:
            self.store.insert("verdicts", {
                "run_id": self.run_id, "suite": case.suite, "case_id": case.id,
                "target": unit.run.target_label or (unit.run.target.label if unit.run.target else ""),
                "criterion_id": crit.id, "position": unit.position * 10_000 + unit.index[crit.id],
                "criterion_hash": crit.hash, "criterion_text": crit.description,
                "check_name": crit.check, "points": crit.points, "must": crit.must, "judge": judge,
                "outcome": verdict.outcome, "status": status, "confidence": verdict.confidence,
                "evidence": verdict.evidence, "evidence_supported": verdict.evidence_supported,
                "rationale": verdict.rationale, "error": verdict.error, "score": verdict.score,
                "votes": verdict.votes, "cached": cached, "judge_call_id": call_id,
                "tags": list(crit.tags), "created_at": utcnow()})
        try:
            pm.hook.on_verdict(event=VerdictEvent(
                run_id=self.run_id, case=case, criterion=crit, verdict=verdict, judge=judge,
                target=unit.run.target.label if unit.run.target else None, cached=cached))
        except Exception:  # observers must not break the run
            pass
        unit.set_verdict(crit.id, info)

    def _score(self, unit: Unit) -> None:
        outcome = unit.outcome
        case = unit.run.case
        errors = [i.criterion.id for i in outcome.verdicts.values() if i.status == "ERROR"]
        if errors:
            outcome.error = "no verdict for " + ", ".join(errors)
            return
        results = [(outcome.verdicts[c.id].criterion, outcome.verdicts[c.id].verdict) for c in case.criteria]
        try:
            outcome.score = self.aggregator(unit.suite.aggregator).aggregate(case, results, case.threshold)
        except Exception as exc:
            outcome.error = f"aggregator {unit.suite.aggregator} failed: {type(exc).__name__}: {exc}"

    def _store_case(self, unit: Unit) -> None:
        if self.store is None:
            return
        o = unit.outcome
        case = unit.run.case
        passed = o.passed
        self.store.insert("cases", {
            "run_id": self.run_id, "suite": case.suite, "suite_path": case.path, "case_id": case.id,
            "position": unit.position,
            "target": unit.run.target_label or (unit.run.target.label if unit.run.target else ""),
            "input": case.prompt, "reference": case.reference, "response": o.response,
            "response_hash": content_hash(o.response)[:16] if o.response is not None else None,
            "score": o.score.score if o.score else None,
            "outcome": "error" if passed is None else ("passed" if passed else "failed"),
            "reason": o.error or (o.score.reason if o.score else None), "tags": list(case.tags)})

    # ------------------------------------------------------------------ shutdown

    def usage_summary(self) -> dict[str, Any]:
        """Totals of calls, cache hits, tokens and cost: overall and per component."""
        per = {label: {"calls": t.calls, "cache_hits": t.cache_hits,
                       "input_tokens": t.usage.input_tokens, "output_tokens": t.usage.output_tokens,
                       "cost_usd": t.usage.cost_usd, "latency_s": t.usage.latency_s}
               for label, t in sorted(self.totals.items())}
        total: dict[str, Any] = {"calls": 0, "cache_hits": 0, "input_tokens": 0, "output_tokens": 0,
                                 "cost_usd": 0.0}
        for row in per.values():
            for k in total:
                total[k] += row[k] or 0
        return {"total": total, "components": per}

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
            async def _aclose_all() -> None:
                await asyncio.gather(*(c.aclose() for c in self._components.values()), return_exceptions=True)
            try:
                asyncio.run_coroutine_threadsafe(_aclose_all(), loop).result(timeout)
            except Exception:
                pass
            loop.call_soon_threadsafe(loop.stop)
            if self._thread is not None:
                self._thread.join(timeout)
        else:
            for comp in self._components.values():
                try:
                    asyncio.run(comp.aclose())
                except Exception:
                    pass
        if self.store is not None:
            self.store.flush()

