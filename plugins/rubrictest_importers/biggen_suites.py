"""BiGGen-Bench as a suite (``rubrictest import biggen``).

BiGGen-Bench's response files (``sample_responses.json`` and the files its inference scripts
write) hold, per instance, the prompt, a reference answer, a 1-5 score rubric with a
description per score, and a model's response. One suite, ``biggen-<model>``: a case per
instance (the system prompt and input as messages, the reference answer as the case
reference, tagged with its capability and task) with one criterion, ``score``: the rubric's
question on the 1-5 scale with its five descriptions (Prometheus absolute grading), passing from
``pass_at`` (default 4). The responses become a ``jsonl`` target; or, for the released file
whose responses are placeholders, a live ``target=PLUGIN:MODEL`` answers.

BiGGen-Bench reports a model's mean score (1-5) per capability and overall: the mean level,
which is ``1 + 4 × case score`` averaged over the cases of a tag (``score_summary``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rubrictest import Importer, ImporterError, write_jsonl, write_suite

from .biggen import LEVELS, Instance, find_file, read_instances

OPTIONS = {
    "target": "a live target instead of the file's responses (PLUGIN:MODEL); needed for the placeholder file",
    "judge": "the judge of the score rubrics (e.g. openai:gpt-4.1, recorded:FILE); required",
    "capability": "only the instances of this capability (planning, reasoning...)",
    "limit": "only the first N instances (after capability)",
    "pass_at": "the score (1-5) from which an instance passes (default 4)",
}

#: The response of every instance in the released ``sample_responses.json``.
PLACEHOLDER = "Hello World!"
_NOT_ID = re.compile(r"[^A-Za-z0-9_-]+")


def _slug(text: str) -> str:
    return _NOT_ID.sub("-", text).strip("-").lower() or "x"


def is_placeholder(instances: Sequence[Instance]) -> bool:
    """Whether the responses are the release's placeholders rather than a model's answers."""
    return all(inst.response.strip() == PLACEHOLDER for inst in instances)


def _case(inst: Instance, pass_at: int) -> dict[str, Any]:
    messages = [{"role": "system", "content": inst.system_prompt}] if inst.system_prompt.strip() else []
    messages.append({"role": "user", "content": inst.input})
    return {
        "id": inst.id,
        "messages": messages,
        "reference": inst.reference_answer,
        "tags": [_slug(inst.capability), _slug(inst.task)],
        "criteria": [
            {
                "id": "score",
                "text": inst.criteria,
                "scale": {
                    "levels": {lv: text for lv, text in zip(LEVELS, inst.levels, strict=True)},
                    "pass_at": pass_at,
                },
            }
        ],
    }


def _options(options: Mapping[str, str]) -> tuple[int, int | None]:
    raw = options.get("pass_at", "4")
    if raw not in {str(lv) for lv in LEVELS}:
        raise ImporterError(f"option pass_at={raw!r}: expected a score 1-5")
    limit = options.get("limit")
    if limit is not None and (not limit.isdigit() or int(limit) < 1):
        raise ImporterError(f"option limit={limit!r}: expected a whole number >= 1")
    return int(raw), int(limit) if limit is not None else None


def write_suites(source: Path, out: Path, options: Mapping[str, str]) -> list[Path]:
    """One suite of the instances (see the module docstring)."""
    pass_at, limit = _options(options)
    if "judge" not in options:
        raise ImporterError("give the judge of the score rubrics: --option judge=SPEC (e.g. openai:gpt-4.1)")
    file = find_file(source)
    instances = read_instances(file)
    if "capability" in options:
        found = sorted({i.capability for i in instances})
        instances = [i for i in instances if i.capability == options["capability"]]
        if not instances:
            raise ImporterError(
                f"{file}: no instance of capability {options['capability']!r}; capabilities: {', '.join(found)}"
            )
    instances = instances[:limit]
    suite: dict[str, Any] = {"version": 1}
    if "target" in options:
        model = options["target"]
        suite.update({"suite": f"biggen-{_slug(model)}", "target": model})
    else:
        if is_placeholder(instances):
            raise ImporterError(
                f"{file}: the responses are BiGGen-Bench's placeholders ({PLACEHOLDER!r}): give a "
                "file of your model's responses in the same format, or --option target=PLUGIN:MODEL"
            )
        model = next((i.response_model for i in instances if i.response_model), "") or "responses"
        write_jsonl(out / "responses.jsonl", [{"id": i.id, "output": i.response} for i in instances])
        suite.update({"suite": f"biggen-{_slug(model)}", "target": "jsonl:responses.jsonl"})
    suite["judge"] = options["judge"]
    suite["cases"] = [_case(i, pass_at) for i in instances]
    header = (
        f"BiGGen-Bench, written by `rubrictest import biggen` from {file.name}: one 1-5 score rubric per\n"
        "instance (Prometheus absolute grading). A capability's BiGGen score is the mean level,\n"
        "1 + 4 * case score averaged over the cases tagged with it."
    )
    return [write_suite(out / f"test_{suite['suite'].replace('-', '_')}.rubric.yaml", suite, header=header)]


def score_summary(levels: Mapping[str, float], capability: Mapping[str, str]) -> dict[str, float]:
    """BiGGen-Bench's figures: the mean score per capability and overall.

    Args:
        levels: each instance's score (1-5) by instance id.
        capability: each instance's capability by instance id.
    """
    groups: dict[str, list[float]] = {}
    for key, level in levels.items():
        groups.setdefault(capability[key], []).append(level)
    out = {cap: sum(v) / len(v) for cap, v in sorted(groups.items())}
    out["overall"] = sum(levels.values()) / len(levels) if levels else 0.0
    return out


class BiGGenImporter(Importer):
    """BiGGen-Bench's instances and score rubrics, with a model's responses or a live target."""

    suite_options = OPTIONS

    def write_suites(self, path: Path, out: Path, options: Mapping[str, str]) -> list[Path]:
        """One suite of the instances."""
        return write_suites(path, out, options)
