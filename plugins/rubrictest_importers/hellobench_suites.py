"""HelloBench's recorded checklist judgements as suites (``rubrictest import hellobench``).

For every model and task with recorded judgements
(``results/judgements/main_exp/<model>/<task>_results.jsonl``) one suite
``hellobench-<task>-<model>``: a case per instruction, its checklist items as criteria graded on
HelloBench's quarter scale (0, 0.25, 0.5, 0.75, 1) and weighted by HelloEval's weights for the
instruction's subcategory; the model's responses as a ``jsonl`` target and the judge's item
scores as a ``recorded`` judge (levels, with the judge's reasons as rationales).

A case's score is then Σ wᵢ·sᵢ / Σ wᵢ = HelloEval's checklist score / 100 (the weights sum to
100), so HelloEval's figure for an instance is ``(100 × score − 75) × 4``. The default case
threshold, 0.75, is where that figure crosses 0; an item passes from 0.75 ("mostly").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rubrictest import Importer, ImporterError, response_sha256, write_jsonl, write_suite

from .hellobench import LEVELS, Instance, Judgement, load_weights, read_release

#: What each level of the quarter scale means, for a judge (HelloBench's own judge prompt is not
#: in the release; this wording is rubrictest's).
LEVEL_DESCRIPTIONS = {
    0.0: "The response does not satisfy this checklist item at all.",
    0.25: "The response satisfies a small part of this checklist item.",
    0.5: "The response satisfies about half of this checklist item.",
    0.75: "The response satisfies most of this checklist item, with minor shortcomings.",
    1.0: "The response fully satisfies this checklist item.",
}

OPTIONS = {
    "model": "only this model's judgements (a folder of results/judgements/main_exp); default: every one",
    "task": "only this task (open_ended_qa, chat...); default: every task with judgements",
    "threshold": "the case pass mark on the weighted checklist score (default 0.75: HelloEval 0)",
    "pass_at": "the item level from which an item passes (default 0.75)",
    "limit": "only the first N judged instances of each task (default: all)",
}

_NOT_ID = re.compile(r"[^A-Za-z0-9_-]+")


def _slug(text: str) -> str:
    return _NOT_ID.sub("-", text).strip("-").lower() or "x"


def _number(options: Mapping[str, str], key: str, default: float, allowed: tuple[float, ...] | None = None) -> float:
    raw = options.get(key)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 1 or (allowed is not None and value not in allowed):
        expected = ", ".join(f"{v:g}" for v in allowed) if allowed else "a number in [0, 1]"
        raise ImporterError(f"option {key}={raw!r}: expected {expected}")
    return value


def _limit(options: Mapping[str, str]) -> int | None:
    raw = options.get("limit")
    if raw is None:
        return None
    if not raw.isdigit() or int(raw) < 1:
        raise ImporterError(f"option limit={raw!r}: expected a whole number >= 1")
    return int(raw)


def _case(inst: Instance, weights: tuple[float, ...], pass_at: float) -> dict[str, Any]:
    scale = {"levels": dict(LEVEL_DESCRIPTIONS), "pass_at": pass_at}
    return {
        "id": inst.id,
        "input": inst.instruction,
        "tags": [_slug(inst.category)],
        "metadata": {"hellobench_task": inst.task, "subcategory": inst.category},
        "criteria": [
            {"id": f"item-{i}", "text": item, "weight": w, "scale": scale}
            for i, (item, w) in enumerate(zip(inst.checklist, weights, strict=True))
        ],
    }


def _grades(judged: Judgement) -> list[dict[str, Any]]:
    # Bound to the response they grade: another response under these grades is ERROR, not a stale score.
    bound = response_sha256(judged.response)
    return [
        {
            "case": judged.id,
            "criterion": f"item-{i}",
            "level": score,
            **({"rationale": r} if r else {}),
            "response_sha256": bound,
        }
        for i, (score, r) in enumerate(zip(judged.scores, judged.reasons, strict=True))
    ]


def write_suites(source: Path, out: Path, options: Mapping[str, str]) -> list[Path]:
    """One suite per model and task with recorded judgements (see the module doc)."""
    threshold = _number(options, "threshold", 0.75)
    pass_at = _number(options, "pass_at", 0.75, LEVELS)
    release = read_release(source)
    chosen = {
        key: rows
        for key, rows in release.judgements.items()
        if options.get("model", key[0]) == key[0] and options.get("task", key[1]) == key[1]
    }
    if not chosen:
        raise ImporterError(
            f"{source}: no recorded judgements (results/judgements/main_exp/<model>/<task>_results"
            f".jsonl) for {options.get('model', 'any model')} and {options.get('task', 'any task')}; "
            f"found: {', '.join('/'.join(k) for k in release.judgements) or 'none'}"
        )
    limit = _limit(options)
    weights = load_weights()
    written = []
    for (model, task), every in sorted(chosen.items()):
        judged = every[:limit]
        by_id = {inst.id: inst for inst in release.instances[task]}
        cases, outputs, grades = [], [], []
        for row in judged:
            inst = by_id.get(row.id)
            if inst is None:
                raise ImporterError(
                    f"{source}: {model}/{task}_results.jsonl: judgement {row.id!r} has no instance "
                    f"in data/main_data/{task}.jsonl"
                )
            w = weights.get(inst.category)
            if w is None or not len(w) == len(inst.checklist) == len(row.scores):
                raise ImporterError(
                    f"{source}: {row.id}: {len(row.scores)} item scores, {len(inst.checklist)} "
                    f"checklist items, {len(w) if w else 'no'} HelloEval weights for "
                    f"{inst.category!r}"
                )
            cases.append(_case(inst, w, pass_at))
            outputs.append({"id": row.id, "output": row.response})
            grades.extend(_grades(row))
        stem = f"{_slug(model)}.{_slug(task)}"
        write_jsonl(out / f"{stem}.outputs.jsonl", outputs)
        write_jsonl(out / f"{stem}.judgements.jsonl", grades)
        name = f"hellobench-{_slug(task)}-{_slug(model)}"
        written.append(
            write_suite(
                out / f"test_{name.replace('-', '_')}.rubric.yaml",
                {
                    "version": 1,
                    "suite": name,
                    "target": f"jsonl:{stem}.outputs.jsonl",
                    "judge": f"recorded:{stem}.judgements.jsonl",
                    "threshold": threshold,
                    "cases": cases,
                },
                header=f"HelloBench {task}: {model}'s responses and its recorded checklist judgements, written by\n"
                "`rubrictest import hellobench`. Case score = HelloEval checklist score / 100;\n"
                "HelloEval's figure = (100 * score - 75) * 4.",
            )
        )
    return written


class HelloBenchImporter(Importer):
    """HelloBench's instructions, a model's responses and their recorded checklist judgements."""

    suite_options = OPTIONS

    def write_suites(self, path: Path, out: Path, options: Mapping[str, str]) -> list[Path]:
        """One suite per model and task with recorded judgements."""
        return write_suites(path, out, options)
