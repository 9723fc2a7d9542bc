"""The LLMBar importer reproduces the figures the LLMBar authors published.

Expected values: the authors' ``statistics.json`` beside each ``result.json`` in
princeton-nlp/LLMBar (``Dataset/<set>/evaluators/GPT-4/<strategy>/statistics.json``), written
by their ``LLMEvaluator/evaluate.py``: correct_False, correct_True, correct_average,
correct_both and equal, in percent. The example in ../shared/data/README.md
(LLMBar/Natural, Vanilla_NoRules: 92.0 / 95.0 / 93.5) is the first row.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from rubrictest.cli.commands.calibrate import command

# (set, strategy): (n, original, swapped, average, both, positional agreement) as published.
PUBLISHED: dict[tuple[str, str], tuple[int, str, str, str, str, str]] = {
    ("LLMBar/Natural", "Vanilla_NoRules"): (100, "92.0", "95.0", "93.5", "92.0", "97.0"),
    ("LLMBar/Natural", "Vanilla"): (100, "95.0", "96.0", "95.5", "93.0", "95.0"),
    ("LLMBar/Natural", "Metrics_Reference"): (100, "95.0", "97.0", "96.0", "94.0", "96.0"),
    ("LLMBar/Adversarial/Neighbor", "Vanilla_NoRules"): (
        134,
        "64.92537313432835",
        "63.43283582089553",
        "64.17910447761194",
        "58.95522388059702",
        "89.55223880597015",
    ),
    ("LLMBar/Adversarial/Neighbor", "Vanilla"): (
        134,
        "77.61194029850746",
        "79.8507462686567",
        "78.73134328358209",
        "75.3731343283582",
        "93.28358208955224",
    ),
    ("LLMBar/Adversarial/Neighbor", "Metrics_Reference"): (
        134,
        "85.82089552238806",
        "85.07462686567165",
        "85.44776119402985",
        "82.83582089552239",
        "94.77611940298507",
    ),
    ("LLMBar/Adversarial/GPTInst", "Vanilla_NoRules"): (
        92,
        "77.17391304347827",
        "76.08695652173914",
        "76.63043478260869",
        "71.73913043478261",
        "90.21739130434783",
    ),
    ("LLMBar/Adversarial/GPTInst", "Vanilla"): (
        92,
        "84.78260869565217",
        "88.04347826086956",
        "86.41304347826086",
        "83.69565217391305",
        "94.56521739130434",
    ),
    ("LLMBar/Adversarial/GPTInst", "Metrics_Reference"): (
        92,
        "86.95652173913044",
        "92.3913043478261",
        "89.67391304347827",
        "84.78260869565217",
        "90.21739130434783",
    ),
    ("LLMBar/Adversarial/GPTOut", "Vanilla_NoRules"): (
        47,
        "74.46808510638297",
        "78.72340425531915",
        "76.59574468085107",
        "70.2127659574468",
        "87.2340425531915",
    ),
    ("LLMBar/Adversarial/GPTOut", "Vanilla"): (
        47,
        "74.46808510638297",
        "80.85106382978722",
        "77.6595744680851",
        "74.46808510638297",
        "93.61702127659575",
    ),
    ("LLMBar/Adversarial/GPTOut", "Metrics_Reference"): (
        47,
        "72.3404255319149",
        "72.3404255319149",
        "72.3404255319149",
        "63.829787234042556",
        "82.97872340425532",
    ),
    ("LLMBar/Adversarial/Manual", "Vanilla_NoRules"): (
        46,
        "73.91304347826086",
        "76.08695652173914",
        "75.0",
        "69.56521739130434",
        "89.13043478260869",
    ),
    ("LLMBar/Adversarial/Manual", "Vanilla"): (
        46,
        "76.08695652173914",
        "84.78260869565217",
        "80.43478260869566",
        "71.73913043478261",
        "82.6086956521739",
    ),
    ("LLMBar/Adversarial/Manual", "Metrics_Reference"): (
        46,
        "80.43478260869566",
        "86.95652173913044",
        "83.69565217391305",
        "76.08695652173914",
        "84.78260869565217",
    ),
    ("Processed/MT-Bench", "Vanilla_NoRules"): (200, "79.5", "82.5", "81.0", "74.5", "87.0"),
    ("Processed/MT-Bench", "Metrics_Reference"): (200, "80.5", "81.5", "81.0", "73.0", "84.0"),
    ("Processed/FairEval", "Vanilla_NoRules"): (
        66,
        "77.27272727272727",
        "68.18181818181817",
        "72.72727272727273",
        "57.57575757575758",
        "69.6969696969697",
    ),
    ("Processed/FairEval", "Metrics_Reference"): (
        66,
        "71.21212121212122",
        "62.121212121212125",
        "66.66666666666666",
        "46.96969696969697",
        "60.60606060606061",
    ),
    ("Processed/LLMEval^2", "Vanilla_NoRules"): (200, "76.0", "75.0", "75.5", "69.5", "87.5"),
    ("Processed/LLMEval^2", "Metrics_Reference"): (200, "76.0", "74.5", "75.25", "69.0", "87.5"),
}
FIELDS = ("accuracy_original", "accuracy_swapped", "accuracy", "both_correct", "positional_agreement")


def _calibrate(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(command, list(args))
    return result.exit_code, result.output


def test_every_set_and_strategy_present_is_published(llmbar_dir: Path) -> None:
    present = {
        (str(p.parents[3].relative_to(llmbar_dir / "Dataset").as_posix()), p.parent.name)
        for p in (llmbar_dir / "Dataset").rglob("evaluators/GPT-4/*/result.json")
    }
    assert present == set(PUBLISHED)


@pytest.mark.parametrize(("set_name", "strategy"), sorted(PUBLISHED))
def test_reproduces_published_figures(llmbar_dir: Path, set_name: str, strategy: str) -> None:
    code, out = _calibrate(
        "--from",
        "llmbar",
        str(llmbar_dir / "Dataset" / set_name),
        "--strategy",
        f"GPT-4/{strategy}",
        "--json",
        "--resamples",
        "0",
    )
    assert code == 0, out
    data = json.loads(out)
    n, *published = PUBLISHED[(set_name, strategy)]
    assert data["n"] == n
    # Exact float equality: the same arithmetic as the authors', no rounding.
    assert [data[f] for f in FIELDS] == [float(p) for p in published]
    assert data["sets"] == [set_name]


def test_root_dir_reads_every_set_as_a_tag(llmbar_dir: Path) -> None:
    code, out = _calibrate(
        "--from",
        "llmbar",
        str(llmbar_dir),
        "--strategy",
        "GPT-4/Vanilla_NoRules",
        "--json",
        "--resamples",
        "0",
    )
    assert code == 0, out
    by_tag = json.loads(out)["pairwise"]["by_tag"]
    assert len(by_tag) == 8
    assert by_tag["LLMBar/Natural"]["accuracy"] == 93.5


def test_gate_on_pairwise_accuracy(llmbar_dir: Path) -> None:
    natural = str(llmbar_dir / "Dataset" / "LLMBar" / "Natural")
    assert (
        _calibrate(
            "--from",
            "llmbar",
            natural,
            "--strategy",
            "GPT-4/Vanilla_NoRules",
            "--min-accuracy",
            "0.9",
            "--resamples",
            "0",
        )[0]
        == 0
    )
    code, _ = _calibrate(
        "--from",
        "llmbar",
        natural,
        "--strategy",
        "GPT-4/Vanilla_NoRules",
        "--min-accuracy",
        "0.95",
        "--resamples",
        "0",
    )
    assert code == 1


def test_text_output(llmbar_dir: Path) -> None:
    code, out = _calibrate(
        "--from",
        "llmbar",
        str(llmbar_dir / "Dataset" / "LLMBar" / "Natural"),
        "--strategy",
        "GPT-4/Vanilla_NoRules",
        "--resamples",
        "0",
    )
    assert code == 0 and "93.5" in out and "LLMBar/Natural" in out


def test_wrong_shape_directory_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    code, out = _calibrate("--from", "llmbar", str(tmp_path), "--strategy", "GPT-4/Vanilla")
    assert code == 2
    assert "not an LLMBar dataset directory" in out and "Traceback" not in out


def test_unknown_strategy_lists_the_available_ones(llmbar_dir: Path) -> None:
    code, out = _calibrate(
        "--from",
        "llmbar",
        str(llmbar_dir / "Dataset" / "Processed" / "FairEval"),
        "--strategy",
        "GPT-4/Vanilla",
    )
    assert code == 2
    assert "GPT-4/Metrics_Reference, GPT-4/Vanilla_NoRules" in out


def test_bad_rows_name_the_file_and_row(tmp_path: Path, llmbar_dir: Path) -> None:
    src = llmbar_dir / "Dataset" / "LLMBar" / "Natural"
    dst = tmp_path / "Natural"
    (dst / "evaluators" / "GPT-4" / "Vanilla").mkdir(parents=True)
    shutil.copy(src / "dataset.json", dst / "dataset.json")
    rows = json.loads((src / "evaluators" / "GPT-4" / "Vanilla" / "result.json").read_text())
    rows[3]["results"][-1]["swap = True"]["winner"] = "3"
    (dst / "evaluators" / "GPT-4" / "Vanilla" / "result.json").write_text(json.dumps(rows))
    code, out = _calibrate("--from", "llmbar", str(dst), "--strategy", "GPT-4/Vanilla")
    assert code == 2 and "row 3" in out and "'3' is not 1, 2 or null" in out


def test_unknown_importer_lists_registered_ones(tmp_path: Path) -> None:
    code, out = _calibrate("--from", "nosuch", str(tmp_path))
    assert code == 2 and "llmbar" in out


def test_published_kappa_is_not_cohens_kappa(llmbar_dir: Path) -> None:
    """The authors' kappa_False (0.2517173699705594, same statistics.json) maps winner "2" to 0
    while the labels stay 1/2; rubrictest reports the standard kappa instead."""
    from sklearn.metrics import cohen_kappa_score

    natural = llmbar_dir / "Dataset" / "LLMBar" / "Natural"
    rows = json.loads((natural / "evaluators" / "GPT-4" / "Vanilla_NoRules" / "result.json").read_text())
    winners = [r["results"][-1]["swap = False"]["winner"] for r in rows]
    theirs = cohen_kappa_score([int(w) if w in ("0", "1") else 0 for w in winners], [r["label"] for r in rows])
    assert theirs == pytest.approx(0.2517173699705594, rel=1e-12)
    code, out = _calibrate(
        "--from", "llmbar", str(natural), "--strategy", "GPT-4/Vanilla_NoRules", "--json", "--resamples", "0"
    )
    ours = json.loads(out)["pairwise"]["overall"]["kappa_original"]
    assert ours == pytest.approx(cohen_kappa_score(winners, [str(r["label"]) for r in rows]))
    assert ours == pytest.approx(0.8369, abs=1e-4)
