"""HelloBench (Quehry/HelloBench): per-task checklists scored in quarters, and HelloEval.

Each instance of ``data/main_data/<task>.jsonl`` carries its subcategory and a checklist
(yes/no questions about the response). A judge scores every item in {0, 0.25, 0.5, 0.75, 1}
(``llm_judge.py``); recorded judgements are in
``results/judgements/main_exp/<model>/<task>_results.jsonl`` (``checklist_wise_evaluation``).

HelloEval turns the item scores into one score per instance exactly as the authors' evaluator
does (``opencompass/datasets/subjective/hellobench.py``, contributed by them to OpenCompass):
the dot product with the subcategory's checklist weights (fitted by linear regression on
human annotations, ``regression.py``; they sum to 100), then rescaled ``(score - 75) * 4``;
a task's figure is the mean over its instances. The weights ship with this package
(``data/hellobench_weights.json``, with their source).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ._common import ImporterError, get_list, get_number, get_str, load_jsonl, require_dir

#: The levels a HelloBench judge gives a checklist item.
LEVELS = (0.0, 0.25, 0.5, 0.75, 1.0)
_WEIGHTS_FILE = Path(__file__).with_name("data") / "hellobench_weights.json"


@dataclass(frozen=True)
class Instance:
    """One HelloBench instruction with its checklist.

    Attributes:
        id: e.g. ``open_ended_qa_000``.
        task: the task type (file stem: ``open_ended_qa``, ``chat``...).
        category: the subcategory (``Science``...), which selects the checklist weights.
        instruction: the prompt.
        checklist: the items, in order (item ``i`` is ``checklist_id`` ``i``).
    """

    id: str
    task: str
    category: str
    instruction: str
    checklist: tuple[str, ...]


@dataclass(frozen=True)
class Judgement:
    """A judge's checklist scores for one response.

    Attributes:
        id: the instance id.
        response: the response judged.
        scores: one level of :data:`LEVELS` per checklist item, in item order.
        reasons: the judge's reason per item.
    """

    id: str
    response: str
    scores: tuple[float, ...]
    reasons: tuple[str, ...]


def read_instances(file: Path) -> list[Instance]:
    """Read a task's instances (``data/main_data/<task>.jsonl``).

    Raises:
        ImporterError: a line is not JSON, a key is missing, or ``num_checklist`` disagrees
            with the checklist (file, line and key named).
    """
    out = []
    for where, row in load_jsonl(file):
        items = get_list(row, "checklists", where)
        if not items or not all(isinstance(c, str) and c.strip() for c in items):
            raise ImporterError(f"{where}: checklists: expected a non-empty list of strings")
        if "num_checklist" in row and row["num_checklist"] != len(items):
            raise ImporterError(f"{where}: num_checklist is {row['num_checklist']!r} but checklists has {len(items)}")
        out.append(
            Instance(
                id=get_str(row, "id", where),
                task=file.stem,
                category=get_str(row, "category", where),
                instruction=get_str(row, "instruction", where),
                checklist=tuple(items),
            )
        )
    if not out:
        raise ImporterError(f"{file}: no instances")
    return out


def _item(item: object, where: str) -> tuple[int, float, str]:
    if not isinstance(item, dict):
        raise ImporterError(f"{where}: expected an object")
    cid = item.get("checklist_id")
    if isinstance(cid, bool) or not isinstance(cid, int):
        raise ImporterError(f"{where}: checklist_id: expected an integer, got {cid!r}")
    score = get_number(item, "evaluation_score", where)
    if score not in LEVELS:
        raise ImporterError(f"{where}: evaluation_score {score!r} is not one of {', '.join(map(str, LEVELS))}")
    reason = item.get("reason", "")
    return cid, score, reason if isinstance(reason, str) else ""


def read_judgements(file: Path) -> list[Judgement]:
    """Read recorded checklist judgements (``<task>_results.jsonl``).

    Raises:
        ImporterError: a line is not JSON, an item is malformed, a score is not a quarter, or
            the checklist ids are not 0..n-1 (file, line and item named).
    """
    out = []
    for where, row in load_jsonl(file):
        raw = get_list(row, "checklist_wise_evaluation", where)
        items = sorted(
            (_item(it, f"{where}: checklist_wise_evaluation[{i}]") for i, it in enumerate(raw)), key=lambda t: t[0]
        )
        if [cid for cid, _, _ in items] != list(range(len(items))) or not items:
            raise ImporterError(
                f"{where}: checklist_wise_evaluation: checklist ids are {[cid for cid, _, _ in items]}, expected 0..n-1"
            )
        out.append(
            Judgement(
                id=get_str(row, "id", where),
                response=get_str(row, "response", where, empty=True),
                scores=tuple(s for _, s, _ in items),
                reasons=tuple(r for _, _, r in items),
            )
        )
    if not out:
        raise ImporterError(f"{file}: no judgements")
    return out


def load_weights(file: Path = _WEIGHTS_FILE) -> dict[str, tuple[float, ...]]:
    """HelloEval's checklist weights by subcategory (each list sums to 100)."""
    try:
        data = json.loads(file.read_text(encoding="utf-8"))["weights"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ImporterError(f"{file}: cannot read the HelloEval weights: {exc}") from None
    return {str(k): tuple(float(w) for w in v) for k, v in data.items()}


def checklist_score(scores: Sequence[float], weights: Sequence[float]) -> float:
    """One response's HelloEval score: Σ weightᵢ × scoreᵢ, in [0, 100]."""
    if len(scores) != len(weights):
        raise ValueError(f"{len(scores)} item scores for {len(weights)} weights")
    return float(sum(w * s for w, s in zip(weights, scores, strict=True)))


def rescale(score: float) -> float:
    """HelloBench's reported scale: ``(score - 75) * 4``."""
    return (score - 75) * 4


def hello_eval(
    instances: Sequence[Instance], judgements: Sequence[Judgement], weights: Mapping[str, Sequence[float]] | None = None
) -> dict[str, float]:
    """Each judged instance's rescaled HelloEval score, by instance id.

    Raises:
        ImporterError: a judgement has no instance, its subcategory has no weights, or the
            number of items differs from the checklist or the weights.
    """
    weights = load_weights() if weights is None else weights
    by_id = {inst.id: inst for inst in instances}
    out: dict[str, float] = {}
    for judged in judgements:
        inst = by_id.get(judged.id)
        if inst is None:
            raise ImporterError(f"judgement {judged.id!r}: no such instance")
        w = weights.get(inst.category)
        if w is None:
            raise ImporterError(f"{judged.id}: no HelloEval weights for subcategory {inst.category!r}")
        if not len(judged.scores) == len(inst.checklist) == len(w):
            raise ImporterError(
                f"{judged.id}: {len(judged.scores)} item scores, {len(inst.checklist)} checklist "
                f"items, {len(w)} weights"
            )
        out[judged.id] = rescale(checklist_score(judged.scores, w))
    return out


@dataclass(frozen=True)
class Release:
    """A HelloBench folder: instances per task, recorded judgements per model and task."""

    instances: dict[str, list[Instance]]
    judgements: dict[tuple[str, str], list[Judgement]]


def read_release(root: Path) -> Release:
    """Read a HelloBench repository folder (``data/main_data/*.jsonl``, ``results/judgements``).

    Raises:
        ImporterError: ``root`` is not such a folder, or a file in it is invalid.
    """
    require_dir(root, "a HelloBench folder (with data/main_data/<task>.jsonl)")
    files = sorted((root / "data" / "main_data").glob("*.jsonl"))
    if not files:
        raise ImporterError(f"{root}: not a HelloBench folder: no data/main_data/<task>.jsonl")
    instances = {f.stem: read_instances(f) for f in files}
    judgements: dict[tuple[str, str], list[Judgement]] = {}
    for f in sorted((root / "results" / "judgements").glob("*/*/*_results.jsonl")):
        task = f.name.removesuffix("_results.jsonl")
        if task in instances:
            judgements[(f.parent.name, task)] = read_judgements(f)
    return Release(instances, judgements)
