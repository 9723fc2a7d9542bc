"""Judging from Python: :func:`evaluate` and :func:`assert_rubric`.

For developers who assert the quality of their LLM app's output inside ordinary tests::

    from rubrictest import assert_rubric

    def test_refund_answer():
        reply = my_app("Can I return shoes after 40 days?")
        assert_rubric(reply, ["States that the return window is 30 days.",
                              {"id": "no-promise", "text": "Promises a refund anyway.", "points": -5}],
                      judge="openai:gpt-4.1", input="Can I return shoes after 40 days?")

Criteria take every form a suite's ``criteria`` takes. Calls go through the same engine as
suites: components are built once per process (one client, not one per call), verdicts and
calls land in the results database as one run per process, and an unchanged question is
answered from the cache.
"""

from __future__ import annotations

import atexit
import itertools
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from . import __version__
from .engine import CacheMode, CaseOutcome, ComponentPool, Engine, ModelCalls, Run, VerdictInfo
from .engine.repeats import DEFAULT_UNSTABLE_AT
from .errors import ConfigError, JudgeError, SuiteError
from .protocol.sentinel import SentinelOutcome
from .store import DEFAULT_DB, Store
from .suite import SuiteModel, resolve_model

_lock = threading.Lock()
_engine: Engine | None = None
_counter = itertools.count(1)


@dataclass
class Evaluation:
    """The verdicts on one response.

    Attributes:
        passed: every criterion passed (or, with a threshold, the score reached it and no
            ``must`` criterion failed); ``None`` when a judge could not decide.
        score: the ``points`` score in [0, 1].
        verdicts: per criterion id, the :class:`~rubrictest.engine.VerdictInfo`
            (status PASS / FAIL / MISSED / ERROR, the verdict, the judge).
        sentinel: with ``sentinel=``, the rubric-free judge's verdict and score, and whether
            it disagrees with the rubric (:class:`~rubrictest.protocol.sentinel.SentinelOutcome`).
    """

    outcome: CaseOutcome

    @property
    def passed(self) -> bool | None:
        return self.outcome.passed

    @property
    def score(self) -> float | None:
        return self.outcome.score.score if self.outcome.score else None

    @property
    def verdicts(self) -> dict[str, VerdictInfo]:
        return dict(self.outcome.verdicts)

    @property
    def sentinel(self) -> SentinelOutcome | None:
        return self.outcome.sentinel

    def explain(self) -> str:
        """Each criterion's status, verdict, evidence and rationale, for an assertion message."""
        lines = []
        if self.outcome.score is not None:
            lines.append(
                f"score {self.score:.3f}" + (f": {self.outcome.score.reason}" if self.outcome.score.reason else "")
            )
        for cid, info in self.outcome.verdicts.items():
            v = info.verdict
            detail = v.error if v.outcome == "error" else v.rationale
            conf = f" ({v.confidence:.2f})" if v.confidence is not None else ""
            lines.append(f"{info.status:<6} {cid}: {info.criterion.description}{conf}")
            if v.evidence:
                found = "" if v.evidence_supported is not False else " [not found in the response]"
                lines.append(f"         evidence: {v.evidence!r}{found}")
            if detail:
                lines.append(f"         {detail}")
        s = self.outcome.sentinel
        if s is not None:
            v = s.verdict
            said = (
                f"error: {v.error}"
                if v.outcome == "error" or s.score is None
                else f"{v.outcome.replace('_', ' ')} (score {s.score:.2f})"
            )
            flag = {
                "rubric_only": " -- RUBRIC-HOLISTIC DISAGREEMENT: the rubric passes what the sentinel fails",
                "holistic_only": " -- RUBRIC-HOLISTIC DISAGREEMENT: the sentinel passes what the rubric fails",
            }
            lines.append(f"sentinel {s.judge}: {said}{flag.get(s.disagreement or '', '')}")
            if v.rationale:
                lines.append(f"         {v.rationale}")
        return "\n".join(lines)


def _get_engine(db: str | Path | None, cache: CacheMode) -> Engine:
    global _engine
    with _lock:
        if _engine is None:
            from .plugins import load_plugins

            load_plugins()
            store = Store.open(db) if db is not None else None
            run = Run.start(
                store, kind="evaluate", rootdir=str(Path.cwd()), argv=["rubrictest.evaluate"], version=__version__
            )
            run.announce(["<evaluate>"], 0)
            _engine = Engine(ModelCalls(ComponentPool(Path.cwd()), run, cache=cache))
            atexit.register(close)
        return _engine


def close() -> None:
    """Finish the process's evaluation run: release components, store the totals, fire
    ``on_run_end``.

    Called at exit; call it yourself to start a new run (for example with another database).
    """
    global _engine
    with _lock:
        engine, _engine = _engine, None
    if engine is None:
        return
    engine.close()
    engine.run.finish(None, engine.calls.usage_summary())
    if engine.run.store is not None:
        engine.run.store.close()


def evaluate(
    output: str,
    criteria: Sequence[str | Mapping[str, Any]],
    *,
    input: str | None = None,
    reference: str | None = None,
    judge: str | Mapping[str, Any] | Sequence[Any] | None = None,
    threshold: float | None = None,
    case_id: str | None = None,
    db: str | Path | None = DEFAULT_DB,
    cache: CacheMode = "use",
    sentinel: str | Mapping[str, Any] | None = None,
    repeat: int = 1,
    unstable_at: float = DEFAULT_UNSTABLE_AT,
) -> Evaluation:
    """Judge ``output`` against ``criteria`` and return the :class:`Evaluation`.

    Args:
        output: the response under test.
        criteria: criteria as in a suite (strings, or mappings with ``text``/``check``,
            ``points``, ``must``, ``with``...).
        input: the prompt that produced ``output`` (shown to the judge).
        reference: a reference answer, given to the judge.
        judge: the judge of text criteria (``"plugin:model"`` or a mapping), or a judge panel
            (a list of judges, or a mapping with ``panel:``; see :mod:`rubrictest.protocol.voting`).
        threshold: scored mode: pass at this ``points`` score.
        case_id: the case's id in the results database (default ``evaluate-N``).
        sentinel: a rubric-free judge that sees ``input`` and ``output`` only
            (``"plugin:model"``, or ``{judge: ..., high: 0.7, low: 0.3}``; see
            :mod:`rubrictest.protocol.sentinel`): :attr:`Evaluation.sentinel` says whether it
            disagrees with the rubric.
        repeat: judge every criterion this many times, as distinct samples (``--rubric-repeat``
            for a suite): the majority decides, a tie is ERROR, and each criterion's
            :attr:`VerdictInfo.repeats <rubrictest.engine.VerdictInfo.repeats>` holds every
            repeat's verdict, the flip rate and whether it is unstable; each repeat is stored.
        unstable_at: with ``repeat``, the flip rate from which a criterion is marked unstable
            (``--rubric-unstable-at``).
        db: the results database (``None``: store nothing and cache nothing). The first call
            of a process fixes the database and the cache mode for the process.
        cache: ``use``, ``refresh`` or ``off``.

    Raises:
        SuiteError: the criteria or the judge are invalid (unknown plugin, bad regex...).
        ConfigError: ``repeat`` is not a whole number of at least 1, or ``unstable_at`` is not
            a share in (0, 1].
    """
    if isinstance(repeat, bool) or not isinstance(repeat, int) or repeat < 1:
        raise ConfigError(f"evaluate(repeat={repeat!r}): repeat must be a whole number of at least 1")
    if isinstance(unstable_at, bool) or not isinstance(unstable_at, (int, float)) or not 0 < unstable_at <= 1:
        raise ConfigError(f"evaluate(unstable_at={unstable_at!r}): unstable_at must be a share in (0, 1]")
    cid = case_id or f"evaluate-{next(_counter)}"
    data: dict[str, Any] = {
        "version": 1,
        "suite": "evaluate",
        "cases": [{"id": cid, "input": input, "reference": reference, "output": output, "criteria": list(criteria)}],
    }
    if judge is not None:
        data["judge"] = judge
    if threshold is not None:
        data["threshold"] = threshold
    if sentinel is not None:
        data["sentinel"] = sentinel
    try:
        model = SuiteModel.model_validate(data)
    except ValidationError as exc:
        raise SuiteError(str(exc).replace("\n", " "), path="<evaluate>") from None
    suite = resolve_model(model, Path.cwd() / "<evaluate>", "<evaluate>")
    engine = _get_engine(db, cache)
    engine.pool.validate(suite)
    key = f"<evaluate>::{cid}::{next(_counter)}"
    unit = engine.add(suite, suite.runs[0], key)
    unit.repeat, unit.unstable_at = repeat, float(unstable_at)
    engine.schedule([key])
    return Evaluation(engine.case(key))


def assert_rubric(output: str, criteria: Sequence[str | Mapping[str, Any]], **kwargs: Any) -> Evaluation:
    """Like :func:`evaluate`, but raise when the response does not pass.

    Raises:
        AssertionError: a criterion failed (or the score is under the threshold); the message
            lists every criterion with its verdict, evidence and rationale.
        JudgeError: a judge could not decide: that is not a failure of the response.
    """
    result = evaluate(output, criteria, **kwargs)
    if result.passed is None:
        raise JudgeError("no verdict:\n" + result.explain())
    if not result.passed:
        raise AssertionError("rubric not met:\n" + result.explain())
    return result
