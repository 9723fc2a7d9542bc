"""The row layouts of ``verdicts``, ``cases`` and ``judge_calls``: what the engine tells the
store, turned into rows. The engine never builds a row itself."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..protocol import CallRecord, Case, Criterion, Verdict, content_hash
from ..protocol.tree import SEPARATOR, NodeScore

if TYPE_CHECKING:
    from ..engine.gate import DisagreementGate, GateOutcome
    from ..engine.panel import MemberVerdict
    from ..protocol.sentinel import SentinelOutcome


class JSONText(str):
    """A JSON column's value already encoded (a call's request or response, encoded once by the
    component that searched it for secrets): written as it is, after the store's own secrets
    search, instead of being encoded again."""


def _json_or_value(text: str | None, value: Any) -> Any:
    return JSONText(text) if text is not None else value


def utcnow() -> str:
    """Current UTC time as ISO 8601."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class RowWriter:
    """Mixin of :class:`~rubrictest.store.Store`: one method per kind of row."""

    def insert(self, table: str, row: dict[str, Any]) -> None:  # implemented by Store
        raise NotImplementedError

    def insert_now(self, table: str, row: dict[str, Any]) -> int:  # implemented by Store
        raise NotImplementedError

    def record_verdict(
        self,
        run_id: str,
        *,
        case: Case,
        target: str,
        criterion: Criterion,
        verdict: Verdict,
        status: str,
        judge: str,
        cached: bool,
        call_id: int | None,
        position: int,
        repeats: int | None = None,
        flip_rate: float | None = None,
        unstable: bool | None = None,
    ) -> None:
        """Buffer the verdict on one criterion of one case run (under ``--rubric-repeat``: the
        majority verdict, with the number of repeats, the flip rate and whether it is unstable)."""
        self.insert(
            "verdicts",
            {
                "run_id": run_id,
                "suite": case.suite,
                "case_id": case.id,
                "target": target,
                "criterion_id": criterion.id,
                "position": position,
                "criterion_hash": criterion.hash,
                "criterion_text": criterion.description,
                "check_name": criterion.check,
                "points": criterion.points,
                "must": criterion.must,
                "judge": judge,
                "outcome": verdict.outcome,
                "status": status,
                "confidence": verdict.confidence,
                "evidence": verdict.evidence,
                "evidence_supported": verdict.evidence_supported,
                "rationale": verdict.rationale,
                "error": verdict.error,
                "score": verdict.score,
                "votes": verdict.votes,
                "cached": cached,
                "judge_call_id": call_id,
                "tags": list(criterion.tags),
                "parent_id": criterion.parent,
                "level": verdict.level,
                "repeats": repeats,
                "flip_rate": flip_rate,
                "unstable": unstable,
                "created_at": utcnow(),
            },
        )

    def record_repeats(
        self,
        run_id: str,
        *,
        case: Case,
        target: str,
        criterion: Criterion,
        answers: Sequence[tuple[int, Verdict, str, bool, int | None]],
    ) -> None:
        """Buffer every repeat's verdict on one criterion of one case run: ``(repeat, verdict,
        judge label, cached, judge_calls id)`` each."""
        now = utcnow()
        for index, v, judge, cached, call_id in answers:
            self.insert(
                "repeat_verdicts",
                {
                    "run_id": run_id,
                    "suite": case.suite,
                    "case_id": case.id,
                    "target": target,
                    "criterion_id": criterion.id,
                    "criterion_hash": criterion.hash,
                    "repeat": index,
                    "judge": judge,
                    "outcome": v.outcome,
                    "confidence": v.confidence,
                    "level": v.level,
                    "evidence": v.evidence,
                    "evidence_supported": v.evidence_supported,
                    "rationale": v.rationale,
                    "error": v.error,
                    "votes": v.votes,
                    "cached": cached,
                    "judge_call_id": call_id,
                    "created_at": now,
                },
            )

    def record_members(
        self, run_id: str, *, case: Case, target: str, criterion: Criterion, members: Sequence[MemberVerdict]
    ) -> None:
        """Buffer every panel member's verdict on one criterion of one case run."""
        for m in members:
            v = m.verdict
            self.insert(
                "member_verdicts",
                {
                    "run_id": run_id,
                    "suite": case.suite,
                    "case_id": case.id,
                    "target": target,
                    "criterion_id": criterion.id,
                    "criterion_hash": criterion.hash,
                    "member": m.member,
                    "member_index": m.index,
                    "outcome": v.outcome,
                    "confidence": v.confidence,
                    "evidence": v.evidence,
                    "evidence_supported": v.evidence_supported,
                    "rationale": v.rationale,
                    "error": v.error,
                    "votes": v.votes,
                    "samples": m.samples or None,
                    "weight": m.weight,
                    "counted": m.counted,
                    "cached": m.cached,
                    "judge_call_id": m.call_id,
                    "created_at": utcnow(),
                },
            )

    def record_sentinel(self, run_id: str, *, case: Case, target: str, sentinel: SentinelOutcome) -> None:
        """Buffer the sentinel's holistic verdict on one case run, and its disagreement with the rubric."""
        v = sentinel.verdict
        self.insert(
            "sentinel_verdicts",
            {
                "run_id": run_id,
                "suite": case.suite,
                "case_id": case.id,
                "target": target,
                "judge": sentinel.judge,
                "outcome": v.outcome,
                "confidence": v.confidence,
                "score": sentinel.score,
                "rubric_score": sentinel.rubric_score,
                "disagreement": sentinel.disagreement,
                "evidence": v.evidence,
                "evidence_supported": v.evidence_supported,
                "rationale": v.rationale,
                "error": v.error,
                "cached": sentinel.cached,
                "judge_call_id": sentinel.call_id,
                "tags": list(case.tags),
                "created_at": utcnow(),
            },
        )

    def record_case(
        self,
        run_id: str,
        *,
        case: Case,
        target: str,
        position: int,
        response: str | None,
        score: float | None,
        passed: bool | None,
        reason: str | None,
    ) -> None:
        """Buffer the outcome of one case run."""
        self.insert(
            "cases",
            {
                "run_id": run_id,
                "suite": case.suite,
                "suite_path": case.path,
                "case_id": case.id,
                "position": position,
                "target": target,
                "input": case.prompt,
                "reference": case.reference,
                "response": response,
                "response_hash": content_hash(response)[:16] if response is not None else None,
                "score": score,
                "outcome": "error" if passed is None else ("passed" if passed else "failed"),
                "reason": reason,
                "tags": list(case.tags),
            },
        )

    def record_gate(
        self,
        run_id: str,
        *,
        suite: str,
        suite_path: str,
        target: str,
        gate: GateOutcome | None,
        disagreement: DisagreementGate | None = None,
    ) -> None:
        """Store a suite's gate outcome for one target (once: a second decision is ignored): its
        pass-rate bound, its bound on rubric-holistic disagreements, or both; the status is
        ERROR when either is undecided, else FAIL when either fails."""
        decided = [g.passed for g in (gate, disagreement) if g is not None]
        status = "ERROR" if None in decided else ("PASS" if all(decided) else "FAIL")
        errors = list(dict.fromkeys([*(gate.errors if gate else []), *(disagreement.errors if disagreement else [])]))
        row: dict[str, Any] = {
            "run_id": run_id,
            "suite": suite,
            "suite_path": suite_path,
            "target": target,
            "status": status,
            "errors": errors,
            "created_at": utcnow(),
        }
        if gate is not None:
            row.update(
                {
                    "passes": gate.passes,
                    "total": gate.total,
                    "pass_rate": gate.passes / gate.total if gate.total else None,
                    "lower_bound": gate.lower_bound,
                    "min_pass_rate": gate.min_pass_rate,
                    "confidence": gate.confidence,
                }
            )
        if disagreement is not None:
            row.update(
                {
                    "max_disagreement": disagreement.max_disagreement,
                    "disagreements": disagreement.flagged,
                    "disagreement_rate": disagreement.rate,
                }
            )
            row.setdefault("total", disagreement.total)
        self.insert("gates", row)

    def record_nodes(
        self, run_id: str, *, case: Case, target: str, scores: Mapping[str, NodeScore], positions: Mapping[str, int]
    ) -> None:
        """Buffer the score of every inner node of one case run's rubric tree (``None`` where a
        leaf under it has no verdict)."""
        now = utcnow()
        for node in case.nodes:
            got = scores.get(node.id)
            outcome = "error" if got is None or got.passed is None else ("passed" if got.passed else "failed")
            self.insert(
                "nodes",
                {
                    "run_id": run_id,
                    "suite": case.suite,
                    "case_id": case.id,
                    "target": target,
                    "node_id": node.id,
                    "parent_id": node.parent,
                    "depth": node.id.count(SEPARATOR),
                    "position": positions.get(node.id, 0),
                    "text": node.text,
                    "weight": node.weight,
                    "must": node.must,
                    "threshold": node.threshold,
                    "score": got.score if got else None,
                    "outcome": outcome,
                    "leaves": got.leaves if got else None,
                    "detail": dict(got.detail) if got and got.detail else None,
                    "tags": list(node.tags),
                    "created_at": now,
                },
            )

    def record_calls(
        self,
        run_id: str,
        *,
        kind: str,
        component: str,
        plugin: str,
        model: str | None,
        calls: Sequence[CallRecord],
        cache_key: str | None,
        result: Any,
    ) -> int:
        """Store the calls one request made; the last row carries the cache key and the parsed
        result (what a later identical request is answered with). Returns that row's id.

        A request answered without a call (a deterministic check) that should still be
        cached is one row without a request.
        """
        base = {"run_id": run_id, "kind": kind, "component": component, "plugin": plugin}
        rows = [
            {
                **base,
                "model": call.model or model,
                "request": _json_or_value(call.request_json, call.request),
                "response": _json_or_value(call.response_json, call.response),
                "error": call.error,
                "input_tokens": call.usage.input_tokens,
                "output_tokens": call.usage.output_tokens,
                "cost_usd": call.usage.cost_usd,
                "latency_s": call.usage.latency_s,
                "attempts": call.attempts,
                "created_at": utcnow(),
            }
            for call in calls
        ] or [{**base, "model": model, "created_at": utcnow()}]
        for row in rows[:-1]:
            self.insert("judge_calls", row)
        return self.insert_now("judge_calls", {**rows[-1], "cache_key": cache_key, "result": result})

    def record_deferred_gate(
        self,
        run_id: str,
        *,
        suite: str,
        suite_path: str,
        target: str,
        total: int,
        min_pass_rate: float | None,
        confidence: float,
        max_disagreement: float | None = None,
    ) -> None:
        """Store a shard's gate as ``DEFERRED``: ``rubrictest merge`` decides it over ``total``
        case runs, every shard's (:mod:`rubrictest.store.merge`)."""
        self.insert(
            "gates",
            {
                "run_id": run_id,
                "suite": suite,
                "suite_path": suite_path,
                "target": target,
                "status": "DEFERRED",
                "total": total,
                "min_pass_rate": min_pass_rate,
                "confidence": confidence,
                "errors": [],
                "max_disagreement": max_disagreement,
                "created_at": utcnow(),
            },
        )

    def record_calibration(
        self,
        run_id: str,
        *,
        judge: str,
        labels: str,
        overall: dict[str, Any],
        reliability: list[dict[str, Any]],
        result: dict[str, Any],
    ) -> int:
        """Store a calibration of ``judge`` (its verdicts in ``run_id``) against gold ``labels``."""
        return self.insert_now(
            "calibrations",
            {
                "created_at": utcnow(),
                "run_id": run_id,
                "judge": judge,
                "labels": labels,
                "n": overall.get("n"),
                "accuracy": overall.get("accuracy"),
                "kappa": overall.get("kappa"),
                "ece": overall.get("ece"),
                "reliability": reliability,
                "result": result,
            },
        )
