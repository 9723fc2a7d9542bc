"""``rubrictest calibrate`` on criteria graded on a scale: the judge's levels against gold levels
(weighted kappa, Spearman, mean absolute error), checked against figures worked out by hand."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from rubrictest import ImportedData, Importer, Register, ScaleVerdict, hookimpl
from rubrictest.cli.commands.calibrate import command
from rubrictest.trust.calibration import metrics

# Six cases on a 1-5 scale: the judge's level and the gold level of each.
JUDGE = [1, 2, 3, 4, 5, 3]
GOLD = [1, 3, 3, 5, 5, 2]

# By hand (kappa_w = 1 - sum w*O / sum w*E, E_ij = a_i * b_j / n; a, b the two raters' level counts):
# three disagreements, each one level apart, so sum w*O = 3 for both weightings;
# sum (i-j)^2 a_i b_j = 138 and sum |i-j| a_i b_j = 56, over n = 6.
KAPPA_QUADRATIC = 1 - 3 / (138 / 6)  # 20/23
KAPPA_LINEAR = 1 - 3 / (56 / 6)  # 38/56
# Ranks (ties share the mean): judge 1 2 3.5 5 6 3.5, gold 1 3.5 3.5 5.5 5.5 2; Pearson of the ranks.
SPEARMAN = 14.25 / math.sqrt(17 * 16.5)
MAE = 3 / 6
BIAS = (sum(JUDGE) - sum(GOLD)) / 6


def test_metrics_equal_the_hand_computed_figures() -> None:
    assert metrics.weighted_kappa(JUDGE, GOLD, "quadratic") == pytest.approx(KAPPA_QUADRATIC, abs=1e-12)
    assert metrics.weighted_kappa(JUDGE, GOLD, "linear") == pytest.approx(KAPPA_LINEAR, abs=1e-12)
    assert metrics.spearman(JUDGE, GOLD) == pytest.approx(SPEARMAN, abs=1e-12)
    assert metrics.mean_absolute_error(JUDGE, GOLD) == pytest.approx(MAE)


def test_an_unused_level_still_counts_in_the_distance() -> None:
    assert metrics.level_grid([1, 2, 5]) == [1, 2, 3, 4, 5]
    assert metrics.level_grid([0, 0.25, 1]) == [0, 0.25, 0.5, 0.75, 1]
    assert metrics.level_grid([1, 2, 2.5]) == [1, 1.5, 2, 2.5]
    assert metrics.level_grid([0, 1, 2.7]) == [0, 1, 2.7]  # not equally spaced: the levels in order
    # Judge 1, 2, 5 against gold 2, 1, 5: two swaps one level apart, sum w*O = 2; a = b =
    # {1: 1, 2: 1, 5: 1}, sum (i-j)^2 a_i b_j = 2 * (1 + 16 + 9) = 52 on the grid 1..5 (on the
    # levels' ranks alone it would be 2 * (1 + 4 + 1) = 12, and kappa 0.5).
    judge, gold = [1, 2, 5], [2, 1, 5]
    assert metrics.weighted_kappa(judge, gold) == pytest.approx(1 - 2 / (52 / 3))


def test_undefined_when_both_gave_one_level() -> None:
    assert metrics.weighted_kappa([3, 3], [3, 3]) is None
    assert metrics.weighted_kappa([], []) is None
    assert metrics.weighted_kappa([1, 1], [2, 2]) == pytest.approx(0.0)
    assert metrics.mean_absolute_error([], []) is None


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _suite(root: Path) -> Path:
    """A suite of six cases, one criterion on a 1-5 scale, judged by recorded levels."""
    cases = "".join(
        f"  - id: c{i}\n    input: q{i}\n    rubric: [helpful]\n    output: a{i}\n" for i in range(len(JUDGE))
    )
    _write(
        root / "test_levels.rubric.yaml",
        f"""version: 1
suite: levels
judge: recorded:judge.jsonl
rubrics:
  helpful:
    - id: helpful
      text: Is the answer helpful?
      tags: [quality]
      scale:
        range: [1, 5]
        pass_at: 4
cases:
{cases}""",
    )
    _write(
        root / "judge.jsonl",
        "".join(
            json.dumps({"case": f"c{i}", "criterion": "helpful", "level": lv}) + "\n" for i, lv in enumerate(JUDGE)
        ),
    )
    return root


def test_a_suite_run_calibrated_against_gold_levels(pytester: pytest.Pytester) -> None:
    _suite(pytester.path)
    pytester.runpytest("-q")
    labels = _write(
        pytester.path / "gold.jsonl",
        "".join(json.dumps({"case": f"c{i}", "criterion": "helpful", "level": lv}) + "\n" for i, lv in enumerate(GOLD)),
    )
    db = pytester.path / ".rubrictest" / "rubrictest.db"
    result = CliRunner().invoke(command, ["--db", str(db), "--labels", str(labels), "--json", "--resamples", "200"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert "pointwise" not in data  # levels alone: no met / not-met labels to compare
    scale = data["scale"]
    overall = scale["overall"]
    assert scale["weights"] == "quadratic" and overall["n"] == 6
    assert overall["kappa_quadratic"] == pytest.approx(KAPPA_QUADRATIC, abs=1e-12)
    assert overall["kappa_linear"] == pytest.approx(KAPPA_LINEAR, abs=1e-12)
    assert overall["spearman"] == pytest.approx(SPEARMAN, abs=1e-12)
    assert overall["mae"] == pytest.approx(MAE) and overall["bias"] == pytest.approx(BIAS)
    assert overall["exact"] == pytest.approx(0.5)
    low, high = overall["mae_ci"]
    assert low <= MAE <= high
    assert scale["by_tag"]["quality"]["kappa_quadratic"] == pytest.approx(KAPPA_QUADRATIC)
    assert scale["by_criterion"]["helpful"]["n"] == 6

    text = CliRunner().invoke(command, ["--db", str(db), "--labels", str(labels), "--resamples", "0"]).output
    assert "kappa_quadratic" in text and "0.870" in text and "levels per criterion" in text

    gate = ["--db", str(db), "--labels", str(labels), "--resamples", "0", "--min-weighted-kappa"]
    assert CliRunner().invoke(command, [*gate, "0.8"]).exit_code == 0
    failed = CliRunner().invoke(command, [*gate, "0.9"])
    assert failed.exit_code == 1 and "weighted-kappa 0.870 < --min-weighted-kappa 0.9" in failed.output


def test_levels_and_outcomes_together_from_jsonl(tmp_path: Path) -> None:
    judged = _write(
        tmp_path / "judge.jsonl",
        "".join(
            json.dumps({"case": f"c{i}", "criterion": "helpful", "level": lv, "met": lv >= 4}) + "\n"
            for i, lv in enumerate(JUDGE)
        ),
    )
    gold = _write(
        tmp_path / "gold.jsonl",
        "".join(
            json.dumps({"case": f"c{i}", "criterion": "helpful", "level": lv, "met": lv >= 4}) + "\n"
            for i, lv in enumerate(GOLD)
        ),
    )
    result = CliRunner().invoke(
        command, ["--verdicts", str(judged), "--labels", str(gold), "--json", "--resamples", "0"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["scale"]["overall"]["kappa_quadratic"] == pytest.approx(KAPPA_QUADRATIC)
    # met from level 4 up: judge 4 and 5 met, gold 5 and 5 met; the two agree on all six
    assert data["pointwise"]["overall"]["accuracy"] == 1.0


def test_a_gold_level_on_a_criterion_without_a_scale_is_named(tmp_path: Path) -> None:
    judged = _write(tmp_path / "judge.jsonl", json.dumps({"case": "c0", "criterion": "x", "met": True}) + "\n")
    gold = _write(tmp_path / "gold.jsonl", json.dumps({"case": "c0", "criterion": "x", "level": 3}) + "\n")
    result = CliRunner().invoke(command, ["--verdicts", str(judged), "--labels", str(gold)])
    assert result.exit_code == 2
    assert "gold.jsonl:1: " in result.output and "not graded on a scale" in result.output
    bad = _write(tmp_path / "bad.jsonl", json.dumps({"case": "c0", "criterion": "x", "level": "high"}) + "\n")
    result = CliRunner().invoke(command, ["--verdicts", str(judged), "--labels", str(bad)])
    assert result.exit_code == 2 and "bad.jsonl:1: level: 'high' is not a number" in result.output


class _LevelsImporter(Importer):
    """A third-party importer of recorded levels: ``case,judge level,gold level`` lines."""

    def load(self, path: Path, options: Mapping[str, str]) -> ImportedData:
        rows = [line.split(",") for line in path.read_text().splitlines()]
        return ImportedData(
            scale=[ScaleVerdict(case, "helpful", float(j), float(g), tags=("csv",)) for case, j, g in rows],
            source=str(path),
        )


class _LevelsPlugin:
    @staticmethod
    @hookimpl
    def register_importers(register: Register) -> None:
        register("levels-csv", _LevelsImporter)


def test_an_importer_can_feed_levels(tmp_path: Path, register_plugin: Callable[[Any, str], Any]) -> None:
    register_plugin(_LevelsPlugin, "levels-csv")
    data = _write(
        tmp_path / "levels.csv", "".join(f"c{i},{j},{g}\n" for i, (j, g) in enumerate(zip(JUDGE, GOLD, strict=True)))
    )
    result = CliRunner().invoke(command, ["--from", "levels-csv", str(data), "--json", "--resamples", "0"])
    assert result.exit_code == 0, result.output
    overall = json.loads(result.output)["scale"]["overall"]
    assert overall["kappa_quadratic"] == pytest.approx(KAPPA_QUADRATIC)
    assert overall["mae"] == pytest.approx(MAE) and overall["spearman"] == pytest.approx(SPEARMAN)
