"""The ``hf`` target: batched generation with an in-process transformers model.

The case's messages (or its input as one user message) go through the tokenizer's chat
template when it has one; otherwise the input text is the prompt. Generation is greedy unless
``params.temperature`` > 0 (``top_p``, ``top_k``, ``repetition_penalty``, ``seed`` apply
then); ``params.max_new_tokens`` (or ``max_tokens``) bounds the length, default
``options.max_new_tokens``. A prompt that, with the new tokens, exceeds the context is an
error for that case (a target's input is never cut: the response would answer another
question).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from rubrictest import (
    BatchTarget,
    CallRecord,
    Case,
    ComponentContext,
    ComponentSpec,
    ConfigError,
    JudgeError,
    TargetResult,
    Usage,
)

from .component import LocalModel, encode_prompt, render_chat
from .generation import Generator, generation_kwargs


class HFTarget(LocalModel, BatchTarget):
    """In-process transformers model under test (batched generation)."""

    what = "hf target"
    version = "1"

    def __init__(self, spec: ComponentSpec, context: ComponentContext) -> None:
        super().__init__(spec, context)
        self._init_local()
        try:
            self._kwargs = generation_kwargs(spec.params, self.options.max_new_tokens)
        except ValueError as exc:
            raise ConfigError(f"hf target: {exc}") from None
        # Sampled responses are not reproducible, so they are not cached.
        self.cacheable = not self._kwargs["do_sample"]  # type: ignore[misc]

    def cache_identity(self) -> dict[str, object]:
        return {**super().cache_identity(), **self.local_identity()}

    def prompt_ids(self, case: Case) -> list[int]:
        """The case rendered and tokenised as the model sees it."""
        tok = self.loaded.tokenizer
        if getattr(tok, "chat_template", None):
            text = render_chat(tok, case.chat_messages(), plain_suffix="")
        else:
            text = case.prompt
        return encode_prompt(tok, text)

    def generate_batch(self, cases: Sequence[Case]) -> list[TargetResult | JudgeError]:  # type: ignore[override]
        """Generate for every case at once (in a worker thread)."""
        loaded = self._loaded_or_judge_error()
        started = time.perf_counter()
        new_tokens = self._kwargs["max_new_tokens"]
        results: list[TargetResult | JudgeError | None] = [None] * len(cases)
        prompts: list[list[int]] = []
        owner: list[int] = []
        for i, case in enumerate(cases):
            ids = self.prompt_ids(case)
            if len(ids) + new_tokens > self.max_length:
                results[i] = JudgeError(
                    f"hf target: prompt of {len(ids)} tokens + max_new_tokens {new_tokens} exceeds the "
                    f"model's context of {self.max_length} tokens"
                )
                continue
            prompts.append(ids)
            owner.append(i)
        generator = Generator(loaded, max_batch_tokens=self.options.batch_tokens(loaded.device), stats=self.stats)
        with loaded.lock:
            outputs = generator.generate(prompts, self.spec.params, self.options.max_new_tokens)
        elapsed = time.perf_counter() - started
        for i, prompt, out in zip(owner, prompts, outputs, strict=True):
            if isinstance(out, str):
                results[i] = JudgeError(f"hf target: {out}")
                continue
            call = CallRecord(
                request={"prompt": loaded.tokenizer.decode(prompt), "params": dict(self.spec.params)},
                response={"text": out.text},
                model=loaded.location,
                usage=Usage(
                    input_tokens=out.prompt_tokens, output_tokens=len(out.ids), latency_s=elapsed / max(1, len(owner))
                ),
            )
            results[i] = TargetResult(out.text, [call])
        return [r if r is not None else JudgeError("hf target: no result") for r in results]

    async def generate(self, case: Case) -> TargetResult:
        # generate_batch reports a failed case as a JudgeError in its slot: raise it here, for
        # that case only, instead of failing the whole batch.
        result: object = await super().generate(case)
        if isinstance(result, JudgeError):
            raise result
        assert isinstance(result, TargetResult)
        return result
