"""The ``vllm`` plugin: a judge (and target) served by vLLM, started for the session.

vLLM serves a model on one or many GPUs (tensor and pipeline parallel within a node, data
parallel across replicas, several nodes through Ray); this plugin drives it rather than
re-implementing it. In a suite::

    judge:
      plugin: vllm
      model: Qwen/Qwen2.5-7B-Instruct
      options: {tensor_parallel_size: 2, replicas: 2, gpus: [[0, 1], [2, 3]], dtype: bfloat16}

On the first request that needs it, the plugin runs ``vllm serve MODEL`` once per replica
(each with its ``CUDA_VISIBLE_DEVICES``, on the first free ports of ``options.port_range``),
waits until every server answers ``GET /health`` and lists the model on ``/v1/models``,
and sends requests through the ``openai`` plugin's judge and target: guided JSON verdicts
(``structured_outputs``), confidence from the ``"met"`` token's log-probabilities, each
request to the server with the fewest in flight. A server that cannot start (no ``vllm``
executable, out of GPU memory at load, a port taken, not ready in time) makes every
verdict it owed an ERROR whose message ends with the tail of its log. The servers are
stopped when the session ends, fails or is interrupted (Ctrl-C), and when the interpreter
exits; each runs in its own process group, which gets SIGTERM, then SIGKILL after
``options.stop_timeout``.

With ``base_url`` (one URL or a list) it attaches to servers that are already running
(started by hand, by a CI step or on other nodes) and starts nothing.

Options: see :mod:`rubrictest_vllm.options`. Recipes: docs/local-judges.md.
"""

from __future__ import annotations

from rubrictest import Register, hookimpl

from .components import VLLMJudge, VLLMTarget
from .options import VLLMOptions
from .server import FleetError

__all__ = ["FleetError", "VLLMJudge", "VLLMOptions", "VLLMTarget"]


@hookimpl
def register_judges(register: Register) -> None:
    register("vllm", VLLMJudge)


@hookimpl
def register_targets(register: Register) -> None:
    register("vllm", VLLMTarget)
