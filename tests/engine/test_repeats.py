"""How K repeats of one criterion are decided (:func:`rubrictest.engine.repeats.decide_repeats`)."""

from __future__ import annotations

import pytest

from rubrictest import Criterion, Verdict
from rubrictest.engine.repeats import RepeatAnswer, decide_repeats

CRIT = Criterion(id="c", text="States the window.")


def _answers(*outcomes: str) -> list[RepeatAnswer]:
    return [
        RepeatAnswer(
            i,
            Verdict.failed("c", "timeout") if o == "error" else Verdict("c", o, rationale="r"),  # type: ignore[arg-type]
            "judge",
            False,
            i + 1,
        )
        for i, o in enumerate(outcomes)
    ]


@pytest.mark.parametrize(
    ("outcomes", "decided", "flip_rate", "unstable"),
    [
        (("met", "met", "met"), "met", 0.0, False),
        (("met", "not_met", "not_met"), "not_met", 1 / 3, True),
        (("met", "met", "met", "met", "not_met"), "met", 0.2, True),  # one dissent in five: the default mark
        (("met", "met", "error"), "met", 0.0, False),  # 2 of 3 is a majority of all repeats
        (("met", "error", "error"), "error", 0.0, False),  # 1 of 3 is not
        (("met", "not_met", "met", "not_met"), "error", 0.5, True),  # a tie
        (("error", "error"), "error", None, False),
    ],
)
def test_majority_flip_rate_and_errors(
    outcomes: tuple[str, ...], decided: str, flip_rate: float | None, unstable: bool
) -> None:
    summary = decide_repeats(CRIT, _answers(*outcomes), 0.2)
    assert summary.verdict.outcome == decided
    assert summary.flip_rate == (pytest.approx(flip_rate) if flip_rate is not None else None)
    assert summary.unstable is unstable
    assert summary.verdict.votes in (list(outcomes), None)
    if decided == "error":
        assert summary.verdict.error
    else:
        assert summary.verdict.rationale is not None and summary.verdict.rationale.startswith("majority of ")
        assert summary.call_id == 1 + list(outcomes).index(decided)


def test_a_tie_says_so() -> None:
    verdict = decide_repeats(CRIT, _answers("met", "not_met"), 0.2).verdict
    assert verdict.error == (
        "the repeats tied: 1 met, 1 not met of 2 repeats (flip rate 0.50); the judge cannot "
        "decide this criterion reliably"
    )
    short = decide_repeats(CRIT, _answers("met", "error", "error"), 0.2).verdict
    assert short.error is not None and short.error.startswith(
        "no outcome holds a majority of the repeats: 1 met, 0 not met, 2 ERROR of 3 repeats"
    )
