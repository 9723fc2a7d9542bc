"""Suites and companion files: the cases a generator reads, and the file its criteria go to."""

from __future__ import annotations

import difflib
import os
import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..protocol import (
    Case,
    Criterion,
    content_hash,
)
from ..suite import CompanionModel, CriterionModel, SuiteModel, parse_model, slugify
from ..suite.parsing import read_text
from ._base import CompanionEditedError, GeneratedCriterion


def suite_cases(suite_path: str | Path) -> tuple[SuiteModel, list[Case]]:
    """Read a suite file's cases for generation.

    Unlike :func:`rubrictest.suite.load_suite` this accepts cases without criteria (the
    generator is about to write them) and ignores ``include``; criteria the case already has
    in the suite itself are attached (without judges).

    Raises:
        SuiteError: the file is not a valid suite.
    """
    path = Path(suite_path)
    model, _ = parse_model(SuiteModel, read_text(path, str(path)), str(path))
    assert isinstance(model, SuiteModel)
    name = model.suite or path.name.split(".", 1)[0].removeprefix("test_")
    cases: list[Case] = []
    for i, cm in enumerate(model.cases):
        crits: list[CriterionModel] = [c for r in cm.rubric for c in model.rubrics.get(r, [])] + list(cm.criteria)
        criteria = tuple(
            Criterion(
                id=c.id or slugify(c.text or c.check or "criterion"),
                text=c.text,
                check=c.check,
                params=dict(c.with_),
                points=c.effective_points,
                must=c.must,
            )
            for c in _leaves(crits)
        )
        cases.append(
            Case(
                suite=name,
                id=cm.id or f"case-{i + 1}",
                input=cm.input,
                messages=tuple(m.model_dump(exclude_none=True) for m in cm.messages)
                if cm.messages is not None
                else None,
                reference=cm.reference,
                output=cm.output,
                criteria=criteria,
                metadata=dict(cm.metadata),
                path=str(path),
            )
        )
    return model, cases


def _leaves(crits: list[CriterionModel]) -> list[CriterionModel]:
    """The judged criteria of a rubric: inner nodes of a rubric tree replaced by their leaves
    (named rubrics under a node are not followed: a generator needs the case's own texts)."""
    out: list[CriterionModel] = []
    for c in crits:
        out.extend(_leaves(c.criteria or []) if c.is_inner else [c])
    return out


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
    return content_hash(
        {
            "rubrics": {name: [_criterion_dump(c) for c in crits] for name, crits in companion.rubrics.items()},
            "cases": {cid: [_criterion_dump(c) for c in crits] for cid, crits in companion.cases.items()},
        }
    )


def check_companion(path: str | Path) -> str | None:
    """Why the companion at ``path`` cannot be overwritten safely, or ``None`` when it can.

    Returns a message when the file's ``content_hash`` is missing or differs from its
    content (it was edited by hand).

    Raises:
        SuiteError: the file is not a valid companion.
    """
    path = Path(path)
    comp, _ = parse_model(CompanionModel, read_text(path, str(path)), str(path))
    assert isinstance(comp, CompanionModel)
    actual = companion_hash(comp)
    if comp.content_hash is None:
        return f"{path}: has no content_hash; it was not written by rubrictest generate"
    if comp.content_hash != actual:
        return (
            f"{path}: was edited by hand since it was generated (content_hash {comp.content_hash[:12]}… "
            f"but the content hashes to {actual[:12]}…)"
        )
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
        return "".join(
            difflib.unified_diff(
                self.old_text.splitlines(keepends=True),
                self.new_text.splitlines(keepends=True),
                fromfile=f"{self.path.name} (current)" if self.old_text else "/dev/null",
                tofile=f"{self.path.name} (generated)",
            )
        )


_HEADER = (
    "# Generated by `rubrictest generate`. Criteria here run like hand-written ones.\n"
    "# content_hash detects hand edits: change the suite (or regenerate), not this file.\n"
)


def _unique_id(base: str, taken: set[str]) -> str:
    candidate, n = base, 2
    while candidate in taken:
        candidate = f"{base}-{n}"
        n += 1
    taken.add(candidate)
    return candidate


def plan_companion(
    path: str | Path,
    generated: Mapping[str, Sequence[GeneratedCriterion]],
    *,
    generator: str,
    provenance: Mapping[str, Any],
    existing_ids: Mapping[str, Iterable[str]] | None = None,
    force: bool = False,
) -> CompanionPlan:
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
            raise CompanionEditedError(
                f"{problem}. Not overwriting it: move your edits into the suite, or rerun with --force to discard them."
            )
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
