"""Answer words as token sequences: which continuations mean "yes" and which mean "no".

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


@dataclass(frozen=True)
class AnswerTokens:
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
            if not any(longer[:len(ext)] == ext for longer in kept):
                kept.append(ext)
        return tuple(kept) or ((),)

    def extension_of(self, seq: tuple[int, ...]) -> int:
        """Index in :attr:`extensions` of the row that scores ``seq``."""
        return next(i for i, ext in enumerate(self.extensions) if ext[:len(seq) - 1] == seq[:-1])

    @classmethod
    def build(cls, tokenizer: Any, positive: Sequence[str], negative: Sequence[str], *,
              what: str) -> AnswerTokens:
        """Encode the answer words' variants with ``tokenizer``.

        Raises:
            ConfigError: a side has no usable token sequence.
        """
        unk = tokenizer.unk_token_id

        def encode(words: Sequence[str]) -> list[tuple[int, ...]]:
            seqs: list[tuple[int, ...]] = []
            for word in words:
                for text in variants(word):
                    ids = tuple(tokenizer.encode(text, add_special_tokens=False))
                    if ids and (unk is None or unk not in ids) and ids not in seqs:
                        seqs.append(ids)
            return seqs

        pos, neg = encode(positive), encode(negative)
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
                    "options.yes_words / options.no_words to words it knows")
        return cls(tuple(pos), tuple(neg))
