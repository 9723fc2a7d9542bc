"""MT-Bench single-answer grading as a suite (``rubrictest import mtbench``).

One suite, ``mtbench-<model>``: a case per question and turn (``q81-t1``, ``q81-t2``; tagged with
the question's category and ``turn-1`` / ``turn-2``) with one criterion, ``rating``, on FastChat's
1-10 scale. Its text is the instruction of the judge prompt FastChat grades that question and
turn with (:func:`~rubrictest_importers.mtbench.judge_prompt_for`: ``single-v1``, with the GPT-4
reference answer of that turn as the case reference for math, reasoning and coding, the
``-multi-turn`` prompts for turn 2); the output-format part of the prompt is left to the judge
protocol. A turn-2 case is the conversation so far: the first question, the model's first
answer, then the second question.

The model's answers come from FastChat's ``model_answer/<model>.jsonl`` (``answers=FILE``) and
become a ``jsonl`` target; without them a live ``target=PLUGIN:MODEL`` answers the first turns only
(the second turn needs the model's own first answer). FastChat's judgements
(``model_judgment/gpt-4_single.jsonl``, ``judgments=FILE``) become a ``recorded`` judge: each
``score`` is the case's level, and a judgement FastChat could not parse (score -1) is left out,
so that case is ERROR -- as FastChat leaves it out of the mean.

The MT-Bench score is the mean rating over questions and turns: ``1 + 9 × case score`` averaged
over the scored cases (:func:`mt_bench_score`, also per turn as FastChat's ``show_result``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rubrictest import Importer, ImporterError, write_jsonl, write_suite

from ._common import get_list, get_number, get_str, load_jsonl
from .mtbench import NEED_REF_CATS, JudgePrompt, Question, judge_prompt_for, read_release

OPTIONS = {
    "answers": "the model's answers: FastChat's model_answer JSONL ({question_id, choices: [{turns}]})",
    "target": "a live target instead of answers (PLUGIN:MODEL): first turns only",
    "judgments": "FastChat's single-answer judgements (model_judgment/*_single.jsonl) as a recorded judge",
    "model": "the model whose judgements to read from a judgments file holding several (default: the answers' "
    "model_id)",
    "judge": "the judge (e.g. openai:gpt-4.1); required unless judgments are given",
    "pass_at": "the rating (1-10) from which a turn passes (default 6)",
}

_NOT_ID = re.compile(r"[^A-Za-z0-9_-]+")


def _slug(text: str) -> str:
    return _NOT_ID.sub("-", text).strip("-").lower() or "x"


def case_id(question: int, turn: int) -> str:
    """The case of one question's turn: ``q81-t2``."""
    return f"q{question}-t{turn}"


def instruction(prompt: JudgePrompt) -> str:
    """What a FastChat judge prompt asks the judge to weigh, without its output-format part."""
    text = prompt.system_prompt
    if len(text) < 80:  # "You are a helpful assistant.": the instruction is in the template
        text = prompt.template.split("[Instruction]\n", 1)[-1].split("\n\n", 1)[0]
    return text.split(" Begin your evaluation", 1)[0].strip()


@dataclass(frozen=True)
class Answers:
    """A model's answers to MT-Bench: its id and each question's turns."""

    model: str
    turns: dict[int, tuple[str, ...]]


def read_answers(file: Path) -> Answers:
    """Read a FastChat ``model_answer/<model>.jsonl``.

    Raises:
        ImporterError: a line lacks ``question_id`` or ``choices[0].turns`` (file, line, key named).
    """
    turns: dict[int, tuple[str, ...]] = {}
    models: set[str] = set()
    for where, row in load_jsonl(file):
        qid = int(get_number(row, "question_id", where))
        choices = get_list(row, "choices", where)
        if not choices or not isinstance(choices[0], dict):
            raise ImporterError(f"{where}: choices: expected a non-empty list of objects")
        got = get_list(choices[0], "turns", f"{where}: choices[0]")
        if not got or not all(isinstance(t, str) for t in got):
            raise ImporterError(f"{where}: choices[0].turns: expected a list of strings")
        turns[qid] = tuple(str(t) for t in got)
        models.add(str(row.get("model_id", "")))
    if not turns:
        raise ImporterError(f"{file}: no answers")
    return Answers(next(iter(models)) if len(models) == 1 else file.stem, turns)


def read_judgments(file: Path, model: str) -> dict[tuple[int, int], float]:
    """``{(question, turn): score}`` of ``model`` in a FastChat single-answer judgement file;
    a score of -1 (no rating found in the judgement) is left out."""
    out: dict[tuple[int, int], float] = {}
    seen: set[str] = set()
    for where, row in load_jsonl(file):
        who = get_str(row, "model", where)
        seen.add(who)
        if who != model:
            continue
        score = get_number(row, "score", where)
        turn = int(get_number(row, "turn", where))
        if turn not in (1, 2):
            raise ImporterError(f"{where}: turn: expected 1 or 2, got {turn}")
        if score == -1:
            continue
        if score != int(score) or not 1 <= score <= 10:
            raise ImporterError(f"{where}: score: {score:g} is not a rating 1-10")
        out[(int(get_number(row, "question_id", where)), turn)] = score
    if not out:
        raise ImporterError(f"{file}: no judgement of model {model!r}; models: {', '.join(sorted(seen)) or 'none'}")
    return out


def mt_bench_score(levels: Mapping[str, float]) -> dict[str, float]:
    """FastChat's figures from each case's rating: the mean of turn 1, of turn 2, and overall."""
    out: dict[str, float] = {}
    for name, suffix in (("turn-1", "-t1"), ("turn-2", "-t2"), ("overall", "")):
        values = [v for k, v in levels.items() if k.endswith(suffix)]
        if values:
            out[name] = sum(values) / len(values)
    return out


def _case(
    question: Question,
    turn: int,
    references: Mapping[int, Sequence[str]],
    answers: Answers | None,
    criterion: dict[str, Any],
) -> dict[str, Any]:
    case: dict[str, Any] = {"id": case_id(question.id, turn), "tags": [_slug(question.category), f"turn-{turn}"]}
    if turn == 1:
        case["input"] = question.turns[0]
    else:
        assert answers is not None
        case["messages"] = [
            {"role": "user", "content": question.turns[0]},
            {"role": "assistant", "content": answers.turns[question.id][0]},
            {"role": "user", "content": question.turns[1]},
        ]
    reference = references.get(question.id)
    if question.category in NEED_REF_CATS and reference and len(reference) >= turn:
        case["reference"] = reference[turn - 1]
    case["criteria"] = [criterion]
    return case


def _pass_at(options: Mapping[str, str]) -> int:
    raw = options.get("pass_at", "6")
    if not raw.isdigit() or not 1 <= int(raw) <= 10:
        raise ImporterError(f"option pass_at={raw!r}: expected a rating 1-10")
    return int(raw)


def write_suites(source: Path, out: Path, options: Mapping[str, str]) -> list[Path]:
    """One suite of every question and turn (see the module docstring)."""
    if ("answers" in options) == ("target" in options):
        raise ImporterError(
            "give the model's answers (--option answers=FILE, FastChat's model_answer format) or a "
            "live target (--option target=PLUGIN:MODEL), one of them"
        )
    if "judge" not in options and "judgments" not in options:
        raise ImporterError("give a judge (--option judge=SPEC) or FastChat's judgements (--option judgments=FILE)")
    if "judgments" in options and "answers" not in options:
        raise ImporterError("judgments replay the judge on recorded answers: give answers=FILE too")
    pass_at = _pass_at(options)
    release = read_release(source)
    answers = read_answers(Path(options["answers"])) if "answers" in options else None
    if answers is not None:
        missing = [q.id for q in release.questions if len(answers.turns.get(q.id, ())) < len(q.turns)]
        if missing:
            raise ImporterError(
                f"{options['answers']}: no answer to every turn of question {', '.join(map(str, missing[:10]))}"
            )
    model = answers.model if answers is not None else options["target"]
    turns = (1, 2) if answers is not None else (1,)
    cases, outputs = [], []
    for question in release.questions:
        for turn in turns[: len(question.turns)]:
            prompt = judge_prompt_for(question, release.prompts, turn=turn)
            criterion = {"id": "rating", "text": instruction(prompt), "scale": {"range": [1, 10], "pass_at": pass_at}}
            cases.append(_case(question, turn, release.references, answers, criterion))
            if answers is not None:
                outputs.append({"id": case_id(question.id, turn), "output": answers.turns[question.id][turn - 1]})
    name = f"mtbench-{_slug(options.get('model', model))}"
    suite: dict[str, Any] = {"version": 1, "suite": name}
    if answers is not None:
        write_jsonl(out / "answers.jsonl", outputs)
        suite["target"] = "jsonl:answers.jsonl"
    else:
        suite["target"] = options["target"]
    if "judgments" in options:
        scores = read_judgments(Path(options["judgments"]), options.get("model", model))
        write_jsonl(
            out / "judgments.jsonl",
            [{"case": case_id(q, t), "criterion": "rating", "level": s} for (q, t), s in sorted(scores.items())],
        )
        suite["judge"] = "recorded:judgments.jsonl"
    else:
        suite["judge"] = options["judge"]
    suite["cases"] = cases
    header = (
        "MT-Bench single-answer grading, written by `rubrictest import mtbench`: each question's turn\n"
        "rated 1-10 with FastChat's judge instructions. MT-Bench score = mean rating = 1 + 9 * case score\n"
        "averaged over the scored cases."
    )
    return [write_suite(out / f"test_{name.replace('-', '_')}.rubric.yaml", suite, header=header)]


class MTBenchImporter(Importer):
    """MT-Bench's questions, a model's answers and (optionally) FastChat's recorded judgements."""

    suite_options = OPTIONS

    def write_suites(self, path: Path, out: Path, options: Mapping[str, str]) -> list[Path]:
        """One suite of every question and turn."""
        return write_suites(path, out, options)
