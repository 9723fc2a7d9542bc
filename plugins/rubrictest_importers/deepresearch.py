"""DeepResearch Bench (Ayanami0730/deep_research_bench): RACE's two-level weighted criteria.

``data/criteria_data/criteria.jsonl`` holds, per task, four dimension weights
(comprehensiveness, insight, instruction_following, readability) and, per dimension, weighted
criteria; both levels sum to 1. RACE has a judge score every criterion 0-10 for the target
report *and* a reference report, then (``utils/score_calculator.py`` and
``deepresearch_bench_race.py`` of that repository):

* a dimension's score is the weighted mean of its criteria's scores, for each report;
* a report's total is Σ dimension weight × dimension score;
* the task's overall score is target total / (target total + reference total), and each
  dimension's reported score is target dim / (target dim + reference dim) (0 when both are 0);
* the published figures (``results/race/<model>/race_result.txt``) are the means over tasks.

:func:`race_scores` is that computation. Note that the overall score is *not* Σ dimension
weight × dimension's relative score: it is their mean weighted by dimension weight × (target +
reference) dimension score, so it always lies between the smallest and the largest dimension
score (:func:`within_dimension_range`) but cannot be recomputed from the released relative
dimension scores alone -- the per-criterion judge scores are not released.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ._common import ImporterError, get_dict, get_list, get_number, get_str, load_jsonl, require_dir, require_file

DIMENSIONS = ("comprehensiveness", "insight", "instruction_following", "readability")
#: Sums of weights may differ from 1 by float rounding, never by more.
_TOLERANCE = 1e-6


@dataclass(frozen=True)
class Criterion:
    """One RACE criterion: its text, what it means, and its weight within its dimension."""

    text: str
    explanation: str
    weight: float


@dataclass(frozen=True)
class Task:
    """One DeepResearch Bench task with its criteria.

    Attributes:
        id: the task id (1-100).
        prompt: the research request.
        dimension_weights: weight of each of :data:`DIMENSIONS` (sum 1).
        criteria: each dimension's criteria (weights sum 1 per dimension).
    """

    id: int
    prompt: str
    dimension_weights: Mapping[str, float]
    criteria: Mapping[str, tuple[Criterion, ...]]


@dataclass(frozen=True)
class RaceRow:
    """One task's published RACE result: relative scores per dimension, and overall."""

    id: int
    prompt: str
    dimensions: Mapping[str, float]
    overall: float


def _task_id(row: dict[str, object], where: str) -> int:
    value = row.get("id")
    if isinstance(value, bool) or not isinstance(value, int):
        raise ImporterError(f"{where}: id: expected an integer, got {value!r}")
    return value


def _weights(raw: dict[str, object], where: str, key: str) -> dict[str, float]:
    if set(raw) != set(DIMENSIONS):
        raise ImporterError(f"{where}: {key}: expected the dimensions {', '.join(DIMENSIONS)}, got {', '.join(raw)}")
    out = {dim: get_number(raw, dim, f"{where}: {key}") for dim in DIMENSIONS}
    _check_sum(out.values(), f"{where}: {key}")
    return out


def _check_sum(weights: Iterable[float], where: str) -> None:
    values = list(weights)
    if any(w < 0 for w in values):
        raise ImporterError(f"{where}: weights must not be negative")
    if abs(sum(values) - 1) > _TOLERANCE:
        raise ImporterError(f"{where}: weights sum to {sum(values):.6g}, expected 1")


def _criteria(raw: dict[str, object], where: str) -> dict[str, tuple[Criterion, ...]]:
    if set(raw) != set(DIMENSIONS):
        raise ImporterError(f"{where}: criterions: expected the dimensions {', '.join(DIMENSIONS)}")
    out: dict[str, tuple[Criterion, ...]] = {}
    for dim in DIMENSIONS:
        items = get_list(raw, dim, f"{where}: criterions")
        crits = []
        for i, item in enumerate(items):
            at = f"{where}: criterions.{dim}[{i}]"
            if not isinstance(item, dict):
                raise ImporterError(f"{at}: expected an object")
            crits.append(
                Criterion(
                    get_str(item, "criterion", at),
                    get_str(item, "explanation", at, empty=True),
                    get_number(item, "weight", at),
                )
            )
        if not crits:
            raise ImporterError(f"{where}: criterions.{dim}: no criteria")
        _check_sum([c.weight for c in crits], f"{where}: criterions.{dim}")
        out[dim] = tuple(crits)
    return out


def read_criteria(file: Path) -> list[Task]:
    """Read ``criteria.jsonl``: every task's dimension weights and criteria.

    Raises:
        ImporterError: a line is not JSON, a key is missing, a dimension is unknown or
            missing, or weights do not sum to 1 (file, line and key named).
    """
    tasks = []
    for where, row in load_jsonl(file):
        tasks.append(
            Task(
                id=_task_id(row, where),
                prompt=get_str(row, "prompt", where),
                dimension_weights=_weights(get_dict(row, "dimension_weight", where), where, "dimension_weight"),
                criteria=_criteria(get_dict(row, "criterions", where), where),
            )
        )
    if not tasks:
        raise ImporterError(f"{file}: no tasks")
    return tasks


def read_race_rows(file: Path) -> list[RaceRow]:
    """Read a model's ``raw_results.jsonl``: relative dimension scores and the overall score per task."""
    rows = []
    for where, row in load_jsonl(file):
        dims = {dim: get_number(row, dim, where) for dim in DIMENSIONS}
        rows.append(
            RaceRow(
                id=_task_id(row, where),
                prompt=get_str(row, "prompt", where),
                dimensions=dims,
                overall=get_number(row, "overall_score", where),
            )
        )
    if not rows:
        raise ImporterError(f"{file}: no results")
    return rows


def read_race_summary(file: Path) -> dict[str, float]:
    """Read ``race_result.txt`` (``Name: value`` lines) into ``{dimension or "overall": value}``."""
    out: dict[str, float] = {}
    try:
        lines = file.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ImporterError(f"{file}: cannot read: {exc.strerror}") from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        name, sep, value = line.partition(":")
        key = name.strip().lower().replace(" ", "_").removesuffix("_score")
        try:
            out[key] = float(value)
        except ValueError:
            raise ImporterError(f"{file}:{n}: expected `Name: number`, got {line!r}") from None
        if not sep or key not in (*DIMENSIONS, "overall"):
            raise ImporterError(f"{file}:{n}: unknown figure {name.strip()!r}")
    return out


def summarize(rows: Sequence[RaceRow]) -> dict[str, float]:
    """The published figures: the mean of each dimension's and of the overall score over tasks."""
    if not rows:
        raise ValueError("no rows")
    out = {dim: sum(r.dimensions[dim] for r in rows) / len(rows) for dim in DIMENSIONS}
    out["overall"] = sum(r.overall for r in rows) / len(rows)
    return out


def weighted_average(scores: Sequence[float], weights: Sequence[float]) -> float:
    """Σ wᵢ·sᵢ / Σ wᵢ (0 when the weights sum to 0): one report's score on one dimension."""
    total = sum(weights)
    return sum(s * w for s, w in zip(scores, weights, strict=True)) / total if total > 0 else 0.0


def _ratio(target: float, reference: float) -> float:
    return target / (target + reference) if target + reference > 0 else 0.0


def race_scores(
    task: Task, target: Mapping[str, Sequence[float]], reference: Mapping[str, Sequence[float]]
) -> dict[str, float]:
    """RACE scores of one task from the judge's per-criterion scores of both reports.

    Args:
        task: the task (its weights).
        target: each dimension's criterion scores for the report under test, in criteria order.
        reference: the same for the reference report.

    Returns:
        ``{dimension: target / (target + reference), "overall": T / (T + R)}`` with
        T = Σ dimension weight × target dimension score (R likewise).
    """
    out: dict[str, float] = {}
    totals = [0.0, 0.0]
    for dim in DIMENSIONS:
        weights = [c.weight for c in task.criteria[dim]]
        for side in (target, reference):
            if len(side[dim]) != len(weights):
                raise ValueError(f"task {task.id}: {dim}: {len(side[dim])} scores for {len(weights)} criteria")
        t, r = weighted_average(target[dim], weights), weighted_average(reference[dim], weights)
        out[dim] = _ratio(t, r)
        totals[0] += task.dimension_weights[dim] * t
        totals[1] += task.dimension_weights[dim] * r
    out["overall"] = _ratio(*totals)
    return out


def within_dimension_range(row: RaceRow, task: Task, tolerance: float = 1e-12) -> bool:
    """Whether ``row.overall`` lies between the smallest and largest relative score of the
    dimensions with a positive weight -- true of every score :func:`race_scores` produces."""
    scores = [row.dimensions[d] for d in DIMENSIONS if task.dimension_weights[d] > 0]
    return min(scores) - tolerance <= row.overall <= max(scores) + tolerance


@dataclass(frozen=True)
class Release:
    """What a DeepResearch Bench folder holds: tasks, and each model's published RACE results."""

    tasks: list[Task]
    results: dict[str, list[RaceRow]]
    summaries: dict[str, dict[str, float]]


def read_release(root: Path) -> Release:
    """Read a DeepResearch Bench repository folder.

    Raises:
        ImporterError: ``root`` is not such a folder (``data/criteria_data/criteria.jsonl`` missing),
            or a file in it is invalid.
    """
    require_dir(root, "a DeepResearch Bench folder (with data/criteria_data/criteria.jsonl)")
    tasks = read_criteria(require_file(root, "data/criteria_data/criteria.jsonl", "a DeepResearch Bench folder"))
    results: dict[str, list[RaceRow]] = {}
    summaries: dict[str, dict[str, float]] = {}
    for raw in sorted((root / "results" / "race").glob("*/raw_results.jsonl")):
        results[raw.parent.name] = read_race_rows(raw)
        if (raw.parent / "race_result.txt").is_file():
            summaries[raw.parent.name] = read_race_summary(raw.parent / "race_result.txt")
    by_id = {t.id: t for t in tasks}
    for model, rows in results.items():
        for row in rows:
            if row.id not in by_id or by_id[row.id].prompt != row.prompt:
                raise ImporterError(
                    f"{root}/results/race/{model}/raw_results.jsonl: task {row.id} does not "
                    "match a task of criteria.jsonl (id and prompt)"
                )
    return Release(tasks, results, summaries)
