"""Quality metrics on hand-built verdict matrices with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rubrictest.generation._quality import (
    auroc,
    direction_agreement,
    format_report,
    l1_select,
    mean_score_delta,
    redundant_with,
    rubric_quality,
    saturation,
    verdict_correlation,
)

# Six responses: rows 0-2 good, rows 3-5 bad; pairs (0,3), (1,4), (2,5).
LABELS = [1, 1, 1, 0, 0, 0]
PAIRS = [(0, 3), (1, 4), (2, 5)]
NAMES = ["perfect", "copy", "inverted", "always", "never", "half"]
MATRIX = np.array(
    [
        # perfect copy inverted always never half
        [1, 1, 0, 1, 0, 1],
        [1, 1, 0, 1, 0, 0],
        [1, 1, 0, 1, 0, 1],
        [0, 0, 1, 1, 0, 1],
        [0, 0, 1, 1, 0, 0],
        [0, 0, 1, 1, 0, 0],
    ],
    dtype=float,
)


def test_auroc_known_values() -> None:
    assert auroc(MATRIX[:, 0], LABELS) == 1.0
    assert auroc(MATRIX[:, 2], LABELS) == 0.0
    assert auroc(MATRIX[:, 3], LABELS) == 0.5
    # "half": good 1,0,1 vs bad 1,0,0: of the 9 (good, bad) couples 4 rank good higher, 4 tie,
    # 1 ranks bad higher -> 4/9 + 4/9 / 2 = 2/3
    assert auroc(MATRIX[:, 5], LABELS) == pytest.approx(2 / 3)
    assert math.isnan(auroc([1, 0], [1, 1]))
    assert auroc([1, math.nan, 0], [1, 0, 0]) == 1.0


def test_mean_delta_and_direction() -> None:
    assert mean_score_delta(MATRIX[:, 0], LABELS) == 1.0
    assert mean_score_delta(MATRIX[:, 2], LABELS) == -1.0
    assert mean_score_delta(MATRIX[:, 5], LABELS) == pytest.approx(2 / 3 - 1 / 3)
    rows = np.array(PAIRS)
    assert direction_agreement(MATRIX[rows[:, 0], 5], MATRIX[rows[:, 1], 5]) == (1.0, 1, 2)
    assert direction_agreement(MATRIX[rows[:, 0], 2], MATRIX[rows[:, 1], 2]) == (0.0, 3, 0)
    agreement, separated, ties = direction_agreement(MATRIX[rows[:, 0], 3], MATRIX[rows[:, 1], 3])
    assert math.isnan(agreement) and (separated, ties) == (0, 3)


def test_saturation_and_redundancy() -> None:
    assert [saturation(MATRIX[:, j]) for j in range(6)] == [None, None, None, "saturated", "unreachable", None]
    corr = verdict_correlation(MATRIX)
    assert corr[0, 1] == pytest.approx(1.0) and corr[0, 2] == pytest.approx(-1.0)
    assert math.isnan(corr[0, 3])  # a constant column has no correlation
    assert redundant_with(corr, 0.9) == [None, (0, pytest.approx(1.0)), None, None, None, None]


def test_l1_selects_the_discriminative_criterion_over_noise() -> None:
    rng = np.random.default_rng(0)
    n = 40
    good = np.column_stack([np.ones(n), rng.integers(0, 2, n)])
    bad = np.column_stack([np.zeros(n), rng.integers(0, 2, n)])
    matrix = np.vstack([good, bad])
    pairs = [(i, n + i) for i in range(n)]
    coefs = l1_select(matrix, pairs=pairs, c=0.5)
    assert coefs[0] > 0 and coefs[1] == 0
    coefs = l1_select(matrix, labels=[1] * n + [0] * n, c=0.5)
    assert coefs[0] > 0 and coefs[1] == 0


def test_report_combines_every_metric() -> None:
    report = rubric_quality(MATRIX, LABELS, NAMES, pairs=PAIRS, c=10.0)
    by = {q.name: q for q in report.criteria}
    assert by["perfect"].auroc == 1.0 and by["perfect"].agreement == 1.0
    # perfect and copy are the same feature: l1 keeps one or both, never a worse criterion
    assert report.selected and set(report.selected) <= {"perfect", "copy"}
    assert by["copy"].redundant_with == "perfect"
    assert "misaligned" in by["inverted"].flags and not by["inverted"].selected
    assert by["always"].flags == ["saturated"] and by["never"].flags == ["unreachable"]
    assert by["always"].coefficient == 0 and by["never"].coefficient == 0
    text = format_report(report)
    assert "perfect" in text and "redundant~perfect" in text and "l1 selection" in text
    data = report.as_dict()
    assert data["criteria"][3]["auroc"] == 0.5 and data["criteria"][4]["agreement"] is None


def test_report_rejects_bad_shapes() -> None:
    with pytest.raises(ValueError, match="6 responses but 5 labels"):
        rubric_quality(MATRIX, LABELS[:5], NAMES)
    with pytest.raises(ValueError, match="labels must be 0"):
        rubric_quality(MATRIX, [2, 1, 1, 0, 0, 0], NAMES)
    with pytest.raises(ValueError, match="outside"):
        rubric_quality(MATRIX, LABELS, NAMES, pairs=[(0, 9)])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        rubric_quality(MATRIX * 2, LABELS, NAMES)
