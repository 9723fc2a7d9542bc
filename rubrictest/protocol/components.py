"""The component classes a plugin subclasses: Target, Judge, Check, BatchJudge, BatchTarget and
Aggregator, with the context they are built with.

:mod:`rubrictest.protocol` re-exports every public name."""

from __future__ import annotations

import abc
import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel

from ..errors import CheckTimedOut, ConfigError, JudgeError
from .records import (
    Case,
    CaseScore,
    ComponentSpec,
    Criterion,
    JudgeRequest,
    JudgeResult,
    TargetResult,
    Verdict,
)


@dataclass(frozen=True)
class ComponentContext:
    """What a component factory gets besides its spec.

    Attributes:
        base_dir: directory of the suite file that named the component; relative paths
            in a spec (a JSONL file, a module) resolve against it.
        rootdir: the pytest rootdir (or the current directory outside pytest).
    """

    base_dir: Path
    rootdir: Path


class Component(abc.ABC):  # noqa: B024 - a base with defaults, not an interface
    """Base of targets and judges: holds the spec and a concurrency limit.

    Class attributes a subclass may set:
        options_model: a pydantic model (``extra="forbid"``) of the spec's ``options``. The
            engine validates ``options`` against it when it builds the component -- at
            collection, so a misspelt or mistyped option is a collection error naming the file,
            the line and the key, with a "did you mean" -- and ``rubrictest schema`` includes
            it. ``None`` (the default): options are not checked.
        default_concurrency: requests in flight when the spec sets no ``concurrency``.
        cacheable: whether the engine may cache results keyed by content.
        per_directory: build one instance per suite directory (for relative paths).
        billable: whether its calls can cost money, so ``--rubric-max-cost`` applies to it.
        version: part of every cache key; bump it when answers would change.
        default_deadline: seconds one call may take in all when the spec sets no ``timeout``
            (``None``: unbounded); see :attr:`deadline`.
    """

    options_model: ClassVar[type[BaseModel] | None] = None
    default_concurrency: ClassVar[int] = 8
    cacheable: ClassVar[bool] = True
    billable: ClassVar[bool] = True
    per_directory: ClassVar[bool] = False
    version: ClassVar[str] = "1"
    default_deadline: ClassVar[float | None] = None

    def __init__(self, spec: ComponentSpec, context: ComponentContext) -> None:
        self.spec = spec
        self.context = context

    @property
    def deadline(self) -> float | None:
        """Seconds one call (``judge`` or ``generate``, retries included) may take in all: the
        engine cancels a call that outlives it and makes its criteria ERROR. The spec's
        ``timeout``, else :attr:`default_deadline`. A component whose ``timeout`` means
        something else (a provider's, per attempt) overrides this."""
        return self.spec.timeout if self.spec.timeout is not None else self.default_deadline

    @property
    def concurrency(self) -> int:
        """Requests of this component the engine keeps in flight at once."""
        return self.spec.concurrency or self.default_concurrency

    @property
    def label(self) -> str:
        """Name shown in reports."""
        return self.spec.label

    def cache_identity(self) -> dict[str, Any]:
        """What identifies this component's answers in a cache key."""
        return {**self.spec.identity(), "version": self.version}

    def check_ready(self) -> None:
        """Called once before the first request: raise :class:`ConfigError` for a missing
        API key, model file or device, so the user sees one clear error before any call."""
        return None

    def max_request_cost(self, content_bytes: int) -> float | None:
        """The most one request can cost, in USD: reserved against ``--rubric-max-cost``
        before the request is sent, and settled with its actual cost once it is answered.

        Args:
            content_bytes: the UTF-8 size of what the request carries (input, messages,
                reference, response, criteria texts), for a bound on its prompt tokens.

        ``None`` (the default): unknown. With a budget set, a :attr:`billable` component whose
        bound is unknown is refused at collection ("no price for model X"). A billable plugin
        that knows its prices overrides this (the provider plugins count a prompt token per
        byte, the completion at its ``max_tokens``, times its samples).
        """
        return None

    async def aclose(self) -> None:
        """Release clients, models and memory. Called once when the session ends."""
        return None


class Target(Component):
    """The model under test. Implement :meth:`generate`."""

    @abc.abstractmethod
    async def generate(self, case: Case) -> TargetResult:
        """Return the response to ``case``. Raise :class:`JudgeError` when none can be had."""


class Judge(Component):
    """A model judge. Implement :meth:`judge`.

    Class attributes:
        supports_batch_criteria: whether one request may hold several criteria. When it is
            true and the spec's ``batch_criteria`` is true, the engine sends all criteria of
            a case that use this judge in one request; otherwise one request per criterion.
        prompt_version: the judge prompt's version, part of every cache key.
    """

    supports_batch_criteria: ClassVar[bool] = True
    prompt_version: ClassVar[str] = "1"

    @property
    def batch_criteria(self) -> bool:
        """Whether the engine groups a case's criteria into one request for this judge."""
        return self.supports_batch_criteria and self.spec.batch_criteria

    def cache_identity(self) -> dict[str, Any]:
        return {**super().cache_identity(), "prompt_version": self.prompt_version}

    def validate_criterion(self, criterion: Criterion) -> None:
        """Called at collection for every criterion this judge will answer.

        Raise ``ValueError`` with a message for a criterion it cannot judge (an invalid
        regex, a missing parameter); the suite then fails to collect with that message,
        pointing at the criterion.
        """

    @abc.abstractmethod
    async def judge(self, request: JudgeRequest) -> JudgeResult:
        """Return one verdict per criterion of ``request``, in any order."""


class Check(Judge):
    """A deterministic judge: implement :meth:`check` (synchronous, cheap).

    Checks are named by ``check:`` in a criterion and get the criterion's ``with:`` mapping
    as ``params``. They are never cached and never batched.

    Class attributes:
        isolated: run :meth:`check` on a thread of its own, bounded by :meth:`timeout_for`
            (default): a check that hangs or calls ``sys.exit()`` is an ERROR for its
            criterion and every other call goes on. Set it ``False`` only for a check that
            cannot hang (a substring test): it then runs on the engine's loop, without the
            cost of a thread.
        default_timeout: seconds a call of :meth:`check` may take.
        inline_bytes: an isolated check whose response is at most this many characters long
            is first tried on the engine's loop, with the tighter bounds of
            :meth:`inline_params`, and goes to a thread only if that try raises
            :class:`~rubrictest.CheckTimedOut` (a thread hop costs more than most checks).
            0 (default): always a thread.
    """

    cacheable = False
    billable = False
    supports_batch_criteria = False
    default_concurrency = 1_000_000
    isolated: ClassVar[bool] = True
    default_timeout: ClassVar[float] = 30.0

    inline_bytes: ClassVar[int] = 0

    def timeout_for(self, criterion: Criterion) -> float:
        """Seconds :meth:`check` may take for ``criterion`` (default :attr:`default_timeout`)."""
        return self.default_timeout

    def inline_params(self, criterion: Criterion) -> Mapping[str, Any] | None:
        """The params of a quick try of :meth:`check` on the engine's loop: ``criterion``'s own
        with every time bound cut to a few milliseconds, so that :meth:`check` raises
        :class:`~rubrictest.CheckTimedOut` rather than hold the loop. ``None`` (default): no
        try, straight to a thread. Used only when :attr:`inline_bytes` allows it."""
        return None

    @abc.abstractmethod
    def check(self, response: str, params: Mapping[str, Any], request: JudgeRequest) -> bool | tuple[bool, str]:
        """Return whether the criterion is met, optionally with a reason.

        Raise :class:`JudgeError` (or any exception) when the check cannot be evaluated:
        the criterion becomes ERROR with the message.
        """

    def run_check(self, criterion: Criterion, request: JudgeRequest) -> Verdict:
        """Run :meth:`check` for one criterion and wrap the answer in a :class:`Verdict`."""
        try:
            answer = self.check(request.response, criterion.params, request)
        except Exception as exc:  # a broken check is an ERROR, never a FAIL
            return Verdict.failed(criterion.id, f"{type(exc).__name__}: {exc}")
        return self._verdict(criterion, answer)

    def _try_inline(self, criterion: Criterion, request: JudgeRequest) -> Verdict | None:
        """The verdict of a quick try on the loop, or ``None``: run it on a thread."""
        if len(request.response) > self.inline_bytes:
            return None
        params = self.inline_params(criterion)
        if params is None:
            return None
        try:
            answer = self.check(request.response, params, request)
        except CheckTimedOut:
            return None
        except Exception as exc:
            return Verdict.failed(criterion.id, f"{type(exc).__name__}: {exc}")
        return self._verdict(criterion, answer)

    @staticmethod
    def _verdict(criterion: Criterion, answer: bool | tuple[bool, str]) -> Verdict:
        met, reason = answer if isinstance(answer, tuple) else (answer, None)
        return Verdict(criterion_id=criterion.id, outcome="met" if met else "not_met", confidence=1.0, rationale=reason)

    async def judge(self, request: JudgeRequest) -> JudgeResult:
        if not self.isolated:
            return JudgeResult([self.run_check(c, request) for c in request.criteria])
        from .bounded import run_in_thread

        verdicts = []
        for crit in request.criteria:
            quick = self._try_inline(crit, request) if self.inline_bytes else None
            if quick is not None:
                verdicts.append(quick)
                continue
            what = f"check {crit.check or self.label} (criterion {crit.id!r})"
            try:
                verdicts.append(
                    await run_in_thread(self.run_check, crit, request, timeout=self.timeout_for(crit), what=what)
                )
            except JudgeError as exc:
                verdicts.append(Verdict.failed(crit.id, str(exc)))
        return JudgeResult(verdicts)


class _Batcher:
    """Collects concurrent requests and hands all pending ones to a synchronous batch
    function in a worker thread: while one batch runs, the next one accumulates."""

    def __init__(self, fn: Any) -> None:
        self._fn = fn
        self._pending: list[tuple[Any, asyncio.Future[Any]]] = []
        self._running = False

    async def submit(self, item: Any) -> Any:
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending.append((item, fut))
        if not self._running:
            self._running = True
            asyncio.get_running_loop().create_task(self._drain())
        return await fut

    async def _drain(self) -> None:
        try:
            await asyncio.sleep(0)  # let every request already scheduled join the first batch
            while self._pending:
                batch, self._pending = self._pending, []
                try:
                    results = await asyncio.to_thread(self._fn, [item for item, _ in batch])
                    if len(results) != len(batch):
                        raise JudgeError(f"batch returned {len(results)} results for {len(batch)} requests")
                except Exception as exc:
                    for _, fut in batch:
                        if not fut.done():
                            fut.set_exception(exc)
                    continue
                for (_, fut), result in zip(batch, results, strict=True):
                    if not fut.done():
                        fut.set_result(result)
                await asyncio.sleep(0)
        finally:
            self._running = False


class BatchJudge(Judge):
    """A judge that answers many requests at once (an in-process GPU model).

    Implement :meth:`judge_batch`. The engine offers it every request pending at the moment:
    with fixed outputs that is every request of the session in one call.
    """

    default_concurrency = 1_000_000

    def __init__(self, spec: ComponentSpec, context: ComponentContext) -> None:
        super().__init__(spec, context)
        self._batcher = _Batcher(self.judge_batch)

    @abc.abstractmethod
    def judge_batch(self, requests: Sequence[JudgeRequest]) -> list[JudgeResult]:
        """Answer ``requests`` (in a worker thread); return one result per request, in order."""

    async def judge(self, request: JudgeRequest) -> JudgeResult:
        result: JudgeResult = await self._batcher.submit(request)
        return result


class BatchTarget(Target):
    """A target that generates for many cases at once. Implement :meth:`generate_batch`."""

    default_concurrency = 1_000_000

    def __init__(self, spec: ComponentSpec, context: ComponentContext) -> None:
        super().__init__(spec, context)
        self._batcher = _Batcher(self.generate_batch)

    @abc.abstractmethod
    def generate_batch(self, cases: Sequence[Case]) -> list[TargetResult]:
        """Generate for ``cases`` (in a worker thread); one result per case, in order."""

    async def generate(self, case: Case) -> TargetResult:
        result: TargetResult = await self._batcher.submit(case)
        return result


class Aggregator(abc.ABC):
    """Combines a case's verdicts into a :class:`CaseScore`.

    Only criteria with a verdict reach it; when any verdict is an error the engine makes the
    case ERROR without calling the aggregator.
    """

    name: ClassVar[str] = ""

    @abc.abstractmethod
    def aggregate(self, case: Case, results: Sequence[tuple[Criterion, Verdict]], threshold: float | None) -> CaseScore:
        """Score ``case`` from ``results`` against ``threshold`` (``None``: no threshold)."""


def require_env(var: str | None, *, what: str) -> str:
    """Return the value of environment variable ``var`` or raise a :class:`ConfigError`
    naming it. For plugins that need an API key: the value is registered as a secret
    (:func:`rubrictest.register_secret`), so it is never stored, printed or written."""
    import os

    if not var:
        raise ConfigError(f"{what}: no api_key_env is configured")
    value = os.environ.get(var)
    if not value:
        raise ConfigError(f"{what}: environment variable {var} is not set (it should hold the API key)")
    from ..secrets import register_secret

    register_secret(value)  # never stored, printed or written (rubrictest.secrets)
    return value
