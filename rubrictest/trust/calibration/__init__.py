"""Judge calibration: agreement metrics, gold labels, importers of recorded judge data.

Public API for plugin authors: :class:`Importer`, :class:`ImportedData`,
:class:`ImporterError`, :class:`LabelledVerdict`, :class:`PairJudgment`.
"""

from .importers import ImportedData, Importer, ImporterError, get_importer
from .summary import LabelledVerdict, Options, PairJudgment, summarize, summarize_pairs

__all__ = ["ImportedData", "Importer", "ImporterError", "LabelledVerdict", "Options", "PairJudgment",
           "get_importer", "summarize", "summarize_pairs"]
