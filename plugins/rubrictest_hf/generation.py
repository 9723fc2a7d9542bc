"""Batched generation: prompts sorted by length, left-padded, batched by a token budget."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rubrictest.judging import TokenLogprob

from .batching import BatchStats, pad_left, run_halving, token_batches
from .loading import LoadedModel

_SAMPLING_PARAMS = ("temperature", "top_p", "top_k", "repetition_penalty", "seed")


@dataclass(frozen=True)
class Generated:
    """One prompt's continuation.

    Attributes:
        ids: the new tokens (up to EOS, excluded).
        text: their decoded text.
        prompt_tokens: tokens of the prompt.
        logprobs: per new token, its log-probability and the likeliest alternatives (only
            when the generator was built with ``top_logprobs``).
    """

    ids: list[int]
    text: str
    prompt_tokens: int
    logprobs: list[TokenLogprob] | None = None


def generation_kwargs(params: Mapping[str, Any], max_new_tokens: int) -> dict[str, Any]:
    """``generate`` keyword arguments from a spec's ``params``: greedy unless temperature > 0.

    Raises:
        ValueError: an unsupported parameter.
    """
    unknown = sorted(set(params) - {*_SAMPLING_PARAMS, "max_new_tokens", "max_tokens"})
    if unknown:
        raise ValueError(
            f"unsupported params {', '.join(unknown)}; supported: {', '.join(_SAMPLING_PARAMS)}, max_new_tokens"
        )
    kwargs: dict[str, Any] = {
        "max_new_tokens": int(params.get("max_new_tokens", params.get("max_tokens", max_new_tokens)))
    }
    temperature = float(params.get("temperature", 0.0))
    if temperature > 0:
        kwargs.update(do_sample=True, temperature=temperature)
        for key in ("top_p", "top_k", "repetition_penalty"):
            if key in params:
                kwargs[key] = params[key]
    else:
        kwargs["do_sample"] = False
    return kwargs


class Generator:
    """Generates continuations for many prompts with one model.

    Args:
        loaded: the model.
        max_batch_tokens: bound on rows × (longest prompt + new tokens) per batch.
        stats: where to count what was done.
        top_logprobs: when positive, record each new token's log-probability and this many
            alternatives (from the raw logits).
    """

    def __init__(self, loaded: LoadedModel, *, max_batch_tokens: int, stats: BatchStats, top_logprobs: int = 0) -> None:
        self.loaded = loaded
        self.max_batch_tokens = max_batch_tokens
        self.stats = stats
        self.top_logprobs = top_logprobs

    def generate_call(self, **kwargs: Any) -> Any:
        """One ``model.generate`` call (tests replace it to simulate out-of-memory)."""
        self.stats.forward_passes += 1
        return self.loaded.model.generate(**kwargs)

    def generate(
        self, prompts: Sequence[Sequence[int]], params: Mapping[str, Any], max_new_tokens: int
    ) -> list[Generated | str]:
        """Continue every prompt; a string in place of a result is the reason it failed."""
        kwargs = generation_kwargs(params, max_new_tokens)
        seed = params.get("seed")
        new = kwargs["max_new_tokens"]
        order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
        for p in prompts:
            self.stats.prompt_tokens += len(p)

        def fits(batch: Sequence[int]) -> bool:
            return bool(len(batch) * (max(len(prompts[i]) for i in batch) + new) <= self.max_batch_tokens)

        def run(batch: list[int]) -> list[Generated | str]:
            return list(self._run([prompts[i] for i in batch], kwargs, seed))

        def fail(index: int, reason: str) -> Generated | str:
            return reason

        def split(index: int) -> None:
            return None  # one prompt cannot be split

        results: list[Generated | str] = [""] * len(prompts)
        for batch in token_batches(order, fits):
            self.stats.batch_sizes.append(len(batch))
            try:
                out = run_halving(batch, run, split, fail, self.stats)
            except Exception as exc:  # noqa: BLE001 - a broken batch must not sink the session
                out = [f"{type(exc).__name__}: {exc}"] * len(batch)
            for index, result in zip(batch, out, strict=True):
                results[index] = result
        return results

    def _run(self, prompts: Sequence[Sequence[int]], kwargs: dict[str, Any], seed: Any) -> list[Generated]:
        import torch

        tok = self.loaded.tokenizer
        ids, mask = pad_left(prompts, self.loaded.pad_id, self.loaded.device, self.stats)
        if seed is not None:
            torch.manual_seed(int(seed))
        eos = tok.eos_token_id
        extra = {"output_logits": True, "return_dict_in_generate": True} if self.top_logprobs else {}
        with torch.inference_mode():
            output = self.generate_call(
                input_ids=ids, attention_mask=mask, pad_token_id=self.loaded.pad_id, eos_token_id=eos, **kwargs, **extra
            )
        sequences = output.sequences if self.top_logprobs else output
        width = ids.shape[1]
        results = []
        stop = {t for t in (eos, tok.pad_token_id) if isinstance(t, int)}
        for b, (row, prompt) in enumerate(zip(sequences[:, width:].tolist(), prompts, strict=True)):
            new_ids = []
            for token in row:
                if token in stop:
                    break
                new_ids.append(token)
            self.stats.generated_tokens += len(new_ids)
            logprobs = None
            if self.top_logprobs:
                steps = [step[b] for step in output.logits[: len(new_ids)]]
                logprobs = token_logprobs(tok, new_ids, steps, self.top_logprobs)
            results.append(Generated(new_ids, tok.decode(new_ids, skip_special_tokens=True), len(prompt), logprobs))
        return results


def token_logprobs(tokenizer: Any, ids: Sequence[int], logits: Sequence[Any], top: int) -> list[TokenLogprob]:
    """Generated tokens as :class:`TokenLogprob` with ``top`` alternatives, from per-step logits."""
    import torch

    out = []
    for token, step in zip(ids, logits, strict=True):
        logp = torch.log_softmax(step.float(), dim=-1)
        values, indices = torch.topk(logp, min(top, logp.shape[-1]))
        alternatives = tuple((tokenizer.decode([int(i)]), float(v)) for v, i in zip(values, indices, strict=True))
        out.append(TokenLogprob(tokenizer.decode([int(token)]), float(logp[int(token)]), alternatives))
    return out
