"""Embedding retrieval with a tiny encoder built in the test (no download).

Skipped with the reason when torch or transformers is not installed (the ``local`` extra).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from rubrictest import Case
from rubrictest.generation import GenerationRequest, GeneratorContext

torch = pytest.importorskip("torch", reason="retriever=embeddings needs torch (the `local` extra)")
transformers = pytest.importorskip("transformers", reason="retriever=embeddings needs transformers (the `local` extra)")

WORDS = "can i return shoes boots after days how do cook pasta long does shipping take".split()


def _tiny_encoder(folder: Path) -> Path:
    torch.manual_seed(0)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tokenizer = transformers.BertTokenizer(str(folder / "vocab.txt"))
    config = transformers.BertConfig(
        vocab_size=len(vocab),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
    )
    transformers.BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_embedding_index_ranks_the_identical_prompt_first(tmp_path: Path) -> None:
    from rubrictest_generators.embeddings import EmbeddingIndex

    docs = ["how do i cook pasta", "can i return boots after days", "how long does shipping take"]
    index = EmbeddingIndex(docs, str(_tiny_encoder(tmp_path)))
    assert index.vectors.shape == (3, 16)
    assert [round(float((v * v).sum()), 6) for v in index.vectors] == [1.0, 1.0, 1.0]
    best, score = index.top("can i return boots after days", 1)[0]
    assert best == 1 and score == pytest.approx(1.0)


def test_retrieve_with_embeddings_adopts_the_nearest_rubric(tmp_path: Path) -> None:
    from rubrictest_generators import RetrieveGenerator

    library = tmp_path / "lib.jsonl"
    library.write_text(
        "\n".join(
            json.dumps(r)
            for r in [
                {"id": "returns", "prompt": "can i return boots after days", "criteria": ["States the return window"]},
                {"id": "pasta", "prompt": "how do i cook pasta", "criteria": ["Gives a cooking time"]},
            ]
        )
        + "\n"
    )
    (tmp_path / "enc").mkdir()
    model = _tiny_encoder(tmp_path / "enc")
    gen = RetrieveGenerator(
        GeneratorContext(
            options={
                "library": [str(library)],
                "adopt": "true",
                "retriever": "embeddings",
                "embedding_model": str(model),
            }
        )
    )
    case = Case(suite="s", id="c", input="can i return boots after days")
    asyncio.run(gen.prepare([GenerationRequest(case)]))
    [crit] = asyncio.run(gen.generate(GenerationRequest(case)))
    assert crit.text == "States the return window"
    assert crit.meta["exemplars"][0]["id"] == "returns"
    assert crit.meta["exemplars"][0]["embeddings"] == pytest.approx(1.0)
