"""Answer words as token sequences: which continuations mean "yes" and which mean "no", and
which mean each level of a scale (:class:`LevelTokens`).

A word may be one token or several (``yes`` → ``y`` ``es`` in a small vocabulary), and the
model may continue with or without a leading space, capitalised or not. Each answer word is
expanded to its variants (``yes``, `` yes``, ``Yes``, `` Yes``, ``YES``, `` YES``), each
variant is encoded, and the distinct token sequences are kept. The probability of an answer
is the sum of the probabilities of its sequences (each the product of its tokens'
conditional probabilities), so nothing depends on which variant a tokenizer prefers.

Spellings a tokenizer splits are only used for a side that has no single-token spelling:
after "Answer with one word: yes or no" the mass of a rare split spelling (``YES`` →
``Y`` ``ES``) is negligible, and each split spelling costs a scoring row. So the usual
tokenizer is scored with exactly one row per criterion.

A sequence is unusable when it is empty, contains the unknown token, or also encodes an
answer of the other side; a tokenizer left with no usable sequence for either side is a
:class:`rubrictest.ConfigError`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rubrictest import ConfigError


def variants(word: str) -> list[str]:
    """Case and leading-space variants of ``word``, in a stable order without duplicates."""
    forms = [word, word.lower(), word.capitalize(), word.upper()]
    out: list[str] = []
    for form in forms:
        for text in (form, " " + form):
            if text not in out:
                out.append(text)
    return out


class _Sequences:
    """What the scorer needs of a set of answers: their token sequences and the rows that score them."""

    @property
    def all(self) -> tuple[tuple[int, ...], ...]:
        """Every answer sequence, in a fixed order."""
        raise NotImplementedError

    @property
    def longest(self) -> int:
        """Tokens in the longest sequence."""
        return max(len(s) for s in self.all)

    @property
    def multi_token(self) -> tuple[tuple[int, ...], ...]:
        """Sequences of more than one token."""
        return tuple(s for s in self.all if len(s) > 1)

    @property
    def extensions(self) -> tuple[tuple[int, ...], ...]:
        """What to append to a prompt so one row yields every token's probability.

        Each multi-token sequence needs its tokens but the last appended; an extension that
        is a prefix of another is covered by it. With no multi-token sequence this is
        ``((),)``: the prompt alone.
        """
        needed = sorted({s[:-1] for s in self.multi_token}, key=len, reverse=True)
        kept: list[tuple[int, ...]] = []
        for ext in needed:
            if not any(longer[: len(ext)] == ext for longer in kept):
                kept.append(ext)
        return tuple(kept) or ((),)

    def extension_of(self, seq: tuple[int, ...]) -> int:
        """Index in :attr:`extensions` of the row that scores ``seq``."""
        return next(i for i, ext in enumerate(self.extensions) if ext[: len(seq) - 1] == seq[:-1])


def _encode(tokenizer: Any, words: Sequence[str]) -> list[tuple[int, ...]]:
    """The distinct usable token sequences of ``words``' variants."""
    unk = tokenizer.unk_token_id
    seqs: list[tuple[int, ...]] = []
    for word in words:
        for text in variants(word):
            ids = tuple(tokenizer.encode(text, add_special_tokens=False))
            if ids and (unk is None or unk not in ids) and ids not in seqs:
                seqs.append(ids)
    return seqs


@dataclass(frozen=True)
class AnswerTokens(_Sequences):
    """The token sequences of the positive and the negative answer.

    Attributes:
        positive: distinct sequences meaning yes (or true).
        negative: distinct sequences meaning no (or false).
    """

    positive: tuple[tuple[int, ...], ...]
    negative: tuple[tuple[int, ...], ...]

    @property
    def all(self) -> tuple[tuple[int, ...], ...]:
        """Positive then negative sequences."""
        return self.positive + self.negative

    @classmethod
    def build(cls, tokenizer: Any, positive: Sequence[str], negative: Sequence[str], *, what: str) -> AnswerTokens:
        """Encode the answer words' variants with ``tokenizer``.

        Raises:
            ConfigError: a side has no usable token sequence.
        """
        pos, neg = _encode(tokenizer, positive), _encode(tokenizer, negative)
        pos = [s for s in pos if len(s) == 1] or pos
        neg = [s for s in neg if len(s) == 1] or neg
        shared = set(pos) & set(neg)
        pos = [s for s in pos if s not in shared]
        neg = [s for s in neg if s not in shared]
        for side, seqs, words in (("positive", pos, positive), ("negative", neg, negative)):
            if not seqs:
                raise ConfigError(
                    f"{what}: the tokenizer has no usable tokens for the {side} answer "
                    f"{'/'.join(words)!r} (unknown or ambiguous in its vocabulary); set "
                    "options.yes_words / options.no_words to words it knows"
                )
        return cls(tuple(pos), tuple(neg))


@dataclass(frozen=True)
class LevelTokens(_Sequences):
    """The token sequences of each level of a scale (``1`` ... ``5``, ``0.25``), for a criterion
    graded on a scale.

    A level's spellings are the level as written (``4``, ``0.25``) with and without a leading
    space; single-token spellings are preferred, as for yes/no. One level's sequence may begin
    another's (``1`` and ``10`` when ``10`` is split into ``1`` ``0``): :meth:`distribution`
    takes the longer level's probability out of the shorter one's.

    Attributes:
        levels: the scale's levels, ascending.
        sequences: each level's sequences, in the order of ``levels``.
    """

    levels: tuple[float, ...]
    sequences: tuple[tuple[tuple[int, ...], ...], ...]

    @property
    def all(self) -> tuple[tuple[int, ...], ...]:
        """Every level's sequences, level by level."""
        return tuple(seq for group in self.sequences for seq in group)

    def distribution(self, logp: dict[tuple[int, ...], float]) -> tuple[list[float], float]:
        """Each level's probability as the next answer, normalised over the levels, and the
        share of the next-token probability the levels held together.

        A level's probability is the sum over its sequences of the sequence's probability
        less that of the other levels' sequences that continue it. Computed relative to the
        likeliest sequence, so that tiny probabilities do not underflow to zero.

        Args:
            logp: every sequence's log-probability (:meth:`Scorer.sequence_logprobs`).
        """
        top = max(logp[seq] for seq in self.all)
        if top == -math.inf:
            return [0.0] * len(self.levels), 0.0
        mass = []
        for k, group in enumerate(self.sequences):
            total = 0.0
            for seq in group:
                longer = [
                    t
                    for j, other in enumerate(self.sequences)
                    if j != k
                    for t in other
                    if len(t) > len(seq) and t[: len(seq)] == seq
                ]
                own = math.exp(logp[seq] - top) - sum(math.exp(logp[t] - top) for t in longer)
                total += max(0.0, own)
            mass.append(total)
        held = sum(mass)
        if held <= 0:
            return [0.0] * len(self.levels), 0.0
        return [m / held for m in mass], held * math.exp(top)

    @classmethod
    def build(cls, tokenizer: Any, levels: Sequence[float], *, what: str) -> LevelTokens:
        """Encode each level's spellings with ``tokenizer``.

        Raises:
            ConfigError: a level has no usable token sequence, or two levels share one.
        """
        groups = []
        for level in levels:
            seqs = _encode(tokenizer, [f"{level:g}"])
            seqs = [s for s in seqs if len(s) == 1] or seqs
            if not seqs:
                raise ConfigError(
                    f"{what}: the tokenizer has no usable tokens for the level {level:g} "
                    "(unknown in its vocabulary): grade this scale with mode: generate"
                )
            groups.append(tuple(seqs))
        seen: dict[tuple[int, ...], float] = {}
        for level, group in zip(levels, groups, strict=True):
            for seq in group:
                if seq in seen:
                    raise ConfigError(f"{what}: the levels {seen[seq]:g} and {level:g} encode to the same tokens")
                seen[seq] = level
        return cls(tuple(levels), tuple(groups))
