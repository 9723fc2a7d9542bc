"""The component protocol: what targets, judges and aggregators receive and return.

This is the module a plugin author reads first. A plugin registers *factories* through the
``register_targets`` / ``register_judges`` / ``register_aggregators`` hooks; the engine
builds one component per distinct :class:`ComponentSpec` for the whole pytest session and
calls it asynchronously, many requests in flight at once.

* A :class:`Target` turns a :class:`Case` into a response (:class:`TargetResult`).
* A :class:`Judge` turns a :class:`JudgeRequest` (one case, one response, one or more
  criteria) into a :class:`JudgeResult`: one :class:`Verdict` per criterion plus the
  :class:`CallRecord` of every model call it made.
* A :class:`Check` is a judge for deterministic criteria (``check: regex``): it only
  implements :meth:`Check.check`.
* :class:`BatchJudge` / :class:`BatchTarget` are for in-process models that want every
  pending request at once (GPU batching): they implement a synchronous ``*_batch`` method
  that the engine runs in a worker thread.
* An :class:`Aggregator` turns a case's verdicts into a :class:`CaseScore`.

A judge that cannot produce a verdict raises :class:`~rubrictest.errors.JudgeError` (or
returns a verdict with ``outcome="error"``): the criterion is reported as ERROR, never as
FAIL.
"""

from __future__ import annotations

import abc
import asyncio
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .errors import ConfigError, JudgeError

if TYPE_CHECKING:  # these modules import this one
    from .scale import Scale
    from .tree import NodeScore, RubricNode
    from .voting import PanelSpec

Outcome = Literal["met", "not_met", "error"]
"""A verdict's outcome. ``error`` means the judge could not decide."""


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no whitespace: the input of every content hash."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def content_hash(value: Any) -> str:
    """SHA-256 (hex) of :func:`canonical_json` of ``value``."""
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


def response_sha256(response: str) -> str:
    """SHA-256 (hex, lower case) of a response's UTF-8 bytes, exactly as the judge sees it.

    A recorded label carries it as ``response_sha256`` to say which response it judged; the
    ``recorded`` judge refuses (ERROR) a label whose response is not the one under test.
    """
    return hashlib.sha256(response.encode("utf-8")).hexdigest()


class ComponentSpec(BaseModel):
    """How a suite names a target or a judge: ``"plugin:model"`` or a mapping.

    Only ``plugin`` is required. Fields that a plugin does not use are ignored by it;
    plugin-specific settings go under ``options``. ``api_key_env`` names an environment
    variable: a key itself is never written in a suite.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    plugin: str = Field(min_length=1, description="Registered plugin name, e.g. openai, hf, static.")
    model: str | None = Field(None, description="Model name, path or plugin-specific locator.")
    name: str | None = Field(None, description="Label used in reports and node ids.")
    base_url: str | list[str] | None = Field(
        None, description="Server URL; several URLs spread requests across a fleet.")
    api_key_env: str | None = Field(None, description="Name of the environment variable holding the API key.")
    concurrency: int | None = Field(None, ge=1, description="Requests in flight at once.")
    timeout: float | None = Field(None, gt=0, description="Seconds per request.")
    samples: int = Field(1, ge=1, description="Verdicts drawn per request; the majority wins.")
    batch_criteria: bool = Field(True, description="Judge all criteria of a case in one call.")
    params: dict[str, Any] = Field(default_factory=dict,
                                   description="Provider parameters (temperature, max_tokens...).")
    options: dict[str, Any] = Field(default_factory=dict, description="Plugin-specific settings.")

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        if isinstance(value, str):
            plugin, _, model = value.partition(":")
            return {"plugin": plugin.strip(), "model": model.strip() or None}
        return value

    @property
    def label(self) -> str:
        """Short human name: ``name``, else ``plugin:model``, else ``plugin``."""
        if self.name:
            return self.name
        return f"{self.plugin}:{self.model}" if self.model else self.plugin

    def key(self) -> str:
        """Identity of the component instance the engine builds for this spec."""
        return self._key

    @cached_property
    def _key(self) -> str:
        # computed once per spec: the engine asks for it for every criterion
        return canonical_json(self.model_dump(mode="json"))

    def identity(self) -> dict[str, Any]:
        """What changes a component's answers, for cache keys.

        Leaves out what does not change an answer: where it is served (``base_url``), how
        fast it is asked (``concurrency``, ``timeout``), the key's variable and the label.
        """
        return {"plugin": self.plugin, "model": self.model, "samples": self.samples,
                "batch_criteria": self.batch_criteria, "params": self.params,
                "options": self.options}


@dataclass(frozen=True)
class Criterion:
    """One rubric criterion, resolved from a suite (shorthands expanded, rubrics merged).

    Attributes:
        id: unique within its case.
        text: what a model judge is asked (``None`` for a pure check).
        check: name of a deterministic judge (``contains``...), or ``None``.
        params: the criterion's ``with:`` mapping.
        points: weight; negative points make a deduction, which passes when *not* met.
        must: a hard rule: failing it fails the case whatever its score.
        judge: the judge that answers it (a panel's first member when ``panel`` is set, so
            that commands probing one judge have one).
        panel: the judge panel that answers it, when its ``judge:`` names several judges;
            the engine then asks every member and the panel's voting rule decides.
        line, source, key: where the criterion is written (file, 1-based line, key path).
        hash: content hash of text, check, params, points and must (stored with verdicts).
        parent: in a rubric tree, the id of the inner node holding it (:mod:`rubrictest.tree`);
            its own id then carries the path (``method.impl``).
        scale: the levels it is graded on (:mod:`rubrictest.scale`), or ``None`` for met / not
            met; a judge then answers a level (``Verdict.level``), its normalised ``score`` is
            what the criterion contributes.
    """

    id: str
    text: str | None = None
    check: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    points: float = 1.0
    must: bool = False
    tags: tuple[str, ...] = ()
    judge: ComponentSpec | None = None
    line: int | None = None
    source: str | None = None
    key: str | None = None
    hash: str = ""
    panel: PanelSpec | None = None
    parent: str | None = None
    scale: Scale | None = None

    def __post_init__(self) -> None:
        if not self.hash:
            object.__setattr__(self, "hash", criterion_hash(
                self.text, self.check, self.params, self.points, self.must,
                self.scale.as_dict() if self.scale is not None else None))

    @property
    def judges(self) -> tuple[ComponentSpec, ...]:
        """Every judge asked about this criterion: its panel's members and meta judge, or its judge."""
        if self.panel is not None:
            return self.panel.judges
        return (self.judge,) if self.judge is not None else ()

    @property
    def is_deduction(self) -> bool:
        """True for criteria with negative points: they pass when not met."""
        return self.points < 0

    def passes(self, outcome: Outcome) -> bool | None:
        """Whether ``outcome`` satisfies this criterion; ``None`` for an error."""
        if outcome == "error":
            return None
        met = outcome == "met"
        return (not met) if self.is_deduction else met

    @property
    def description(self) -> str:
        """The text shown to people: the criterion text, else the check and its params."""
        if self.text:
            return self.text
        return f"{self.check}({canonical_json(dict(self.params))})"


def criterion_hash(text: str | None, check: str | None, params: Mapping[str, Any],
                   points: float, must: bool, scale: Mapping[str, Any] | None = None) -> str:
    """The content hash of a criterion (first 16 hex digits of SHA-256); a graded ``scale``
    (its canonical form) is part of it, and a criterion without one hashes as it always did."""
    content: dict[str, Any] = {"text": text, "check": check, "params": dict(params),
                               "points": float(points), "must": bool(must)}
    if scale is not None:
        content["scale"] = dict(scale)
    return content_hash(content)[:16]


@dataclass(frozen=True)
class Case:
    """One evaluation case of a suite, as judges and targets see it.

    ``criteria`` are the criteria judged: in a rubric tree, its leaves. ``nodes`` are the
    tree's inner nodes (never judged, see :mod:`rubrictest.tree`), and ``top_level`` the ids
    of the top-level criteria and nodes in the order written (empty for a flat rubric: its
    criteria in order).
    """

    suite: str
    id: str
    input: str | None = None
    messages: tuple[Mapping[str, Any], ...] | None = None
    reference: str | None = None
    output: str | None = None
    criteria: tuple[Criterion, ...] = ()
    threshold: float | None = None
    tags: tuple[str, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)
    path: str | None = None
    line: int | None = None
    nodes: tuple[RubricNode, ...] = ()
    top_level: tuple[str, ...] = ()

    @property
    def prompt(self) -> str:
        """The case's input as one text: ``input``, or the messages rendered role by role."""
        if self.input is not None:
            return self.input
        if self.messages:
            return "\n\n".join(f"{m.get('role', 'user')}: {m.get('content', '')}" for m in self.messages)
        return ""

    def chat_messages(self) -> list[dict[str, Any]]:
        """The case's input as chat messages (``input`` becomes one user message)."""
        if self.messages:
            return [dict(m) for m in self.messages]
        return [{"role": "user", "content": self.input or ""}]


@dataclass
class Usage:
    """Resource use of one call. Unknown figures stay ``None``."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None
    latency_s: float | None = None

    def __add__(self, other: Usage) -> Usage:
        def add(a: Any, b: Any) -> Any:
            return b if a is None else a if b is None else a + b
        return Usage(add(self.input_tokens, other.input_tokens), add(self.output_tokens, other.output_tokens),
                     add(self.cost_usd, other.cost_usd), add(self.latency_s, other.latency_s))


@dataclass
class CallRecord:
    """One model call made by a judge or target, as stored in ``judge_calls``.

    ``request`` and ``response`` are what went over the wire (JSON-able), minus any secret.
    """

    request: Any = None
    response: Any = None
    usage: Usage = field(default_factory=Usage)
    model: str | None = None
    error: str | None = None
    attempts: int = 1


@dataclass
class VerdictSample:
    """One sampled answer of a judge about one criterion (a judge that samples k times has k).

    Attributes:
        outcome: ``met`` or ``not_met`` (after the evidence policy), or ``error``.
        confidence: the sample's probability of its outcome, when the judge knows it.
        evidence: its quote from the response.
        evidence_supported: whether the quote was found in the response.
        rationale: its critique.
    """

    outcome: Outcome
    confidence: float | None = None
    evidence: str | None = None
    evidence_supported: bool | None = None
    rationale: str | None = None


@dataclass
class Verdict:
    """A judge's answer for one criterion.

    Attributes:
        criterion_id: the :attr:`Criterion.id` answered.
        outcome: ``met``, ``not_met`` or ``error`` (no verdict could be produced).
        confidence: probability-like confidence in the outcome, in [0, 1].
        evidence: verbatim quote from the response supporting the outcome.
        evidence_supported: whether ``evidence`` was found in the response (``None``: not checked).
        rationale: the judge's reasoning, or a check's explanation.
        error: the reason, when ``outcome == "error"``.
        score: an optional graded score in [0, 1] (judges with scales).
        votes: the individual outcomes when the judge sampled several times (for a judge
            panel: each member's outcome, in member order).
        samples: every sampled answer with its critique, when the judge sampled several
            times (meta-judge voting reads them); ``None`` for a single answer.
        level: the level a judge gave a criterion on a scale (:mod:`rubrictest.scale`; build
            such a verdict with ``Scale.verdict``, which sets ``outcome`` and ``score`` too).
    """

    criterion_id: str
    outcome: Outcome
    confidence: float | None = None
    evidence: str | None = None
    evidence_supported: bool | None = None
    rationale: str | None = None
    error: str | None = None
    score: float | None = None
    votes: list[Outcome] | None = None
    samples: list[VerdictSample] | None = None
    level: float | None = None

    def __post_init__(self) -> None:
        if self.samples and isinstance(self.samples[0], dict):  # read back from the cache or JSON
            self.samples = [VerdictSample(**s) for s in self.samples]  # type: ignore[arg-type]
        if self.outcome not in ("met", "not_met", "error"):
            raise ValueError(f"invalid verdict outcome {self.outcome!r}")
        if self.confidence is not None and not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence {self.confidence} is outside [0, 1]")

    @classmethod
    def failed(cls, criterion_id: str, reason: str) -> Verdict:
        """An ERROR verdict: the judge could not decide, for ``reason``."""
        return cls(criterion_id=criterion_id, outcome="error", error=reason)


@dataclass
class JudgeRequest:
    """What a judge is asked: criteria about one response to one case."""

    case: Case
    response: str
    criteria: tuple[Criterion, ...]
    target: str | None = None


@dataclass
class JudgeResult:
    """What a judge returns for one request: a verdict per criterion, and its calls."""

    verdicts: list[Verdict]
    calls: list[CallRecord] = field(default_factory=list)


@dataclass
class TargetResult:
    """A target's response to one case."""

    text: str
    calls: list[CallRecord] = field(default_factory=list)


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
    """

    cacheable = False
    billable = False
    supports_batch_criteria = False
    default_concurrency = 1_000_000
    isolated: ClassVar[bool] = True
    default_timeout: ClassVar[float] = 30.0

    def timeout_for(self, criterion: Criterion) -> float:
        """Seconds :meth:`check` may take for ``criterion`` (default :attr:`default_timeout`)."""
        return self.default_timeout

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
        met, reason = answer if isinstance(answer, tuple) else (answer, None)
        return Verdict(criterion_id=criterion.id, outcome="met" if met else "not_met",
                       confidence=1.0, rationale=reason)

    async def judge(self, request: JudgeRequest) -> JudgeResult:
        if not self.isolated:
            return JudgeResult([self.run_check(c, request) for c in request.criteria])
        from .bounded import run_in_thread

        verdicts = []
        for crit in request.criteria:
            what = f"check {crit.check or self.label} (criterion {crit.id!r})"
            try:
                verdicts.append(await run_in_thread(self.run_check, crit, request, timeout=self.timeout_for(crit),
                                                    what=what))
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


@dataclass
class CaseScore:
    """An aggregator's result for one case.

    Attributes:
        score: in [0, 1], or ``None`` when the rule has no score.
        passed: whether the case passes (threshold met and every ``must`` criterion passed).
        reason: a short explanation shown when the case fails.
        nodes: the score of every inner node of a rubric tree, by id, when the aggregator
            computes them its own way; ``None``: the engine stores :func:`rubrictest.tree.score_tree`'s.
    """

    score: float | None
    passed: bool
    reason: str = ""
    nodes: Mapping[str, NodeScore] | None = None


class Aggregator(abc.ABC):
    """Combines a case's verdicts into a :class:`CaseScore`.

    Only criteria with a verdict reach it; when any verdict is an error the engine makes the
    case ERROR without calling the aggregator.
    """

    name: ClassVar[str] = ""

    @abc.abstractmethod
    def aggregate(self, case: Case, results: Sequence[tuple[Criterion, Verdict]],
                  threshold: float | None) -> CaseScore:
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
    from .secrets import register_secret

    register_secret(value)  # never stored, printed or written (rubrictest.secrets)
    return value
