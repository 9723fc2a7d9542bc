"""Building provider components against the local fake servers, and asking them."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import anthropic  # noqa: F401 - see below
import openai  # noqa: F401
import pytest

from rubrictest import Case, ComponentContext, ComponentSpec, Criterion, JudgeRequest, JudgeResult
from rubrictest.judging import CallFailed
from rubrictest.plugins import registry

SENTINEL_KEY = "sk-SENTINEL-7f3a9c1e5b2d4k-never-store-me"


FAST_RETRY = {"base_delay": 0.01, "max_delay": 0.05}


def build(kind: str, tmp_path: Path, **spec: Any) -> Any:
    """Build a registered target or judge from a spec mapping."""
    spec.setdefault("options", {})
    spec["options"].setdefault("retry", dict(FAST_RETRY))
    parsed = ComponentSpec.model_validate(spec)
    entry = registry().get(kind, parsed.plugin)
    return entry.factory(parsed, ComponentContext(base_dir=tmp_path, rootdir=tmp_path))


def make_request(
    n_criteria: int = 3, response: str = "The capital of France is Paris.", reference: str | None = None
) -> JudgeRequest:
    criteria = tuple(Criterion(id=f"c{i}", text=f"Criterion number {i}.") for i in range(n_criteria))
    case = Case(suite="s", id="case-1", input="What is the capital of France?", reference=reference, criteria=criteria)
    return JudgeRequest(case=case, response=response, criteria=criteria)


def run(component: Any, coro_fn: Any) -> Any:
    """Run ``coro_fn(component)`` on a fresh loop and close the component afterwards."""

    async def main() -> Any:
        try:
            return await coro_fn(component)
        finally:
            await component.aclose()

    return asyncio.run(main())


PLUGINS = ["openai", "anthropic"]


def judge_for(plugin: str, provider: Any, tmp_path: Path, **spec: Any) -> Any:
    """A judge of ``plugin`` talking to the fake ``provider`` (its key checked)."""
    url = provider.openai_url if plugin == "openai" else provider.anthropic_url
    spec.setdefault("base_url", url)
    judge = build("judges", tmp_path, plugin=plugin, model=spec.pop("model", "judge-model"), **spec)
    judge.check_ready()
    return judge


def judge_once(judge: Any, **request: Any) -> JudgeResult:
    """``judge`` asked once (a :func:`make_request`), then closed."""
    result: JudgeResult = run(judge, lambda j: j.judge(make_request(**request)))
    return result


def failure(judge: Any, **request: Any) -> CallFailed:
    """The :class:`CallFailed` that asking ``judge`` raises."""
    with pytest.raises(CallFailed) as info:
        judge_once(judge, **request)
    return info.value
