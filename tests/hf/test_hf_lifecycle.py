"""Loading once, sharing, releasing, xdist, cache identity and plugin registration."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

pytest.importorskip("torch")

from rubrictest_hf import HFJudge, HFTarget, loading  # noqa: E402

from rubrictest import ConfigError  # noqa: E402

from ..helpers.hf import sample_requests  # noqa: E402


def test_judges_and_targets_share_one_load(
    make_judge: Callable[..., HFJudge], make_target: Callable[..., HFTarget], models: dict[str, Path]
) -> None:
    before = loading.LOAD_COUNT
    judges = [make_judge("plain"), make_judge("plain", max_batch_tokens=512)]
    target = make_target("plain")
    for component in (*judges, target):
        component.check_ready()
    for _ in range(3):  # several batches, as the engine's batcher makes them
        for judge in judges:
            asyncio.run(judge.judge(sample_requests()[0]))
    assert loading.LOAD_COUNT == before + 1
    assert judges[0].loaded is judges[1].loaded is target.loaded
    location = str(models["plain"].resolve())
    assert loading.loaded_models().count(location) == 1
    for component in (*judges, target):
        asyncio.run(component.aclose())
    assert location not in loading.loaded_models()  # the last release frees it


def test_lazy_load_on_first_batch(make_judge: Callable[..., HFJudge]) -> None:
    before = loading.LOAD_COUNT
    judge = make_judge("chat")
    judge.check_ready()  # checks path, device and tokenizer; reads no weights
    assert loading.LOAD_COUNT == before
    assert judge.answers is not None
    judge.judge_batch(sample_requests()[:1])
    assert loading.LOAD_COUNT == before + 1


def test_reacquired_after_close(make_judge: Callable[..., HFJudge]) -> None:
    judge = make_judge("plain")
    first = judge.judge_batch(sample_requests()[:1])
    asyncio.run(judge.aclose())
    again = judge.judge_batch(sample_requests()[:1])
    assert [v.score for v in first[0].verdicts] == [v.score for v in again[0].verdicts]


def test_xdist_worker_refuses_to_load_a_copy(
    make_judge: Callable[..., HFJudge], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw1")
    before = loading.LOAD_COUNT
    with pytest.raises(ConfigError, match=r"pytest-xdist worker gw1.*-n 0.*vllm serve.*allow_xdist"):
        make_judge("plain").check_ready()
    assert loading.LOAD_COUNT == before
    make_judge("plain", allow_xdist=True).check_ready()  # the documented opt-in


def test_cache_identity_ignores_speed_and_tracks_weights(
    make_judge: Callable[..., HFJudge], models: dict[str, Path]
) -> None:
    fast = make_judge("plain", max_batch_tokens=1024, prefix_cache=False, device="cpu")
    slow = make_judge("plain")
    assert fast.cache_identity() == slow.cache_identity()
    assert make_judge("plain", mode="generate").cache_identity() != slow.cache_identity()
    assert slow.cache_identity()["weights"]
    assert make_judge("chat").cache_identity()["weights"] != slow.cache_identity()["weights"]


def test_plugin_is_registered_through_its_entry_point() -> None:
    from rubrictest.plugins import load_plugins, registry

    load_plugins()
    assert registry().get("judges", "hf").factory is HFJudge
    assert registry().get("targets", "hf").factory is HFTarget
    assert registry().get("judges", "hf").plugin
