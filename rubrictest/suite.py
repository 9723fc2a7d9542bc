"""The suite file format: pydantic models, YAML loading with line numbers, resolution.

A suite file is validated against :class:`SuiteModel` (``rubrictest schema`` prints the JSON
Schema generated from it). Unknown keys are errors, so a typo such as ``critera:`` never
silently drops criteria. Every error names the file, the line and the key path.

:func:`load_suite` returns a :class:`Suite`: shorthands expanded, named rubrics and companion
files merged, ids defaulted and checked, judges and targets resolved to
:class:`~rubrictest.protocol.ComponentSpec` -- what the engine and the pytest adapter use.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import SuiteError
from .protocol import Case, ComponentSpec, Criterion

SCHEMA_VERSION = 1


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class CriterionModel(_Strict):
    """A criterion: a text for a model judge, or a deterministic ``check``.

    A plain string is shorthand for ``{text: ...}``.
    """

    id: str | None = Field(None, description="Unique within the case; default: a slug of the text.")
    text: str | None = Field(None, description="What the judge is asked about the response.")
    check: str | None = Field(None, description="Deterministic judge: contains, regex, equals, json_schema, python...")
    with_: dict[str, Any] = Field(default_factory=dict, alias="with", description="Parameters of the check.")
    points: float = Field(1.0, description="Weight; negative points make a deduction (passes when not met).")
    must: bool = Field(False, description="Hard rule: failing it fails the case whatever its score.")
    judge: ComponentSpec | None = Field(None, description="Judge for this criterion only.")
    tags: list[str] = Field(default_factory=list, description="pytest markers and report groups.")
    meta: dict[str, Any] = Field(default_factory=dict, description="Free-form provenance; not judged, not hashed.")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return {"text": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _text_or_check(self) -> CriterionModel:
        if not self.text and not self.check:
            raise ValueError("a criterion needs `text` (for a judge) or `check` (deterministic)")
        if self.with_ and not self.check:
            raise ValueError("`with` gives parameters to a `check`; this criterion has none")
        return self


class GateModel(_Strict):
    """Suite-level release gate on the case pass rate."""

    min_pass_rate: float = Field(ge=0, le=1, description="Lowest acceptable pass rate.")
    confidence: float = Field(0.95, gt=0, lt=1, description="Confidence of the Wilson lower bound.")


class CaseModel(_Strict):
    """One evaluation case."""

    id: str | None = Field(None, description="Unique in the suite; default case-N.")
    input: str | None = Field(None, description="The prompt sent to the target.")
    messages: list[dict[str, Any]] | None = Field(None, description="Chat messages instead of input.")
    reference: str | None = Field(None, description="A reference answer, given to judges.")
    output: str | None = Field(None, description="A fixed response: no target call.")
    rubric: list[str] = Field(default_factory=list, description="Names of suite rubrics to apply.")
    criteria: list[CriterionModel] = Field(default_factory=list)
    threshold: float | None = Field(None, ge=0, le=1, description="Overrides the suite's threshold.")
    judge: ComponentSpec | None = None
    target: ComponentSpec | None = None
    tags: list[str] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_input(self) -> CaseModel:
        if self.input is not None and self.messages is not None:
            raise ValueError("give `input` or `messages`, not both")
        return self


class SuiteModel(_Strict):
    """A rubrictest suite file (``test_*.rubric.yaml``)."""

    version: Literal[1] = Field(1, description="Format version.")
    suite: str | None = Field(None, description="Suite name; default: the file name.")
    description: str | None = None
    target: ComponentSpec | list[ComponentSpec] | None = Field(
        None, description="Model(s) under test: 'plugin:model' or a mapping; a list runs every case on each.")
    judge: ComponentSpec | None = Field(None, description="Default judge for text criteria.")
    threshold: float | None = Field(None, ge=0, le=1, description="Scored mode: the case passes at this score.")
    aggregator: str = Field("points", description="Case aggregation rule (points, strict, or a plugin's).")
    gate: GateModel | None = None
    tags: list[str] = Field(default_factory=list)
    rubrics: dict[str, list[CriterionModel]] = Field(default_factory=dict, description="Reusable criteria lists.")
    rubric: list[str] = Field(default_factory=list, description="Named rubrics applied to every case.")
    include: list[str] = Field(default_factory=list, description="Companion rubric files (generated criteria).")
    requires_env: list[str] = Field(
        default_factory=list,
        description="Environment variables (API keys) the suite needs; when one is unset the suite is skipped.")
    cases: list[CaseModel] = Field(default_factory=list)
    cases_file: list[str] = Field(
        default_factory=list,
        description="JSONL files of cases (one case object per line, the keys of `cases` entries).")

    @field_validator("cases_file", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _has_cases(self) -> SuiteModel:
        if not self.cases and not self.cases_file:
            raise ValueError("a suite needs `cases` (or `cases_file`)")
        return self

    @field_validator("target", mode="before")
    @classmethod
    def _nonempty_targets(cls, value: Any) -> Any:
        if isinstance(value, list) and not value:
            raise ValueError("`target` is an empty list")
        return value


class CompanionModel(_Strict):
    """A companion rubric file, written by ``rubrictest generate`` and named in ``include``."""

    version: Literal[1] = 1
    generated_by: dict[str, Any] = Field(default_factory=dict, description="Generator provenance.")
    content_hash: str | None = Field(None, description="Hash of `rubrics` and `cases`, to detect hand edits.")
    rubrics: dict[str, list[CriterionModel]] = Field(default_factory=dict)
    cases: dict[str, list[CriterionModel]] = Field(default_factory=dict, description="Criteria added per case id.")


# --------------------------------------------------------------------------- YAML with lines

Path_ = tuple[str | int, ...]


# libyaml's parser when PyYAML was built with it: ~10x faster on large suites.
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _load_yaml(text: str, path: str) -> tuple[Any, dict[Path_, int]]:
    """Parse ``text`` once; return the data and a map from key path to 1-based line.

    Duplicate mapping keys are errors (PyYAML would silently keep the last one).
    """
    try:
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise SuiteError(f"malformed YAML: {problem}", path=path,
                         line=mark.line + 1 if mark else None) from None
    if node is None:
        raise SuiteError("the file is empty", path=path, line=1)
    lines: dict[Path_, int] = {}
    _walk(node, (), lines, path)
    return data, lines


def _walk(node: yaml.Node, at: Path_, lines: dict[Path_, int], path: str) -> None:
    lines.setdefault(at, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            line = key_node.start_mark.line + 1
            if key in seen:
                raise SuiteError(f"duplicate key {key!r} (first at line {seen[key]})", path=path, line=line,
                                 key=_dotted((*at, key)))
            seen[key] = line
            lines[(*at, key)] = line
            _walk(value_node, (*at, key), lines, path)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, (*at, i), lines, path)


def _dotted(at: Iterable[str | int]) -> str:
    out = ""
    for part in at:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _data_path(data: Any, loc: tuple[Any, ...]) -> Path_:
    """Keep the parts of a pydantic error location that exist in the data (drops union tags)."""
    out: list[str | int] = []
    cur = data
    for part in loc:
        if isinstance(cur, dict) and part in cur:
            out.append(part)
            cur = cur[part]
        elif isinstance(cur, list) and isinstance(part, int) and 0 <= part < len(cur):
            out.append(part)
            cur = cur[part]
        # anything else is a union tag or a model name that pydantic adds: skip it
    return tuple(out)


def _line_for(lines: dict[Path_, int], at: Path_) -> int | None:
    while True:
        if at in lines:
            return lines[at]
        if not at:
            return None
        at = at[:-1]


def _validation_error(exc: ValidationError, data: Any, lines: dict[Path_, int], path: str,
                      model: type[BaseModel]) -> SuiteError:
    messages: list[str] = []
    first: tuple[int | None, str] | None = None
    for err in exc.errors():
        loc = tuple(err["loc"])
        at = _data_path(data, loc)
        if err["type"] == "extra_forbidden":
            key = loc[-1]
            line = _line_for(lines, at)
            allowed = _allowed_keys(model, at[:-1])
            hint = difflib.get_close_matches(str(key), allowed, n=1)
            msg = f"unknown key {key!r}" + (f" (did you mean {hint[0]!r}?)" if hint else "")
            if allowed:
                msg += f"; allowed keys: {', '.join(allowed)}"
        else:
            line = _line_for(lines, at)
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "missing":
                msg = f"missing required key {loc[-1]!r}"
        dotted = _dotted(at) or "(top level)"
        messages.append(f"line {line}: {dotted}: {msg}")
        if first is None:
            first = (line, dotted)
    assert first is not None
    text = messages[0].split(": ", 2)[2] if len(messages) == 1 else \
        f"{len(messages)} errors:\n  " + "\n  ".join(messages)
    return SuiteError(text, path=path, line=first[0], key=first[1])


def _allowed_keys(model: type[BaseModel], at: Path_) -> list[str]:
    """The keys allowed at ``at`` inside ``model`` (for unknown-key hints)."""
    current: Any = model
    for part in at:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return []
        f = next((f for n, f in current.model_fields.items() if (f.alias or n) == part), None)
        if f is None:
            return []
        current = _inner_model(f.annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [f.alias or n for n, f in current.model_fields.items()]
    return []


def _inner_model(annotation: Any) -> Any:
    args = getattr(annotation, "__args__", None)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in args or ():
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def parse_model(model: type[BaseModel], text: str, path: str) -> tuple[Any, dict[Path_, int]]:
    """Parse YAML ``text`` and validate it against ``model``; errors carry file, line and key."""
    data, lines = _load_yaml(text, path)
    if not isinstance(data, dict):
        raise SuiteError(f"expected a mapping at the top level, got {type(data).__name__}", path=path, line=1)
    try:
        return model.model_validate(data), lines
    except ValidationError as exc:
        raise _validation_error(exc, data, lines, path, model) from None


# --------------------------------------------------------------------------- resolution


@dataclass(frozen=True)
class CaseRun:
    """A case bound to the target that answers it (one per case and target)."""

    case: Case
    target: ComponentSpec | None
    target_label: str | None = None

    @property
    def key(self) -> str:
        """The case part of node ids: ``id`` or ``id[target]``."""
        return f"{self.case.id}[{self.target_label}]" if self.target_label else self.case.id


@dataclass
class Suite:
    """A loaded, resolved suite."""

    path: Path
    name: str
    model: SuiteModel
    runs: list[CaseRun] = field(default_factory=list)
    lines: dict[Path_, int] = field(default_factory=dict)
    aggregator: str = "points"

    @property
    def gate(self) -> GateModel | None:
        return self.model.gate

    def target_location(self, run: CaseRun) -> tuple[int | None, str]:
        """Line and key path where ``run``'s target is written (the case's or the suite's)."""
        for i, cm in enumerate(self.model.cases):
            if (cm.id or f"case-{i + 1}") == run.case.id and cm.target is not None:
                return _line_for(self.lines, ("cases", i, "target")), f"cases[{i}].target"
        if isinstance(self.model.target, list):
            for i, spec in enumerate(self.model.target):
                if spec == run.target:
                    return _line_for(self.lines, ("target", i)), f"target[{i}]"
        return _line_for(self.lines, ("target",)), "target"


def slugify(text: str, limit: int = 60) -> str:
    """A criterion id from its text: lower-case words joined by ``-``."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    if len(slug) > limit:
        slug = slug[:limit].rsplit("-", 1)[0]
    return slug or "criterion"


def suite_name_from_path(path: Path) -> str:
    """``test_support.rubric.yaml`` -> ``support``."""
    name = path.name.split(".", 1)[0]
    return name.removeprefix("test_") or name


def load_suite(path: str | Path, *, display_path: str | None = None,
               model: tuple[SuiteModel, dict[Path_, int]] | None = None) -> Suite:
    """Load, validate and resolve a suite file.

    Args:
        path: the suite file.
        display_path: how to name the file in errors (default: ``path`` as given).
        model: the result of :func:`read_suite_model`, when the caller already parsed the file.

    Raises:
        SuiteError: malformed YAML, schema violations, unknown keys, duplicate ids, unknown
            rubric names, unreadable companion files -- naming file, line and key.
    """
    path = Path(path)
    shown = display_path or str(path)
    parsed, lines = model if model is not None else read_suite_model(path, shown)
    return _resolve(parsed, lines, path, shown)


def read_suite_model(path: Path, shown: str) -> tuple[SuiteModel, dict[Path_, int]]:
    """Parse and validate a suite file without resolving it."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SuiteError(f"cannot read the file: {exc.strerror}", path=shown) from None
    model, lines = parse_model(SuiteModel, text, shown)
    assert isinstance(model, SuiteModel)
    return model, lines


def missing_env(model: SuiteModel) -> list[str]:
    """The variables of ``requires_env`` that are unset or empty."""
    import os

    return [var for var in model.requires_env if not os.environ.get(var)]


def resolve_model(model: SuiteModel, path: Path, shown: str) -> Suite:
    """Resolve a :class:`SuiteModel` built in code rather than read from a file.

    ``path`` stands for the file: relative paths (``include``, ``jsonl:``) resolve against its
    directory. ``shown`` names it in errors.
    """
    return _resolve(model, {}, path, shown)


def _resolve(model: SuiteModel, lines: dict[Path_, int], path: Path, shown: str) -> Suite:
    name = model.suite or suite_name_from_path(path)
    rubrics: dict[str, list[tuple[CriterionModel, str, int | None]]] = {
        rname: [(c, shown, _line_for(lines, ("rubrics", rname, i))) for i, c in enumerate(crits)]
        for rname, crits in model.rubrics.items()}
    companion_cases: dict[str, list[tuple[CriterionModel, str, int | None]]] = {}
    for i, inc in enumerate(model.include):
        comp_path = (path.parent / inc)
        comp_shown = str(Path(shown).parent / inc)
        try:
            comp_text = comp_path.read_text(encoding="utf-8")
        except OSError as exc:
            raise SuiteError(f"cannot read included file {inc!r}: {exc.strerror}", path=shown,
                             line=_line_for(lines, ("include", i)), key=f"include[{i}]") from None
        comp, comp_lines = parse_model(CompanionModel, comp_text, comp_shown)
        assert isinstance(comp, CompanionModel)
        for rname, crits in comp.rubrics.items():
            rubrics.setdefault(rname, []).extend(
                (c, comp_shown, _line_for(comp_lines, ("rubrics", rname, j))) for j, c in enumerate(crits))
        for cid, crits in comp.cases.items():
            companion_cases.setdefault(cid, []).extend(
                (c, comp_shown, _line_for(comp_lines, ("cases", cid, j))) for j, c in enumerate(crits))

    if isinstance(model.target, list):
        suite_targets: list[ComponentSpec | None] = list(model.target)
    else:
        suite_targets = [model.target]
    labels = [t.label for t in suite_targets if t is not None]
    if len(set(labels)) != len(labels):
        raise SuiteError("two targets have the same label; give them distinct `name`s", path=shown,
                         line=_line_for(lines, ("target",)), key="target")

    runs: list[CaseRun] = []
    case_ids: dict[str, int | None] = {}
    suite_lines, suite_shown = lines, shown
    all_cases: list[tuple[CaseModel, Path_, dict[Path_, int], str]] = [
        (cm, ("cases", ci), lines, shown) for ci, cm in enumerate(model.cases)]
    for fi, ref in enumerate(model.cases_file):
        all_cases.extend(_read_cases_file(path.parent / ref, str(Path(shown).parent / ref), shown,
                                          _line_for(lines, ("cases_file", fi)), len(all_cases)))
    for ci, (cm, at, lines, shown) in enumerate(all_cases):
        case_line = _line_for(lines, at)
        cid = cm.id or f"case-{ci + 1}"
        if not re.fullmatch(r"[^\s\[\]:/]+", cid):
            raise SuiteError(f"case id {cid!r} may not contain spaces, brackets, colons or slashes",
                             path=shown, line=_line_for(lines, (*at, "id")), key=_dotted((*at, "id")))
        if cid in case_ids:
            raise SuiteError(f"duplicate case id {cid!r} (first at line {case_ids[cid]})", path=shown,
                             line=_line_for(lines, (*at, "id")) or case_line, key=_dotted((*at, "id")))
        case_ids[cid] = case_line
        judge = cm.judge or model.judge
        sources: list[tuple[CriterionModel, str, int | None, Path_]] = []
        named: list[tuple[str, dict[Path_, int], str, Path_]] = [
            (r, suite_lines, suite_shown, ("rubric", ri)) for ri, r in enumerate(model.rubric)]
        named += [(r, lines, shown, (*at, "rubric", ri)) for ri, r in enumerate(cm.rubric)]
        for rname, where_lines, where_shown, rat in named:
            if rname not in rubrics:
                raise SuiteError(
                    f"unknown rubric {rname!r}; defined rubrics: {', '.join(sorted(rubrics)) or 'none'}",
                    path=where_shown, line=_line_for(where_lines, rat), key=_dotted(rat))
            sources.extend((c, src, ln, ("rubrics", rname, j)) for j, (c, src, ln) in enumerate(rubrics[rname]))
        sources.extend((c, src, ln, ("cases", cid, j)) for j, (c, src, ln) in enumerate(companion_cases.get(cid, [])))
        sources.extend((c, shown, _line_for(lines, (*at, "criteria", i)), (*at, "criteria", i))
                       for i, c in enumerate(cm.criteria))
        if not sources:
            raise SuiteError(f"case {cid!r} has no criteria (add `criteria:` or `rubric:`)", path=shown,
                             line=case_line, key=_dotted(at))
        criteria: list[Criterion] = []
        seen: dict[str, tuple[str, int | None]] = {}
        for crit, src, ln, cat in sources:
            crid = crit.id or slugify(crit.text or crit.check or "criterion")
            if crid in seen:
                first_src, first_line = seen[crid]
                hint = "" if crit.id else " (ids default to a slug of the text: give one an `id`)"
                raise SuiteError(f"duplicate criterion id {crid!r} in case {cid!r} "
                                 f"(first at {first_src}:{first_line}){hint}", path=src, line=ln,
                                 key=_dotted(cat))
            seen[crid] = (src, ln)
            if crit.check:
                spec = ComponentSpec(plugin=crit.check)
            else:
                spec_or_none = crit.judge or judge
                if spec_or_none is None:
                    raise SuiteError(
                        f"criterion {crid!r} needs a judge: set `judge:` on the suite, the case or the "
                        "criterion, or make it a deterministic `check:`", path=src, line=ln, key=_dotted(cat))
                spec = spec_or_none
            criteria.append(Criterion(
                id=crid, text=crit.text, check=crit.check, params=dict(crit.with_), points=crit.points,
                must=crit.must, tags=tuple(dict.fromkeys([*model.tags, *cm.tags, *crit.tags])),
                judge=spec, line=ln, source=src, key=_dotted(cat)))
        threshold = cm.threshold if cm.threshold is not None else model.threshold
        case = Case(suite=name, id=cid, input=cm.input,
                    messages=tuple(cm.messages) if cm.messages is not None else None,
                    reference=cm.reference, output=cm.output, criteria=tuple(criteria), threshold=threshold,
                    tags=tuple(dict.fromkeys([*model.tags, *cm.tags])), metadata=dict(cm.metadata),
                    path=shown, line=case_line)
        if cm.output is not None:
            runs.append(CaseRun(case, None, None))
            continue
        targets = [cm.target] if cm.target is not None else suite_targets
        if targets == [None]:
            raise SuiteError(f"case {cid!r} has no `output` and the suite names no `target`", path=shown,
                             line=case_line, key=_dotted(at))
        multi = len(targets) > 1
        for t in targets:
            assert t is not None
            runs.append(CaseRun(case, t, t.label if multi else None))
    return Suite(path=path, name=name, model=model, runs=runs, lines=suite_lines, aggregator=model.aggregator)


def _read_cases_file(file: Path, shown: str, suite_shown: str, ref_line: int | None,
                     offset: int) -> list[tuple[CaseModel, Path_, dict[Path_, int], str]]:
    """The cases of a ``cases_file`` JSONL, each with the line it came from."""
    from .jsonl import read_jsonl

    if not file.is_file():
        raise SuiteError(f"cases_file not found: {shown}", path=suite_shown, line=ref_line, key="cases_file")
    out: list[tuple[CaseModel, Path_, dict[Path_, int], str]] = []
    try:
        rows = list(read_jsonl(file, error=SuiteError))
    except SuiteError as exc:
        raise SuiteError(str(exc), path=suite_shown, line=ref_line, key="cases_file") from None
    for n, row in rows:
        at: Path_ = ("cases", offset + len(out))
        try:
            cm = CaseModel.model_validate(row)
        except ValidationError as exc:
            err = _validation_error(exc, row, {(): n}, shown, CaseModel)
            raise SuiteError(err.message, path=shown, line=n, key=err.key) from None
        out.append((cm, at, {at: n}, shown))
    return out


_SHORTHANDS = {
    "#/$defs/ComponentSpec": {"type": "string", "pattern": "^[^:\\s]+(:.*)?$",
                              "description": "plugin:model shorthand"},
    "#/$defs/CriterionModel": {"type": "string", "minLength": 1, "description": "shorthand for {text: ...}"},
}


def _add_shorthands(node: Any) -> Any:
    """Allow the string shorthands the validators accept wherever a spec or criterion is expected."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if ref in _SHORTHANDS and len(node) == 1:
            return {"anyOf": [{"$ref": ref}, _SHORTHANDS[ref]]}
        return {k: _add_shorthands(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_add_shorthands(v) for v in node]
    return node


def json_schema() -> dict[str, Any]:
    """The JSON Schema of suite files, generated from :class:`SuiteModel`.

    The pydantic models accept string shorthands (``"plugin:model"`` for a target or judge, a
    plain string for a criterion) through ``before`` validators; the schema says so too.
    """
    schema: dict[str, Any] = _add_shorthands(SuiteModel.model_json_schema(by_alias=True))
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "rubrictest suite"
    # What the validators check beyond the field types: cases come inline or from a file.
    schema["anyOf"] = [{"required": ["cases"], "properties": {"cases": {"minItems": 1}}},
                       {"required": ["cases_file"]}]
    cases_file = schema["properties"]["cases_file"]
    schema["properties"]["cases_file"] = {"anyOf": [{"type": "string"}, {k: v for k, v in cases_file.items()
                                                                          if k not in ("description", "title")}],
                                          "description": cases_file.get("description", "")}
    return schema
