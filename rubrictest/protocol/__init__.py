"""The component protocol: what targets, judges and aggregators receive and return.

This is the module a plugin author reads first. A plugin registers *factories* through the
``register_targets`` / ``register_judges`` / ``register_aggregators`` hooks; the engine
builds one component per distinct :class:`ComponentSpec` for the whole pytest session and
calls it asynchronously, many requests in flight at once.

* A :class:`Target` turns a :class:`Case` into a response (:class:`TargetResult`).
* A :class:`Judge` turns a :class:`JudgeRequest` (one case, one response, one or more
  criteria) into a :class:`JudgeResult`: one :class:`Verdict` per criterion plus the
  :class:`CallRecord` of every model call it made.
* A :class:`Check` is a judge for deterministic criteria (``check: regex``): it only
  implements :meth:`Check.check`.
* :class:`BatchJudge` / :class:`BatchTarget` are for in-process models that want every
  pending request at once (GPU batching): they implement a synchronous ``*_batch`` method
  that the engine runs in a worker thread.
* An :class:`Aggregator` turns a case's verdicts into a :class:`CaseScore`.

A judge that cannot produce a verdict raises :class:`~rubrictest.errors.JudgeError` (or
returns a verdict with ``outcome="error"``): the criterion is reported as ERROR, never as
FAIL.
"""

from __future__ import annotations

from .components import (
    Aggregator,
    BatchJudge,
    BatchTarget,
    Check,
    Component,
    ComponentContext,
    Judge,
    Target,
    require_env,
)
from .records import (
    CallRecord,
    Case,
    CaseScore,
    ComponentSpec,
    Criterion,
    JudgeRequest,
    JudgeResult,
    Outcome,
    TargetResult,
    Usage,
    Verdict,
    VerdictSample,
    canonical_json,
    content_hash,
    criterion_hash,
    response_sha256,
)

__all__ = [
    "Aggregator",
    "BatchJudge",
    "BatchTarget",
    "CallRecord",
    "Case",
    "CaseScore",
    "Check",
    "Component",
    "ComponentContext",
    "ComponentSpec",
    "Criterion",
    "Judge",
    "JudgeRequest",
    "JudgeResult",
    "Outcome",
    "Target",
    "TargetResult",
    "Usage",
    "Verdict",
    "VerdictSample",
    "canonical_json",
    "content_hash",
    "criterion_hash",
    "require_env",
    "response_sha256",
]
