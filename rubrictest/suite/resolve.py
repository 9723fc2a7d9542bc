"""Resolution: a validated suite model becomes a :class:`Suite` of :class:`CaseRun`s.

Shorthands expanded, named rubrics and companion files merged, ids defaulted and checked,
judges and targets resolved to :class:`~rubrictest.protocol.ComponentSpec` -- what the
engine and the pytest adapter use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from pydantic import ValidationError

from ..errors import OptionsError, SuiteError
from ..protocol import Case, ComponentSpec, Criterion
from ..protocol.sentinel import SentinelSpec
from ..protocol.tree import RubricNode
from ..protocol.voting import PanelSpec
from .ids import id_problem, show_id, slug_id, suite_name_from_path
from .models import CaseModel, CompanionModel, GateModel, SuiteModel
from .parsing import Path_, dotted, line_for, parse_model, read_text, validation_error
from .rubric_tree import Sourced, TreeContext, expand


@dataclass(frozen=True)
class CaseRun:
    """A case bound to the target that answers it (one per case and target)."""

    case: Case
    target: ComponentSpec | None
    target_label: str | None = None
    sentinel: SentinelSpec | None = None

    @property
    def key(self) -> str:
        """The case part of node ids: ``id`` or ``id[target]``."""
        return f"{self.case.id}[{self.target_label}]" if self.target_label else self.case.id


@dataclass(frozen=True)
class TruncatedId:
    """A criterion id generated from a text longer than :data:`ID_LIMIT` and cut short."""

    id: str
    full: str
    source: str
    line: int | None


@dataclass
class Suite:
    """A loaded, resolved suite."""

    path: Path
    name: str
    model: SuiteModel
    runs: list[CaseRun] = field(default_factory=list)
    lines: dict[Path_, int] = field(default_factory=dict)
    aggregator: str = "points"
    truncated_ids: list[TruncatedId] = field(default_factory=list)
    """Generated criterion ids that were cut short: never silent (the pytest adapter warns)."""
    # Where each target and judge spec is first written: (kind, spec key) -> (file, key path,
    # the line map of that file), to point at a spec's options.
    spec_at: dict[tuple[str, str], tuple[str, Path_, dict[Path_, int]]] = field(default_factory=dict)

    @property
    def gate(self) -> GateModel | None:
        return self.model.gate

    def compact(self) -> None:
        """Drop what only validation needs, once the suite has been validated and its runs
        built: the line of every key (the top-level keys stay: the gate's and the suite name's
        lines are shown later), the spec locations and the validated cases, which the runs
        hold in their own form. At 100,000 criteria that is about 350 MB of a run.

        :meth:`options_error` and :meth:`target_location` point at less after it.
        """
        self.lines = {at: line for at, line in self.lines.items() if len(at) == 1}
        self.spec_at = {}
        self.model = self.model.model_copy(update={"cases": [], "rubrics": {}})

    @cached_property
    def base_dir(self) -> Path:
        """The directory relative paths of the suite are read from (one object: components
        are looked up by it for every request)."""
        return self.path.parent

    def options_error(self, kind: str, spec: ComponentSpec, error: OptionsError) -> SuiteError:
        """``error`` (a spec's options that its plugin refused) as a :class:`SuiteError` naming
        the file, line and key of each problem."""
        shown, at, lines = self.spec_at.get((kind, spec.key()), (str(self.path), (), self.lines))
        return validation_error(error.validation, error.options, lines, shown, error.model, prefix=(*at, "options"))

    def target_location(self, run: CaseRun) -> tuple[int | None, str]:
        """Line and key path where ``run``'s target is written (the case's or the suite's)."""
        for i, cm in enumerate(self.model.cases):
            if (cm.id or f"case-{i + 1}") == run.case.id and cm.target is not None:
                return line_for(self.lines, ("cases", i, "target")), f"cases[{i}].target"
        if isinstance(self.model.target, list):
            for i, spec in enumerate(self.model.target):
                if spec == run.target:
                    return line_for(self.lines, ("target", i)), f"target[{i}]"
        return line_for(self.lines, ("target",)), "target"


def load_suite(
    path: str | Path, *, display_path: str | None = None, model: tuple[SuiteModel, dict[Path_, int]] | None = None
) -> Suite:
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
    model, lines = parse_model(SuiteModel, read_text(path, shown), shown)
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


# A criterion with where it was written: (model, file shown in errors, line, key path).
_Sourced = Sourced
# A case with where it was written: (model, key path, line map of its file, file shown).
_CaseAt = tuple[CaseModel, Path_, dict[Path_, int], str]


@dataclass
class _Context:
    """What resolving every case of one suite needs."""

    model: SuiteModel
    name: str
    lines: dict[Path_, int]
    shown: str
    rubrics: dict[str, list[_Sourced]]
    companion_cases: dict[str, list[_Sourced]]
    targets: list[ComponentSpec | None]
    truncated: list[TruncatedId] = field(default_factory=list)
    spec_at: dict[tuple[str, str], tuple[str, Path_, dict[Path_, int]]] = field(default_factory=dict)
    lines_of: dict[str, dict[Path_, int]] = field(default_factory=dict)  # line maps by file shown

    def note(
        self, kind: str, spec: ComponentSpec | PanelSpec | None, shown: str, at: Path_, lines: dict[Path_, int]
    ) -> None:
        """Remember where ``spec`` is first written (for errors about its options); for a
        judge panel, where each member and its meta judge are."""
        if isinstance(spec, PanelSpec):
            members: Path_ = (*at, "panel") if (*at, "panel") in lines else at
            for i, member in enumerate(spec.panel):
                self.note(kind, member, shown, (*members, i), lines)
            self.note(kind, spec.meta, shown, (*at, "meta"), lines)
        elif spec is not None:
            self.spec_at.setdefault((kind, spec.key()), (shown, at, lines))


def _check_id(kind: str, value: str, shown: str, line: int | None, key: str) -> None:
    problem = id_problem(value)
    if problem is not None:
        raise SuiteError(f"{kind} {show_id(value)} is not a valid id: {problem}", path=shown, line=line, key=key)


def _resolve(model: SuiteModel, lines: dict[Path_, int], path: Path, shown: str) -> Suite:
    if model.suite is not None:
        _check_id("suite name", model.suite, shown, line_for(lines, ("suite",)), "suite")
    lines_of: dict[str, dict[Path_, int]] = {shown: lines}
    rubrics, companion_cases = _rubrics(model, lines, path, shown, lines_of)
    ctx = _Context(
        model,
        model.suite or suite_name_from_path(path),
        lines,
        shown,
        rubrics,
        companion_cases,
        _suite_targets(model, lines, shown),
        lines_of=lines_of,
    )
    if isinstance(model.target, list):
        for i, t in enumerate(model.target):
            ctx.note("targets", t, shown, ("target", i), lines)
    else:
        ctx.note("targets", model.target, shown, ("target",), lines)
    ctx.note("judges", model.judge, shown, ("judge",), lines)
    if model.sentinel is not None:
        ctx.note("judges", model.sentinel.judge, shown, _sentinel_at(lines, ("sentinel",)), lines)
    _check_gate(model, lines, shown)
    runs: list[CaseRun] = []
    case_ids: dict[str, int | None] = {}
    for ci, case_at in enumerate(_all_cases(model, lines, path, shown)):
        runs.extend(_case_runs(ctx, ci, case_at, case_ids))
    return Suite(
        path=path,
        name=ctx.name,
        model=model,
        runs=runs,
        lines=lines,
        aggregator=model.aggregator,
        truncated_ids=list(dict.fromkeys(ctx.truncated)),
        spec_at=ctx.spec_at,
    )


def _rubrics(
    model: SuiteModel, lines: dict[Path_, int], path: Path, shown: str, lines_of: dict[str, dict[Path_, int]]
) -> tuple[dict[str, list[_Sourced]], dict[str, list[_Sourced]]]:
    """Named rubrics (the suite's and its companion files') and the criteria companion files
    add per case id."""
    rubrics: dict[str, list[_Sourced]] = {
        rname: [(c, shown, line_for(lines, ("rubrics", rname, i)), ("rubrics", rname, i)) for i, c in enumerate(crits)]
        for rname, crits in model.rubrics.items()
    }
    companion_cases: dict[str, list[_Sourced]] = {}
    for i, inc in enumerate(model.include):
        comp_shown = str(Path(shown).parent / inc)
        comp_text = read_text(
            path.parent / inc, comp_shown, named_at=(shown, line_for(lines, ("include", i)), f"include[{i}]")
        )
        comp, comp_lines = parse_model(CompanionModel, comp_text, comp_shown)
        assert isinstance(comp, CompanionModel)
        lines_of[comp_shown] = comp_lines
        for rname, crits in comp.rubrics.items():
            rubrics.setdefault(rname, []).extend(
                (c, comp_shown, line_for(comp_lines, ("rubrics", rname, j)), ("rubrics", rname, j))
                for j, c in enumerate(crits)
            )
        for cid, crits in comp.cases.items():
            companion_cases.setdefault(cid, []).extend(
                (c, comp_shown, line_for(comp_lines, ("cases", cid, j)), ("cases", cid, j)) for j, c in enumerate(crits)
            )
    return rubrics, companion_cases


def _suite_targets(model: SuiteModel, lines: dict[Path_, int], shown: str) -> list[ComponentSpec | None]:
    targets: list[ComponentSpec | None] = list(model.target) if isinstance(model.target, list) else [model.target]
    for i, t in enumerate(targets):
        if t is not None and t.name is not None:
            at: Path_ = ("target", i, "name") if isinstance(model.target, list) else ("target", "name")
            _check_id("target name", t.name, shown, line_for(lines, at), dotted(at))
    labels = [target_id(t) for t in targets if t is not None]
    if len(set(labels)) != len(labels):
        raise SuiteError(
            "two targets have the same label; give them distinct `name`s",
            path=shown,
            line=line_for(lines, ("target",)),
            key="target",
        )
    return targets


def target_id(spec: ComponentSpec) -> str:
    """The id of a target in node ids: its ``name``, else its label slugged
    (``openai:gpt-4o`` -> ``openai-gpt-4o``)."""
    return spec.name if spec.name is not None else slug_id(spec.label)


def _all_cases(model: SuiteModel, lines: dict[Path_, int], path: Path, shown: str) -> list[_CaseAt]:
    """Inline cases, then the cases of every ``cases_file``."""
    cases: list[_CaseAt] = [(cm, ("cases", ci), lines, shown) for ci, cm in enumerate(model.cases)]
    for fi, ref in enumerate(model.cases_file):
        cases.extend(
            _read_cases_file(
                path.parent / ref, str(Path(shown).parent / ref), shown, line_for(lines, ("cases_file", fi)), len(cases)
            )
        )
    return cases


def _sentinel_at(lines: dict[Path_, int], at: Path_) -> Path_:
    """Where a sentinel's judge spec is written: under ``judge:`` in the long form."""
    return (*at, "judge") if (*at, "judge") in lines else at


def _check_gate(model: SuiteModel, lines: dict[Path_, int], shown: str) -> None:
    """A gate on disagreements needs a sentinel to measure them (a gate that measures nothing
    has not passed)."""
    gate = model.gate
    if gate is None or gate.max_disagreement is None or model.sentinel is not None:
        return
    if model.cases and all(c.sentinel is not None for c in model.cases) and not model.cases_file:
        return
    raise SuiteError(
        "`gate.max_disagreement` bounds rubric-holistic disagreements, but the suite names no `sentinel` to find them",
        path=shown,
        line=line_for(lines, ("gate", "max_disagreement")),
        key="gate.max_disagreement",
    )


def _case_runs(ctx: _Context, ci: int, case_at: _CaseAt, case_ids: dict[str, int | None]) -> list[CaseRun]:
    """One case resolved: its id checked, its criteria built, one run per target."""
    cm, at, lines, shown = case_at
    case_line = line_for(lines, at)
    cid = cm.id if cm.id is not None else f"case-{ci + 1}"
    _check_id("case id", cid, shown, line_for(lines, (*at, "id")) or case_line, dotted((*at, "id")))
    if cid in case_ids:
        raise SuiteError(
            f"duplicate case id {cid!r} (first at line {case_ids[cid]})",
            path=shown,
            line=line_for(lines, (*at, "id")) or case_line,
            key=dotted((*at, "id")),
        )
    case_ids[cid] = case_line
    ctx.note("targets", cm.target, shown, (*at, "target"), lines)
    ctx.note("judges", cm.judge, shown, (*at, "judge"), lines)
    sentinel = cm.sentinel or ctx.model.sentinel
    if cm.sentinel is not None:
        ctx.note("judges", cm.sentinel.judge, shown, _sentinel_at(lines, (*at, "sentinel")), lines)
    sources = _criteria_sources(ctx, cid, case_at)
    if not sources:
        raise SuiteError(
            f"case {cid!r} has no criteria (add `criteria:` or `rubric:`)", path=shown, line=case_line, key=dotted(at)
        )
    model = ctx.model
    criteria, nodes, top = _criteria(ctx, cid, cm, sources, lines)
    weights = {c.id: c.points for c in criteria} | {n.id: n.weight for n in nodes}
    if all(weights[t] == 0 for t in top):
        raise SuiteError(
            f"case {cid!r}: every criterion has 0 points, so no criterion counts (give "
            "positive points, or negative ones for deductions)",
            path=shown,
            line=case_line,
            key=dotted(at),
        )
    threshold = cm.threshold if cm.threshold is not None else model.threshold
    case = Case(
        suite=ctx.name,
        id=cid,
        input=cm.input,
        messages=tuple(m.model_dump(exclude_none=True) for m in cm.messages) if cm.messages is not None else None,
        reference=cm.reference,
        output=cm.output,
        criteria=tuple(criteria),
        threshold=threshold,
        tags=tuple(dict.fromkeys([*model.tags, *cm.tags])),
        metadata=dict(cm.metadata),
        path=shown,
        line=case_line,
        nodes=tuple(nodes),
        top_level=tuple(top) if nodes else (),
    )
    if cm.output is not None:
        return [CaseRun(case, None, None, sentinel)]
    targets = [cm.target] if cm.target is not None else ctx.targets
    if targets == [None]:
        raise SuiteError(
            f"case {cid!r} has no `output` and the suite names no `target`", path=shown, line=case_line, key=dotted(at)
        )
    multi = len(targets) > 1
    if cm.target is not None and cm.target.name is not None:
        _check_id(
            "target name",
            cm.target.name,
            shown,
            line_for(lines, (*at, "target", "name")),
            dotted((*at, "target", "name")),
        )
    return [CaseRun(case, t, target_id(t) if multi else None, sentinel) for t in targets if t is not None]


def _criteria_sources(ctx: _Context, cid: str, case_at: _CaseAt) -> list[_Sourced]:
    """A case's criteria in order: the suite's rubrics, the case's rubrics, the companion
    file's criteria for the case, then its own."""
    cm, at, lines, shown = case_at
    named: list[tuple[str, dict[Path_, int], str, Path_]] = [
        (r, ctx.lines, ctx.shown, ("rubric", ri)) for ri, r in enumerate(ctx.model.rubric)
    ]
    named += [(r, lines, shown, (*at, "rubric", ri)) for ri, r in enumerate(cm.rubric)]
    sources: list[_Sourced] = []
    for rname, where_lines, where_shown, rat in named:
        if rname not in ctx.rubrics:
            raise SuiteError(
                f"unknown rubric {rname!r}; defined rubrics: {', '.join(sorted(ctx.rubrics)) or 'none'}",
                path=where_shown,
                line=line_for(where_lines, rat),
                key=dotted(rat),
            )
        sources.extend(ctx.rubrics[rname])
    sources.extend(ctx.companion_cases.get(cid, []))
    sources.extend(
        (c, shown, line_for(lines, (*at, "criteria", i)), (*at, "criteria", i)) for i, c in enumerate(cm.criteria)
    )
    return sources


def _criteria(
    ctx: _Context, cid: str, cm: CaseModel, sources: list[_Sourced], case_lines: dict[Path_, int]
) -> tuple[list[Criterion], list[RubricNode], list[str]]:
    """The case's judged criteria (the leaves of its rubric trees), inner nodes and top-level ids."""

    def line_of(src: str, at: Path_) -> int | None:
        return line_for(ctx.lines_of.get(src, case_lines), at)

    def note_judge(spec: ComponentSpec | PanelSpec | None, src: str, at: Path_, line: int | None) -> None:
        ctx.note("judges", spec, src, at, ctx.lines_of.get(src, {at: line or 1}))

    tree = TreeContext(
        case_id=cid,
        tags=tuple(dict.fromkeys([*ctx.model.tags, *cm.tags])),
        judge=cm.judge or ctx.model.judge,
        rubrics=ctx.rubrics,
        line_of=line_of,
        note_judge=note_judge,
    )
    expanded = expand(tree, sources)
    ctx.truncated.extend(TruncatedId(*cut) for cut in tree.truncated)
    return expanded


def _read_cases_file(file: Path, shown: str, suite_shown: str, ref_line: int | None, offset: int) -> list[_CaseAt]:
    """The cases of a ``cases_file`` JSONL, each with the line it came from."""
    from ..jsonl import read_jsonl

    if not file.is_file():
        raise SuiteError(f"cases_file not found: {shown}", path=suite_shown, line=ref_line, key="cases_file")
    out: list[_CaseAt] = []
    try:
        rows = list(read_jsonl(file, error=SuiteError))
    except SuiteError as exc:
        raise SuiteError(str(exc), path=suite_shown, line=ref_line, key="cases_file") from None
    for n, row in rows:
        at: Path_ = ("cases", offset + len(out))
        try:
            cm = CaseModel.model_validate(row)
        except ValidationError as exc:
            err = validation_error(exc, row, {(): n}, shown, CaseModel)
            raise SuiteError(err.message, path=shown, line=n, key=err.key) from None
        out.append((cm, at, {at: n}, shown))
    return out
