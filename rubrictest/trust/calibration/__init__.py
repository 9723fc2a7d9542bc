"""Judge calibration: agreement metrics, gold labels, importers of recorded judge data.

Public API for plugin authors: :class:`Importer`, :class:`ImportedData`,
:class:`ImporterError`, :class:`LabelledVerdict`, :class:`PairJudgment`, :class:`ScaleVerdict`, and for importers that
write suites :func:`write_suite` and :func:`write_jsonl`.
"""

from .importers import ImportedData, Importer, ImporterError, get_importer, write_jsonl, write_suite
from .summary import (
    LabelledVerdict,
    Options,
    PairJudgment,
    ScaleVerdict,
    summarize,
    summarize_pairs,
    summarize_scale,
)

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
