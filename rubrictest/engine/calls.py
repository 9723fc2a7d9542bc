"""One path for every model call: cache, budget, call record and error policy.

Suites, :func:`rubrictest.evaluate`, generators, ``rubric-quality``, probes, drift and
pairwise all call targets and judges through :class:`ModelCalls`, so every call of every
command is:

* **cached** in the store, keyed by the component's identity (plugin, model, parameters,
  prompt version) and the content it was asked about (criterion hashes, input, reference,
  response, and the repeat index under ``--rubric-repeat``): asking the same question again
  makes no call;
* **budgeted**: with ``max_cost`` set, a billable request reserves its worst-case cost
  before it is sent and is sent only while the run's spent plus reserved stays within the
  budget; it is settled with its actual cost after (:mod:`.budget`). A refused call is an
  ERROR, never a FAIL; a billable component with no price cannot run under a budget;
* **recorded** in ``judge_calls`` under the run (request, raw response, tokens, cost,
  latency, attempts);
* **limited** by the component's concurrency (:class:`~.pool.ComponentPool`);
* **safe**: a judge that raises gives ERROR verdicts with the reason; a target that fails
  raises :class:`~rubrictest.JudgeError`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from ..errors import ConfigError, JudgeError, StoreError
from ..protocol import (
    CallRecord,
    Case,
    Check,
    Component,
    Judge,
    JudgeRequest,
    JudgeResult,
    Target,
    Usage,
    Verdict,
    content_hash,
)
from ..secrets import redact_fields, redact_text, secrets
from .budget import Budget, Reservation
from .outcomes import CacheMode, Totals
from .pool import ComponentPool
from .progress import CallProgress
from .repeats import REPEAT
from .run import Run

T = TypeVar("T")


@dataclass
class Judged:
    """A judge's answer to one request, as the engine uses it.

    Attributes:
        verdicts: one per criterion of the request, by criterion id (a criterion the judge
            did not answer is an ERROR verdict saying so).
        cached: answered from the cache, without a call.
        call_id: the ``judge_calls`` row holding the answer (``None`` when nothing is stored).
    """

    verdicts: dict[str, Verdict]
    cached: bool
    call_id: int | None


async def _bounded(comp: Component, call: Awaitable[T]) -> T:
    """``call`` cancelled once it outlives the component's :attr:`~rubrictest.Target.deadline`;
    ``sys.exit()`` inside it is an error of that call, never the end of the engine's loop."""
    deadline = comp.deadline
    # A moment of grace: a component that bounds its own calls says better what went wrong.
    bound = None if deadline is None else deadline + max(1.0, 0.05 * deadline)
    try:
        async with asyncio.timeout(bound) as scope:
            return await call
    except TimeoutError:
        if not scope.expired():
            raise
        raise JudgeError(f"{comp.label}: no answer within {comp.deadline:g} s (the call was cancelled)") from None
    except (SystemExit, KeyboardInterrupt) as exc:
        what = f"sys.exit({exc.code!r})" if isinstance(exc, SystemExit) else type(exc).__name__
        raise JudgeError(f"{comp.label} called {what}") from None


def no_price_message(comp: Component) -> str:
    """Why a billable component cannot run under a budget."""
    return (
        f"no price for model {comp.spec.model or comp.label}: give options.price or drop the budget "
        "(--rubric-max-cost / --max-cost)"
    )


def _case_bytes(case: Case) -> int:
    text = (case.input or "") + "".join(str(m) for m in case.messages or ()) + (case.reference or "")
    return len(text.encode("utf-8"))


def _request_bytes(request: JudgeRequest) -> int:
    return (
        _case_bytes(request.case)
        + len(request.response.encode("utf-8"))
        + sum(
            len((c.description or "").encode("utf-8")) + len(str(dict(c.params)).encode("utf-8"))
            for c in request.criteria
        )
    )


class ModelCalls:
    """The model calls of one :class:`~.run.Run`.

    Args:
        pool: where components come from.
        run: the run the calls are recorded under (its store, if any, is also the cache).
        cache: ``use`` (read and write), ``refresh`` (write only), ``off``.
        max_cost: stop calling billable components once this many USD were spent.
    """

    def __init__(
        self, pool: ComponentPool, run: Run, *, cache: CacheMode = "use", max_cost: float | None = None
    ) -> None:
        self.pool = pool
        self.run = run
        self.cache: CacheMode = cache if run.store is not None else "off"
        self.max_cost = max_cost
        self.totals: dict[str, Totals] = defaultdict(Totals)
        self.progress = CallProgress()
        self.budget = Budget(max_cost, run.store, run.id) if max_cost is not None else None
        self._spent = 0.0
        self._lock = threading.Lock()
        self.resumed = False  # set for ``--rubric-resume``: the run's own target responses are reused

    # ---------------------------------------------------------------- judges

    async def judge(self, judge: Judge, request: JudgeRequest) -> Judged:
        """Ask ``judge`` about ``request``: from the cache, or by a call within its limits."""
        not_ready = self.pool.ensure_ready(judge)
        if not_ready is not None:
            return Judged({c.id: Verdict.failed(c.id, not_ready) for c in request.criteria}, False, None)
        key = self._judge_key(judge, request)
        cached = self._cached(key)
        if cached is not None:
            self._count(judge.label, Usage(), 0, cache_hit=True)
            payload = JudgeResult([Verdict(**v) for v in cached[1]])
            return Judged(self._complete(judge, request, payload), True, cached[0])
        result = await self._call_judge(judge, request)
        # A server may echo a key inside a valid answer: nothing downstream sees it.
        values = secrets()
        result.verdicts = [redact_fields(v, values) for v in result.verdicts]
        verdicts = self._complete(judge, request, result)
        ok = all(v.outcome != "error" for v in verdicts.values())
        call_id = self._record(
            "judge",
            judge,
            result.calls,
            key if ok else None,
            (lambda: [_verdict_answer(v) for v in result.verdicts]) if ok else None,
        )
        return Judged(verdicts, False, call_id)

    async def _call_judge(self, judge: Judge, request: JudgeRequest) -> JudgeResult:
        try:
            # deterministic checks are not model calls: not counted in the progress line
            semaphore = self.pool.semaphore(judge)
            async with semaphore if isinstance(judge, Check) else self.progress.slot(semaphore):
                # Reserved once a slot is free, so that queued requests see what the calls
                # before them cost.
                reservation = await self._reserve(judge, lambda: _request_bytes(request))
                started = time.perf_counter()
                try:
                    result = await _bounded(judge, judge.judge(request))
                except BaseException as exc:
                    self._settle(reservation, getattr(exc, "calls", None))
                    raise
                self._settle(reservation, result.calls)
                elapsed = time.perf_counter() - started
        except (JudgeError, ConfigError) as exc:
            reason = redact_text(str(exc))
            return JudgeResult([Verdict.failed(c.id, reason) for c in request.criteria], getattr(exc, "calls", []))
        except Exception as exc:  # a plugin bug is an ERROR with its reason, not a crash
            reason = redact_text(f"{type(exc).__name__}: {exc}")
            return JudgeResult([Verdict.failed(c.id, reason) for c in request.criteria])
        for call in result.calls:
            if call.usage.latency_s is None:
                call.usage.latency_s = elapsed
        return result

    @staticmethod
    def _complete(judge: Judge, request: JudgeRequest, result: JudgeResult) -> dict[str, Verdict]:
        by_id = {v.criterion_id: v for v in result.verdicts}
        return {
            c.id: by_id.get(c.id) or Verdict.failed(c.id, f"judge {judge.label} gave no verdict for it")
            for c in request.criteria
        }

    def _judge_key(self, judge: Judge, request: JudgeRequest) -> str | None:
        if not judge.cacheable or self.cache == "off":
            return None
        question: dict[str, Any] = {
            "judge": judge.cache_identity(),
            "criteria": [{"id": c.id, "hash": c.hash} for c in request.criteria],
            "input": request.case.input,
            "messages": request.case.messages,
            "reference": request.case.reference,
            "response": request.response,
        }
        repeat = REPEAT.get()
        if repeat:  # repeats are distinct samples; repeat 0 keeps the key of a run without repeats
            question["repeat"] = repeat
        return content_hash(question)

    # ---------------------------------------------------------------- targets

    async def generate(self, target: Target, case: Case) -> str:
        """The response of ``target`` to ``case``: from the cache, or by a call.

        Raises:
            JudgeError: the target is not ready, over budget, or failed (with the reason).
        """
        not_ready = self.pool.ensure_ready(target)
        if not_ready is not None:
            raise JudgeError(redact_text(not_ready))
        identity = (
            content_hash({"target": target.cache_identity(), "input": case.input, "messages": case.messages})
            if target.cacheable
            else None
        )
        key = identity if self.cache != "off" else None
        cached = self._cached(key)
        if self.resumed and identity is not None and self.run.store is not None:
            # A resumed run keeps the response its stored verdicts judged, whatever the cache mode.
            cached = self.run.store.cached_result(identity, run_id=self.run.id) or cached
        if cached is not None:
            self._count(target.label, Usage(), 0, cache_hit=True)
            return str(cached[1])
        async with self.progress.slot(self.pool.semaphore(target)):
            reservation = await self._reserve(target, lambda: _case_bytes(case))
            started = time.perf_counter()
            try:
                result = await _bounded(target, target.generate(case))
            except JudgeError as exc:
                self._settle(reservation, getattr(exc, "calls", []))
                self._record("target", target, getattr(exc, "calls", []), None, None)
                raise JudgeError(redact_text(str(exc))) from None
            except BaseException:
                self._settle(reservation, None)
                raise
            self._settle(reservation, result.calls)
            elapsed = time.perf_counter() - started
        for call in result.calls:
            if call.usage.latency_s is None:
                call.usage.latency_s = elapsed
        text = redact_text(result.text)  # a key echoed by the target is not judged, shown or stored
        self._record("target", target, result.calls, key, lambda: text)
        return text

    # ---------------------------------------------------------------- bookkeeping

    def _cached(self, key: str | None) -> tuple[int, Any] | None:
        if key is None or self.cache != "use" or self.run.store is None:
            return None
        return self.run.store.cached_result(key)

    async def _reserve(self, comp: Component, content_bytes: Callable[[], int]) -> Reservation | None:
        """Reserve the worst case of one request of ``comp``, whose content is
        ``content_bytes()`` bytes long, measured only when a budget applies (``None`` when none does).

        Raises:
            JudgeError: no price is known for it, or the budget cannot hold it.
        """
        if self.budget is None or not comp.billable:
            return None
        bound = comp.max_request_cost(content_bytes())
        if bound is None:
            raise JudgeError(no_price_message(comp))
        return await self.budget.reserve(bound, comp.label, wait_at_most=comp.deadline or 300.0)

    def _settle(self, reservation: Reservation | None, calls: list[CallRecord] | None) -> None:
        """Settle ``reservation`` with what ``calls`` cost; a call whose cost is unknown (or a
        request cancelled in flight, ``calls`` ``None``) counts as its reservation."""
        if reservation is None or self.budget is None:
            return
        if calls is None:
            actual = reservation.amount
        else:
            costs = [c.usage.cost_usd for c in calls]
            actual = sum(c or 0.0 for c in costs)
            if any(c is None for c in costs):
                actual = max(actual, reservation.amount)
        try:
            self.budget.settle(reservation, actual)
        except StoreError:
            pass  # the reservation stays: the budget errs on the side of spending less

    def _count(self, label: str, usage: Usage, calls: int, cache_hit: bool = False) -> None:
        with self._lock:
            tot = self.totals[label]
            tot.usage = tot.usage + usage
            tot.calls += calls
            tot.cache_hits += int(cache_hit)
            self._spent += usage.cost_usd or 0.0

    def _record(
        self,
        kind: str,
        comp: Component,
        calls: list[CallRecord],
        cache_key: str | None,
        result: Callable[[], Any] | None,
    ) -> int | None:
        """Count ``calls`` and store them, with the answer ``result()`` (made only when stored)."""
        for call in calls:
            self._count(comp.label, call.usage, 1)
        store = self.run.store
        if store is None or (not calls and cache_key is None):
            return None
        try:
            return store.record_calls(
                self.run.id,
                kind=kind,
                component=comp.label,
                plugin=comp.spec.plugin,
                model=comp.spec.model,
                calls=calls,
                cache_key=cache_key,
                result=result() if result is not None else None,
            )
        except StoreError:
            return None

    @property
    def spent(self) -> float:
        """USD spent so far by this run's calls."""
        return self._spent

    def usage_summary(self) -> dict[str, Any]:
        """Totals of calls, cache hits, tokens and cost: overall and per component."""
        per = {
            label: {
                "calls": t.calls,
                "cache_hits": t.cache_hits,
                "input_tokens": t.usage.input_tokens,
                "output_tokens": t.usage.output_tokens,
                "cost_usd": t.usage.cost_usd,
                "latency_s": t.usage.latency_s,
            }
            for label, t in sorted(self.totals.items())
        }
        total: dict[str, Any] = {"calls": 0, "cache_hits": 0, "input_tokens": 0, "output_tokens": 0, "cost_usd": 0.0}
        for row in per.values():
            for k in total:
                total[k] += row[k] or 0
        return {"total": total, "components": per}


_VERDICT_FIELDS = tuple(f.name for f in dataclasses.fields(Verdict))


def _verdict_answer(verdict: Verdict) -> dict[str, Any]:
    """A verdict as the cache stores it. ``dataclasses.asdict`` deep-copies every value, yet only
    ``samples`` nests dataclasses; the row is encoded at once, so the other values are shared."""
    if verdict.samples:
        return dataclasses.asdict(verdict)
    return {name: getattr(verdict, name) for name in _VERDICT_FIELDS}
