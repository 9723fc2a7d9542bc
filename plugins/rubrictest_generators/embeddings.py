"""Embedding retrieval for ``retrieve`` (``--option retriever=embeddings``).

Prompts are encoded with a transformers encoder (``--option embedding_model=NAME_OR_PATH``,
default ``sentence-transformers/all-MiniLM-L6-v2``): token embeddings mean-pooled over the
attention mask and L2-normalised, so the score of a library entry is the cosine similarity of
its prompt with the case's. Needs the ``local`` extra (torch, transformers). A model name is
fetched by transformers the first time; a local folder is used as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from rubrictest.generation import GenerationError

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"


class EmbeddingIndex:
    """Cosine-similarity ranking of documents by a transformers encoder's mean-pooled embeddings.

    Args:
        documents: the texts to rank.
        model: a model name or a local folder with an encoder and its tokenizer.
        batch_size: texts encoded at once.
        max_length: tokens kept per text.
    """

    def __init__(
        self, documents: Sequence[str], model: str = DEFAULT_MODEL, *, batch_size: int = 32, max_length: int = 256
    ) -> None:
        try:
            import torch
            from transformers import AutoModel, AutoTokenizer
        except ImportError:
            raise GenerationError(
                "retriever=embeddings needs torch and transformers: pip install 'rubrictest[local]'"
            ) from None
        try:
            self.tokenizer: Any = AutoTokenizer.from_pretrained(model)
            self.model: Any = AutoModel.from_pretrained(model).eval()
        except (OSError, ValueError) as exc:
            raise GenerationError(f"retriever=embeddings: cannot load the encoder {model!r}: {exc}") from None
        self._torch = torch
        self.batch_size = batch_size
        self.max_length = max_length
        self.vectors = self.encode(documents)

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float64]:
        """Unit-length mean-pooled embeddings of ``texts``, one row each."""
        torch = self._torch
        rows: list[npt.NDArray[np.float64]] = []
        with torch.no_grad():
            for start in range(0, len(texts), self.batch_size):
                batch = self.tokenizer(
                    list(texts[start : start + self.batch_size]),
                    padding=True,
                    truncation=True,
                    max_length=self.max_length,
                    return_tensors="pt",
                )
                hidden = self.model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1)
                pooled = torch.nn.functional.normalize(pooled, dim=-1)
                rows.append(pooled.double().cpu().numpy())
        if not rows:
            return np.zeros((0, 0))
        return np.vstack(rows)

    def scores(self, query: str) -> list[float]:
        """Cosine similarity of ``query`` with every document, in document order."""
        if not len(self.vectors):
            return []
        return [float(s) for s in self.vectors @ self.encode([query])[0]]

    def top(self, query: str, k: int) -> list[tuple[int, float]]:
        """The ``k`` most similar documents as ``(index, cosine)``, best first."""
        ranked = sorted(enumerate(self.scores(query)), key=lambda p: (-p[1], p[0]))
        return ranked[:k]
