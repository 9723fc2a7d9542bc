"""rubrictest: rubric-based LLM evaluation as an ordinary pytest run.

The public API is what this package exports, plus two public sub-packages:

* :mod:`rubrictest` -- the component protocol (targets, judges, checks, aggregators, judge
  panels and voting rules), the
  hook markers, events and errors, importer types, and :func:`evaluate` /
  :func:`assert_rubric` for judging from Python;
* :mod:`rubrictest.judging` -- what a provider plugin builds on (prompt, verdict schema,
  parsing, voting, evidence, retries, call log, provider base class, prices);
* :mod:`rubrictest.generation` -- what a rubric generator plugin builds on.

Everything else (``suite``, ``engine``, ``store``, ``trust``, ``cli``, ``adapter`` and every
underscore module) is internal and may change between releases.

Importing this package is cheap: the engine, the store, the SDKs and numpy load on first use,
so that the pytest plugin costs projects without suites nothing.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from . import _compat
from .errors import CheckTimedOut, ConfigError, JudgeError, OptionsError, RubricTestError, SuiteError
from .events import RunEnd, RunStart, VerdictEvent
from .hookspecs import hookimpl
from .jsonl import read_json, read_jsonl
from .plugins import import_callable
from .protocol import (
    Aggregator,
    BatchJudge,
    BatchTarget,
    CallRecord,
    Case,
    CaseScore,
    Check,
    ComponentContext,
    ComponentSpec,
    Criterion,
    Judge,
    JudgeRequest,
    JudgeResult,
    Outcome,
    Target,
    TargetResult,
    Usage,
    Verdict,
    VerdictSample,
    canonical_json,
    content_hash,
    require_env,
    response_sha256,
)
from .protocol.bounded import CallTimeout, LoopThread, run_in_thread
from .protocol.scale import Scale
from .protocol.tree import NodeScore, RubricNode, TreeScore, score_tree
from .protocol.voting import Ballot, PanelSpec, VotingRule, passing_outcome, self_agreement, settle, tally
from .registry import Register
from .secrets import register_secret

if TYPE_CHECKING:
    from .api import Evaluation, assert_rubric, evaluate
    from .judging import check_evidence, normalize_whitespace
    from .trust.calibration import (
        ImportedData,
        Importer,
        ImporterError,
        LabelledVerdict,
        PairJudgment,
        ScaleVerdict,
        write_jsonl,
        write_suite,
    )

__version__ = "0.1.0"

# Names whose modules are heavy (the engine, jsonschema, numpy): imported on first access.
_LAZY = {
    "evaluate": "api",
    "assert_rubric": "api",
    "Evaluation": "api",
    "check_evidence": "judging",
    "normalize_whitespace": "judging",
    "Importer": "trust.calibration",
    "ImportedData": "trust.calibration",
    "ImporterError": "trust.calibration",
    "LabelledVerdict": "trust.calibration",
    "PairJudgment": "trust.calibration",
    "ScaleVerdict": "trust.calibration",
    "write_suite": "trust.calibration",
    "write_jsonl": "trust.calibration",
}
# Generator-plugin names that moved to rubrictest.generation: still served here for a release.
_MOVED = {
    "CompanionEditedError",
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
    "read_labelled",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    if name in _MOVED:
        _compat.warn_moved(f"rubrictest.{name}", f"rubrictest.generation.{name}")
        return getattr(importlib.import_module(f"{__name__}.generation"), name)
    raise AttributeError(f"module 'rubrictest' has no attribute {name!r}")


_compat.install()

__all__ = [
    "Evaluation",
    "assert_rubric",
    "evaluate",
    "ImportedData",
    "Importer",
    "ImporterError",
    "LabelledVerdict",
    "PairJudgment",
    "ScaleVerdict",
    "write_jsonl",
    "write_suite",
    "NodeScore",
    "RubricNode",
    "Scale",
    "TreeScore",
    "score_tree",
    "Aggregator",
    "BatchJudge",
    "BatchTarget",
    "CallRecord",
    "CallTimeout",
    "Case",
    "CaseScore",
    "Check",
    "ComponentContext",
    "ComponentSpec",
    "ConfigError",
    "Criterion",
    "Judge",
    "JudgeError",
    "CheckTimedOut",
    "JudgeRequest",
    "JudgeResult",
    "LoopThread",
    "OptionsError",
    "Outcome",
    "Register",
    "RubricTestError",
    "RunEnd",
    "RunStart",
    "SuiteError",
    "Target",
    "TargetResult",
    "Usage",
    "Verdict",
    "VerdictEvent",
    "canonical_json",
    "Ballot",
    "PanelSpec",
    "VerdictSample",
    "VotingRule",
    "passing_outcome",
    "self_agreement",
    "settle",
    "tally",
    "check_evidence",
    "content_hash",
    "hookimpl",
    "import_callable",
    "normalize_whitespace",
    "read_json",
    "read_jsonl",
    "register_secret",
    "require_env",
    "response_sha256",
    "run_in_thread",
]
