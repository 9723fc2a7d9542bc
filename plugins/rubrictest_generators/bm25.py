"""A small Okapi BM25 ranker (no model, no dependency).

The maintained BM25 packages either stopped being released years ago (rank-bm25) or bring a
sparse-matrix engine sized for millions of documents (bm25s); ranking a rubric library of a
few thousand prompts needs thirty lines.

Score of document d for query q (Robertson/Sparck Jones with Lucene's non-negative idf)::

    score(d, q) = sum over terms t of q:
        idf(t) * f(t, d) * (k1 + 1) / (f(t, d) + k1 * (1 - b + b * |d| / avgdl))
    idf(t) = ln(1 + (N - n(t) + 0.5) / (n(t) + 0.5))

f(t, d): occurrences of t in d; |d|: its length in tokens; avgdl: mean length; N: number of
documents; n(t): documents containing t. Tokens are lower-cased word runs, except that CJK
characters are single tokens (Chinese has no spaces between words).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

_TOKEN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]|[^\W_]+", re.UNICODE)


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens; each CJK character is a token of its own."""
    return _TOKEN.findall(text.lower())


class BM25:
    """Okapi BM25 over a fixed list of documents.

    Args:
        documents: the texts to rank.
        k1: term-frequency saturation (default 1.5).
        b: length normalisation (default 0.75).
    """

    def __init__(self, documents: Sequence[str], *, k1: float = 1.5, b: float = 0.75) -> None:
        self.k1 = k1
        self.b = b
        self.docs = [Counter(tokenize(d)) for d in documents]
        self.lengths = [sum(c.values()) for c in self.docs]
        self.avgdl = (sum(self.lengths) / len(self.docs)) if self.docs else 0.0
        df: Counter[str] = Counter()
        for counts in self.docs:
            df.update(counts.keys())
        n = len(self.docs)
        self.idf = {t: math.log(1 + (n - k + 0.5) / (k + 0.5)) for t, k in df.items()}

    def scores(self, query: str) -> list[float]:
        """The BM25 score of every document for ``query``, in document order."""
        terms = tokenize(query)
        out = []
        for counts, length in zip(self.docs, self.lengths, strict=True):
            norm = self.k1 * (1 - self.b + self.b * length / self.avgdl) if self.avgdl else self.k1
            score = 0.0
            for t in terms:
                f = counts.get(t, 0)
                if f:
                    score += self.idf[t] * f * (self.k1 + 1) / (f + norm)
            out.append(score)
        return out

    def top(self, query: str, k: int) -> list[tuple[int, float]]:
        """The ``k`` best documents as ``(index, score)``, best first; zero scores left out."""
        ranked = sorted(enumerate(self.scores(query)), key=lambda p: (-p[1], p[0]))
        return [(i, s) for i, s in ranked[:k] if s > 0]
