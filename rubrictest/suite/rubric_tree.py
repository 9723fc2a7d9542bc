"""A case's criteria as written -> the leaves that are judged and the inner nodes of its
rubric trees (:mod:`rubrictest.protocol.tree`), with every check a tree needs.

A criterion with ``criteria`` (or ``rubric``: named rubrics as children) is an inner node. Its
leaves get ids that carry their path (``method.impl``), inherit the judge and the tags of the
nodes above them, and are the case's ``criteria``; the nodes are its ``nodes``. Errors name
the file, the line and the key path of the node at fault: a duplicate id, a '.' in an id
inside a tree, a node whose children weigh 0 in total, a named rubric that contains itself
(directly, or through other rubrics and ``include``d files), a leaf without a judge.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from ..errors import SuiteError
from ..protocol import ComponentSpec, Criterion
from ..protocol.scale import Scale
from ..protocol.tree import SEPARATOR, RubricNode
from ..protocol.voting import PanelSpec
from .ids import id_problem, show_id, slugify
from .models import CriterionModel
from .parsing import Path_, dotted

# What answers a criterion: one judge, or a judge panel.
Judging = ComponentSpec | PanelSpec
# A criterion with where it was written: (model, file shown in errors, line, key path).
Sourced = tuple[CriterionModel, str, int | None, Path_]

#: Deeper than this is a runaway: a rubric nested in itself in a way the checks did not see.
MAX_DEPTH = 64


@dataclass
class TreeContext:
    """What expanding one case's criteria needs.

    Attributes:
        case_id: the case (for messages).
        tags: the suite's and the case's tags, which every criterion carries.
        judge: the case's default judge (the case's, else the suite's).
        rubrics: the named rubrics (for ``rubric:`` on a node).
        line_of: the line where a key path of a file is written.
        note_judge: called with each judge a criterion names, and where (for errors about
            its options).
    """

    case_id: str
    tags: tuple[str, ...]
    judge: Judging | None
    rubrics: dict[str, list[Sourced]]
    line_of: Callable[[str, Path_], int | None]
    note_judge: Callable[[Judging | None, str, Path_, int | None], None] = lambda *_: None
    leaves: list[Criterion] = field(default_factory=list)
    nodes: list[RubricNode] = field(default_factory=list)
    seen: dict[str, tuple[str, int | None]] = field(default_factory=dict)
    # ids generated from a text and cut short: (id, the whole slug, file, line)
    truncated: list[tuple[str, str, str, int | None]] = field(default_factory=list)


def expand(ctx: TreeContext, sources: list[Sourced]) -> tuple[list[Criterion], list[RubricNode], list[str]]:
    """The case's leaves (judged), inner nodes (in tree order) and top-level ids.

    Raises:
        SuiteError: naming the file, line and key of the criterion at fault.
    """
    top = [_add(ctx, source, None, _rubric_of(source[3]), ctx.tags, ctx.judge) for source in sources]
    return ctx.leaves, ctx.nodes, top


@functools.lru_cache(maxsize=512)
def _check_spec(name: str) -> ComponentSpec:
    """The spec of check ``name``: one frozen object shared by every criterion that uses it
    (one each cost 0.8 KiB per criterion)."""
    return ComponentSpec(plugin=name)


def _rubric_of(at: Path_) -> tuple[str, ...]:
    """The named rubric a criterion was written in (``rubrics.NAME[i]``), as a chain."""
    return (str(at[1]),) if len(at) > 1 and at[0] == "rubrics" else ()


def _add(
    ctx: TreeContext,
    source: Sourced,
    parent: RubricNode | None,
    chain: tuple[str, ...],
    tags: tuple[str, ...],
    judge: Judging | None,
) -> str:
    """Add one criterion (and, for a node, its subtree); return its id."""
    crit, src, line, at = source
    if crit.id is not None and (problem := id_problem(crit.id)) is not None:
        raise SuiteError(
            f"criterion id {show_id(crit.id)} is not a valid id: {problem}",
            path=src,
            line=line,
            key=dotted((*at, "id")),
        )
    local = crit.id or _slug(crit)
    if not crit.id and crit.text and len(whole := _slug(crit, limit=len(crit.text))) > len(local):
        ctx.truncated.append((local, whole, src, line))
    if (parent is not None or crit.is_inner) and SEPARATOR in local:
        raise SuiteError(
            f"criterion id {local!r}: an id inside a rubric tree may not contain {SEPARATOR!r}, "
            "which joins the ids along a path",
            path=src,
            line=line,
            key=dotted((*at, "id")),
        )
    full = f"{parent.id}{SEPARATOR}{local}" if parent is not None else local
    if parent is not None and parent.id.count(SEPARATOR) + 1 >= MAX_DEPTH:
        raise SuiteError(
            f"criterion {full[:80]!r}...: rubric tree deeper than {MAX_DEPTH} levels",
            path=src,
            line=line,
            key=dotted(at),
        )
    if full in ctx.seen:
        first_src, first_line = ctx.seen[full]
        hint = "" if crit.id else " (ids default to a slug of the text: give one an `id`)"
        raise SuiteError(
            f"duplicate criterion id {full!r} in case {ctx.case_id!r} (first at {first_src}:{first_line}){hint}",
            path=src,
            line=line,
            key=dotted(at),
        )
    ctx.seen[full] = (src, line)
    tags = tuple(dict.fromkeys([*tags, *crit.tags]))
    ctx.note_judge(crit.judge, src, (*at, "judge"), line)
    judge = crit.judge or judge
    if crit.is_inner:
        _add_node(ctx, source, full, parent, chain, tags, judge)
        return full
    panel: PanelSpec | None = None
    if crit.check:
        spec = _check_spec(crit.check)
    elif judge is None:
        raise SuiteError(
            f"criterion {full!r} needs a judge: set `judge:` on the suite, the case or the "
            "criterion, or make it a deterministic `check:`",
            path=src,
            line=line,
            key=dotted(at),
        )
    elif isinstance(judge, PanelSpec):  # the panel answers; its first member stands for it where one judge is asked
        panel, spec = judge, judge.panel[0]
    else:
        spec = judge
    ctx.leaves.append(
        Criterion(
            id=full,
            text=crit.text,
            check=crit.check,
            params=dict(crit.with_),
            points=crit.effective_points,
            must=crit.must,
            tags=tags,
            judge=spec,
            line=line,
            source=src,
            key=dotted(at),
            scale=_scale(crit),
            parent=parent.id if parent is not None else None,
            panel=panel,
        )
    )
    return full


def _add_node(
    ctx: TreeContext,
    source: Sourced,
    full: str,
    parent: RubricNode | None,
    chain: tuple[str, ...],
    tags: tuple[str, ...],
    judge: Judging | None,
) -> None:
    crit, src, line, at = source
    index = len(ctx.nodes)  # the node goes before its subtree: reserve its place
    node = RubricNode(
        id=full,
        text=crit.text,
        weight=crit.effective_points,
        parent=parent.id if parent is not None else None,
        must=crit.must,
        threshold=crit.threshold,
        tags=tags,
        line=line,
        source=src,
        key=dotted(at),
        meta=dict(crit.meta),
    )
    ctx.nodes.append(node)
    children: list[tuple[Sourced, tuple[str, ...]]] = [
        ((c, src, ctx.line_of(src, (*at, "criteria", i)) or line, (*at, "criteria", i)), chain)
        for i, c in enumerate(crit.criteria or [])
    ]
    for ri, name in enumerate(crit.rubric):
        where = (*at, "rubric", ri)
        if name in chain:
            cycle = " -> ".join((*chain, name))
            raise SuiteError(
                f"rubric {name!r} contains itself (a cycle: {cycle}) at node {full!r}",
                path=src,
                line=ctx.line_of(src, where) or line,
                key=dotted(where),
            )
        if name not in ctx.rubrics:
            raise SuiteError(
                f"unknown rubric {name!r}; defined rubrics: {', '.join(sorted(ctx.rubrics)) or 'none'}",
                path=src,
                line=ctx.line_of(src, where) or line,
                key=dotted(where),
            )
        children.extend((child, (*chain, name)) for child in ctx.rubrics[name])
    ids = [_add(ctx, child, node, child_chain, tags, judge) for child, child_chain in children]
    if not any(child[0].effective_points > 0 for child, _ in children):
        raise SuiteError(
            f"node {full!r}: its children's weights sum to 0, so it has nothing to average (give a "
            "child a positive `weight`)",
            path=src,
            line=line,
            key=dotted(at),
        )
    ctx.nodes[index] = replace(node, children=tuple(ids))


def _scale(crit: CriterionModel) -> Scale | None:
    if crit.scale is None:
        return None
    return Scale(levels=tuple(crit.scale.values()), pass_at=crit.scale.pass_at, descriptions=dict(crit.scale.levels))


def _slug(crit: CriterionModel, limit: int | None = None) -> str:
    text = crit.text or crit.check or "criterion"
    return slugify(text) if limit is None else slugify(text, limit=limit)
