"""GPU-local models in-process: the ``hf`` judge and the ``hf`` target (transformers).

Install the ``local`` extra (``pip install 'rubrictest[local]'``; on a GPU machine install
the CUDA build of torch first). Then, in a suite::

    judge: {plugin: hf, model: ./models/my-judge}       # a local directory, or a hub id
    target: {plugin: hf, model: Qwen/Qwen2.5-0.5B-Instruct, params: {max_new_tokens: 200}}

The model is loaded once per process (per pytest session) on its first batch, shared by every
judge and target naming it, and released when the session ends. The engine hands these
components every pending request at once; they sort, pad on the left, batch by
``options.max_batch_tokens``, reuse a response's shared prompt prefix (its key/value cache)
across its criteria, and halve a batch that runs out of GPU memory. Under pytest-xdist they
refuse to load one copy per worker unless ``options.allow_xdist`` is true: run with ``-n 0``
or serve the model with vLLM and use the ``openai`` judge (docs/local-judges.md).

Options: see :mod:`rubrictest_hf.options`. Judge modes: see :mod:`rubrictest_hf.judge`.
"""

from __future__ import annotations

from rubrictest import Register, hookimpl

from .judge import HFJudge
from .target import HFTarget

__all__ = ["HFJudge", "HFTarget"]


@hookimpl
def register_judges(register: Register) -> None:
    register("hf", HFJudge)


@hookimpl
def register_targets(register: Register) -> None:
    register("hf", HFTarget)
