"""Rubric generation: the :class:`Generator` base class, generated criteria, companion files.

A *generator* turns a case (its input, reference, and optionally labelled response pairs)
into rubric criteria. Generators are plugins registered through ``register_generators``;
``rubrictest generate`` runs one over a suite and writes what it produced to a *companion
file* that the suite names in ``include:``. The user's YAML is never rewritten.

How the pieces fit:

* A generator talks to a model through any registered *target* (``--model openai:gpt-4.1``,
  or ``python:module:function`` with scripted replies in tests), wrapped in a
  :class:`ModelClient`. :meth:`Generator.ask_json` asks for JSON, validates it against a JSON
  Schema, and asks again with the validation error when the reply is invalid; after
  ``max_attempts`` it raises :class:`GenerationError`, and ``generate`` writes nothing.
* Generators that filter criteria by their verdicts (contrastive, decompose) ask a *judge*
  through a :class:`JudgeClient`.
* Every :class:`GeneratedCriterion` carries its :class:`Provenance` (generator, model,
  prompt version, date) and its content hash; provenance is written under the criterion's
  ``meta``, which the suite format does not hash.
* The companion file (:class:`~rubrictest.suite.CompanionModel`) holds ``generated_by``,
  ``content_hash`` (of ``rubrics`` and ``cases`` without ``meta``), and
  ``cases: {case_id: [criteria]}``. A companion whose hash no longer matches was edited by
  hand: :func:`plan_companion` raises :class:`CompanionEditedError` instead of overwriting it.
"""

from __future__ import annotations

import abc
import asyncio
import datetime as _dt
import difflib
import json
import os
import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import jsonschema
import yaml

from .errors import RubricTestError, SuiteError
from .jsonl import read_jsonl
from .protocol import (
    Case,
    ComponentContext,
    ComponentSpec,
    Criterion,
    JudgeRequest,
    Outcome,
    Target,
    content_hash,
    criterion_hash,
)
from .suite import CompanionModel, CriterionModel, SuiteModel, parse_model, slugify

__all__ = [
    "CompanionEditedError", "CompanionPlan", "GeneratedCriterion", "GenerationError", "GenerationRequest",
    "Generator", "GeneratorContext", "JudgeClient", "LabelledPair", "LabelledResponse", "ModelClient",
    "Provenance", "check_companion", "companion_hash", "companion_path_for", "extract_json", "plan_companion",
    "read_labelled", "require_stats", "suite_cases", "write_companion",
]


class GenerationError(RubricTestError):
    """A generator could not produce criteria (invalid model output after retries, a
    missing model or judge, inconsistent options). Nothing is written."""


class CompanionEditedError(RubricTestError):
    """A companion file was edited by hand: its ``content_hash`` no longer matches."""


# --------------------------------------------------------------------------- criteria


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
        return {"generator": self.generator, "model": self.model, "prompt_version": self.prompt_version,
                "date": self.date}


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
        return Criterion(id=criterion_id or self.id or slugify(self.text), text=self.text,
                         points=self.points, must=self.must)

    def to_yaml(self) -> dict[str, Any]:
        """The criterion as written in a companion file (defaults left out)."""
        out: dict[str, Any] = {"id": self.id or slugify(self.text), "text": self.text}
        if self.points != 1.0:
            out["points"] = int(self.points) if float(self.points).is_integer() else self.points
        if self.must:
            out["must"] = True
        if self.kind:
            out["tags"] = [self.kind]
        out["meta"] = {**self.provenance.as_dict(), "content_hash": self.content_hash,
                       **({"kind": self.kind} if self.kind else {}), **dict(self.meta)}
        return out


# --------------------------------------------------------------------------- labelled data


@dataclass(frozen=True)
class LabelledPair:
    """Two responses to one case and which is better.

    Attributes:
        case_id: the suite case the responses answer.
        chosen: the preferred response.
        rejected: the other one.
        id: a name for the pair (``line-N`` by default), used as the judge request's target.
    """

    case_id: str
    chosen: str
    rejected: str
    id: str = ""


@dataclass(frozen=True)
class LabelledResponse:
    """One response to a case labelled good (``True``) or bad (``False``)."""

    case_id: str
    response: str
    good: bool
    id: str = ""


_GOOD = {"good": True, "bad": False, "1": True, "0": False, "true": True, "false": False,
         "pass": True, "fail": False}


def read_labelled(path: str | Path, *, case_ids: Iterable[str] | None = None
                  ) -> tuple[list[LabelledPair], list[LabelledResponse]]:
    """Read a labelled-responses file (JSONL, one object a line).

    Accepted rows:

    * ``{"case": ID, "chosen": TEXT, "rejected": TEXT}`` -- a preference pair;
    * ``{"case": ID, "output_1": TEXT, "output_2": TEXT, "label": 1 | 2}`` -- LLMBar's form,
      ``label`` names the better output;
    * ``{"case": ID, "response": TEXT, "label": good | bad | 1 | 0 | true | false}``.

    An optional ``id`` names the row. Blank lines are skipped.

    Args:
        path: the file.
        case_ids: when given, a row naming any other case is an error.

    Raises:
        GenerationError: naming the file and line of a missing field, a wrong type, a label
            outside the allowed values, or an unknown case.
    """
    path = Path(path)
    known = set(case_ids) if case_ids is not None else None
    pairs: list[LabelledPair] = []
    singles: list[LabelledResponse] = []
    for n, row in read_jsonl(path, error=GenerationError):
        where = f"{path}:{n}"

        def text_field(name: str, row: dict[str, Any] = row, where: str = where) -> str:
            if name not in row:
                raise GenerationError(f"{where}: missing field {name!r}")
            if not isinstance(row[name], str):
                raise GenerationError(f"{where}: field {name!r} must be a string")
            return str(row[name])

        case_id = text_field("case")
        if known is not None and case_id not in known:
            raise GenerationError(f"{where}: unknown case {case_id!r}; the suite's cases: "
                                  f"{', '.join(sorted(known))}")
        row_id = str(row.get("id") or f"line-{n}")
        if "chosen" in row or "rejected" in row:
            pairs.append(LabelledPair(case_id, text_field("chosen"), text_field("rejected"), row_id))
        elif "output_1" in row or "output_2" in row:
            first, second = text_field("output_1"), text_field("output_2")
            label = row.get("label")
            if label not in (1, 2, "1", "2"):
                raise GenerationError(f"{where}: field 'label' must be 1 or 2 (the better output), got {label!r}")
            better_first = str(label) == "1"
            pairs.append(LabelledPair(case_id, first if better_first else second,
                                      second if better_first else first, row_id))
        elif "response" in row:
            response = text_field("response")
            if "label" not in row:
                raise GenerationError(f"{where}: missing field 'label'")
            label = row["label"]
            key = str(label).lower() if isinstance(label, str | int | bool) else None
            if key not in _GOOD:
                raise GenerationError(f"{where}: field 'label' must be one of good, bad, 1, 0, true, false; "
                                      f"got {label!r}")
            singles.append(LabelledResponse(case_id, response, _GOOD[key], row_id))
        else:
            raise GenerationError(f"{where}: expected `chosen`/`rejected`, `output_1`/`output_2`/`label`, "
                                  f"or `response`/`label`; got keys {', '.join(sorted(row))}")
    if not pairs and not singles:
        raise GenerationError(f"{path}: no labelled responses in the file")
    return pairs, singles


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


# --------------------------------------------------------------------------- model and judge clients


def _build(kind: Literal["targets", "judges"], spec: ComponentSpec, context: ComponentContext) -> Any:
    from .plugins import build_component

    component = build_component(kind, spec, context)
    component.check_ready()
    return component


class ModelClient:
    """A registered target used as a text-completion model by a generator.

    Args:
        spec: the target to build (``openai:gpt-4.1``, ``python:module:function``...).
        context: base directory for relative paths in the spec.

    Raises:
        ConfigError: unknown plugin, missing key (from the target's ``check_ready``).
    """

    def __init__(self, spec: ComponentSpec, context: ComponentContext) -> None:
        self.spec = spec
        self.target: Target = _build("targets", spec, context)
        self._limit = asyncio.Semaphore(self.target.concurrency)
        self.calls = 0

    @property
    def label(self) -> str:
        """The model's label, recorded in provenance."""
        return self.spec.label

    async def complete(self, prompt: str, *, suite: str = "rubrictest-generate", request_id: str = "prompt") -> str:
        """Send ``prompt`` as a one-message case and return the reply text."""
        async with self._limit:
            self.calls += 1
            result = await self.target.generate(Case(suite=suite, id=request_id, input=prompt))
        return result.text

    async def aclose(self) -> None:
        """Release the target."""
        await self.target.aclose()


class JudgeClient:
    """A registered judge used by generators and ``rubric-quality`` to get verdicts.

    Args:
        spec: the judge to build.
        context: base directory for relative paths in the spec.
    """

    def __init__(self, spec: ComponentSpec, context: ComponentContext) -> None:
        self.spec = spec
        self.context = context
        self.judge = _build("judges", spec, context)
        self._limit = asyncio.Semaphore(self.judge.concurrency)
        self.errors: list[str] = []

    @property
    def label(self) -> str:
        """The judge's label."""
        return self.spec.label

    async def outcomes(self, case: Case, response: str, criteria: Sequence[Criterion], *,
                       response_id: str | None = None) -> dict[str, Outcome]:
        """Judge ``response`` against every criterion; return ``{criterion id: outcome}``.

        A judge error (an exception or an ``error`` verdict) gives outcome ``error`` for the
        criteria concerned, which callers treat as unknown; its reason is appended to
        :attr:`errors`.
        """
        batches = [tuple(criteria)] if self.judge.batch_criteria else [(c,) for c in criteria]
        out: dict[str, Outcome] = {c.id: "error" for c in criteria}

        async def one(batch: tuple[Criterion, ...]) -> None:
            async with self._limit:
                try:
                    result = await self.judge.judge(JudgeRequest(case=case, response=response, criteria=batch,
                                                                 target=response_id))
                except Exception as exc:  # noqa: BLE001 - an unjudged criterion is unknown, not fatal
                    self.errors.append(f"{type(exc).__name__}: {exc}")
                    return
            for verdict in result.verdicts:
                if verdict.criterion_id in out:
                    out[verdict.criterion_id] = verdict.outcome
                    if verdict.outcome == "error":
                        self.errors.append(verdict.error or "the judge returned an error verdict")

        await asyncio.gather(*(one(b) for b in batches))
        return out

    async def aclose(self) -> None:
        """Release the judge."""
        await self.judge.aclose()


# --------------------------------------------------------------------------- generators


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
            raise GenerationError(f"generator {self.name!r} needs a judge to filter criteria: give --judge "
                                  "PLUGIN:MODEL or set `judge:` in the suite")

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

    def criterion(self, text: str, *, points: float = 1.0, must: bool = False, kind: str | None = None,
                  **meta: Any) -> GeneratedCriterion:
        """A :class:`GeneratedCriterion` with this generator's provenance."""
        return GeneratedCriterion(text=" ".join(text.split()), provenance=self.provenance(), points=points,
                                  must=must, kind=kind, meta=meta)

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
            question = (f"{prompt}\n\nYour previous reply was invalid ({error}). Reply again with only a JSON "
                        f"value that matches this JSON Schema:\n{json.dumps(schema)}")
        snippet = " ".join(reply.split())[:160]
        raise GenerationError(f"generator {self.name!r}, {request_id}: the model's reply was not valid "
                              f"structured output after {attempts} attempt(s): {error}; last reply: {snippet!r}")


# --------------------------------------------------------------------------- suites and companions


def suite_cases(suite_path: str | Path) -> tuple[SuiteModel, list[Case]]:
    """Read a suite file's cases for generation.

    Unlike :func:`rubrictest.suite.load_suite` this accepts cases without criteria (the
    generator is about to write them) and ignores ``include``; criteria the case already has
    in the suite itself are attached (without judges).

    Raises:
        SuiteError: the file is not a valid suite.
    """
    path = Path(suite_path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SuiteError(f"cannot read the file: {exc.strerror}", path=str(path)) from None
    model, _ = parse_model(SuiteModel, text, str(path))
    assert isinstance(model, SuiteModel)
    name = model.suite or path.name.split(".", 1)[0].removeprefix("test_")
    cases: list[Case] = []
    for i, cm in enumerate(model.cases):
        crits: list[CriterionModel] = [c for r in cm.rubric for c in model.rubrics.get(r, [])] + list(cm.criteria)
        criteria = tuple(Criterion(id=c.id or slugify(c.text or c.check or "criterion"), text=c.text,
                                   check=c.check, params=dict(c.with_), points=c.points, must=c.must)
                         for c in crits)
        cases.append(Case(suite=name, id=cm.id or f"case-{i + 1}", input=cm.input,
                          messages=tuple(cm.messages) if cm.messages is not None else None,
                          reference=cm.reference, output=cm.output, criteria=criteria,
                          metadata=dict(cm.metadata), path=str(path)))
    return model, cases


def companion_path_for(suite_path: str | Path) -> Path:
    """The default companion of a suite: ``test_x.rubric.yaml`` -> ``test_x.generated.yaml``.

    The name deliberately does not match ``test_*.rubric.yaml``, so pytest never collects a
    companion as a suite of its own.
    """
    path = Path(suite_path)
    stem = re.sub(r"\.rubric\.ya?ml$|\.ya?ml$", "", path.name)
    return path.with_name(f"{stem}.generated.yaml")


def _criterion_dump(crit: CriterionModel) -> dict[str, Any]:
    return crit.model_dump(mode="json", by_alias=True, exclude={"meta"})


def companion_hash(companion: CompanionModel) -> str:
    """Hash of a companion's ``rubrics`` and ``cases`` without each criterion's ``meta``.

    Computed on the validated model, so formatting, comments and key order do not matter.
    """
    return content_hash({
        "rubrics": {name: [_criterion_dump(c) for c in crits] for name, crits in companion.rubrics.items()},
        "cases": {cid: [_criterion_dump(c) for c in crits] for cid, crits in companion.cases.items()},
    })


def check_companion(path: str | Path) -> str | None:
    """Why the companion at ``path`` cannot be overwritten safely, or ``None`` when it can.

    Returns a message when the file's ``content_hash`` is missing or differs from its
    content (it was edited by hand).

    Raises:
        SuiteError: the file is not a valid companion.
    """
    path = Path(path)
    comp, _ = parse_model(CompanionModel, path.read_text(encoding="utf-8"), str(path))
    assert isinstance(comp, CompanionModel)
    actual = companion_hash(comp)
    if comp.content_hash is None:
        return f"{path}: has no content_hash; it was not written by rubrictest generate"
    if comp.content_hash != actual:
        return (f"{path}: was edited by hand since it was generated (content_hash {comp.content_hash[:12]}… "
                f"but the content hashes to {actual[:12]}…)")
    return None


@dataclass
class CompanionPlan:
    """A companion file about to be written: its path, old and new text, and what changes.

    Attributes:
        path: the companion file.
        old_text: its current text ('' when it does not exist).
        new_text: the text :func:`write_companion` will write.
        added: number of criteria added.
        removed: number of criteria replaced (from an earlier run of the same generator).
        ids: the ids given to the generated criteria, per case, in the order generated.
    """

    path: Path
    old_text: str
    new_text: str
    added: int
    removed: int
    ids: dict[str, list[str]] = field(default_factory=dict)

    def diff(self) -> str:
        """Unified diff from the current to the new companion."""
        return "".join(difflib.unified_diff(
            self.old_text.splitlines(keepends=True), self.new_text.splitlines(keepends=True),
            fromfile=f"{self.path.name} (current)" if self.old_text else "/dev/null",
            tofile=f"{self.path.name} (generated)"))


_HEADER = ("# Generated by `rubrictest generate`. Criteria here run like hand-written ones.\n"
           "# content_hash detects hand edits: change the suite (or regenerate), not this file.\n")


def _unique_id(base: str, taken: set[str]) -> str:
    candidate, n = base, 2
    while candidate in taken:
        candidate = f"{base}-{n}"
        n += 1
    taken.add(candidate)
    return candidate


def plan_companion(path: str | Path, generated: Mapping[str, Sequence[GeneratedCriterion]], *,
                   generator: str, provenance: Mapping[str, Any],
                   existing_ids: Mapping[str, Iterable[str]] | None = None, force: bool = False) -> CompanionPlan:
    """Compute the companion file that adds ``generated`` criteria, without writing it.

    Criteria an earlier run of the same ``generator`` wrote for a regenerated case are
    replaced; everything else in the companion is kept. Ids are made unique within each case,
    against the companion and ``existing_ids`` (the suite's own criterion ids).

    Args:
        path: the companion file (need not exist).
        generated: ``{case_id: criteria}``.
        generator: the generator's name.
        provenance: the companion's ``generated_by`` mapping.
        existing_ids: criterion ids each case already has in the suite.
        force: overwrite a companion edited by hand.

    Raises:
        CompanionEditedError: the companion was edited by hand and ``force`` is false.
        SuiteError: the existing companion is not valid.
    """
    path = Path(path)
    old_text = path.read_text(encoding="utf-8") if path.exists() else ""
    cases: dict[str, list[dict[str, Any]]] = {}
    rubrics: dict[str, list[dict[str, Any]]] = {}
    removed = 0
    if old_text:
        problem = check_companion(path)
        if problem and not force:
            raise CompanionEditedError(f"{problem}. Not overwriting it: move your edits into the suite, or "
                                       "rerun with --force to discard them.")
        old, _ = parse_model(CompanionModel, old_text, str(path))
        assert isinstance(old, CompanionModel)
        rubrics = {n: [_dump_written(c) for c in crits] for n, crits in old.rubrics.items()}
        for cid, crits in old.cases.items():
            kept = [c for c in crits if not (cid in generated and c.meta.get("generator") == generator)]
            removed += len(crits) - len(kept)
            cases[cid] = [_dump_written(c) for c in kept]
    added = 0
    ids: dict[str, list[str]] = {}
    for cid, new in generated.items():
        out = cases.setdefault(cid, [])
        ids[cid] = []
        taken = set((existing_ids or {}).get(cid, ())) | {str(c["id"]) for c in out if c.get("id")}
        for crit in new:
            item = crit.to_yaml()
            item["id"] = _unique_id(crit.id or f"{generator}-{slugify(crit.text, 48)}", taken)
            ids[cid].append(item["id"])
            out.append(item)
            added += 1
    cases = {cid: crits for cid, crits in cases.items() if crits}
    body: dict[str, Any] = {"version": 1, "generated_by": dict(provenance)}
    model = CompanionModel.model_validate({"rubrics": rubrics, "cases": cases})
    body["content_hash"] = companion_hash(model)
    if rubrics:
        body["rubrics"] = rubrics
    body["cases"] = cases
    new_text = _HEADER + yaml.safe_dump(body, sort_keys=False, allow_unicode=True, width=100)
    return CompanionPlan(path, old_text, new_text, added, removed, ids)


def _dump_written(crit: CriterionModel) -> dict[str, Any]:
    """A criterion read back from a companion, in the form it is written (defaults left out)."""
    return crit.model_dump(mode="json", by_alias=True, exclude_defaults=True)


def write_companion(plan: CompanionPlan) -> None:
    """Write ``plan.new_text`` atomically (a temporary file renamed over the target)."""
    plan.path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{plan.path.name}.", dir=plan.path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(plan.new_text)
        os.replace(tmp, plan.path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
