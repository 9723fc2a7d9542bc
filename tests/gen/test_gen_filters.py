"""Filters, correlation-aware weights and BM25 as pure functions with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from rubrictest_generators.bm25 import BM25, tokenize
from rubrictest_generators.filters import (
    correlated_duplicates,
    correlation_aware_weights,
    misaligned,
    near_duplicate_text,
    preference_consistent,
    separates,
)

A = [1, 1, 0, 0]
D = [1, 0, 1, 0]  # uncorrelated with A: phi = 0


def test_weights_share_a_correlated_cluster() -> None:
    matrix = np.array([A, A, A, D], dtype=float).T
    # raw 1/3, 1/3, 1/3, 1 scaled to a mean of 1
    assert correlation_aware_weights(matrix) == pytest.approx([2 / 3, 2 / 3, 2 / 3, 2])


def test_weights_of_independent_and_anticorrelated_criteria_are_equal() -> None:
    assert correlation_aware_weights(np.array([A, D], dtype=float).T) == pytest.approx([1, 1])
    anti = [1 - v for v in A]
    assert correlation_aware_weights(np.array([A, anti], dtype=float).T) == pytest.approx([1, 1])


def test_weights_with_partial_correlation() -> None:
    # B agrees with A on 5 of 6 responses: phi(A, B) = 2/3 (computed by hand)
    a = [1, 1, 1, 0, 0, 0]
    b = [1, 1, 0, 0, 0, 0]
    matrix = np.array([a, b], dtype=float).T
    phi = np.corrcoef(a, b)[0, 1]
    assert phi == pytest.approx(1 / math.sqrt(2))
    # both raw weights are 1 / (1 + phi): equal, mean 1
    assert correlation_aware_weights(matrix) == pytest.approx([1, 1])
    c = [0, 0, 0, 1, 1, 0]  # anticorrelated with a: does not count
    raw = np.array([1 / (1 + phi), 1 / (1 + phi), 1.0])
    expected = raw * 3 / raw.sum()
    assert correlation_aware_weights(np.array([a, b, c], dtype=float).T) == pytest.approx(expected)


def test_consistency_direction_and_duplicates() -> None:
    assert preference_consistent([1, 0, 1])
    assert not preference_consistent([1, -1, 1])
    assert not preference_consistent([0, 0])
    assert preference_consistent([1, math.nan])
    assert misaligned([-1, 0, 1, -1]) and not separates([-1, 0, 1, -1])
    assert separates([0, 1]) and not misaligned([0, 1])
    assert near_duplicate_text("Mentions the 30-day window.", "mentions the 30 day window")
    assert not near_duplicate_text("Mentions the 30-day window.", "Apologises for the delay.")
    matrix = np.array([A, A, D, [0, 0, 1, 1]], dtype=float).T
    assert correlated_duplicates(matrix, 0.9) == [None, 0, None, None]


def test_bm25_scores_match_the_formula() -> None:
    docs = ["return shoes after days", "express shipping time", "return policy for shoes shoes"]
    bm = BM25(docs, k1=1.5, b=0.75)
    avgdl = (4 + 3 + 5) / 3
    idf_shoes = math.log(1 + (3 - 2 + 0.5) / (2 + 0.5))
    idf_return = idf_shoes

    def term(f: int, dl: int, idf: float) -> float:
        return idf * f * 2.5 / (f + 1.5 * (1 - 0.75 + 0.75 * dl / avgdl))

    expected0 = term(1, 4, idf_return) + term(1, 4, idf_shoes)
    expected2 = term(1, 5, idf_return) + term(2, 5, idf_shoes)
    scores = bm.scores("return shoes")
    assert scores == pytest.approx([expected0, 0.0, expected2])
    assert [i for i, _ in bm.top("return shoes", 5)] == [2, 0]
    assert tokenize("中产阶层 Income!") == ["中", "产", "阶", "层", "income"]
