"""rubrictest: rubric-based LLM evaluation as an ordinary pytest run.

The public API for plugin authors is what this module exports; everything else is internal.
"""

from .errors import ConfigError, JudgeError, RubricTestError, SuiteError
from .events import RunEnd, RunStart, VerdictEvent
from .evidence import check_evidence, normalize_whitespace
from .generation import (  # noqa: E402  (after the protocol: generation builds on it)
    CompanionEditedError,
    GeneratedCriterion,
    GenerationError,
    GenerationRequest,
    Generator,
    GeneratorContext,
    JudgeClient,
    LabelledPair,
    LabelledResponse,
    ModelClient,
    Provenance,
    read_labelled,
)
from .hookspecs import hookimpl
from .jsonl import read_json, read_jsonl
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
    canonical_json,
    content_hash,
    require_env,
)
from .registry import Register

__version__ = "0.1.0"

_LAZY = {"evaluate", "assert_rubric", "Evaluation"}


def __getattr__(name: str) -> object:
    # The Python judging API pulls in the engine and the store: imported on first use only.
    if name in _LAZY:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'rubrictest' has no attribute {name!r}")

__all__ = [
    "Evaluation", "assert_rubric", "evaluate",
    "CompanionEditedError", "GeneratedCriterion", "GenerationError", "GenerationRequest", "Generator",
    "GeneratorContext", "JudgeClient", "LabelledPair",
    "LabelledResponse", "ModelClient", "Provenance", "read_labelled",
    "Aggregator", "BatchJudge", "BatchTarget", "CallRecord", "Case", "CaseScore", "Check",
    "ComponentContext", "ComponentSpec", "ConfigError", "Criterion", "Judge", "JudgeError",
    "JudgeRequest", "JudgeResult", "Outcome", "Register", "RubricTestError", "RunEnd", "RunStart",
    "SuiteError", "Target", "TargetResult", "Usage", "Verdict", "VerdictEvent", "canonical_json",
    "check_evidence", "content_hash", "hookimpl", "normalize_whitespace", "read_json", "read_jsonl", "require_env",
]
