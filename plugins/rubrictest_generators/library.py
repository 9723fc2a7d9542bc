"""Rubric libraries for ``retrieve``: JSONL files, suites, and importers of public rubric sets.

A library is a list of :class:`LibraryEntry` -- a prompt and the criteria written for it.
``--library REF`` accepts:

* ``PATH.jsonl``: one object a line, ``{"id": ..., "prompt": ..., "criteria": [...]}``; a
  criterion is a string or ``{"text": ..., "points": ..., "must": ...}``;
* ``PATH.yaml`` / ``PATH.yml``: a rubrictest suite; every case with text criteria is an entry;
* ``NAME:DIR``: an importer of a public rubric set, reading the dataset's own files under DIR
  (DIR defaults to the dataset's folder in ``../shared/data`` next to this repository, or in
  ``$RUBRICTEST_SHARED_DATA``):

  ==================  =====================================================================
  ``hellobench``      HelloBench open-ended QA: 7-item checklists per instruction
  ``llmbar``          LLMBar Metrics_Reference: GPT-4's per-instance yes/no questions
                      (DIR may name a set folder; default LLMBar/Natural)
  ``biggen``          BiGGen-Bench: the 1-5 score rubric's criterion question per instance
  ``deep_research``   DeepResearch Bench: weighted criteria, points = dimension weight x weight
  ==================  =====================================================================

The importers also expose the labelled data those sets hold (:func:`llmbar_pairs`,
:func:`hellobench_verdicts`), used as fixtures for the rubric-quality metrics.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rubrictest import read_json, read_jsonl
from rubrictest.generation import GenerationError, suite_cases


@dataclass(frozen=True)
class LibraryCriterion:
    """One criterion of a library entry."""

    text: str
    points: float = 1.0
    must: bool = False


@dataclass(frozen=True)
class LibraryEntry:
    """A prompt and the rubric written for it.

    Attributes:
        id: unique within its source.
        prompt: the instruction or question.
        criteria: its rubric.
        source: where it comes from (file or importer), shown in provenance.
    """

    id: str
    prompt: str
    criteria: tuple[LibraryCriterion, ...]
    source: str


def shared_data_dir() -> Path:
    """``$RUBRICTEST_SHARED_DATA`` if set, else ``../shared/data`` next to the repository root
    this package lives in."""
    given = os.environ.get("RUBRICTEST_SHARED_DATA")
    return Path(given) if given else Path(__file__).resolve().parents[2].parent / "shared" / "data"


def _read_json(path: Path) -> Any:
    return read_json(path, error=GenerationError)


def read_jsonl_library(path: Path) -> list[LibraryEntry]:
    """Entries of a JSONL rubric library (see the module docstring for the format)."""
    out: list[LibraryEntry] = []
    for n, row in read_jsonl(path, error=GenerationError):
        where = f"{path}:{n}"
        prompt = row.get("prompt", row.get("input"))
        if not isinstance(prompt, str) or not prompt.strip():
            raise GenerationError(f"{where}: missing field 'prompt' (a non-empty string)")
        raw = row.get("criteria")
        if not isinstance(raw, list) or not raw:
            raise GenerationError(f"{where}: missing field 'criteria' (a non-empty list)")
        crits = []
        for i, c in enumerate(raw):
            if isinstance(c, str):
                crits.append(LibraryCriterion(c))
            elif isinstance(c, dict) and isinstance(c.get("text"), str):
                crits.append(LibraryCriterion(c["text"], float(c.get("points", 1.0)), bool(c.get("must", False))))
            else:
                raise GenerationError(f"{where}: criteria[{i}] must be a string or an object with 'text'")
        out.append(LibraryEntry(str(row.get("id", f"line-{n}")), prompt, tuple(crits), str(path)))
    return out


def read_suite_library(path: Path) -> list[LibraryEntry]:
    """Every case of a suite that has text criteria, as a library entry."""
    _, cases = suite_cases(path)
    return [
        LibraryEntry(
            c.id, c.prompt, tuple(LibraryCriterion(k.text, k.points, k.must) for k in c.criteria if k.text), str(path)
        )
        for c in cases
        if c.prompt and any(k.text for k in c.criteria)
    ]


def _data(dir_: str | None, default: str) -> Path:
    path = Path(dir_) if dir_ else shared_data_dir() / default
    if not path.exists():
        raise GenerationError(f"rubric set not found at {path}; give its folder as NAME:DIR")
    return path


def import_hellobench(dir_: str | None = None) -> list[LibraryEntry]:
    """HelloBench open-ended QA instructions with their 7-item checklists."""
    root = _data(dir_, "HelloBench")
    path = root / "data" / "main_data" / "open_ended_qa.jsonl"
    return [
        LibraryEntry(
            str(row["id"]),
            str(row["instruction"]),
            tuple(LibraryCriterion(str(c)) for c in row["checklists"]),
            "hellobench",
        )
        for _, row in read_jsonl(path, error=GenerationError)
    ]


def hellobench_verdicts(dir_: str | None = None) -> tuple[list[str], list[list[float]]]:
    """HelloBench's recorded per-item judge scores for GPT-4o's open-ended QA responses.

    Returns:
        ``(instance ids, scores)``: one row of 7 checklist-item scores in [0, 1] per instance.
    """
    root = _data(dir_, "HelloBench")
    path = root / "results" / "judgements" / "main_exp" / "gpt4o_0806" / "open_ended_qa_results.jsonl"
    ids, rows = [], []
    for _, row in read_jsonl(path, error=GenerationError):
        items = sorted(row["checklist_wise_evaluation"], key=lambda e: int(e["checklist_id"]))
        ids.append(str(row["id"]))
        rows.append([float(e["evaluation_score"]) for e in items])
    return ids, rows


def _llmbar_set(dir_: str | None) -> Path:
    path = _data(dir_, "LLMBar/Dataset/LLMBar/Natural")
    if (path / "Dataset").is_dir():  # the repository root was given
        path = path / "Dataset" / "LLMBar" / "Natural"
    return path


def import_llmbar(dir_: str | None = None) -> list[LibraryEntry]:
    """LLMBar Metrics_Reference: the yes/no questions GPT-4 wrote for each instance of a set."""
    root = _llmbar_set(dir_)
    rows = _read_json(root / "evaluators" / "GPT-4" / "Metrics_Reference" / "result.json")
    out = []
    for i, row in enumerate(rows):
        questions = [
            line.split(".", 1)[1].strip()
            for line in str(row["results"][0][0]).splitlines()
            if line.strip()[:1].isdigit() and "." in line
        ]
        if questions:
            out.append(
                LibraryEntry(
                    f"llmbar-{root.name}-{i}",
                    str(row["input"]),
                    tuple(LibraryCriterion(q) for q in questions),
                    "llmbar",
                )
            )
    return out


def llmbar_pairs(dir_: str | None = None) -> list[dict[str, Any]]:
    """LLMBar's gold-labelled pairs of a set as labelled-responses rows (``output_1``/``output_2``/``label``)."""
    root = _llmbar_set(dir_)
    rows = _read_json(root / "dataset.json")
    return [
        {
            "case": f"llmbar-{root.name}-{i}",
            "input": r["input"],
            "output_1": r["output_1"],
            "output_2": r["output_2"],
            "label": int(r["label"]),
        }
        for i, r in enumerate(rows)
    ]


def import_biggen(dir_: str | None = None) -> list[LibraryEntry]:
    """BiGGen-Bench: each instance's score-rubric criterion (a 1-5 scale) as one criterion."""
    root = _data(dir_, "prometheus-eval/BiGGen-Bench")
    rows = _read_json(root / "sample_responses.json")
    return [
        LibraryEntry(str(key), str(r["input"]), (LibraryCriterion(str(r["score_rubric"]["criteria"])),), "biggen")
        for key, r in rows.items()
    ]


def import_deep_research(dir_: str | None = None) -> list[LibraryEntry]:
    """DeepResearch Bench: two-level weighted criteria, points = dimension weight x criterion weight."""
    root = _data(dir_, "deep_research_bench")
    out = []
    for _, row in read_jsonl(root / "data" / "criteria_data" / "criteria.jsonl", error=GenerationError):
        crits = [
            LibraryCriterion(
                f"{c['criterion']}: {c['explanation']}",
                round(float(row["dimension_weight"][dim]) * float(c["weight"]), 4),
            )
            for dim, items in row["criterions"].items()
            for c in items
        ]
        out.append(LibraryEntry(f"drb-{row['id']}", str(row["prompt"]), tuple(crits), "deep_research"))
    return out


IMPORTERS: dict[str, Callable[[str | None], list[LibraryEntry]]] = {
    "hellobench": import_hellobench,
    "llmbar": import_llmbar,
    "biggen": import_biggen,
    "deep_research": import_deep_research,
}


def load_library(ref: str, base_dir: Path) -> list[LibraryEntry]:
    """Load a library from ``ref`` (a JSONL file, a suite, or ``NAME[:DIR]`` of an importer)."""
    name, sep, rest = ref.partition(":")
    if name in IMPORTERS and (sep or not (base_dir / ref).exists()):
        target = rest or None
        if target and not Path(target).is_absolute():
            target = str(base_dir / target)
        return IMPORTERS[name](target)
    path = Path(ref) if Path(ref).is_absolute() else base_dir / ref
    if not path.exists():
        raise GenerationError(
            f"library {ref!r} not found (looked at {path}); give a .jsonl, a suite, or one of "
            f"{', '.join(f'{n}:DIR' for n in IMPORTERS)}"
        )
    if path.suffix == ".jsonl":
        return read_jsonl_library(path)
    if path.suffix in (".yaml", ".yml"):
        return read_suite_library(path)
    raise GenerationError(f"library {ref!r}: expected a .jsonl file or a suite (.yaml)")
