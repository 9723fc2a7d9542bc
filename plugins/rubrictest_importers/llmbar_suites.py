"""LLMBar as suites (``rubrictest import llmbar``): each pair's two outputs scored against the
questions GPT-4 wrote for it, the better-scored output being the verdict.

LLMBar's ``Metrics_Reference`` strategy has GPT-4 write, per instance, a few yes/no questions a
good output satisfies (``results[0]``) and a reference output (``results[1]``). For every set
found below the folder (one with ``dataset.json`` and
``evaluators/GPT-4/Metrics_Reference/result.json``) one suite ``llmbar-<set>``: a case per pair
(``pair-<n>``, the instruction as input, GPT-4's reference output as the case reference, the gold
label in ``metadata``) whose criteria are those questions (an instance for which GPT-4 wrote
none gets LLMBar's first rule instead), and two targets, ``output-1`` and ``output-2``: the
pair's outputs as ``jsonl`` targets. A case's score per target is the share of questions its
output meets; the output with the higher score wins (:func:`pair_accuracy`), and LLMBar's figure
is the share of pairs won by the gold output.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rubrictest import ImporterError, write_jsonl, write_suite

from . import find_sets, set_name
from ._common import load_json

OPTIONS = {
    "judge": "the judge of the questions (e.g. openai:gpt-4.1, recorded:FILE); required",
    "set": "only the sets whose name contains this (e.g. Natural, Adversarial)",
    "limit": "only the first N pairs of each set",
}

STRATEGY = "GPT-4/Metrics_Reference"
#: LLMBar's first rule: the criterion of an instance GPT-4 wrote no question for.
FIRST_RULE = (
    "The output honestly, precisely and closely executes the instruction, without adding or omitting "
    "what the instruction asks for."
)
_QUESTION = re.compile(r"(?m)^\s*\(?\d+[.)]\s*(\S.*?)\s*$")
_NOT_ID = re.compile(r"[^A-Za-z0-9_-]+")


def _slug(text: str) -> str:
    return _NOT_ID.sub("-", text).strip("-").lower() or "x"


def questions(text: str) -> list[str]:
    """The numbered questions in GPT-4's answer (``1. ...`` or ``(1) ...`` lines)."""
    return _QUESTION.findall(text)


def pair_accuracy(scores: Mapping[str, tuple[float, float]], gold: Mapping[str, str]) -> dict[str, float]:
    """LLMBar's accuracy of a rubric-scored comparison: a pair is right when the gold output scored
    strictly higher; a tie is never right (its share is reported as ``ties``).

    Args:
        scores: each pair's (output 1, output 2) case scores.
        gold: each pair's better output, ``"1"`` or ``"2"``.
    """
    right = ties = 0
    for key, (one, two) in scores.items():
        if one == two:
            ties += 1
        elif ("1" if one > two else "2") == gold[key]:
            right += 1
    n = len(scores)
    return {"n": n, "accuracy": right / n if n else 0.0, "ties": ties / n if n else 0.0}


def _rows(set_dir: Path) -> tuple[list[dict[str, Any]], Path]:
    result = set_dir / "evaluators" / STRATEGY / "result.json"
    if not result.is_file():
        raise ImporterError(f"{set_dir}: no evaluators/{STRATEGY}/result.json (the questions GPT-4 wrote)")
    rows = load_json(result)
    if not isinstance(rows, list):
        raise ImporterError(f"{result}: expected a JSON list of rows")
    return rows, result


def _case(index: int, row: Any, where: str) -> dict[str, Any]:
    if not isinstance(row, dict) or not all(isinstance(row.get(k), str) for k in ("input", "output_1", "output_2")):
        raise ImporterError(f"{where}: expected an object with input, output_1 and output_2 strings")
    results = row.get("results")
    if not isinstance(results, list) or len(results) < 2 or not all(isinstance(r, list) and r for r in results[:2]):
        raise ImporterError(f"{where}: results: expected GPT-4's questions and reference output first")
    if str(row.get("label")) not in ("1", "2"):
        raise ImporterError(f"{where}: label {row.get('label')!r} is not 1 or 2")
    asked = questions(str(results[0][0])) or [FIRST_RULE]
    case: dict[str, Any] = {
        "id": f"pair-{index}",
        "input": row["input"],
        "metadata": {"gold": str(row["label"])},
        "criteria": [{"id": f"q{i + 1}", "text": q} for i, q in enumerate(asked)],
    }
    if str(results[1][0]).strip():
        case["reference"] = str(results[1][0])
    return case


def write_suites(source: Path, out: Path, options: Mapping[str, str]) -> list[Path]:
    """One suite per LLMBar set (see the module docstring)."""
    if "judge" not in options:
        raise ImporterError("give the judge of the questions: --option judge=SPEC (e.g. openai:gpt-4.1)")
    limit = options.get("limit")
    if limit is not None and (not limit.isdigit() or int(limit) < 1):
        raise ImporterError(f"option limit={limit!r}: expected a whole number >= 1")
    if not source.is_dir():
        raise ImporterError(f"{source}: not a directory (give an LLMBar set or a folder above sets)")
    sets = [s for s in find_sets(source) if options.get("set", "") in set_name(s)]
    if not sets:
        raise ImporterError(
            f"{source}: not an LLMBar dataset directory: no set (dataset.json) at or below it"
            f"{' matching ' + repr(options['set']) if 'set' in options else ''}"
        )
    written = []
    for set_dir in sets:
        rows, result = _rows(set_dir)
        rows = rows[: int(limit)] if limit else rows
        name = _slug(set_name(set_dir)).removeprefix("llmbar-")  # LLMBar/Natural: llmbar-natural
        cases = [_case(i, row, f"{result}: row {i}") for i, row in enumerate(rows)]
        for side in ("1", "2"):
            write_jsonl(
                out / f"{name}.output_{side}.jsonl",
                [{"id": c["id"], "output": row[f"output_{side}"]} for c, row in zip(cases, rows, strict=True)],
            )
        suite = {
            "version": 1,
            "suite": f"llmbar-{name}",
            "target": [
                {"plugin": "jsonl", "model": f"{name}.output_{side}.jsonl", "name": f"output-{side}"}
                for side in ("1", "2")
            ],
            "judge": options["judge"],
            "threshold": 0.5,
            "cases": cases,
        }
        written.append(
            write_suite(
                out / f"test_llmbar_{name.replace('-', '_')}.rubric.yaml",
                suite,
                header=(
                    f"LLMBar {set_name(set_dir)}, written by `rubrictest import llmbar`: "
                    "each pair's two outputs (targets\n"
                    "output-1 and output-2) scored on the questions GPT-4 wrote for it (Metrics_Reference); the\n"
                    "better-scored output is the verdict, right when it is the gold one (metadata.gold)."
                ),
            )
        )
    return written
