"""Building provider components against the local fake servers, and asking them."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import anthropic  # noqa: F401 - see below
import openai  # noqa: F401

from rubrictest import Case, ComponentContext, ComponentSpec, Criterion, JudgeRequest
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
