"""What calibration compares: a judge's verdicts beside gold labels, one record per
criterion, level or pair. Kept apart from the metrics (numpy, scipy) so that importers and
plugins that only build these records load nothing heavy."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["LabelledVerdict", "PairJudgment", "ScaleVerdict"]


@dataclass(frozen=True)
class LabelledVerdict:
    """A judge's verdict on one criterion, beside its gold label.

    Attributes:
        case: case id.
        criterion: criterion id.
        target: target label, or ``None``.
        judged_met: the judge's outcome (``True`` for met).
        gold_met: the gold label.
        confidence: the judge's confidence in its outcome, if it gave one.
        score: the judge's graded score in [0, 1], if any.
        gold_score: a graded gold score in [0, 1], if the labels have one.
        tags: the criterion's tags (report groups).
    """

    case: str
    criterion: str
    judged_met: bool
    gold_met: bool
    target: str | None = None
    confidence: float | None = None
    score: float | None = None
    gold_score: float | None = None
    tags: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """The per-criterion group: the criterion id, across the cases that share it."""
        return self.criterion


@dataclass(frozen=True)
class ScaleVerdict:
    """A judge's level on a criterion graded on a scale, beside the gold level.

    Attributes:
        case: case id.
        criterion: criterion id.
        level: the judge's level.
        gold_level: the gold (human) level.
        target: target label, or ``None``.
        tags: the criterion's tags (report groups).
    """

    case: str
    criterion: str
    level: float
    gold_level: float
    target: str | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class PairJudgment:
    """A pairwise judge's verdicts on one pair, in both presentation orders.

    Attributes:
        id: the pair's id.
        gold: the better output, ``"1"`` or ``"2"``.
        original: the judge's winner with the outputs in their original order.
        swapped: the judge's winner with the outputs swapped, in the original numbering.
            ``None`` (either order): the verdict could not be parsed.
        tags: report groups (for LLMBar: the data set).
    """

    id: str
    gold: str
    original: str | None
    swapped: str | None
    tags: tuple[str, ...] = ()
