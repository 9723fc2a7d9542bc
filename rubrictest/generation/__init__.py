"""Rubric generation: the :class:`Generator` base class, generated criteria, companion files.

A *generator* turns a case (its input, reference, and optionally labelled response pairs)
into rubric criteria. Generators are plugins registered through ``register_generators``;
``rubrictest generate`` runs one over a suite and writes what it produced to a *companion
file* that the suite names in ``include:``. The user's YAML is never rewritten.

How the pieces fit:

* A generator talks to a model through any registered *target* (``--model openai:gpt-4.1``,
  or ``python:module:function`` with scripted replies in tests), wrapped in a
  :class:`ModelClient`. :meth:`Generator.ask_json` asks for JSON, validates it against a JSON
  Schema, and asks again with the validation error when the reply is invalid; after
  ``max_attempts`` it raises :class:`GenerationError`, and ``generate`` writes nothing.
* Generators that filter criteria by their verdicts (contrastive, decompose) ask a *judge*
  through a :class:`JudgeClient`.
* Every :class:`GeneratedCriterion` carries its :class:`Provenance` (generator, model,
  prompt version, date) and its content hash; provenance is written under the criterion's
  ``meta``, which the suite format does not hash.
* The companion file (:class:`~rubrictest.suite.CompanionModel`) holds ``generated_by``,
  ``content_hash`` (of ``rubrics`` and ``cases`` without ``meta``), and
  ``cases: {case_id: [criteria]}``. A companion whose hash no longer matches was edited by
  hand: :func:`plan_companion` raises :class:`CompanionEditedError` instead of overwriting it.
"""

from typing import TYPE_CHECKING, Any

from ._base import (
    CompanionEditedError,
    GeneratedCriterion,
    GenerationError,
    GenerationRequest,
    Generator,
    GeneratorContext,
    Provenance,
    extract_json,
    require_stats,
)
from ._clients import JudgeClient, ModelClient
from ._companion import (
    CompanionPlan,
    check_companion,
    companion_hash,
    companion_path_for,
    plan_companion,
    suite_cases,
    write_companion,
)
from ._labelled import LabelledPair, LabelledResponse, read_labelled

if TYPE_CHECKING:
    from ._quality import verdict_correlation


def __getattr__(name: str) -> Any:
    # Rubric-quality statistics need numpy (the `stats` extra): imported on first use.
    if name == "verdict_correlation":
        from . import _quality

        return _quality.verdict_correlation
    raise AttributeError(f"module 'rubrictest.generation' has no attribute {name!r}")


__all__ = [
    "CompanionEditedError",
    "CompanionPlan",
    "GeneratedCriterion",
    "GenerationError",
    "GenerationRequest",
    "Generator",
    "GeneratorContext",
    "JudgeClient",
    "LabelledPair",
    "LabelledResponse",
    "ModelClient",
    "Provenance",
    "check_companion",
    "companion_hash",
    "companion_path_for",
    "extract_json",
    "plan_companion",
    "read_labelled",
    "require_stats",
    "suite_cases",
    "verdict_correlation",
    "write_companion",
]
