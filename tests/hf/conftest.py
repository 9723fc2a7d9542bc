"""Fixtures of the hf plugin tests: tiny models built once per session, judge builders."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# Belt and braces: these tests load only directories they built; never ask the hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("tokenizers")

from rubrictest_hf import HFJudge, HFTarget  # noqa: E402

from rubrictest import ComponentSpec  # noqa: E402

from ..helpers.hf import context  # noqa: E402
from .tiny_models import char_tokenizer, save_model, word_tokenizer  # noqa: E402


@pytest.fixture(scope="session")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Model directories by kind.

    plain: Llama, word-level tokenizer, no chat template (one-token yes/no).
    chat: Llama, word-level tokenizer with a chat template.
    chars: Llama, character-level tokenizer (yes/no are several tokens), no chat template.
    qwen_chat: Qwen2, character-level tokenizer with a chat template.
    no_answers: Llama, word-level tokenizer that knows neither "yes" nor "no".
    """
    base = tmp_path_factory.mktemp("hf-models")
    return {
        "plain": save_model(base / "plain", word_tokenizer(chat=False)),
        "chat": save_model(base / "chat", word_tokenizer(chat=True), seed=1),
        "chars": save_model(base / "chars", char_tokenizer(chat=False), seed=2),
        "qwen_chat": save_model(base / "qwen_chat", char_tokenizer(chat=True), arch="qwen2", seed=3),
        "no_answers": save_model(base / "no_answers", word_tokenizer(chat=False, with_answers=False)),
    }


@pytest.fixture(autouse=True)
def _not_an_xdist_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    # These tests may themselves run under xdist; the refusal is tested explicitly.
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)


@pytest.fixture
def make_judge(models: dict[str, Path]) -> Iterator[Callable[..., HFJudge]]:
    """Build an hf judge for a model kind (or a path); closed after the test."""
    built: list[HFJudge] = []

    def make(kind: str | Path, **options: Any) -> HFJudge:
        path = models[kind] if isinstance(kind, str) else kind
        judge = HFJudge(ComponentSpec(plugin="hf", model=str(path), options=options), context(path))
        built.append(judge)
        return judge

    yield make
    for judge in built:
        asyncio.run(judge.aclose())


@pytest.fixture
def make_target(models: dict[str, Path]) -> Iterator[Callable[..., HFTarget]]:
    """Build an hf target for a model kind; closed after the test."""
    built: list[HFTarget] = []

    def make(kind: str, params: dict[str, Any] | None = None, **options: Any) -> HFTarget:
        path = models[kind]
        target = HFTarget(
            ComponentSpec(plugin="hf", model=str(path), params=params or {}, options=options), context(path)
        )
        built.append(target)
        return target

    yield make
    for target in built:
        asyncio.run(target.aclose())
