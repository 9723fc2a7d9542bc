"""``rubrictest import mtbench``: a case per question and turn rated 1-10 with FastChat's judge
instructions; FastChat's recorded judgements replayed give its MT-Bench score (mean rating over the
judgements with a score, per turn and overall, as ``show_result.py`` computes it)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from rubrictest_importers.mtbench import read_release
from rubrictest_importers.mtbench_suites import mt_bench_score

from rubrictest.cli import build_cli

from ..helpers.paths import EXCERPTS
from ..helpers.pytester import open_store
from ..helpers.shared_data import require_shared

SOURCE = EXCERPTS / "mtbench"
MODEL = "my-model"


def _invoke(source: Path, out: Path, *options: str) -> tuple[int, str]:
    args = ["import", "mtbench", str(source), "-o", str(out)]
    for option in options:
        args += ["--option", option]
    result = CliRunner().invoke(build_cli(), args)
    return result.exit_code, result.output


def _answers(path: Path, source: Path = SOURCE) -> Path:
    """A model's answers in FastChat's model_answer format."""
    rows = [
        {"question_id": q.id, "model_id": MODEL, "choices": [{"index": 0, "turns": [f"A{q.id}.1", f"A{q.id}.2"]}]}
        for q in read_release(source).questions
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


# FastChat judgement rows (model_judgment/gpt-4_single.jsonl): one unparsed (-1), one of another model
JUDGMENTS = [(81, 1, 9), (81, 2, 7), (111, 1, 3), (111, 2, -1), (131, 1, 8), (131, 2, 10)]


def _judgments(path: Path) -> Path:
    rows = [
        {
            "question_id": q,
            "model": MODEL,
            "judge": ["gpt-4", "single-v1"],
            "user_prompt": "...",
            "judgment": f"Rating: [[{s}]]" if s > 0 else "no rating",
            "score": s,
            "turn": t,
            "tstamp": 0,
        }
        for q, t, s in JUDGMENTS
    ]
    rows.append({"question_id": 81, "model": "other", "score": 1, "turn": 1})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_recorded_judgements_give_fastchats_score(pytester: pytest.Pytester, tmp_path: Path) -> None:
    code, output = _invoke(
        SOURCE,
        pytester.path / "mt",
        f"answers={_answers(tmp_path / 'a.jsonl')}",
        f"judgments={_judgments(tmp_path / 'j.jsonl')}",
    )
    assert code == 0, output
    suite = yaml.safe_load(
        (pytester.path / "mt" / "test_mtbench_my-model.rubric.yaml".replace("-", "_")).read_text(encoding="utf-8")
    )
    cases = {c["id"]: c for c in suite["cases"]}
    assert len(cases) == 6
    # turn 2 is the conversation so far; math is graded against the GPT-4 reference of that turn
    assert [m["content"] for m in cases["q81-t2"]["messages"]][1] == "A81.1"
    assert "reference" in cases["q111-t2"] and "reference" not in cases["q81-t1"]
    assert "second user question" in cases["q81-t2"]["criteria"][0]["text"]
    assert "[[rating]]" not in cases["q81-t1"]["criteria"][0]["text"]

    pytester.runpytest("mt", "-q")
    store = open_store(pytester)
    run = store.resolve_run(None)
    stored = {c["case_id"]: c for c in store.cases(run)}
    assert stored["q111-t2"]["outcome"] == "error"  # FastChat leaves the unparsed judgement out
    levels = {k: 1 + 9 * c["score"] for k, c in stored.items() if c["score"] is not None}
    got = mt_bench_score(levels)
    # show_result.py: mean score over the judgements with a score, per turn and overall
    scored = [(t, s) for _, t, s in JUDGMENTS if s != -1]
    assert got["overall"] == pytest.approx(sum(s for _, s in scored) / len(scored))
    assert got["turn-1"] == pytest.approx((9 + 3 + 8) / 3) and got["turn-2"] == pytest.approx((7 + 10) / 2)


def test_a_live_target_answers_first_turns(tmp_path: Path) -> None:
    code, output = _invoke(
        require_shared("FastChat"), tmp_path / "o", "target=openai:gpt-4o-mini", "judge=openai:gpt-4.1"
    )
    assert code == 0, output
    suite = yaml.safe_load(
        (tmp_path / "o" / "test_mtbench_openai-gpt-4o-mini.rubric.yaml".replace("-", "_")).read_text(encoding="utf-8")
    )
    assert len(suite["cases"]) == 80 and all(c["id"].endswith("-t1") for c in suite["cases"])
    assert sum("reference" in c for c in suite["cases"]) == 30


def test_bad_options(tmp_path: Path) -> None:
    answers = _answers(tmp_path / "a.jsonl")
    assert "one of them" in _invoke(SOURCE, tmp_path / "o", "judge=x:y")[1]
    assert "give a judge" in _invoke(SOURCE, tmp_path / "o", f"answers={answers}")[1]
    assert (
        "expected a rating 1-10" in _invoke(SOURCE, tmp_path / "o", f"answers={answers}", "judge=x:y", "pass_at=11")[1]
    )
    short = tmp_path / "short.jsonl"
    short.write_text(json.dumps({"question_id": 81, "choices": [{"turns": ["only one"]}]}) + "\n")
    assert (
        "no answer to every turn of question 81, 111, 131"
        in _invoke(SOURCE, tmp_path / "o", f"answers={short}", "judge=x:y")[1]
    )
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"question_id": 81, "model": MODEL, "score": 7.5, "turn": 1}) + "\n")
    assert (
        f"{bad}:1: score: 7.5 is not a rating 1-10"
        in _invoke(SOURCE, tmp_path / "o", f"answers={answers}", f"judgments={bad}")[1]
    )
    assert (
        "no judgement of model 'nobody'"
        in _invoke(
            SOURCE,
            tmp_path / "o",
            f"answers={answers}",
            f"judgments={_judgments(tmp_path / 'j.jsonl')}",
            "model=nobody",
        )[1]
    )
    assert "not an MT-Bench folder" in _invoke(tmp_path, tmp_path / "o", f"answers={answers}", "judge=x:y")[1]
