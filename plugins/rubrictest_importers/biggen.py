"""BiGGen-Bench (prometheus-eval/prometheus-eval, ``BiGGen-Bench``): one 1-5 score rubric per
instance, a description per level (Prometheus absolute grading).

``sample_responses.json`` maps instance ids to ``{id, capability, task, system_prompt, input,
reference_answer, score_rubric: {criteria, score1_description ... score5_description},
response, response_model_name}``. In the released file every response is a placeholder
(``"Hello World!"`` by ``sample-model``): the file is the benchmark, not a model's results.
A Prometheus judge answers ``Feedback: ... [RESULT] N``; :func:`parse_result` reads ``N``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ._common import ImporterError, get_dict, get_str, load_json, require_dir

LEVELS = (1, 2, 3, 4, 5)
_RESULT = re.compile(r"\[RESULT\]\s*\(?\s*([1-5])\b")


@dataclass(frozen=True)
class Instance:
    """One BiGGen-Bench instance.

    Attributes:
        id: e.g. ``planning_travel_plan_0``.
        capability: one of nine (planning, reasoning...).
        task: one of 77 tasks.
        system_prompt: the system message for the model under test.
        input: the user message.
        reference_answer: a score-5 answer, given to the judge.
        criteria: the rubric's question.
        levels: the description of scores 1..5, in order.
        response: the recorded response (a placeholder in the released file).
        response_model: who wrote it.
    """

    id: str
    capability: str
    task: str
    system_prompt: str
    input: str
    reference_answer: str
    criteria: str
    levels: tuple[str, ...]
    response: str
    response_model: str


def _instance(key: str, row: object, file: Path) -> Instance:
    where = f"{file}: instance {key!r}"
    if not isinstance(row, dict):
        raise ImporterError(f"{where}: expected an object")
    rubric = get_dict(row, "score_rubric", where)
    levels = tuple(get_str(rubric, f"score{n}_description", f"{where}: score_rubric") for n in LEVELS)
    return Instance(
        id=get_str(row, "id", where),
        capability=get_str(row, "capability", where),
        task=get_str(row, "task", where),
        system_prompt=get_str(row, "system_prompt", where, empty=True),
        input=get_str(row, "input", where),
        reference_answer=get_str(row, "reference_answer", where),
        criteria=get_str(rubric, "criteria", f"{where}: score_rubric"),
        levels=levels,
        response=get_str(row, "response", where, empty=True),
        response_model=str(row.get("response_model_name", "")),
    )


def read_instances(file: Path) -> list[Instance]:
    """Read ``sample_responses.json`` (or any file of that shape).

    Raises:
        ImporterError: not JSON (or cut short), not an object of instances, or an instance
            lacks a key or a level description (file, instance and key named).
    """
    data = load_json(file)
    if not isinstance(data, dict) or not data:
        raise ImporterError(f"{file}: expected a JSON object of instances keyed by id")
    out = [_instance(key, row, file) for key, row in data.items()]
    for key, inst in zip(data, out, strict=True):
        if inst.id != key:
            raise ImporterError(f"{file}: instance {key!r}: its id is {inst.id!r}")
    return out


def find_file(root: Path) -> Path:
    """``sample_responses.json`` given the file, the BiGGen-Bench folder or the repository root."""
    if root.is_file():
        return root
    require_dir(root, "the BiGGen-Bench folder (with sample_responses.json)")
    for candidate in (root / "sample_responses.json", root / "BiGGen-Bench" / "sample_responses.json"):
        if candidate.is_file():
            return candidate
    raise ImporterError(f"{root}: not a BiGGen-Bench folder: no sample_responses.json in it or in BiGGen-Bench/")


def parse_result(feedback: str) -> int | None:
    """The score of a Prometheus absolute-grading answer (``... [RESULT] 4``); ``None`` when absent."""
    match = _RESULT.search(feedback)
    return int(match.group(1)) if match else None
