"""The Generator base class, generated criteria and their provenance."""

from __future__ import annotations

import abc
import datetime as _dt
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from ..errors import RubricTestError
from ..protocol import (
    Case,
    Criterion,
    criterion_hash,
)
from ..suite import slugify
from ._clients import ModelClient

if TYPE_CHECKING:
    from ._clients import JudgeClient
    from ._labelled import LabelledPair, LabelledResponse


class GenerationError(RubricTestError):
    """A generator could not produce criteria (invalid model output after retries, a
    missing model or judge, inconsistent options). Nothing is written."""


class CompanionEditedError(RubricTestError):
    """A companion file was edited by hand: its ``content_hash`` no longer matches."""


@dataclass(frozen=True)
class Provenance:
    """Where a generated criterion comes from.

    Attributes:
        generator: the registered generator name (``checklist``...).
        model: label of the model that wrote it (``openai:gpt-4.1``), or ``None``.
        prompt_version: the generator's :attr:`Generator.prompt_version`.
        date: ISO date (UTC) of generation.
    """

    generator: str
    model: str | None
    prompt_version: str
    date: str

    def as_dict(self) -> dict[str, Any]:
        """The provenance as written under a criterion's ``meta``."""
        return {
            "generator": self.generator,
            "model": self.model,
            "prompt_version": self.prompt_version,
            "date": self.date,
        }


@dataclass(frozen=True)
class GeneratedCriterion:
    """A criterion a generator proposes, with its provenance.

    Attributes:
        text: what a judge is asked about the response.
        provenance: generator, model, prompt version and date.
        id: criterion id; assigned from the text when the companion is written if empty.
        points: weight; negative for a deduction (passes when *not* met).
        must: a hard rule.
        kind: the generator's category (``checklist``, ``primary``, ``secondary``,
            ``deduction``, ``hard_rule``, ``principle``...); also written as a tag.
        meta: extra provenance (exemplars used, filter statistics); not hashed.
    """

    text: str
    provenance: Provenance
    id: str = ""
    points: float = 1.0
    must: bool = False
    kind: str | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)

    @property
    def content_hash(self) -> str:
        """The criterion's content hash, as the suite loader computes it (text, points, must)."""
        return criterion_hash(self.text, None, {}, self.points, self.must)

    def to_criterion(self, criterion_id: str | None = None) -> Criterion:
        """This criterion as a :class:`rubrictest.Criterion` (to ask a judge about it)."""
        return Criterion(
            id=criterion_id or self.id or slugify(self.text), text=self.text, points=self.points, must=self.must
        )

    def to_yaml(self) -> dict[str, Any]:
        """The criterion as written in a companion file (defaults left out)."""
        out: dict[str, Any] = {"id": self.id or slugify(self.text), "text": self.text}
        if self.points != 1.0:
            out["points"] = int(self.points) if float(self.points).is_integer() else self.points
        if self.must:
            out["must"] = True
        if self.kind:
            out["tags"] = [self.kind]
        out["meta"] = {
            **self.provenance.as_dict(),
            "content_hash": self.content_hash,
            **({"kind": self.kind} if self.kind else {}),
            **dict(self.meta),
        }
        return out


def require_stats(what: str) -> None:
    """Raise a :class:`GenerationError` when numpy or scikit-learn (the ``stats`` extra) is missing.

    Generation and quality modules import them lazily, so that loading the plugins and the CLI
    never needs them; call this first in code that does.
    """
    try:
        import numpy  # noqa: F401
        import sklearn  # noqa: F401
    except ImportError:
        raise GenerationError(f"{what} needs numpy and scikit-learn: pip install 'rubrictest[stats]'") from None


def extract_json(reply: str) -> Any:
    """Parse the JSON value in a model reply (a bare value, or inside a Markdown fence).

    Raises:
        ValueError: no JSON value could be parsed.
    """
    text = reply.strip()
    fence = re.search(r"```(?:json)?\s*(.*?)```", text, re.DOTALL)
    if fence:
        text = fence.group(1).strip()
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    start = min((i for i in (text.find("{"), text.find("[")) if i >= 0), default=-1)
    if start >= 0:
        try:
            value, _ = json.JSONDecoder().raw_decode(text[start:])
            return value
        except json.JSONDecodeError as exc:
            raise ValueError(f"the reply is not valid JSON: {exc.msg} (char {exc.pos})") from None
    raise ValueError("the reply contains no JSON object")


@dataclass(frozen=True)
class GenerationRequest:
    """What a generator gets for one case.

    Attributes:
        case: the case (input or messages, reference), with the criteria it already has.
        pairs: labelled preference pairs for this case (``--pairs``).
        responses: single labelled responses for this case.
    """

    case: Case
    pairs: tuple[LabelledPair, ...] = ()
    responses: tuple[LabelledResponse, ...] = ()


@dataclass
class GeneratorContext:
    """What a generator factory gets.

    Attributes:
        model: the model that writes rubrics (``None`` when ``--model`` was not given).
        judge: the judge that filters criteria by their verdicts (``None`` when none is set).
        options: generator-specific settings (``--option key=value``), strings as given.
        base_dir: the suite's directory; relative paths in options resolve against it.
        suite_cases: every case of the suite (retrieval uses the others as exemplars).
        max_attempts: how many times a reply is asked for before giving up.
        date: the generation date recorded in provenance (ISO, UTC).
    """

    model: ModelClient | None = None
    judge: JudgeClient | None = None
    options: Mapping[str, str] = field(default_factory=dict)
    base_dir: Path = field(default_factory=Path.cwd)
    suite_cases: Sequence[Case] = ()
    max_attempts: int = 3
    date: str = field(default_factory=lambda: _dt.datetime.now(_dt.UTC).date().isoformat())


class Generator(abc.ABC):
    """Base class of rubric generators. Subclass it and implement :meth:`generate`.

    Register the subclass (a valid factory: it is called with a :class:`GeneratorContext`)::

        @hookimpl
        def register_generators(register):
            register("mine", MyGenerator)

    Class attributes a subclass sets:
        name: the registered name, recorded in provenance.
        prompt_version: bump it whenever the prompt changes; recorded in provenance.
        needs_model: ``generate`` fails early with a clear message when no ``--model`` is given.
        needs_pairs: fails early when no ``--pairs`` file is given.
        needs_judge: fails early when no judge is available (``--judge`` or the suite's).
        uses_judge: a judge is built and given in the context when one is available (implied by
            ``needs_judge``); a generator that only *may* filter sets this.
        reply_schema: the JSON Schema of the model's reply, for :meth:`ask_json`.
    """

    name: ClassVar[str] = ""
    prompt_version: ClassVar[str] = "1"
    needs_model: ClassVar[bool] = True
    needs_pairs: ClassVar[bool] = False
    needs_judge: ClassVar[bool] = False
    uses_judge: ClassVar[bool] = False
    reply_schema: ClassVar[dict[str, Any]] = {"type": "object"}

    def __init__(self, context: GeneratorContext) -> None:
        self.context = context
        if self.needs_model and context.model is None:
            raise GenerationError(f"generator {self.name!r} needs a model: give --model PLUGIN:MODEL")
        if self.needs_judge and context.judge is None:
            raise GenerationError(
                f"generator {self.name!r} needs a judge to filter criteria: give --judge "
                "PLUGIN:MODEL or set `judge:` in the suite"
            )

    @property
    def model(self) -> ModelClient:
        """The model client (present whenever :attr:`needs_model` is true)."""
        if self.context.model is None:
            raise GenerationError(f"generator {self.name!r} needs a model: give --model PLUGIN:MODEL")
        return self.context.model

    def option(self, key: str, default: str) -> str:
        """A ``--option key=value`` setting, or ``default``."""
        return str(self.context.options.get(key, default))

    def int_option(self, key: str, default: int, *, minimum: int = 0) -> int:
        """An integer option; a non-integer or a value under ``minimum`` is a GenerationError."""
        raw = self.context.options.get(key)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise GenerationError(f"generator {self.name!r}: option {key}={raw!r} is not an integer") from None
        if value < minimum:
            raise GenerationError(f"generator {self.name!r}: option {key}={value} must be at least {minimum}")
        return value

    def float_option(self, key: str, default: float) -> float:
        """A number option; a non-number is a GenerationError."""
        raw = self.context.options.get(key)
        if raw is None:
            return default
        try:
            return float(raw)
        except ValueError:
            raise GenerationError(f"generator {self.name!r}: option {key}={raw!r} is not a number") from None

    def provenance(self) -> Provenance:
        """The provenance stamped on every criterion this generator writes."""
        model = self.context.model.label if self.context.model is not None else None
        return Provenance(self.name, model, self.prompt_version, self.context.date)

    def criterion(
        self, text: str, *, points: float = 1.0, must: bool = False, kind: str | None = None, **meta: Any
    ) -> GeneratedCriterion:
        """A :class:`GeneratedCriterion` with this generator's provenance."""
        return GeneratedCriterion(
            text=" ".join(text.split()), provenance=self.provenance(), points=points, must=must, kind=kind, meta=meta
        )

    async def prepare(self, requests: Sequence[GenerationRequest]) -> None:  # noqa: B027 - optional hook
        """Called once with every request before any :meth:`generate` (build an index...)."""

    @abc.abstractmethod
    async def generate(self, request: GenerationRequest) -> list[GeneratedCriterion]:
        """Return the criteria for one case.

        Raise :class:`GenerationError` when none can be produced; ``rubrictest generate`` then
        writes nothing.
        """

    async def ask_json(self, prompt: str, *, request_id: str, schema: Mapping[str, Any] | None = None) -> Any:
        """Ask the model for JSON valid against ``schema`` (default :attr:`reply_schema`).

        An invalid reply is answered with the validation error and the question is asked
        again, up to ``context.max_attempts`` times in all.

        Raises:
            GenerationError: no valid reply after the last attempt; the message holds the
                last error and the start of the last reply.
        """
        import jsonschema  # here: collection loads the generator plugins, few runs generate

        schema = dict(schema if schema is not None else self.reply_schema)
        validator = jsonschema.validators.validator_for(schema)(schema)
        attempts = max(1, self.context.max_attempts)
        question = prompt
        error = ""
        reply = ""
        for attempt in range(1, attempts + 1):
            try:
                reply = await self.model.complete(question, request_id=f"{request_id}#{attempt}")
            except RubricTestError as exc:
                raise GenerationError(f"generator {self.name!r}, {request_id}: the model call failed: {exc}") from None
            try:
                value = extract_json(reply)
            except ValueError as exc:
                error = str(exc)
            else:
                best = jsonschema.exceptions.best_match(validator.iter_errors(value))
                if best is None:
                    return value
                where = "/".join(str(p) for p in best.absolute_path) or "(root)"
                error = f"at {where}: {best.message}"
            question = (
                f"{prompt}\n\nYour previous reply was invalid ({error}). Reply again with only a JSON "
                f"value that matches this JSON Schema:\n{json.dumps(schema)}"
            )
        snippet = " ".join(reply.split())[:160]
        raise GenerationError(
            f"generator {self.name!r}, {request_id}: the model's reply was not valid "
            f"structured output after {attempts} attempt(s): {error}; last reply: {snippet!r}"
        )
