"""Calls to the real provider APIs. Run with ``pytest --live`` and the API keys set.

Each test skips, saying why, when its key is not set. They judge one small case with the
cheapest current model of each provider (override with RUBRICTEST_LIVE_OPENAI_MODEL /
RUBRICTEST_LIVE_ANTHROPIC_MODEL).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rubrictest import Criterion

from ..helpers.remote import build, make_request, run

pytestmark = pytest.mark.live

LIVE = [
    ("openai", "OPENAI_API_KEY", os.environ.get("RUBRICTEST_LIVE_OPENAI_MODEL", "gpt-4.1-mini")),
    ("anthropic", "ANTHROPIC_API_KEY", os.environ.get("RUBRICTEST_LIVE_ANTHROPIC_MODEL", "claude-haiku-4-5")),
]


@pytest.mark.parametrize(("plugin", "key_env", "model"), LIVE)
def test_live_judge_decides_obvious_criteria(plugin: str, key_env: str, model: str, tmp_path: Path) -> None:
    if not os.environ.get(key_env):
        pytest.skip(f"{key_env} is not set: cannot call the real {plugin} API")
    judge = build("judges", tmp_path, plugin=plugin, model=model, params={"max_tokens": 800})
    judge.check_ready()
    request = make_request(1, response="The capital of France is Paris.")
    criteria = (
        Criterion(id="names-paris", text="The response names Paris as the capital of France."),
        Criterion(id="names-berlin", text="The response says the capital is Berlin."),
    )
    request = type(request)(case=request.case, response=request.response, criteria=criteria)
    result = run(judge, lambda j: j.judge(request))
    by_id = {v.criterion_id: v for v in result.verdicts}
    assert by_id["names-paris"].outcome == "met" and by_id["names-paris"].evidence_supported is not False
    assert by_id["names-berlin"].outcome == "not_met"
    assert result.calls[0].usage.input_tokens and result.calls[0].usage.cost_usd is not None


@pytest.mark.parametrize(("plugin", "key_env", "model"), LIVE)
def test_live_target_answers(plugin: str, key_env: str, model: str, tmp_path: Path) -> None:
    if not os.environ.get(key_env):
        pytest.skip(f"{key_env} is not set: cannot call the real {plugin} API")
    target = build("targets", tmp_path, plugin=plugin, model=model, params={"max_tokens": 50})
    target.check_ready()
    result = run(target, lambda t: t.generate(make_request().case))
    assert "paris" in result.text.lower()
