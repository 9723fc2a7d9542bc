"""Metric functions against hand-computed values, degenerate cases included."""

from __future__ import annotations

import math

import pytest
from sklearn.metrics import cohen_kappa_score

from rubrictest.trust.calibration import metrics as m
from rubrictest.trust.calibration.summary import LabelledVerdict, Options, PairJudgment, pair_metrics, summarize

T, F = True, False
PRED = [T, T, F, F, T]
GOLD = [T, F, F, T, T]


def test_binary_metrics_hand_computed() -> None:
    assert m.accuracy(PRED, GOLD) == pytest.approx(0.6)
    # p_o = 0.6, p_e = (3*3 + 2*2) / 25 = 0.52, kappa = 0.08 / 0.48
    assert m.cohen_kappa(PRED, GOLD) == pytest.approx(1 / 6)
    assert m.BinaryCounts.of(PRED, GOLD) == m.BinaryCounts(tp=2, fp=1, fn=1, tn=1)
    assert m.precision(PRED, GOLD) == pytest.approx(2 / 3)
    assert m.recall(PRED, GOLD) == pytest.approx(2 / 3)
    assert m.f1(PRED, GOLD) == pytest.approx(2 / 3)
    assert m.leniency(PRED, GOLD) == 0.0


def test_kappa_matches_sklearn_on_multiclass() -> None:
    pred, gold = ["a", "b", "c", "a", "b"], ["a", "b", "b", "b", "b"]
    assert m.cohen_kappa(pred, gold) == pytest.approx(cohen_kappa_score(pred, gold))
    # p_o = 2/3, p_e = 1/3 -> 0.5
    assert m.cohen_kappa(["a", "b", "c"], ["a", "b", "b"]) == pytest.approx(0.5)


def test_leniency_sign() -> None:
    assert m.leniency([T, T, T, T], [T, F, F, F]) == pytest.approx(0.75)  # lenient judge
    assert m.leniency([F, F], [T, F]) == pytest.approx(-0.5)  # strict judge


def test_one_class_only() -> None:
    assert m.accuracy([T, T, T], [T, T, T]) == 1.0
    assert m.cohen_kappa([T, T, T], [T, T, T]) is None  # chance agreement is 1: undefined
    assert m.precision([T, T], [T, T]) == 1.0 and m.recall([T, T], [T, T]) == 1.0
    assert m.precision([F, F], [F, F]) is None and m.recall([F, F], [F, F]) is None
    assert m.f1([F, F], [F, F]) is None
    assert m.f1([F, F], [T, T]) == 0.0  # labels say met, judge never does
    # judge constant, labels vary: p_o = 0.5, p_e = 0.5 -> kappa 0
    assert m.cohen_kappa([T, T], [T, F]) == 0.0


def test_empty_is_undefined() -> None:
    for fn in (m.accuracy, m.cohen_kappa, m.leniency, m.brier):
        assert fn([], []) is None
    assert m.ece([], []) is None
    assert m.wilson_interval(0, 0) is None
    assert m.bootstrap_ci(m.accuracy, [], []) is None


def test_lengths_must_match() -> None:
    with pytest.raises(ValueError, match="different lengths"):
        m.accuracy([T], [T, F])


def test_correlations() -> None:
    # d = 0, 1, 1 -> rho = 1 - 6*2 / (3*8) = 0.5
    assert m.spearman([1, 2, 3], [1, 3, 2]) == pytest.approx(0.5)
    assert m.pearson([1, 2, 3], [2, 4, 7]) == pytest.approx(5 / math.sqrt(2 * 114 / 9))
    assert m.spearman([1, 1, 1], [1, 2, 3]) is None  # all ties
    assert m.pearson([1, 2], [3, 3]) is None
    assert m.spearman([1], [1]) is None


def test_ece_and_brier() -> None:
    # bin 9: acc 0.5, conf 0.9 -> 0.4 * 0.5; bin 6: acc 1, conf 0.6 -> 0.4 * 0.5
    assert m.ece([0.9, 0.9, 0.6, 0.6], [T, F, T, T]) == pytest.approx(0.4)
    assert m.ece([1.0], [T]) == 0.0  # 1.0 falls in the last bin
    assert m.ece([0.5, 0.5], [T, F], bins=1) == 0.0
    assert m.brier([0.9, 0.2], [T, F]) == pytest.approx(0.025)
    assert m.prob_met(False, 0.8) == pytest.approx(0.2)
    with pytest.raises(ValueError):
        m.ece([1.5], [T])


def test_wilson() -> None:
    low, high = m.wilson_interval(5, 10)  # type: ignore[misc]
    assert (low, high) == (pytest.approx(0.2366, abs=1e-4), pytest.approx(0.7634, abs=1e-4))
    assert m.wilson_interval(0, 10)[0] == 0.0  # type: ignore[index]


def test_bootstrap_is_seeded_and_skips_undefined() -> None:
    a = m.bootstrap_ci(m.accuracy, PRED * 4, GOLD * 4, resamples=200, seed=3)
    b = m.bootstrap_ci(m.accuracy, PRED * 4, GOLD * 4, resamples=200, seed=3)
    assert a == b and a is not None and a[0] <= 0.6 <= a[1]
    assert m.bootstrap_ci(m.accuracy, [T] * 5, [T] * 5, resamples=50) == (1.0, 1.0)
    assert m.bootstrap_ci(m.cohen_kappa, [T] * 5, [T] * 5, resamples=50) is None


def test_pairwise_counts_follow_llmbar_convention() -> None:
    c = m.pairwise_counts(["1", "2", "1", "2"], ["1", "2", "2", None], ["1", "1", "2", None])
    assert c == m.PairwiseCounts(n=4, correct_original=2, correct_swapped=1, both_correct=1, agree=3)
    figs = m.pairwise_figures(c)
    assert figs["accuracy"] == 37.5 and figs["positional_agreement"] == 75.0
    assert m.pairwise_figures(m.pairwise_counts([], [], []))["accuracy"] is None
    assert [m.resolve_order(o, s) for o, s in [("1", "1"), ("1", "2"), (None, None)]] == ["1", "tie", "tie"]


def test_pair_metrics_order_dependent_is_a_tie() -> None:
    rows = [
        PairJudgment("a", "1", "1", "1"),
        PairJudgment("b", "1", "1", "2"),
        PairJudgment("c", "2", "2", "2"),
    ]
    out = pair_metrics(rows, Options(resamples=0), with_ci=False)
    assert out["ties"] == 1
    assert out["accuracy_resolved"] == pytest.approx(200 / 3)
    assert out["accuracy"] == pytest.approx(5 / 6 * 100)


def test_summarize_groups_by_criterion_and_tag() -> None:
    rows = [
        LabelledVerdict("c1", "tone", T, T, confidence=0.9, tags=("style",)),
        LabelledVerdict("c2", "tone", T, F, confidence=0.8, tags=("style",)),
        LabelledVerdict("c1", "facts", F, F, confidence=0.7, score=0.2, gold_score=0.1, tags=("facts",)),
        LabelledVerdict("c2", "facts", T, T, confidence=0.6, score=0.9, gold_score=0.8, tags=("facts",)),
    ]
    out = summarize(rows, Options(resamples=100))
    assert out["overall"]["accuracy"] == 0.75
    assert out["overall"]["leniency"] == 0.25
    assert out["by_tag"]["style"]["accuracy"] == 0.5
    assert out["by_tag"]["style"]["kappa"] == 0.0  # a constant judge agrees only by chance
    assert out["by_tag"]["facts"]["kappa"] == 1.0
    assert out["by_criterion"]["tone"]["n"] == 2
    assert out["overall"]["n_scored"] == 2 and out["overall"]["pearson"] == pytest.approx(1.0)
    # probabilities of met: 0.9, 0.8, 0.3, 0.6 against 1, 0, 0, 1
    assert out["overall"]["brier"] == pytest.approx((0.01 + 0.64 + 0.09 + 0.16) / 4)
    assert out["overall"]["accuracy_ci"] is not None


def _rows_case(seed: int, n: int) -> tuple[list[bool], list[bool], list[float], list[float]]:
    import random

    rnd = random.Random(seed)
    pred = [rnd.random() < 0.6 for _ in range(n)]
    gold = [rnd.random() < 0.5 for _ in range(n)]
    conf = [rnd.choice([0.1, 0.55, 0.9, 1.0]) for _ in range(n)]
    score = [rnd.choice([0.0, 0.25, 0.5, 1.0]) for _ in range(n)]  # many ties
    return pred, gold, conf, score


@pytest.mark.parametrize(("seed", "n"), [(0, 1), (1, 2), (2, 7), (3, 40)])
def test_row_wise_metrics_equal_the_scalar_ones(seed: int, n: int) -> None:
    import numpy as np

    pred, gold, conf, score = _rows_case(seed, n)
    correct = [p == g for p, g in zip(pred, gold, strict=True)]
    y = [float(g) for g in gold]
    pairs = [
        (m.accuracy_rows, m.accuracy, (pred, gold)),
        (m.kappa_rows, m.cohen_kappa, (pred, gold)),
        (m.f1_rows, m.f1, (pred, gold)),
        (m.leniency_rows, m.leniency, (pred, gold)),
        (m.brier_rows, m.brier, (conf, gold)),
        (m.ece_rows, m.ece, (conf, correct)),
        (m.pearson_rows, m.pearson, (score, y)),
        (m.spearman_rows, m.spearman, (score, y)),
        (m.kappa_rows, m.cohen_kappa, ([True] * n, [True] * n)),  # undefined
        (m.pearson_rows, m.pearson, ([0.5] * n, y)),  # constant: undefined
    ]
    for rows_fn, scalar_fn, cols in pairs:
        got = rows_fn(*(np.asarray(c)[None, :] for c in cols))[0]
        want = scalar_fn(*cols)
        assert (want is None and np.isnan(got)) or got == pytest.approx(want), (rows_fn.__name__, got, want)


def test_row_wise_bootstrap_draws_the_same_resamples() -> None:
    pred, gold, _, _ = _rows_case(5, 60)
    assert m.bootstrap_rows(m.accuracy_rows, pred, gold, resamples=300, seed=9, chunk=70) == pytest.approx(
        m.bootstrap_ci(m.accuracy, pred, gold, resamples=300, seed=9)
    )
    assert m.bootstrap_rows(m.kappa_rows, [True] * 5, [True] * 5, resamples=20) is None
    assert m.bootstrap_rows(m.accuracy_rows, [], []) is None
