"""Batching helpers: left padding, token-budget batches, out-of-memory halving, statistics."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

U = TypeVar("U")
R = TypeVar("R")


@dataclass
class BatchStats:
    """What the batched forward passes did, for benchmarks and tests.

    Attributes:
        batches: batches run (an OOM retry counts its halves again).
        forward_passes: model forward calls (or ``generate`` calls).
        rows: sequences in those passes.
        prompt_tokens: tokens of the prompts as asked (prefix + suffix per criterion).
        real_tokens: tokens actually computed (a shared prefix counts once).
        padded_tokens: tensor cells computed, padding included.
        oom_splits: batches halved after an out-of-memory error.
        generated_tokens: new tokens generated.
    """

    batches: int = 0
    forward_passes: int = 0
    rows: int = 0
    prompt_tokens: int = 0
    real_tokens: int = 0
    padded_tokens: int = 0
    oom_splits: int = 0
    generated_tokens: int = 0
    batch_sizes: list[int] = field(default_factory=list)

    @property
    def padding_waste(self) -> float:
        """Share of computed cells that were padding."""
        return 1.0 - self.real_tokens / self.padded_tokens if self.padded_tokens else 0.0

    def as_dict(self) -> dict[str, Any]:
        """The figures as a JSON-able mapping."""
        return {
            "batches": self.batches,
            "forward_passes": self.forward_passes,
            "rows": self.rows,
            "prompt_tokens": self.prompt_tokens,
            "real_tokens": self.real_tokens,
            "padded_tokens": self.padded_tokens,
            "padding_waste": round(self.padding_waste, 4),
            "oom_splits": self.oom_splits,
            "generated_tokens": self.generated_tokens,
        }


def pad_left(
    rows: Sequence[Sequence[int]], pad_id: int, device: Any, stats: BatchStats | None = None
) -> tuple[Any, Any]:
    """Left-pad ``rows`` into ``(input_ids, attention_mask)`` tensors on ``device``."""
    import torch

    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        if row:
            ids[i, width - len(row) :] = torch.tensor(list(row), dtype=torch.long)
            mask[i, width - len(row) :] = 1
    if stats is not None:
        stats.rows += len(rows)
        stats.real_tokens += sum(len(r) for r in rows)
        stats.padded_tokens += len(rows) * width
    return ids.to(device), mask.to(device)


def positions(mask: Any, offset: Any = 0) -> Any:
    """Position ids for a left-padded mask: 0, 1, ... from each row's first real token.

    Pass ``position_ids`` explicitly: without them a model numbers padding as positions too.
    """
    return (mask.cumsum(-1) - 1).clamp(min=0) + offset


def token_batches(units: Sequence[U], fits: Callable[[Sequence[U]], bool]) -> list[list[U]]:
    """Greedy batches of consecutive ``units`` (already sorted) that ``fits`` accepts.

    A unit that does not fit alone still forms a batch of its own (an OOM then splits it).
    """
    batches: list[list[U]] = []
    current: list[U] = []
    for unit in units:
        if current and not fits([*current, unit]):
            batches.append(current)
            current = []
        current.append(unit)
    if current:
        batches.append(current)
    return batches


def is_oom(exc: BaseException) -> bool:
    """Whether ``exc`` is an accelerator out-of-memory error."""
    import torch

    return isinstance(exc, torch.OutOfMemoryError)


def run_halving(
    batch: list[U],
    run: Callable[[list[U]], list[R]],
    split: Callable[[U], tuple[U, U] | None],
    fail: Callable[[U, str], R],
    stats: BatchStats,
) -> list[R]:
    """Run ``batch``; on out-of-memory, free the cache, halve it and retry each half.

    Args:
        batch: units to run together; ``run`` returns one result per unit, in order.
        split: halves a single unit that is too big alone, or ``None`` when it cannot be split.
        fail: the result for a unit that runs out of memory even alone.
    """
    import torch

    stats.batches += 1
    try:
        return run(batch)
    except Exception as exc:
        if not is_oom(exc):
            raise
        message = str(exc).splitlines()[0] if str(exc) else "out of memory"
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    stats.oom_splits += 1
    if len(batch) > 1:
        mid = len(batch) // 2
        return run_halving(batch[:mid], run, split, fail, stats) + run_halving(batch[mid:], run, split, fail, stats)
    halves = split(batch[0])
    if halves is None:
        return [fail(batch[0], f"out of memory even for a batch of one ({message})")]
    first = run_halving([halves[0]], run, split, fail, stats)
    second = run_halving([halves[1]], run, split, fail, stats)
    return [_merge(first[0], second[0])]


def _merge(a: Any, b: Any) -> Any:
    # Results of a split unit are lists (one entry per item): concatenate them back.
    return [*a, *b]
