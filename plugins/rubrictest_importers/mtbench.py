"""MT-Bench (lm-sys/FastChat, ``fastchat/llm_judge/data``): 80 two-turn questions, GPT-4
reference answers and the judge prompts.

FastChat's protocol (``fastchat/llm_judge/common.py``, ``gen_judgment.py``, ``show_result.py``):

* single-answer grading rates each turn 1-10; questions of the categories in
  :data:`NEED_REF_CATS` are graded with the reference answer (``single-math-v1``, the others
  with ``single-v1``; the ``-multi-turn`` prompts for turn 2);
* the judge writes its rating as ``[[7]]`` (or, as a fallback, ``[7]``); a judgement without one
  is -1 and left out; a model's MT-Bench score is the mean rating over questions and turns;
* pairwise grading ends with ``[[A]]``, ``[[B]]`` or ``[[C]]`` (tie).

:func:`parse_rating` and :func:`parse_pairwise` are those parsers, :func:`judge_prompt_for` the
prompt choice.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ._common import ImporterError, get_list, get_str, load_jsonl, require_dir

#: Categories FastChat grades against a reference answer.
NEED_REF_CATS = ("math", "reasoning", "coding", "arena-hard-200")
_RATING = re.compile(r"\[\[(\d+\.?\d*)\]\]")
_RATING_BACKUP = re.compile(r"\[(\d+\.?\d*)\]")


@dataclass(frozen=True)
class Question:
    """One MT-Bench question: its category, its turns (the user messages) and, for some, a
    human-written reference per turn (``reference`` in ``question.jsonl``; FastChat's judge uses
    the GPT-4 reference answers instead, see :attr:`Release.references`)."""

    id: int
    category: str
    turns: tuple[str, ...]
    reference: tuple[str, ...] | None = None


@dataclass(frozen=True)
class JudgePrompt:
    """One of FastChat's judge prompts (``judge_prompts.jsonl``).

    Attributes:
        name: e.g. ``single-v1``, ``pair-math-v1-multi-turn``.
        type: ``single`` (a 1-10 rating) or ``pairwise``.
        category: ``general`` or ``math`` (graded with a reference).
        system_prompt: the system message.
        template: the user message, with ``{question}``, ``{answer}``, ``{ref_answer_1}``... fields.
        output_format: ``[[rating]]`` or ``[[A]]``.
    """

    name: str
    type: str
    category: str
    system_prompt: str
    template: str
    output_format: str


@dataclass(frozen=True)
class Release:
    """MT-Bench's data: questions, reference answers by question id, judge prompts by name."""

    questions: list[Question]
    references: dict[int, tuple[str, ...]]
    prompts: dict[str, JudgePrompt]


def _int_id(row: dict[str, object], key: str, where: str) -> int:
    value = row.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ImporterError(f"{where}: {key}: expected an integer, got {value!r}")
    return value


def _turns(raw: list[object], where: str, key: str = "turns") -> tuple[str, ...]:
    if not raw or not all(isinstance(t, str) for t in raw):
        raise ImporterError(f"{where}: {key}: expected a non-empty list of strings")
    return tuple(str(t) for t in raw)


def read_questions(file: Path) -> list[Question]:
    """Read ``question.jsonl``."""
    out = []
    for where, row in load_jsonl(file):
        reference = _turns(get_list(row, "reference", where), where, "reference") if "reference" in row else None
        out.append(
            Question(
                _int_id(row, "question_id", where),
                get_str(row, "category", where),
                _turns(get_list(row, "turns", where), where),
                reference,
            )
        )
    if not out:
        raise ImporterError(f"{file}: no questions")
    return out


def read_references(file: Path) -> dict[int, tuple[str, ...]]:
    """Read a reference-answer file (``reference_answer/gpt-4.jsonl``): the turns of ``choices[0]``."""
    out: dict[int, tuple[str, ...]] = {}
    for where, row in load_jsonl(file):
        choices = get_list(row, "choices", where)
        if not choices or not isinstance(choices[0], dict):
            raise ImporterError(f"{where}: choices: expected a non-empty list of objects")
        out[_int_id(row, "question_id", where)] = _turns(get_list(choices[0], "turns", f"{where}: choices[0]"), where)
    return out


def read_judge_prompts(file: Path) -> dict[str, JudgePrompt]:
    """Read ``judge_prompts.jsonl`` by prompt name."""
    out: dict[str, JudgePrompt] = {}
    for where, row in load_jsonl(file):
        kind = get_str(row, "type", where)
        if kind not in ("single", "pairwise"):
            raise ImporterError(f"{where}: type: expected single or pairwise, got {kind!r}")
        prompt = JudgePrompt(
            get_str(row, "name", where),
            kind,
            get_str(row, "category", where),
            get_str(row, "system_prompt", where),
            get_str(row, "prompt_template", where),
            get_str(row, "output_format", where),
        )
        out[prompt.name] = prompt
    return out


def judge_prompt_for(
    question: Question, prompts: Mapping[str, JudgePrompt], *, turn: int = 1, pairwise: bool = False
) -> JudgePrompt:
    """The prompt FastChat grades ``question``'s ``turn`` (1 or 2) with."""
    math = question.category in NEED_REF_CATS
    name = ("pair-" if pairwise else "single-") + ("math-v1" if math else ("v2" if pairwise else "v1"))
    name += "-multi-turn" if turn == 2 else ""
    if name not in prompts:
        raise ImporterError(f"question {question.id}: judge prompt {name!r} not found")
    return prompts[name]


def parse_rating(judgment: str) -> float | None:
    """The rating in a single-answer judgement (``[[7]]``, else ``[7]``); ``None`` when absent."""
    match = _RATING.search(judgment) or _RATING_BACKUP.search(judgment)
    return float(match.group(1)) if match else None


def parse_pairwise(judgment: str) -> str | None:
    """``"A"``, ``"B"`` or ``"tie"`` from a pairwise judgement; ``None`` when it has no verdict."""
    if "[[A]]" in judgment:
        return "A"
    if "[[B]]" in judgment:
        return "B"
    if "[[C]]" in judgment:
        return "tie"
    return None


def read_release(root: Path) -> Release:
    """Read MT-Bench from FastChat's repository, ``fastchat/llm_judge/data`` or ``data/mt_bench``.

    Raises:
        ImporterError: ``root`` holds no ``mt_bench/question.jsonl``, or a file is invalid.
    """
    require_dir(root, "FastChat's llm_judge data folder (with mt_bench/question.jsonl)")
    found = sorted(root.rglob("mt_bench/question.jsonl")) or sorted(root.glob("question.jsonl"))
    if not found:
        raise ImporterError(f"{root}: not an MT-Bench folder: no mt_bench/question.jsonl at or below it")
    bench = found[0].parent
    questions = read_questions(bench / "question.jsonl")
    ref_file = bench / "reference_answer" / "gpt-4.jsonl"
    references = read_references(ref_file) if ref_file.is_file() else {}
    prompt_file = bench.parent / "judge_prompts.jsonl"
    if not prompt_file.is_file():
        raise ImporterError(f"{root}: not an MT-Bench folder: {prompt_file.name} not found beside mt_bench/")
    return Release(questions, references, read_judge_prompts(prompt_file))
