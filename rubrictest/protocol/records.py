"""The records that flow through a run: specs, criteria, cases, verdicts, calls, usage and scores.

Plain data (dataclasses and pydantic models) with the content hashes that key the cache and the
store. :mod:`rubrictest.protocol` re-exports every public name."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

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
        None, description="Server URL; several URLs spread requests across a fleet."
    )
    api_key_env: str | None = Field(None, description="Name of the environment variable holding the API key.")
    concurrency: int | None = Field(None, ge=1, description="Requests in flight at once.")
    timeout: float | None = Field(None, gt=0, description="Seconds per request.")
    samples: int = Field(1, ge=1, description="Verdicts drawn per request; the majority wins.")
    batch_criteria: bool = Field(True, description="Judge all criteria of a case in one call.")
    params: dict[str, Any] = Field(
        default_factory=dict, description="Provider parameters (temperature, max_tokens...)."
    )
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
        return {
            "plugin": self.plugin,
            "model": self.model,
            "samples": self.samples,
            "batch_criteria": self.batch_criteria,
            "params": self.params,
            "options": self.options,
        }


@dataclass(frozen=True, slots=True)  # one per criterion of a suite: no __dict__ each
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
        parent: in a rubric tree, the id of the inner node holding it (:mod:`rubrictest.protocol.tree`);
            its own id then carries the path (``method.impl``).
        scale: the levels it is graded on (:mod:`rubrictest.protocol.scale`), or ``None`` for met / not
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
            object.__setattr__(
                self,
                "hash",
                criterion_hash(
                    self.text,
                    self.check,
                    self.params,
                    self.points,
                    self.must,
                    self.scale.as_dict() if self.scale is not None else None,
                ),
            )

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


def criterion_hash(
    text: str | None,
    check: str | None,
    params: Mapping[str, Any],
    points: float,
    must: bool,
    scale: Mapping[str, Any] | None = None,
) -> str:
    """The content hash of a criterion (first 16 hex digits of SHA-256); a graded ``scale``
    (its canonical form) is part of it, and a criterion without one hashes as it always did."""
    content: dict[str, Any] = {
        "text": text,
        "check": check,
        "params": dict(params),
        "points": float(points),
        "must": bool(must),
    }
    if scale is not None:
        content["scale"] = dict(scale)
    return content_hash(content)[:16]


@dataclass(frozen=True)
class Case:
    """One evaluation case of a suite, as judges and targets see it.

    ``criteria`` are the criteria judged: in a rubric tree, its leaves. ``nodes`` are the
    tree's inner nodes (never judged, see :mod:`rubrictest.protocol.tree`), and ``top_level`` the ids
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

        return Usage(
            add(self.input_tokens, other.input_tokens),
            add(self.output_tokens, other.output_tokens),
            add(self.cost_usd, other.cost_usd),
            add(self.latency_s, other.latency_s),
        )


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
    # The JSON texts of ``request`` and ``response`` where the component already encoded them
    # (the AttemptLog does, to search them for secrets): the store writes them as they are
    # instead of encoding a request of many kilobytes a second time. Set both or neither
    # from outside: ``None`` means "encode the value".
    request_json: str | None = field(default=None, repr=False, compare=False)
    response_json: str | None = field(default=None, repr=False, compare=False)


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


@dataclass(slots=True)  # one per criterion of a run: no __dict__ each
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
        level: the level a judge gave a criterion on a scale (:mod:`rubrictest.protocol.scale`; build
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


@dataclass
class CaseScore:
    """An aggregator's result for one case.

    Attributes:
        score: in [0, 1], or ``None`` when the rule has no score.
        passed: whether the case passes (threshold met and every ``must`` criterion passed).
        reason: a short explanation shown when the case fails.
        nodes: the score of every inner node of a rubric tree, by id, when the aggregator
            computes them its own way; ``None``: the engine stores :func:`rubrictest.protocol.tree.score_tree`'s.
    """

    score: float | None
    passed: bool
    reason: str = ""
    nodes: Mapping[str, NodeScore] | None = None
