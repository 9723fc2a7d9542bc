"""A fake model judge whose behaviour a test sets through a shared state object."""

from __future__ import annotations

import asyncio
import threading

from rubrictest import (
    CallRecord,
    ComponentContext,
    ComponentSpec,
    Judge,
    JudgeError,
    JudgeRequest,
    JudgeResult,
    Register,
    Usage,
    Verdict,
    hookimpl,
)


class FakeJudgeState:
    """What every instance of a fake judge shares with the test that registered it.

    Attributes:
        latency: seconds each request takes (``asyncio.sleep``).
        calls: every request received, in order.
        in_flight / max_in_flight: concurrency actually reached.
        cost: USD reported per call (for ``--rubric-max-cost``).
        cost_bound: the most a request may cost (reserved under a budget); ``None``: no price.
        behaviour: ``"ok"``; ``"raise"`` (JudgeError); ``"crash"`` (RuntimeError);
            ``"error_verdict"`` (an outcome ``error``); ``"missing"`` (no verdict at all).
        release: when set, requests whose case id is in ``hold`` wait for it.
    """

    def __init__(self) -> None:
        self.latency = 0.0
        self.calls: list[JudgeRequest] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.cost: float | None = None
        self.cost_bound: float | None = 1.0
        self.behaviour = "ok"
        self.hold: set[str] = set()
        self.release = threading.Event()
        self.lock = threading.Lock()


def make_fake_judge(state: FakeJudgeState, *, batch: bool = True) -> type[Judge]:
    """A judge class bound to ``state``.

    A criterion is *met* when its text contains the word ``yes`` (case-insensitive) and
    the response is not ``"bad"``; otherwise not met.
    """

    class FakeJudge(Judge):
        """Fake model judge for tests (met when the criterion text says 'yes')."""

        supports_batch_criteria = batch
        default_concurrency = 4

        def __init__(self, spec: ComponentSpec, context: ComponentContext) -> None:
            super().__init__(spec, context)

        def max_request_cost(self, content_bytes: int) -> float | None:
            return state.cost_bound

        async def judge(self, request: JudgeRequest) -> JudgeResult:
            with state.lock:
                state.calls.append(request)
                state.in_flight += 1
                state.max_in_flight = max(state.max_in_flight, state.in_flight)
            try:
                if state.latency:
                    await asyncio.sleep(state.latency)
                if request.case.id in state.hold:
                    ok = await asyncio.to_thread(state.release.wait, 10)
                    if not ok:
                        raise JudgeError("held request was never released")
            finally:
                with state.lock:
                    state.in_flight -= 1
            if state.behaviour == "raise":
                raise JudgeError("the fake provider refused: HTTP 503 after 3 retries")
            if state.behaviour == "crash":
                raise RuntimeError("fake judge bug")
            if state.behaviour == "missing":
                return JudgeResult([])
            verdicts = []
            for crit in request.criteria:
                if state.behaviour == "error_verdict":
                    verdicts.append(Verdict.failed(crit.id, "malformed judge output after 2 retries"))
                    continue
                met = "yes" in (crit.text or "").lower() and request.response != "bad"
                verdicts.append(
                    Verdict(
                        crit.id,
                        "met" if met else "not_met",
                        confidence=0.875,
                        evidence=request.response[:12] or None,
                        evidence_supported=True,
                        rationale=f"fake rationale for {crit.id}",
                    )
                )
            call = CallRecord(
                request={"criteria": [c.id for c in request.criteria]},
                response={"ok": True},
                usage=Usage(10, 5, state.cost, None),
                model="fake-1",
            )
            return JudgeResult(verdicts, [call])

    return FakeJudge


class JudgePlugin:
    """A rubrictest plugin object registering a fake judge under ``name``."""

    def __init__(self, name: str, factory: type[Judge]) -> None:
        self.name = name
        self.factory = factory

    @hookimpl
    def register_judges(self, register: Register) -> None:
        register(self.name, self.factory)
