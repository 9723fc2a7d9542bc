"""Judge calibration: agreement metrics, gold labels, importers of recorded judge data.

Public API for plugin authors: :class:`Importer`, :class:`ImportedData`,
:class:`ImporterError`, :class:`LabelledVerdict`, :class:`PairJudgment`, and for importers that
write suites :func:`write_suite` and :func:`write_jsonl`.
"""

from .importers import ImportedData, Importer, ImporterError, get_importer, write_jsonl, write_suite
from .summary import LabelledVerdict, Options, PairJudgment, summarize, summarize_pairs

__all__ = ["ImportedData", "Importer", "ImporterError", "LabelledVerdict", "Options", "PairJudgment",
           "get_importer", "summarize", "summarize_pairs", "write_jsonl", "write_suite"]
