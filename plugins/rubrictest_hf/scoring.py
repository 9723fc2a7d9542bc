"""Batched answer scoring: P(yes) and P(no) after each prompt, with shared-prefix reuse.

Prompts that share a prefix (the criteria of one response) form a *unit*. Units are sorted
by prefix length and packed into batches under the token budget, so rows of similar length
are padded together. Each batch runs in one of two ways:

* **prefix cache** (default, when the model's cache supports row selection): the batch's
  distinct prefixes run once, left-padded, keeping their key/value cache; the cache rows are
  then gathered so that each criterion's row points at its prefix, and only the suffixes
  (left-padded too) run on top of it. The attention mask covers prefix padding, the gap and
  suffix padding; position ids continue from each prefix's real length.
* **flat** (``prefix_cache: false``): each full prompt is one left-padded row.

An answer word of several tokens is scored on a row that extends the prompt by the word's
tokens but the last, so that one pass yields every conditional probability of the word
(one row serves every word whose extension is a prefix of its own; see
:attr:`~rubrictest_hf.answers.AnswerTokens.extensions`). Only the last few positions'
logits are computed (``logits_to_keep``).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .answers import AnswerTokens, _Sequences
from .batching import BatchStats, pad_left, positions, run_halving, token_batches
from .loading import LoadedModel


@dataclass(frozen=True)
class Score:
    """Probabilities of the two answers after one prompt.

    Attributes:
        log_positive: log of the summed probability of the positive answer's sequences.
        log_negative: the same for the negative answer.
    """

    log_positive: float
    log_negative: float

    @property
    def p_positive(self) -> float:
        """P(positive) normalised over the two answers: sigmoid(log P(yes) − log P(no))."""
        diff = self.log_positive - self.log_negative
        if diff >= 0:
            return 1.0 / (1.0 + math.exp(-diff))
        e = math.exp(diff)
        return e / (1.0 + e)

    @property
    def mass(self) -> float:
        """Unnormalised P(yes) + P(no): low when the model wanted to say something else."""
        return math.exp(self.log_positive) + math.exp(self.log_negative)

    @property
    def positive(self) -> bool:
        """Whether the positive answer is at least as likely as the negative one."""
        return self.log_positive >= self.log_negative

    @property
    def confidence(self) -> float:
        """Probability of the chosen answer, in [0.5, 1]."""
        p = self.p_positive
        return min(1.0, max(0.0, p if self.positive else 1.0 - p))


#: Log-probability of each answer sequence after one prompt.
Logprobs = dict[tuple[int, ...], float]


@dataclass(frozen=True)
class ScoreItem:
    """One prompt to score: ``prefix`` + ``suffix`` token ids (suffix non-empty)."""

    prefix: tuple[int, ...]
    suffix: tuple[int, ...]


@dataclass
class _Unit:
    prefix: tuple[int, ...]
    items: list[tuple[int, ScoreItem]]  # (index in the caller's list, item)

    @property
    def width(self) -> int:
        return max(len(item.suffix) for _, item in self.items)


class Scorer:
    """Scores many prompts with one model, batched.

    Args:
        loaded: the model.
        max_batch_tokens: bound on a forward pass's padded tokens.
        max_cache_tokens: bound on gathered prefix cache (rows × prefix length).
        prefix_cache: reuse a shared prefix's key/value cache.
        stats: where to count what was done.
    """

    def __init__(
        self,
        loaded: LoadedModel,
        *,
        max_batch_tokens: int,
        max_cache_tokens: int,
        prefix_cache: bool,
        stats: BatchStats,
    ) -> None:
        self.loaded = loaded
        self.max_batch_tokens = max_batch_tokens
        self.max_cache_tokens = max_cache_tokens
        self.prefix_cache = prefix_cache
        self.stats = stats

    def forward(self, **kwargs: Any) -> Any:
        """One model forward pass (tests replace it to simulate out-of-memory)."""
        self.stats.forward_passes += 1
        return self.loaded.model(**kwargs)

    def score(self, items: Sequence[ScoreItem], answers: AnswerTokens) -> list[Score | str]:
        """Score every item; a string in place of a score is the reason it failed."""
        return [
            out
            if isinstance(out, str)
            else Score(_logsumexp([out[s] for s in answers.positive]), _logsumexp([out[s] for s in answers.negative]))
            for out in self.sequence_logprobs(items, answers)
        ]

    def sequence_logprobs(
        self, items: Sequence[ScoreItem], answers: _Sequences
    ) -> list[dict[tuple[int, ...], float] | str]:
        """The log-probability of every answer sequence after each item (for a scale's levels,
        or yes and no); a string in place of them is the reason the item failed."""
        units: dict[tuple[int, ...], _Unit] = {}
        for index, item in enumerate(items):
            units.setdefault(item.prefix, _Unit(item.prefix, [])).items.append((index, item))
            self.stats.prompt_tokens += len(item.prefix) + len(item.suffix)
        ordered = sorted(units.values(), key=lambda u: (len(u.prefix), u.width))
        for unit in ordered:
            unit.items.sort(key=lambda pair: len(pair[1].suffix))
        per_item = len(answers.extensions)
        extension = max(len(e) for e in answers.extensions)

        def fits(batch: Sequence[_Unit]) -> bool:
            rows = sum(len(u.items) for u in batch) * per_item
            prefix = max(len(u.prefix) for u in batch)
            suffix = max(u.width for u in batch) + extension
            if not self.prefix_cache:
                return rows * (prefix + suffix) <= self.max_batch_tokens
            return (
                len(batch) * prefix <= self.max_batch_tokens
                and rows * suffix <= self.max_batch_tokens
                and rows * prefix <= self.max_cache_tokens
            )

        def run(batch: list[_Unit]) -> list[list[Logprobs | str]]:
            return [list(scores) for scores in self._run(batch, answers)]

        def split(unit: _Unit) -> tuple[_Unit, _Unit] | None:
            if len(unit.items) < 2:
                return None
            mid = len(unit.items) // 2
            return _Unit(unit.prefix, unit.items[:mid]), _Unit(unit.prefix, unit.items[mid:])

        def fail(unit: _Unit, reason: str) -> list[Logprobs | str]:
            return [reason] * len(unit.items)

        # A response with so many criteria that its rows alone exceed the budget is split
        # into chunks that fit (each recomputes the prefix): the budget stays a bound.
        chunks: list[_Unit] = []
        for unit in ordered:
            pending = [unit]
            while pending:
                current = pending.pop(0)
                halves = None if fits([current]) else split(current)
                if halves is None:
                    chunks.append(current)
                else:
                    pending[:0] = list(halves)
        results: list[Logprobs | str] = [""] * len(items)
        for batch in token_batches(chunks, fits):
            self.stats.batch_sizes.append(sum(len(u.items) for u in batch))
            flat_units = [pair for unit in batch for pair in unit.items]
            try:
                per_unit = run_halving(batch, run, split, fail, self.stats)
                answers_flat: list[Logprobs | str] = [s for unit_scores in per_unit for s in unit_scores]
            except Exception as exc:  # noqa: BLE001 - one broken batch must not sink the session
                answers_flat = [f"{type(exc).__name__}: {exc}"] * len(flat_units)
            # Results come back per unit in the order of the (possibly re-split) units,
            # which keeps each unit's item order: map them back through the same order.
            for (index, _), answer in zip(flat_units, answers_flat, strict=True):
                results[index] = answer
        return results

    def _rows(self, units: Sequence[_Unit], answers: _Sequences) -> tuple[list[list[int]], list[int]]:
        """Scoring rows (each suffix with each answer extension) and the unit of each."""
        rows: list[list[int]] = []
        owner: list[int] = []
        for u, unit in enumerate(units):
            for _, item in unit.items:
                for ext in answers.extensions:
                    rows.append([*item.suffix, *ext])
                    owner.append(u)
        return rows, owner

    def _run(self, units: list[_Unit], answers: _Sequences) -> list[list[Logprobs]]:
        import torch

        model_device = self.loaded.device
        pad = self.loaded.pad_id
        keep = max(len(e) for e in answers.extensions) + 1
        rows, owner = self._rows(units, answers)
        with torch.inference_mode():
            cache = None
            if self.prefix_cache:
                prefix_ids, prefix_mask = pad_left([u.prefix for u in units], pad, model_device, self.stats)
                out = self.forward(
                    input_ids=prefix_ids,
                    attention_mask=prefix_mask,
                    position_ids=positions(prefix_mask),
                    use_cache=True,
                    logits_to_keep=1,
                )
                cache = _returned_cache(out)
                if not hasattr(cache, "batch_select_indices"):
                    cache = None
            if cache is not None:
                index = torch.tensor(owner, dtype=torch.long, device=model_device)
                cache.batch_select_indices(index)
                row_ids, row_mask = pad_left(rows, pad, model_device, self.stats)
                mask = torch.cat([prefix_mask[index], row_mask], dim=1)
                offset = prefix_mask.sum(-1)[index].unsqueeze(-1)
                out = self.forward(
                    input_ids=row_ids,
                    attention_mask=mask,
                    position_ids=positions(row_mask, offset),
                    **{_cache_keyword(self.loaded.model.__class__): cache},
                    use_cache=True,
                    logits_to_keep=keep,
                )
            else:
                full = [[*units[u].prefix, *row] for u, row in zip(owner, rows, strict=True)]
                row_ids, row_mask = pad_left(full, pad, model_device, self.stats)
                out = self.forward(
                    input_ids=row_ids,
                    attention_mask=row_mask,
                    position_ids=positions(row_mask),
                    use_cache=False,
                    logits_to_keep=keep,
                )
            # Normalise over the whole vocabulary on the device, then copy back only the
            # answer tokens' columns (a few numbers per row, not the vocabulary).
            tokens = sorted({tok for seq in answers.all for tok in seq})
            columns = torch.tensor(tokens, dtype=torch.long, device=out.logits.device)
            logprobs = torch.log_softmax(out.logits[:, -keep:, :].float(), dim=-1)[:, :, columns].tolist()
        return self._read(units, answers, logprobs, {tok: i for i, tok in enumerate(tokens)})

    @staticmethod
    def _read(
        units: Sequence[_Unit], answers: _Sequences, logprobs: list[list[list[float]]], column: dict[int, int]
    ) -> list[list[Logprobs]]:
        """Each answer sequence's log-probability from the rows' last positions.

        ``logprobs[row][position][column[token]]`` is a log-probability of ``token``.
        """
        extensions = answers.extensions
        where = {seq: answers.extension_of(seq) for seq in answers.all}
        results: list[list[Logprobs]] = []
        row = 0
        for unit in units:
            scores: list[Logprobs] = []
            for _ in unit.items:
                seq_logp: dict[tuple[int, ...], float] = {}
                for seq, k in where.items():
                    # On a row extended by m tokens, the logits predicting the answer's j-th
                    # token sit m - j positions before the last.
                    m = len(extensions[k])
                    lp = logprobs[row + k]
                    seq_logp[seq] = sum(lp[-1 - m + j][column[tok]] for j, tok in enumerate(seq))
                row += len(extensions)
                scores.append(seq_logp)
            results.append(scores)
        return results


def _logsumexp(values: Sequence[float]) -> float:
    top = max(values)
    if top == -math.inf:
        return top
    return top + math.log(sum(math.exp(v - top) for v in values))


@functools.cache  # per model class: asked at every batch
def _cache_keyword(model_class: Any) -> str:
    """The keyword a model's ``forward`` takes its key-value cache by: ``cache`` from
    transformers 5.2x on (``past_key_values`` is deprecated there, to be removed), else
    ``past_key_values``."""
    import inspect

    try:
        parameters = inspect.signature(model_class.forward).parameters
    except (TypeError, ValueError):
        return "past_key_values"
    return "cache" if "cache" in parameters else "past_key_values"


def _returned_cache(out: Any) -> Any:
    """The key-value cache a forward pass returned, under either name (see :func:`_cache_keyword`)."""
    cache = getattr(out, "cache", None)
    return cache if cache is not None else getattr(out, "past_key_values", None)
