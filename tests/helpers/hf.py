"""Requests and contexts for the in-process (hf) judge tests."""

from __future__ import annotations

from pathlib import Path

from rubrictest import Case, ComponentContext, Criterion, JudgeRequest  # noqa: E402


def context(path: Path) -> ComponentContext:
    return ComponentContext(base_dir=path.parent, rootdir=path.parent)


def request(
    case_id: str,
    response: str,
    criteria: list[str],
    *,
    input: str = "Can I return shoes after 40 days?",
    reference: str | None = None,
) -> JudgeRequest:
    """A judge request about ``response`` with text criteria c0, c1..."""
    crits = tuple(Criterion(id=f"c{i}", text=text) for i, text in enumerate(criteria))
    case = Case(suite="s", id=case_id, input=input, reference=reference, criteria=crits)
    return JudgeRequest(case=case, response=response, criteria=crits)


def sample_requests() -> list[JudgeRequest]:
    """Requests of different lengths and criteria counts (so batches need padding)."""
    return [
        request(
            "short",
            "Returns are accepted within 30 days.",
            ["The reply is polite.", "The reply states that the return window is 30 days."],
        ),
        request(
            "long",
            "Paris is the capital of France. " * 3 + "It mentions the refund policy.",
            ["It mentions the refund policy."],
            reference="Returns are accepted within 30 days.",
        ),
        request("tiny", "no", ["The reply is polite and does not blame the customer.", "a", "The reply is polite."]),
        request(
            "mid",
            "The store accepts returns of shoes within 30 days of purchase.",
            ["The reply is polite.", "It mentions the refund policy."],
        ),
    ]


def requests_for(kind: str) -> list[JudgeRequest]:
    """:func:`sample_requests`, cut to two for the character-level models (long prompts)."""
    reqs = sample_requests()
    return reqs if kind in ("plain", "chat", "no_answers") else [reqs[0], reqs[2]]
