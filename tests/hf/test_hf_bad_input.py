"""Bad input to the hf components: each a clear error or a clearly marked verdict."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from rubrictest_hf import HFJudge, HFTarget  # noqa: E402

from rubrictest import ComponentSpec, ConfigError, JudgeError  # noqa: E402

from ..helpers.hf import context, sample_requests  # noqa: E402


def test_model_path_that_does_not_exist(make_judge: Callable[..., HFJudge], tmp_path: Path) -> None:
    judge = make_judge(tmp_path / "no-such-model")
    with pytest.raises(ConfigError, match="model path not found: .*no-such-model"):
        judge.check_ready()
    # Asked anyway, every request fails with the same message: ERROR verdicts, never FAIL.
    with pytest.raises(JudgeError, match="model path not found"):
        judge.judge_batch(sample_requests()[:1])


def test_relative_model_path_resolves_against_the_suite(tmp_path: Path) -> None:
    judge = HFJudge(ComponentSpec(plugin="hf", model="./models/judge"), context(tmp_path / "suite.yaml"))
    with pytest.raises(ConfigError, match=f"model path not found: {tmp_path}"):
        judge.check_ready()


def test_model_path_that_is_a_file(make_judge: Callable[..., HFJudge], tmp_path: Path) -> None:
    file = tmp_path / "model.safetensors"
    file.write_bytes(b"")
    with pytest.raises(ConfigError, match="is a file; give the model's directory"):
        make_judge(file).check_ready()


def test_directory_that_is_not_a_model(make_judge: Callable[..., HFJudge], tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="cannot load"):
        make_judge(tmp_path / "empty").check_ready()


def test_no_model_given(tmp_path: Path) -> None:
    judge = HFJudge(ComponentSpec(plugin="hf"), context(tmp_path / "s.yaml"))
    with pytest.raises(ConfigError, match="give the model"):
        judge.check_ready()


@pytest.mark.skipif(torch.cuda.is_available(), reason="tests the message when CUDA is absent")
def test_cuda_asked_for_but_absent(make_judge: Callable[..., HFJudge]) -> None:
    with pytest.raises(ConfigError, match="options.device is 'cuda' but CUDA is not available"):
        make_judge("plain", device="cuda").check_ready()


def test_tokenizer_without_yes_and_no(make_judge: Callable[..., HFJudge], models: dict[str, Path]) -> None:
    judge = make_judge("no_answers")
    with pytest.raises(ConfigError, match=r"no usable tokens for the positive answer 'yes'.*yes_words"):
        judge.check_ready()
    from rubrictest_hf.loading import loaded_models

    assert str(models["no_answers"].resolve()) not in loaded_models()  # released after the failure


@pytest.mark.parametrize(
    "options, message",
    [
        ({"mode": "vote"}, "options.mode: Input should be 'logprob' or 'generate'"),
        ({"max_batch_tokens": 0}, "options.max_batch_tokens: Input should be greater than 0"),
        ({"yes_words": []}, "options.yes_words: must be a non-empty list of words"),
        ({"temprature": 0.1}, "unknown option.*temprature"),
        ({"prefix_cache": "yes"}, "options.prefix_cache: Input should be a valid boolean"),
    ],
)
def test_invalid_options(make_judge: Callable[..., HFJudge], options: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        make_judge("plain", **options)


def test_samples_in_logprob_mode(models: dict[str, Path]) -> None:
    spec = ComponentSpec(plugin="hf", model=str(models["plain"]), samples=3)
    with pytest.raises(ConfigError, match="logprob mode is deterministic"):
        HFJudge(spec, context(models["plain"]))


def test_unsupported_generation_params(models: dict[str, Path]) -> None:
    spec = ComponentSpec(plugin="hf", model=str(models["plain"]), params={"frequency_penalty": 1})
    with pytest.raises(ConfigError, match="unsupported params frequency_penalty"):
        HFTarget(spec, context(models["plain"]))


def test_criterion_without_text_is_rejected_at_collection(make_judge: Callable[..., HFJudge]) -> None:
    from rubrictest import Criterion

    with pytest.raises(ValueError, match="answers text criteria"):
        make_judge("plain").validate_criterion(Criterion(id="x", check="contains", params={"value": "a"}))
