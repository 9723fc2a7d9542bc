"""The ``options:`` of a ``vllm`` judge or target, validated by one pydantic model.

Two groups of keys. *Launch* options say how the plugin starts ``vllm serve`` for the
session; they are refused when the spec has ``base_url`` (then the plugin attaches to
servers that are already running). *Request* options are the ``openai`` plugin's, with
defaults that suit vLLM::

    judge:
      plugin: vllm
      model: Qwen/Qwen2.5-7B-Instruct      # a hub id or a local directory (./models/judge)
      options:
        # launch
        executable: vllm                   # the vllm command (a name on PATH or a path)
        dtype: auto                        # auto, bfloat16, float16, float32 (vllm serve --dtype)
        tensor_parallel_size: 1            # GPUs one replica's weights are split over
        pipeline_parallel_size: 1          # pipeline stages of one replica
        replicas: 1                        # independent servers; requests go to the least loaded
        gpus: null                         # GPU ids per replica, e.g. [[0, 1], [2, 3]] or ["0,1", "2,3"]
        host: 127.0.0.1
        port_range: [8000, 8099]           # ports tried, first free first
        max_model_len: null                # vllm serve --max-model-len
        gpu_memory_utilization: null       # vllm serve --gpu-memory-utilization
        extra_args: []                     # more vllm serve arguments, e.g. [--enable-prefix-caching]
        env: {}                            # more environment variables for the servers
        startup_timeout: null              # seconds to wait for every server to be ready
                                           # (default 900 for servers it starts, 60 with base_url)
        stop_timeout: 10                   # seconds between SIGTERM and SIGKILL at the end
        log_dir: null                      # server logs (default: a new temporary directory)
        # requests (the openai plugin's options)
        structured_output: structured_outputs   # see rubrictest_openai
        logprobs: true                     # confidence from the "met" token's probabilities
        top_logprobs: 5
        evidence_policy: require
        retry: {}                          # a rubrictest RetryPolicy mapping

The spec's ``api_key_env`` names a key: servers the plugin starts require it (passed to
them as ``VLLM_API_KEY``, never on a command line), and requests send it. Without it,
nothing is asked or sent. A misspelled key is an error naming the closest known one.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from rubrictest_openai import STRUCTURED_OUTPUT_MODES

from rubrictest import ConfigError

LAUNCH_OPTIONS = frozenset(
    {
        "executable",
        "dtype",
        "tensor_parallel_size",
        "pipeline_parallel_size",
        "replicas",
        "gpus",
        "host",
        "port_range",
        "max_model_len",
        "gpu_memory_utilization",
        "extra_args",
        "env",
        "stop_timeout",
        "log_dir",
    }
)
"""Options that start servers: an error next to ``base_url``."""

ANSWER_CHANGING = frozenset({"dtype", "extra_args"})
"""Launch options that can change an answer (precision; quantization and the like through
``extra_args``): they stay in the cache identity; the rest of :data:`LAUNCH_OPTIONS` do not."""

JUDGE_ONLY = frozenset({"structured_output", "logprobs", "top_logprobs", "evidence_policy"})

# Flags the plugin writes itself from the options; in extra_args they would contradict them.
_MANAGED_FLAGS = {
    "--host": "host",
    "--port": "port_range",
    "--dtype": "dtype",
    "--tensor-parallel-size": "tensor_parallel_size",
    "-tp": "tensor_parallel_size",
    "--pipeline-parallel-size": "pipeline_parallel_size",
    "-pp": "pipeline_parallel_size",
    "--served-model-name": "the spec's model",
    "--max-model-len": "max_model_len",
    "--gpu-memory-utilization": "gpu_memory_utilization",
}


class VLLMOptions(BaseModel):
    """Validated ``options`` of the ``vllm`` judge and target (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    executable: str = Field("vllm", min_length=1)
    dtype: Literal["auto", "bfloat16", "float16", "half", "float32", "float"] = "auto"
    tensor_parallel_size: int = Field(1, ge=1)
    pipeline_parallel_size: int = Field(1, ge=1)
    replicas: int | None = Field(None, ge=1)
    gpus: list[list[int]] | None = None
    host: str = Field("127.0.0.1", min_length=1)
    port_range: tuple[int, int] = (8000, 8099)
    max_model_len: int | None = Field(None, ge=1)
    gpu_memory_utilization: float | None = Field(None, gt=0, le=1)
    extra_args: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    startup_timeout: float | None = Field(None, gt=0)
    stop_timeout: float = Field(10.0, ge=0)
    log_dir: str | None = None
    structured_output: str = "structured_outputs"
    logprobs: bool = True
    top_logprobs: int = Field(5, ge=1, le=20)
    evidence_policy: Literal["require", "flag", "ignore"] = "require"
    retry: dict[str, Any] = Field(default_factory=dict)

    @field_validator("gpus", mode="before")
    @classmethod
    def _gpu_lists(cls, value: Any) -> Any:
        # "0,1" and 3 are accepted for [0, 1] and [3]: the forms CUDA_VISIBLE_DEVICES users write.
        if isinstance(value, list):
            return [
                [int(g) for g in v.split(",") if g.strip()] if isinstance(v, str) else [v] if isinstance(v, int) else v
                for v in value
            ]
        return value

    @field_validator("structured_output")
    @classmethod
    def _known_mode(cls, value: str) -> str:
        if value not in STRUCTURED_OUTPUT_MODES:
            raise ValueError(f"must be one of {', '.join(STRUCTURED_OUTPUT_MODES)}")
        return value

    @field_validator("extra_args")
    @classmethod
    def _no_managed_flags(cls, value: list[str]) -> list[str]:
        for arg in value:
            flag = arg.split("=", 1)[0]
            if flag in _MANAGED_FLAGS:
                raise ValueError(f"{flag} is set by the plugin; use {_MANAGED_FLAGS[flag]} instead")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> VLLMOptions:
        low, high = self.port_range
        if not 1 <= low <= high <= 65535:
            raise ValueError(f"port_range must be [first, last] with 1 <= first <= last <= 65535, not {[low, high]}")
        if self.gpus is not None:
            if self.replicas is not None and self.replicas != len(self.gpus):
                raise ValueError(f"replicas is {self.replicas} but gpus lists {len(self.gpus)} replicas")
            for i, ids in enumerate(self.gpus):
                if len(ids) != self.gpus_per_replica:
                    raise ValueError(
                        f"gpus[{i}] has {len(ids)} GPU(s) but a replica needs tensor_parallel_size x "
                        f"pipeline_parallel_size = {self.gpus_per_replica}"
                    )
            seen: dict[int, int] = {}
            for i, ids in enumerate(self.gpus):
                for gpu in ids:
                    if gpu in seen:
                        raise ValueError(
                            f"GPU {gpu} is given to replicas {seen[gpu]} and {i}; give each replica its own GPUs"
                        )
                    seen[gpu] = i
        if high - low + 1 < self.replica_count:
            raise ValueError(f"port_range {[low, high]} has fewer ports than the {self.replica_count} replicas")
        return self

    def ready_timeout(self, *, attach: bool) -> float:
        """``startup_timeout``, else 60 s for attached servers and 900 s for started ones."""
        return self.startup_timeout or (60.0 if attach else 900.0)

    @property
    def gpus_per_replica(self) -> int:
        """GPUs one replica needs: tensor × pipeline parallel size."""
        return self.tensor_parallel_size * self.pipeline_parallel_size

    @property
    def replica_count(self) -> int:
        """Servers to start: ``replicas``, else one per ``gpus`` entry, else 1."""
        return self.replicas or (len(self.gpus) if self.gpus is not None else 1)

    @classmethod
    def parse(cls, options: Mapping[str, Any], *, what: str, attach: bool, kind: str) -> VLLMOptions:
        """Validate a spec's ``options``.

        Args:
            options: the spec's ``options`` mapping.
            what: the component, for messages (``vllm judge``).
            attach: the spec has ``base_url``: launch options are refused.
            kind: ``judge`` or ``target``; a target refuses judge-only options.

        Raises:
            ConfigError: an unknown or misplaced key, or a bad value; the message names it.
        """
        try:
            parsed = cls.model_validate(dict(options))
        except ValidationError as exc:
            raise ConfigError(f"{what}: {_describe(exc)}") from None
        given = set(options)
        if attach and given & LAUNCH_OPTIONS:
            raise ConfigError(
                f"{what}: options {', '.join(sorted(given & LAUNCH_OPTIONS))} start servers, but base_url "
                "attaches to running ones: remove base_url to let the plugin start vllm serve, or those options"
            )
        if kind == "target" and given & JUDGE_ONLY:
            raise ConfigError(f"{what}: options {', '.join(sorted(given & JUDGE_ONLY))} are for the vllm judge")
        return parsed

    def request_options(self, *, keyed: bool) -> dict[str, Any]:
        """The options the ``openai`` plugin reads, with this plugin's defaults.

        Args:
            keyed: the spec names an ``api_key_env``.
        """
        return {
            "structured_output": self.structured_output,
            "logprobs": self.logprobs,
            "top_logprobs": self.top_logprobs,
            "evidence_policy": self.evidence_policy,
            "retry": self.retry,
            "no_api_key": not keyed,
        }


def _describe(exc: ValidationError) -> str:
    """pydantic's errors as one line per problem, naming the option (and a likely spelling)."""
    known = sorted(VLLMOptions.model_fields)
    lines = []
    for error in exc.errors():
        loc = [str(part) for part in error["loc"]]
        key = ".".join(loc)
        if error["type"] == "extra_forbidden":
            close = difflib.get_close_matches(loc[0], known, n=1)
            hint = f" (did you mean {close[0]}?)" if close else f"; known options: {', '.join(known)}"
            lines.append(f"unknown option {loc[0]!r}{hint}")
        else:
            message = str(error["msg"]).removeprefix("Value error, ")
            lines.append(f"options.{key}: {message}" if key else message)
    return "; ".join(lines)
