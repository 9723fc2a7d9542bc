"""Judge calibration: agreement metrics, gold labels, importers of recorded judge data.

Public API for plugin authors: :class:`Importer`, :class:`ImportedData`,
:class:`ImporterError`, :class:`LabelledVerdict`, :class:`PairJudgment`, :class:`ScaleVerdict`, and for importers that
write suites :func:`write_suite` and :func:`write_jsonl`.
"""

from typing import Any

from .importers import ImportedData, Importer, ImporterError, get_importer, write_jsonl, write_suite
from .judged import LabelledVerdict, PairJudgment, ScaleVerdict

# The summaries need numpy and scipy: loaded when first asked for, not by every plugin that
# imports a record type from here.
_SUMMARY = {"Options", "summarize", "summarize_pairs", "summarize_scale"}


def __getattr__(name: str) -> Any:
    if name in _SUMMARY:
        from . import summary

        return getattr(summary, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ImportedData",
    "Importer",
    "ImporterError",
    "LabelledVerdict",
    "Options",
    "PairJudgment",
    "ScaleVerdict",
    "get_importer",
    "summarize",
    "summarize_pairs",
    "summarize_scale",
    "write_jsonl",
    "write_suite",
]
