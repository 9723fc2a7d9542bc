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
        docs = [Counter(tokenize(d)) for d in documents]
        self.size = len(docs)
        lengths = [sum(c.values()) for c in docs]
        avgdl = (sum(lengths) / len(docs)) if docs else 0.0
        # k1 * (1 - b + b * |d| / avgdl), once per document
        self.norms = [k1 * (1 - b + b * n / avgdl) if avgdl else k1 for n in lengths]
        self.postings: dict[str, list[tuple[int, int]]] = {}
        for i, counts in enumerate(docs):
            for term, f in counts.items():
                self.postings.setdefault(term, []).append((i, f))
        self.idf = {t: math.log(1 + (self.size - len(p) + 0.5) / (len(p) + 0.5)) for t, p in self.postings.items()}

    def scores(self, query: str) -> list[float]:
        """The BM25 score of every document for ``query``, in document order."""
        out = [0.0] * self.size
        for term in tokenize(query):
            idf = self.idf.get(term)
            if idf is None:
                continue
            for i, f in self.postings[term]:
                out[i] += idf * f * (self.k1 + 1) / (f + self.norms[i])
        return out

    def top(self, query: str, k: int) -> list[tuple[int, float]]:
        """The ``k`` best documents as ``(index, score)``, best first; zero scores left out."""
        ranked = sorted(enumerate(self.scores(query)), key=lambda p: (-p[1], p[0]))
        return [(i, s) for i, s in ranked[:k] if s > 0]
