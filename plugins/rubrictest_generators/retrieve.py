"""``retrieve`` (RubricRAG): rubrics of the most similar existing cases as exemplars.

RubricRAG finds that off-the-shelf LLM rubrics align poorly with human-written ones, and
that retrieving the rubrics written for related queries and giving them to the generator as
exemplars brings generated rubrics closer to human ones. Here the candidates are the other
cases of the suite that have criteria, plus every ``--library`` (JSONL rubric libraries,
other suites, or importers of public rubric sets: see
:mod:`rubrictest_generators.library`). They are ranked by BM25 between prompts -- no model is
needed to retrieve -- or, with ``retriever=embeddings``, by the cosine similarity of an
encoder's embeddings (:mod:`rubrictest_generators.embeddings`); the top ``k`` are shown to
the model, which writes a rubric for the case in the same style. The exemplars used are
recorded in each criterion's ``meta``.

With ``--option adopt=true`` no model is called: the criteria of the single most similar
entry are adopted as they are (RubricRAG's retrieval alone, a baseline and an offline mode).

Options: ``k`` exemplars (default 3), ``max_items`` (default 10), ``adopt`` (true/false,
default false), ``retriever`` (bm25 or embeddings, default bm25), ``embedding_model`` (a
transformers encoder name or folder), ``library`` (set by ``--library``; a list of references).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, ClassVar

from rubrictest.generation import (
    GeneratedCriterion,
    GenerationError,
    GenerationRequest,
    Generator,
    Provenance,
    require_stats,
)

from .bm25 import BM25
from .library import LibraryCriterion, LibraryEntry, load_library
from .prompting import DATA_NOTE, criteria_schema, render_case, tag

if TYPE_CHECKING:
    from .embeddings import EmbeddingIndex

PROMPT = """You write an evaluation rubric for one instruction given to an AI assistant.

Below are rubrics that expert graders wrote for SIMILAR instructions. Follow their style, granularity
and kind of checks, but write criteria for the NEW instruction only: every criterion must be specific
to it, checkable in one response on its own, and phrased so that meeting it is good (or, with
negative "points", so that it describes a mistake). Set "must": true only for hard requirements.
At most {max_items} criteria. {data_note}

{exemplars}

New instruction:
{case}

Reply with only JSON: {{"criteria": [{{"text": "...", "points": 1, "must": false}}]}}"""


def _render_exemplar(i: int, entry: LibraryEntry) -> str:
    def line(c: LibraryCriterion) -> str:
        extra = [] if c.points == 1 else [f"points {c.points:g}"]
        extra += ["must"] if c.must else []
        return f"- {c.text}" + (f" ({', '.join(extra)})" if extra else "")

    prompt = entry.prompt if len(entry.prompt) <= 1500 else entry.prompt[:1500] + " …"
    rubric = "\n".join(line(c) for c in entry.criteria[:15])
    return f"Example {i}:\n{tag('example', prompt)}\nRubric:\n{rubric}"


class RetrieveGenerator(Generator):
    """RubricRAG: BM25-retrieved rubrics of similar cases as exemplars for the model."""

    name = "retrieve"
    prompt_version = "1"
    needs_model = False  # checked in __init__: only generation (not ``adopt``) needs one
    reply_schema: ClassVar[dict[str, Any]] = criteria_schema(with_points=True, with_must=True, max_items=60)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        adopt = self.option("adopt", "false").lower()
        if adopt not in ("true", "false", "1", "0", "yes", "no"):
            raise GenerationError(f"generator 'retrieve': option adopt={adopt!r} must be true or false")
        self.adopt = adopt in ("true", "1", "yes")
        if not self.adopt and self.context.model is None:
            raise GenerationError(
                "generator 'retrieve' needs a model: give --model PLUGIN:MODEL, or --option "
                "adopt=true to adopt the nearest rubric without one"
            )
        self.retriever = self.option("retriever", "bm25").lower()
        if self.retriever not in ("bm25", "embeddings"):
            raise GenerationError(
                f"generator 'retrieve': option retriever={self.retriever!r} must be bm25 or embeddings"
            )
        self.entries: list[LibraryEntry] = []
        self.index: BM25 | EmbeddingIndex | None = None

    def provenance(self) -> Provenance:
        """No model writes an adopted rubric: its provenance names none."""
        found = super().provenance()
        return replace(found, model=None) if self.adopt else found

    def _library_refs(self) -> list[str]:
        raw: Any = self.context.options.get("library", [])
        refs = [raw] if isinstance(raw, str) else list(raw)
        return [str(r) for r in refs if str(r).strip()]

    async def prepare(self, requests: Sequence[GenerationRequest]) -> None:
        entries = [
            LibraryEntry(
                c.id, c.prompt, tuple(LibraryCriterion(k.text, k.points, k.must) for k in c.criteria if k.text), "suite"
            )
            for c in self.context.suite_cases
            if c.prompt and any(k.text for k in c.criteria)
        ]
        for ref in self._library_refs():
            entries += load_library(ref, self.context.base_dir)
        if not entries:
            raise GenerationError(
                "generator 'retrieve' has nothing to retrieve from: no other case of the suite "
                "has criteria; give --library PATH.jsonl|SUITE|hellobench:DIR"
            )
        self.entries = entries
        prompts = [e.prompt for e in entries]
        if self.retriever == "embeddings":
            require_stats("retriever=embeddings")
            from .embeddings import DEFAULT_MODEL, EmbeddingIndex

            self.index = EmbeddingIndex(prompts, self.option("embedding_model", DEFAULT_MODEL))
        else:
            self.index = BM25(prompts)

    def neighbours(self, request: GenerationRequest, k: int) -> list[tuple[LibraryEntry, float]]:
        """The ``k`` most similar library entries to the case (never the case itself)."""
        assert self.index is not None
        case = request.case
        ranked = self.index.top(case.prompt, k + 1)
        hits = [
            (self.entries[i], s)
            for i, s in ranked
            if not (self.entries[i].source == "suite" and self.entries[i].id == case.id)
        ]
        return hits[:k]

    async def generate(self, request: GenerationRequest) -> list[GeneratedCriterion]:
        if self.index is None:
            await self.prepare([request])
        k = self.int_option("k", 3, minimum=1)
        max_items = self.int_option("max_items", 10, minimum=1)
        hits = self.neighbours(request, k)
        if not hits:
            raise GenerationError(
                f"generator 'retrieve', case {request.case.id!r}: no library entry shares a word "
                "with its input; give a --library closer to the suite"
            )
        if self.adopt:
            entry, score = hits[0]
            used = [{"source": entry.source, "id": entry.id, self.retriever: round(score, 3)}]
            return [
                self.criterion(c.text, points=c.points, must=c.must, kind="retrieved", exemplars=used)
                for c in entry.criteria[:max_items]
            ]
        exemplars = "\n\n".join(_render_exemplar(i, e) for i, (e, _) in enumerate(hits, 1))
        reply = await self.ask_json(
            PROMPT.format(
                max_items=max_items, data_note=DATA_NOTE, exemplars=exemplars, case=render_case(request.case)
            ),
            request_id=f"retrieve:{request.case.id}",
        )
        used = [{"source": e.source, "id": e.id, self.retriever: round(s, 3)} for e, s in hits]
        return [
            self.criterion(
                item["text"],
                points=float(item.get("points", 1)),
                must=bool(item.get("must", False)),
                kind="retrieved",
                exemplars=used,
            )
            for item in reply["criteria"][:max_items]
        ]
