"""Old import paths, kept working for one release with a :class:`DeprecationWarning`.

Before 0.2 the package was flat (``rubrictest.sdk``, ``rubrictest.judge_protocol``...). A
meta-path finder maps each old module name to its new home, so third-party plugins written
against the old paths keep importing while they move.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import warnings
from types import ModuleType

# old module -> new module (release 0.2 removes these)
MOVED_MODULES = {
    "rubrictest.judge_protocol": "rubrictest.judging._protocol",
    "rubrictest.retry": "rubrictest.judging._retry",
    "rubrictest.sdk": "rubrictest.judging._provider",
    "rubrictest.pricing": "rubrictest.judging._pricing",
    "rubrictest.evidence": "rubrictest.judging._evidence",
    "rubrictest.quality": "rubrictest.generation._quality",
    "rubrictest.calibration": "rubrictest.trust.calibration",
    "rubrictest.calibration.importers": "rubrictest.trust.calibration.importers",
    "rubrictest.calibration.labels": "rubrictest.trust.calibration.labels",
    "rubrictest.calibration.metrics": "rubrictest.trust.calibration.metrics",
    "rubrictest.calibration.summary": "rubrictest.trust.calibration.summary",
    "rubrictest.probes": "rubrictest.trust.probes",
    "rubrictest.drift": "rubrictest.trust.drift",
    "rubrictest.pairwise": "rubrictest.trust.pairwise",
    "rubrictest.lockfile": "rubrictest.trust.lockfile",
    "rubrictest.reporting": "rubrictest.store.report",
    "rubrictest.migrations": "rubrictest.store.migrations",
    "rubrictest.stats": "rubrictest.engine.gate",
    "rubrictest.xdist_scheduling": "rubrictest.adapter.xdist",
}


# where users should import from instead (the private module behind it is what loads)
PUBLIC_HOME = {
    **{
        old: "rubrictest.judging"
        for old in (
            "rubrictest.judge_protocol",
            "rubrictest.retry",
            "rubrictest.sdk",
            "rubrictest.pricing",
            "rubrictest.evidence",
        )
    },
    "rubrictest.quality": "rubrictest.generation",
    "rubrictest.calibration": "rubrictest (Importer, ImportedData, ImporterError, LabelledVerdict, PairJudgment)",
}


def warn_moved(old: str, new: str) -> None:
    """Warn that ``old`` is deprecated in favour of ``new``."""
    warnings.warn(
        f"{old} is deprecated and will be removed in rubrictest 0.2; use {new}", DeprecationWarning, stacklevel=3
    )


class _Alias(importlib.abc.Loader):
    def __init__(self, new: str) -> None:
        self.new = new

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        return importlib.import_module(self.new)

    def exec_module(self, module: ModuleType) -> None:
        pass  # the module is the new one, already executed


class _MovedFinder(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: object = None, target: object = None
    ) -> importlib.machinery.ModuleSpec | None:
        new = MOVED_MODULES.get(fullname)
        if new is None:
            return None
        warn_moved(fullname, PUBLIC_HOME.get(fullname, new))
        return importlib.machinery.ModuleSpec(fullname, _Alias(new))


def install() -> None:
    """Put the finder on ``sys.meta_path`` (once)."""
    if not any(isinstance(f, _MovedFinder) for f in sys.meta_path):
        sys.meta_path.append(_MovedFinder())
