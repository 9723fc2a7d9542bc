"""The pydantic models of suite files and companion files, and their JSON Schema.

Unknown keys are errors (``extra="forbid"``), so a typo such as ``critera:`` never silently
drops criteria. ``rubrictest schema`` prints :func:`json_schema`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator, model_validator
from pydantic.json_schema import models_json_schema

from ..protocol import ComponentSpec
from ..protocol.sentinel import SentinelSpec
from ..protocol.voting import PanelSpec

SCHEMA_VERSION = 1


def _judge_kind(value: Any) -> str:
    """A list of judges or a mapping with ``panel:`` is a panel; anything else one judge."""
    if isinstance(value, list | tuple | PanelSpec) or (isinstance(value, dict) and "panel" in value):
        return "judge-panel"
    return "one-judge"


# (tags that never equal a key of the data: error locations skip them)
JudgeOrPanel = Annotated[
    Annotated[ComponentSpec, Tag("one-judge")] | Annotated[PanelSpec, Tag("judge-panel")],
    Discriminator(_judge_kind),
]
"""``judge:`` -- one judge (``plugin:model`` or a mapping), or a panel: a list of judges or a
mapping with ``panel:`` (see :mod:`rubrictest.protocol.voting`)."""


class _Strict(BaseModel):
    # Non-finite numbers (``.inf``, ``.nan``) are never a valid weight, threshold or rate.
    model_config = ConfigDict(extra="forbid", populate_by_name=True, allow_inf_nan=False)


class ScaleModel(_Strict):
    """A graded scale (:mod:`rubrictest.protocol.scale`): the judge answers a level, the criterion passes
    from ``pass_at`` up, and contributes the level normalised into [0, 1] to the case score."""

    range: tuple[int, int] | None = Field(
        None, description="Integer levels from the first to the second (`[1, 5]`, `[1, 10]`)."
    )
    levels: dict[float, str] = Field(
        default_factory=dict,
        description="A description per level (with `range`: "
        "every level, or none); alone, the discrete levels themselves "
        "(`{0: ..., 0.25: ..., 0.5: ..., 0.75: ..., 1: ...}`).",
    )
    pass_at: float = Field(description="The lowest level at which the criterion passes.")

    @model_validator(mode="after")
    def _levels(self) -> ScaleModel:
        for level, text in self.levels.items():
            if not text.strip():
                raise ValueError(f"level {level:g} has an empty description")
        if self.range is not None:
            low, high = self.range
            if high <= low:
                raise ValueError(f"range [{low}, {high}]: the second level must be above the first")
            if high - low > 100:
                raise ValueError(f"range [{low}, {high}] has more than 101 levels")
            wanted = [float(v) for v in range(low, high + 1)]
            outside = [lv for lv in self.levels if lv not in wanted]
            if outside:
                raise ValueError(f"level {outside[0]:g} is outside the range [{low}, {high}]")
            missing = [lv for lv in wanted if lv not in self.levels]
            if self.levels and missing:
                raise ValueError(
                    f"level {missing[0]:g} has no description (describe every level of the range, or none)"
                )
        elif len(self.levels) < 2:
            raise ValueError("a scale needs `range: [low, high]`, or at least two `levels` with their descriptions")
        if self.pass_at not in self.values():
            raise ValueError(
                f"pass_at {self.pass_at:g} is not a level of the scale ({', '.join(f'{v:g}' for v in self.values())})"
            )
        return self

    def values(self) -> list[float]:
        """The levels, ascending."""
        if self.range is not None:
            return [float(v) for v in range(self.range[0], self.range[1] + 1)]
        return sorted(self.levels)


class CriterionModel(_Strict):
    """A criterion: a text for a model judge, or a deterministic ``check``; or, with
    ``criteria`` of its own, an inner node of a rubric tree (scored from its children, not
    judged).

    A plain string is shorthand for ``{text: ...}``.
    """

    id: str | None = Field(
        None,
        description="Unique among its siblings; default: a slug of the text. Inside a "
        "rubric tree an id may not contain '.', which joins the path.",
    )
    text: str | None = Field(
        None,
        description="What the judge is asked about the response (an inner node: what it stands for, shown in reports).",
    )
    check: str | None = Field(None, description="Deterministic judge: contains, regex, equals, json_schema, python...")
    with_: dict[str, Any] = Field(default_factory=dict, alias="with", description="Parameters of the check.")
    points: float = Field(1.0, description="Weight; negative points make a deduction (passes when not met).")
    weight: float | None = Field(
        None,
        ge=0,
        description="Weight among its siblings (default 1): the same as "
        "positive `points`, the name used in rubric trees.",
    )
    must: bool = Field(
        False,
        description="Hard rule: failing it (a leaf) or its subtree not passing (an inner "
        "node) fails the case whatever its score.",
    )
    judge: JudgeOrPanel | None = Field(
        None, description="Judge (or judge panel) for this criterion (an inner node: for its leaves)."
    )
    tags: list[str] = Field(
        default_factory=list, description="pytest markers and report groups (an inner node's apply to its leaves)."
    )
    meta: dict[str, Any] = Field(default_factory=dict, description="Free-form provenance; not judged, not hashed.")
    criteria: list[CriterionModel] | None = Field(
        None,
        description="Children: this criterion is an inner node of a rubric tree. Only leaves are judged; an "
        "inner node scores the weighted mean of its children.",
    )
    rubric: list[str] = Field(
        default_factory=list,
        description="Named rubrics whose criteria become children of this node (after its own `criteria`).",
    )
    threshold: float | None = Field(
        None,
        ge=0,
        le=1,
        description="Inner nodes: the subtree passes when its score reaches this (default: when every leaf passes).",
    )
    scale: ScaleModel | None = Field(
        None,
        description="Grade on a scale instead of met / not met: the judge "
        "answers a level; see rubrictest.protocol.scale.",
    )

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return {"text": value} if isinstance(value, str) else value

    @property
    def is_inner(self) -> bool:
        """Whether it has children (``criteria`` or ``rubric``): an inner node of a rubric tree."""
        return self.criteria is not None or bool(self.rubric)

    @property
    def effective_points(self) -> float:
        """Its weight among its siblings: ``weight`` when given, else ``points``."""
        return self.weight if self.weight is not None else self.points

    @model_validator(mode="after")
    def _text_or_check(self) -> CriterionModel:
        if self.weight is not None and "points" in self.model_fields_set:
            raise ValueError("give `weight` or `points`, not both (a weight is a positive `points`)")
        if self.is_inner:
            return self._inner_node()
        if self.threshold is not None:
            raise ValueError(
                "`threshold` applies to an inner node (a criterion with `criteria`); a leaf passes when it is met"
            )
        if not self.text and not self.check:
            raise ValueError("a criterion needs `text` (for a judge) or `check` (deterministic)")
        if self.scale is not None and self.check:
            raise ValueError("a `check` is met or not met; a `scale` is graded by a judge (give `text`)")
        if self.scale is not None and self.effective_points < 0:
            raise ValueError("a criterion on a `scale` cannot be a deduction (negative points)")
        if self.with_ and not self.check:
            raise ValueError("`with` gives parameters to a `check`; this criterion has none")
        return self

    def _inner_node(self) -> CriterionModel:
        if self.check or self.with_:
            raise ValueError(
                "a criterion with children (`criteria` or `rubric`) is an inner node of a rubric "
                "tree: it is scored from its children, never judged, so it cannot have "
                f"`{'check' if self.check else 'with'}`"
            )
        if "points" in self.model_fields_set:
            raise ValueError("an inner node takes `weight` (>= 0), not `points`")
        if self.scale is not None:
            raise ValueError("an inner node is scored from its children; a `scale` belongs on a leaf")
        if self.criteria is not None and not self.criteria and not self.rubric:
            raise ValueError("`criteria` is empty: an inner node needs at least one child")
        if not self.id and not self.text:
            raise ValueError("an inner node needs an `id` (or a `text` to make one from)")
        return self


class GateModel(_Strict):
    """Suite-level release gate: on the case pass rate, and (with a ``sentinel``) on the share
    of cases where the rubric and the sentinel disagree."""

    min_pass_rate: float | None = Field(None, ge=0, le=1, description="Lowest acceptable pass rate.")
    confidence: float = Field(0.95, gt=0, lt=1, description="Confidence of the Wilson lower bound.")
    max_disagreement: float | None = Field(
        None,
        ge=0,
        le=1,
        description=("Highest acceptable share of cases with a rubric-holistic disagreement (needs a `sentinel`)."),
    )

    @model_validator(mode="after")
    def _bounds_something(self) -> GateModel:
        if self.min_pass_rate is None and self.max_disagreement is None:
            raise ValueError("a gate needs `min_pass_rate`, `max_disagreement` or both")
        return self


class MessageModel(_Strict):
    """One chat message of a case's ``messages``."""

    role: Literal["system", "developer", "user", "assistant"] = Field(description="Who speaks.")
    content: str | list[dict[str, Any]] = Field(
        description="The text, or content parts as the provider's API takes them."
    )
    name: str | None = Field(None, description="An optional participant name.")


class CaseModel(_Strict):
    """One evaluation case."""

    id: str | None = Field(None, description="Unique in the suite; default case-N.")
    input: str | None = Field(None, description="The prompt sent to the target.")
    messages: list[MessageModel] | None = Field(None, description="Chat messages instead of input.")
    reference: str | None = Field(None, description="A reference answer, given to judges.")
    output: str | None = Field(None, description="A fixed response: no target call.")
    rubric: list[str] = Field(default_factory=list, description="Names of suite rubrics to apply.")
    criteria: list[CriterionModel] = Field(default_factory=list)
    threshold: float | None = Field(None, ge=0, le=1, description="Overrides the suite's threshold.")
    judge: JudgeOrPanel | None = Field(None, description="Judge (or judge panel) of this case's text criteria.")
    sentinel: SentinelSpec | None = Field(None, description="Overrides the suite's rubric-free sentinel judge.")
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
        None, description="Model(s) under test: 'plugin:model' or a mapping; a list runs every case on each."
    )
    judge: JudgeOrPanel | None = Field(
        None,
        description=(
            "Default judge of text criteria: 'plugin:model', a mapping, or a panel (a list of judges, or "
            "{panel: [...], vote: RULE, quorum: N, weights: [...], meta: JUDGE, top_k: K})."
        ),
    )
    threshold: float | None = Field(None, ge=0, le=1, description="Scored mode: the case passes at this score.")
    aggregator: str = Field("points", description="Case aggregation rule (points, strict, or a plugin's).")
    sentinel: SentinelSpec | None = Field(
        None,
        description=(
            "Rubric-free sentinel judge: sees each case's task and response, not its rubric; a case whose rubric "
            "score is high and the sentinel's low (or the reverse) is a rubric-holistic disagreement. "
            "'plugin:model', or {judge: SPEC, high: 0.7, low: 0.3}."
        ),
    )
    gate: GateModel | None = None
    tags: list[str] = Field(default_factory=list)
    rubrics: dict[str, list[CriterionModel]] = Field(default_factory=dict, description="Reusable criteria lists.")
    rubric: list[str] = Field(default_factory=list, description="Named rubrics applied to every case.")
    include: list[str] = Field(default_factory=list, description="Companion rubric files (generated criteria).")
    requires_env: list[str] = Field(
        default_factory=list,
        description="Environment variables (API keys) the suite needs; when one is unset the suite is skipped.",
    )
    cases: list[CaseModel] = Field(default_factory=list)
    cases_file: list[str] = Field(
        default_factory=list,
        description="JSONL files of cases (one case object per line, the keys of `cases` entries).",
    )

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


_SPEC_SHORTHAND = {"type": "string", "pattern": "^[^:\\s]+(:.*)?$", "description": "plugin:model shorthand"}
_SHORTHANDS = {
    "#/$defs/ComponentSpec": _SPEC_SHORTHAND,
    "#/$defs/TargetSpec": _SPEC_SHORTHAND,
    "#/$defs/JudgeSpec": _SPEC_SHORTHAND,
    "#/$defs/CriterionModel": {"type": "string", "minLength": 1, "description": "shorthand for {text: ...}"},
    "#/$defs/PanelSpec": {
        "type": "array",
        "minItems": 1,
        "description": "a panel of judges (majority vote)",
        "items": {"anyOf": [{"$ref": "#/$defs/JudgeSpec"}, {"type": "string", "pattern": "^[^:\\s]+(:.*)?$"}]},
    },
    "#/$defs/SentinelSpec": {
        "anyOf": [_SPEC_SHORTHAND, {"$ref": "#/$defs/JudgeSpec"}],
        "description": "the sentinel's judge spec alone",
    },
}
_SPEC_REF = "#/$defs/ComponentSpec"
_SPEC_KEYS = {
    "target": "#/$defs/TargetSpec",
    "judge": "#/$defs/JudgeSpec",
    "panel": "#/$defs/JudgeSpec",
    "meta": "#/$defs/JudgeSpec",
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


def _spec_refs(node: Any, ref: str | None = None) -> Any:
    """Point the specs under a ``target`` key at ``TargetSpec`` and under ``judge`` (and a
    panel's ``panel`` and ``meta``) at ``JudgeSpec``: the same fields, with each plugin's
    ``options`` model."""
    if isinstance(node, dict):
        if node.get("$ref") == _SPEC_REF and ref is not None:
            return {**node, "$ref": ref}
        out = {}
        for key, value in node.items():
            if key == "properties" and isinstance(value, dict):
                out[key] = {name: _spec_refs(sub, _SPEC_KEYS.get(name, ref)) for name, sub in value.items()}
            else:
                out[key] = _spec_refs(value, ref)
        return out
    if isinstance(node, list):
        return [_spec_refs(v, ref) for v in node]
    return node


def _options_rules(models: Mapping[str, type[BaseModel]], refs: Mapping[type[BaseModel], str]) -> dict[str, Any]:
    """A spec schema whose ``options`` follow the model of the plugin it names."""
    rules: list[dict[str, Any]] = [{"$ref": _SPEC_REF}]
    for plugin, model in sorted(models.items()):
        rules.append(
            {
                "if": {"properties": {"plugin": {"const": plugin}}, "required": ["plugin"]},
                "then": {"properties": {"options": {"$ref": refs[model]}}},
            }
        )
    return {"allOf": rules}


def json_schema(options: Mapping[str, Mapping[str, type[BaseModel]]] | None = None) -> dict[str, Any]:
    """The JSON Schema of suite files, generated from :class:`SuiteModel`.

    The pydantic models accept string shorthands (``"plugin:model"`` for a target or judge, a
    plain string for a criterion) through ``before`` validators; the schema says so too.

    Args:
        options: per kind (``targets``, ``judges``) and plugin name, the plugin's options
            model (``Component.options_model``): a spec naming that plugin must have
            ``options`` valid against it.
    """
    options = options or {}
    extra: list[type[BaseModel]] = list(dict.fromkeys(m for by_plugin in options.values() for m in by_plugin.values()))
    models: list[type[BaseModel]] = [SuiteModel, *extra]
    key_map, top = models_json_schema([(m, "validation") for m in models], ref_template="#/$defs/{model}")
    defs: dict[str, Any] = top.get("$defs", {})
    refs = {m: key_map[(m, "validation")]["$ref"] for m in extra}
    suite_def = key_map[(SuiteModel, "validation")]["$ref"].rsplit("/", 1)[-1]
    schema: dict[str, Any] = defs.pop(suite_def)
    defs["TargetSpec"] = _options_rules(options.get("targets", {}), refs)
    defs["JudgeSpec"] = _options_rules(options.get("judges", {}), refs)
    schema = _spec_refs(schema)
    defs = {name: _spec_refs(d) for name, d in defs.items()}
    schema = _add_shorthands(
        {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            **schema,
            "title": "rubrictest suite",
            "$defs": defs,
        }
    )
    # What the validators check beyond the field types: cases come inline or from a file.
    schema["anyOf"] = [{"required": ["cases"], "properties": {"cases": {"minItems": 1}}}, {"required": ["cases_file"]}]
    cases_file = schema["properties"]["cases_file"]
    schema["properties"]["cases_file"] = {
        "anyOf": [{"type": "string"}, {k: v for k, v in cases_file.items() if k not in ("description", "title")}],
        "description": cases_file.get("description", ""),
    }
    return schema
