"""Options of the vllm judge and target: validation, launch plan, cache identity."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rubrictest_vllm import VLLMOptions
from rubrictest_vllm.fleet import LaunchPlan
from rubrictest_vllm.server import FleetError, diagnose

from rubrictest import ConfigError

from ..helpers.vllm import build


def parse(kind: str = "judge", attach: bool = False, **options: Any) -> VLLMOptions:
    return VLLMOptions.parse(options, what="vllm:m judge", attach=attach, kind=kind)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"tensor_paralel_size": 2}, "unknown option 'tensor_paralel_size' (did you mean tensor_parallel_size?)"),
        ({"zzz": 1}, "unknown option 'zzz'; known options: dtype, env"),
        ({"dtype": "fp8"}, "options.dtype: Input should be 'auto', 'bfloat16'"),
        ({"replicas": 0}, "options.replicas: Input should be greater than or equal to 1"),
        ({"gpus": [[0, 1], [2]], "tensor_parallel_size": 2}, "gpus[1] has 1 GPU(s) but a replica needs"),
        ({"gpus": [[0], [0]]}, "GPU 0 is given to replicas 0 and 1"),
        ({"gpus": [[0], [1]], "replicas": 3}, "replicas is 3 but gpus lists 2 replicas"),
        ({"port_range": [9000, 8000]}, "port_range must be [first, last]"),
        ({"port_range": [9000, 9000], "replicas": 2}, "has fewer ports than the 2 replicas"),
        ({"extra_args": ["--port=9"]}, "--port is set by the plugin; use port_range instead"),
        ({"extra_args": ["-tp", "2"]}, "-tp is set by the plugin; use tensor_parallel_size instead"),
        ({"structured_output": "xml"}, "options.structured_output: must be one of json_schema, structured_outputs"),
        ({"gpu_memory_utilization": 1.5}, "options.gpu_memory_utilization: Input should be less than or equal to 1"),
    ],
)
def test_bad_options_are_errors_naming_the_option(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse(**options)
    assert message in str(error.value) and str(error.value).startswith("vllm:m judge: ")


def test_launch_options_next_to_base_url_and_judge_options_on_a_target_are_errors() -> None:
    with pytest.raises(ConfigError, match="options replicas, tensor_parallel_size start servers, but base_url"):
        parse(attach=True, replicas=2, tensor_parallel_size=2)
    assert parse(attach=True, startup_timeout=5).ready_timeout(attach=True) == 5
    with pytest.raises(ConfigError, match="options logprobs are for the vllm judge"):
        parse(kind="target", logprobs=False)


def test_gpu_lists_and_replicas() -> None:
    assert parse(gpus=["0,1", "2,3"], tensor_parallel_size=2).gpus == [[0, 1], [2, 3]]
    assert parse(gpus=[4, 5]).replica_count == 2
    assert parse().replica_count == 1 and parse().ready_timeout(attach=False) == 900


def plan(**options: Any) -> LaunchPlan:
    return LaunchPlan("/models/judge", "judge", parse(**options), None)


def test_the_command_line_and_the_gpus_of_each_replica() -> None:
    p = plan(
        tensor_parallel_size=2,
        pipeline_parallel_size=2,
        replicas=2,
        max_model_len=4096,
        gpu_memory_utilization=0.85,
        extra_args=["--enable-prefix-caching"],
        dtype="bfloat16",
    )
    assert p.command(8001) == [
        "vllm",
        "serve",
        "/models/judge",
        "--served-model-name",
        "judge",
        "--host",
        "127.0.0.1",
        "--port",
        "8001",
        "--dtype",
        "bfloat16",
        "--tensor-parallel-size",
        "2",
        "--pipeline-parallel-size",
        "2",
        "--max-model-len",
        "4096",
        "--gpu-memory-utilization",
        "0.85",
        "--enable-prefix-caching",
    ]
    assert p.gpu_sets(None) == ["0,1,2,3", "4,5,6,7"]
    assert p.gpu_sets("7,6,5,4,3,2,1,0") == ["7,6,5,4", "3,2,1,0"]  # shares out the inherited list
    with pytest.raises(FleetError, match="2 replicas of 4 GPU\\(s\\) need 8 GPUs but CUDA_VISIBLE_DEVICES lists 2"):
        p.gpu_sets("0,1")
    assert plan().gpu_sets("3") == [None]  # one replica keeps what it inherits
    assert plan(gpus=[[2], [5]]).gpu_sets("0") == ["2", "5"]  # given ids are the machine's


def test_diagnoses() -> None:
    assert "out of GPU memory" in str(diagnose("torch.OutOfMemoryError: CUDA out of memory.", port=1))
    assert "port 8000 is already in use" in str(diagnose("[Errno 98] address already in use", port=8000))
    assert diagnose("ValueError: something else", port=1) is None


def test_cache_identity_keeps_what_changes_answers(tmp_path: Path) -> None:
    def identity(**options: Any) -> Any:
        return build("judges", tmp_path, model="m", options=options).cache_identity()

    base = identity()
    assert (
        identity(
            replicas=4,
            gpus=[[0], [1], [2], [3]],
            port_range=[9000, 9010],
            stop_timeout=1,
            startup_timeout=5,
            log_dir="logs",
            env={"A": "1"},
        )
        == base
    )
    assert identity(dtype="auto") == base
    assert identity(dtype="float16") != base
    assert identity(extra_args=["--quantization", "fp8"]) != base
    assert identity(logprobs=False) != base


def test_defaults(tmp_path: Path) -> None:
    judge = build("judges", tmp_path, model="m", options={"replicas": 3})
    assert judge.concurrency == 192 and judge.spec.timeout == 600
    assert judge.structured_output == "structured_outputs" and judge.logprobs
    assert build("judges", tmp_path, model="m", concurrency=5).concurrency == 5
    assert not judge.billable


def test_a_local_model_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "models" / "judge").mkdir(parents=True)
    judge = build("judges", tmp_path, model="./models/judge")
    assert judge._model_to_load() == str((tmp_path / "models" / "judge").resolve())
    assert build("judges", tmp_path, model="org/name")._model_to_load() == "org/name"
    with pytest.raises(ConfigError, match="model directory './models/other' does not exist"):
        build("judges", tmp_path, model="./models/other").check_ready()


def test_under_xdist_a_fleet_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw1")
    with pytest.raises(ConfigError, match="pytest-xdist worker gw1; each worker would start its own servers"):
        build("judges", tmp_path, model="m").check_ready()
    build("judges", tmp_path, model="m", base_url="http://127.0.0.1:1/v1").check_ready()  # attaching is fine
