"""DeepResearch Bench's RACE criteria as suites (``rubrictest import deepresearch``).

One suite, ``deepresearch-race``, with a case per task (``task-<id>``, the research request as
input, tagged ``zh`` or ``en``) scored by the ``relative`` aggregator
(:mod:`rubrictest_aggregators.relative`). Its rubric tree has two sides with the same shape::

    target                                   reference
      comprehensiveness (dimension weight)     comprehensiveness
        c01 (criterion weight, scale 0-10)       c01 ...
      insight, instruction_following, readability ...

Every criterion is judged on RACE's 0-10 scale once for the report under test (``target``)
and once for the reference report (``reference``); a side's score is Σ dimension weight ×
(weighted mean of its criteria) -- RACE's total, over 10 -- and the case score is
target / (target + reference): RACE's overall score of the task. The target side's dimension
nodes show RACE's relative dimension scores.

Options: the reports under test as RACE's ``raw_data`` file (``articles=FILE``, JSONL of
``{id, prompt, article}``: written as a ``jsonl`` target) or a live ``target=PLUGIN:MODEL``; the
reference reports in the same format (``reference=FILE``: each case's reference, which the
judge reads); ``judge=SPEC``; ``task=1,51`` and ``language=zh|en`` to choose tasks;
``threshold`` (default 0.5: as good as the reference) and ``pass_at`` (default 5).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rubrictest import Importer, ImporterError, write_jsonl, write_suite

from ._common import get_str, load_jsonl
from .deepresearch import DIMENSIONS, Criterion, Task, read_release

OPTIONS = {
    "articles": "the reports under test: RACE's raw_data JSONL ({id, prompt, article}), relative to the cwd",
    "target": "a live target for the research requests instead (PLUGIN:MODEL), when there is no articles file",
    "reference": "the reference reports, in the same JSONL format (each case's reference)",
    "judge": "the judge of both sides (e.g. openai:gpt-4.1, recorded:FILE); required",
    "task": "only these task ids, comma-separated (e.g. 1,51)",
    "language": "only the zh or the en tasks",
    "threshold": "the case pass mark on the relative score (default 0.5: as good as the reference)",
    "pass_at": "the level (0-10) from which a criterion passes (default 5)",
}

REFERENCE_PREFIX = "About the reference report (the reference answer, not the response): "
_CJK = re.compile(r"[\u4e00-\u9fff]")


def language(task: Task) -> str:
    """``zh`` for a request written in Chinese, else ``en``."""
    return "zh" if _CJK.search(task.prompt) else "en"


def read_articles(file: Path, tasks: Mapping[int, Task]) -> dict[int, str]:
    """A RACE report file (``{id, prompt, article}`` per line) by task id.

    Raises:
        ImporterError: a line is malformed, or names a task id that is not in criteria.jsonl or
            whose prompt is not that task's (file, line and key named).
    """
    out: dict[int, str] = {}
    for where, row in load_jsonl(file):
        raw = row.get("id")
        try:
            task_id = int(raw)  # type: ignore[arg-type]  # RACE writes ids as strings or numbers
        except (TypeError, ValueError):
            raise ImporterError(f"{where}: id: expected a task id, got {raw!r}") from None
        task = tasks.get(task_id)
        if task is None:
            raise ImporterError(f"{where}: id: task {task_id} is not in criteria.jsonl")
        if get_str(row, "prompt", where).strip() != task.prompt.strip():
            raise ImporterError(f"{where}: prompt: not task {task_id}'s request")
        out[task_id] = get_str(row, "article", where, empty=True)
    return out


def _number(options: Mapping[str, str], key: str, default: float, low: float, high: float) -> float:
    raw = options.get(key)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise ImporterError(f"option {key}={raw!r}: expected a number in [{low:g}, {high:g}]")
    return value


def _chosen(tasks: list[Task], options: Mapping[str, str]) -> list[Task]:
    chosen = tasks
    if "task" in options:
        wanted: set[int] = set()
        for part in options["task"].split(","):
            if not part.strip().isdigit():
                raise ImporterError(f"option task={options['task']!r}: expected task ids such as 1,51")
            wanted.add(int(part))
        missing = wanted - {t.id for t in tasks}
        if missing:
            raise ImporterError(f"option task: no task {', '.join(map(str, sorted(missing)))} in criteria.jsonl")
        chosen = [t for t in chosen if t.id in wanted]
    if "language" in options:
        if options["language"] not in ("zh", "en"):
            raise ImporterError(f"option language={options['language']!r}: expected zh or en")
        chosen = [t for t in chosen if language(t) == options["language"]]
    if not chosen:
        raise ImporterError("no task left after the task and language options")
    return chosen


def _leaf(index: int, crit: Criterion, scale: dict[str, Any], prefix: str) -> dict[str, Any]:
    text = f"{crit.text} ({crit.explanation})" if crit.explanation else crit.text
    # A copy per leaf: the YAML then spells each scale out instead of using anchors and aliases.
    return {
        "id": f"c{index + 1:02d}",
        "text": prefix + text,
        "weight": crit.weight,
        "scale": {"range": list(scale["range"]), "pass_at": scale["pass_at"]},
    }


def _side(task: Task, side: str, scale: dict[str, Any]) -> dict[str, Any]:
    prefix = REFERENCE_PREFIX if side == "reference" else ""
    return {
        "id": side,
        "text": f"the {'reference' if side == 'reference' else 'response under test'}'s report",
        "criteria": [
            {
                "id": dim,
                "weight": task.dimension_weights[dim],
                "criteria": [_leaf(i, c, scale, prefix) for i, c in enumerate(task.criteria[dim])],
            }
            for dim in DIMENSIONS
        ],
    }


def _case(task: Task, scale: dict[str, Any], reference: str | None) -> dict[str, Any]:
    case: dict[str, Any] = {"id": f"task-{task.id}", "input": task.prompt, "tags": [language(task)]}
    if reference is not None:
        case["reference"] = reference
    case["criteria"] = [_side(task, "target", scale), _side(task, "reference", scale)]
    return case


def _reports(options: Mapping[str, str], key: str, tasks: list[Task], all_tasks: dict[int, Task]) -> dict[int, str]:
    file = Path(options[key])
    reports = read_articles(file, all_tasks)
    missing = [t.id for t in tasks if t.id not in reports]
    if missing:
        raise ImporterError(
            f"{file}: no report for task {', '.join(map(str, missing[:10]))}"
            f"{' ...' if len(missing) > 10 else ''} (choose tasks with the task option)"
        )
    return reports


def write_suites(source: Path, out: Path, options: Mapping[str, str]) -> list[Path]:
    """The chosen tasks as one suite (see the module docstring)."""
    if "articles" not in options and "target" not in options:
        raise ImporterError(
            "give the reports under test (--option articles=FILE, RACE's raw_data format) or a "
            "live target (--option target=PLUGIN:MODEL)"
        )
    if "articles" in options and "target" in options:
        raise ImporterError("give either articles=FILE or target=PLUGIN:MODEL, not both")
    if "judge" not in options:
        raise ImporterError("give the judge of the criteria: --option judge=SPEC (e.g. openai:gpt-4.1)")
    threshold = _number(options, "threshold", 0.5, 0, 1)
    pass_at = _number(options, "pass_at", 5, 0, 10)
    if pass_at != int(pass_at):
        raise ImporterError(f"option pass_at={options['pass_at']!r}: expected a whole level 0-10")
    release = read_release(source)
    all_tasks = {t.id: t for t in release.tasks}
    tasks = _chosen(release.tasks, options)
    references = _reports(options, "reference", tasks, all_tasks) if "reference" in options else {}
    scale = {"range": [0, 10], "pass_at": int(pass_at)}
    suite: dict[str, Any] = {"version": 1, "suite": "deepresearch-race"}
    if "articles" in options:
        articles = _reports(options, "articles", tasks, all_tasks)
        write_jsonl(out / "articles.jsonl", [{"id": f"task-{t.id}", "output": articles[t.id]} for t in tasks])
        suite["target"] = "jsonl:articles.jsonl"
    else:
        suite["target"] = options["target"]
    suite["judge"] = options["judge"]
    suite.update(
        {
            "aggregator": "relative",
            "threshold": threshold,
            "cases": [_case(t, scale, references.get(t.id)) for t in tasks],
        }
    )
    header = (
        "DeepResearch Bench (RACE), written by `rubrictest import deepresearch`: every criterion judged\n"
        "0-10 for the report under test (target) and the reference report (reference);\n"
        "case score = target / (target + reference), RACE's overall score of the task."
    )
    return [write_suite(out / "test_deepresearch_race.rubric.yaml", suite, header=header)]


class DeepResearchImporter(Importer):
    """DeepResearch Bench's tasks and RACE criteria, scored relative to a reference report."""

    suite_options = OPTIONS

    def write_suites(self, path: Path, out: Path, options: Mapping[str, str]) -> list[Path]:
        """One suite of the chosen tasks."""
        return write_suites(path, out, options)
