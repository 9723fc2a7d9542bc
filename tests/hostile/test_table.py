"""docs/reliability.md shows the hostile corpus's table as tests/hostile/table.py renders it."""

from __future__ import annotations

from pathlib import Path

from .table import END, START, render, rows

DOC = Path(__file__).parents[2] / "docs" / "reliability.md"


def test_the_reliability_doc_holds_the_generated_table() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert START in text and END in text, f"{DOC} has no hostile-input table markers"
    shown = text[text.index(START) : text.index(END) + len(END)]
    assert shown == render(), "regenerate it: python -m tests.hostile.table"


def test_every_corpus_entry_has_a_row() -> None:
    assert len(rows()) == len(list((Path(__file__).parent / "corpus").glob("*/expect.json"))) >= 40
