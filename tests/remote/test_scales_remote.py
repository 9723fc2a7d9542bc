"""Model judges grade criteria on a scale (issue 13, part 2): the prompt shows each level, the
structured-output schema asks for a ``level``, a level off the scale is fed back and retried,
and the verdict carries the level, its normalised score and whether it reaches ``pass_at``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rubrictest import Case, Criterion, JudgeRequest, Scale

from ..helpers.remote import PLUGINS, judge_for, run
from .fake_provider import FakeProvider, Step

SCALE = Scale(
    levels=(1.0, 2.0, 3.0, 4.0, 5.0),
    pass_at=4.0,
    descriptions={1.0: "Useless.", 2.0: "Poor.", 3.0: "Fair.", 4.0: "Good.", 5.0: "Excellent."},
)


def _request() -> JudgeRequest:
    criteria = (
        Criterion(id="helpful", text="How helpful is it?", scale=SCALE),
        Criterion(id="polite", text="Is it polite?"),
    )
    case = Case(suite="s", id="c", input="Help me.", criteria=criteria)
    return JudgeRequest(case=case, response="Sure, here is how.", criteria=criteria)


def _answer(level: object) -> str:
    return json.dumps(
        {
            "verdicts": [
                {"id": "helpful", "evidence": "here is how", "rationale": "clear", "met": True, "level": level},
                {"id": "polite", "evidence": "Sure", "rationale": "fine", "met": True, "level": None},
            ]
        }
    )


@pytest.mark.parametrize("plugin", PLUGINS)
def test_a_model_judge_answers_a_level(plugin: str, provider: FakeProvider, api_keys: str, tmp_path: Path) -> None:
    provider.push(Step("content", content=_answer(7)), Step("content", content=_answer(3)))
    judge = judge_for(plugin, provider, tmp_path)
    result = run(judge, lambda j: j.judge(_request()))
    helpful, polite = result.verdicts
    assert (helpful.level, helpful.score, helpful.outcome) == (3.0, 0.5, "not_met")
    assert polite.outcome == "met" and polite.level is None
    first, second = provider.requests[-2:]
    text = json.dumps(first.body)
    assert "3: Fair." in text and "passes from level 4" in text and '\\"level\\"' in text
    assert "level 7 is not one of its levels" in json.dumps(second.body)
