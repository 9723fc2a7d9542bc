"""Importers of published judge data: ``llmbar`` (princeton-nlp/LLMBar) and ``paperbench``
(PaperBench's JudgeEval, :mod:`rubrictest_importers.paperbench_eval`).

Readers of the benchmarks in ../shared/data live beside this module, one per benchmark, each
with the scoring its authors publish: :mod:`~rubrictest_importers.paperbench`,
:mod:`~rubrictest_importers.deepresearch`, :mod:`~rubrictest_importers.hellobench`,
:mod:`~rubrictest_importers.mtbench`, :mod:`~rubrictest_importers.biggen`.

``rubrictest calibrate --from llmbar DIR --strategy GPT-4/Vanilla_NoRules`` reads LLMBar's
released evaluations; ``rubrictest import llmbar DIR -o OUT`` writes its sets as suites
(:mod:`~rubrictest_importers.llmbar_suites`). ``DIR`` is one set (a folder holding ``dataset.json`` and
``evaluators/``) or any folder above several sets (the repository root, ``Dataset/``,
``Dataset/LLMBar/Adversarial``...); every set found below it is read and becomes a report
group (tag) named by its path, e.g. ``LLMBar/Natural``.

Each set's ``evaluators/<strategy>/result.json`` holds the dataset rows and, in
``results[-1]``, the judge's verdicts for the original order (``"swap = False"``) and the
swapped order (``"swap = True"``), both in the original numbering. The figures computed from
them follow the authors' ``LLMEvaluator/evaluate.py`` exactly (see
:func:`rubrictest.trust.calibration.metrics.pairwise_counts`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rubrictest import ImportedData, Importer, ImporterError, PairJudgment, Register, hookimpl, read_json

_ORDERS = ("swap = False", "swap = True")


def _read_json(path: Path) -> Any:
    return read_json(path, error=ImporterError)


def find_sets(root: Path) -> list[Path]:
    """Every LLMBar set folder at or below ``root`` (a folder with ``dataset.json``)."""
    if (root / "dataset.json").is_file():
        return [root]
    return sorted(p.parent for p in root.rglob("dataset.json"))


def set_name(set_dir: Path) -> str:
    """The set's name: its path below ``Dataset/`` (``LLMBar/Natural``), else its folder name."""
    parts = set_dir.resolve().parts
    if "Dataset" in parts:
        idx = len(parts) - 1 - parts[::-1].index("Dataset")
        if idx + 1 < len(parts):
            return "/".join(parts[idx + 1 :])
    return set_dir.name


def strategies(set_dir: Path) -> list[str]:
    """The ``evaluator/strategy`` names with a ``result.json`` in ``set_dir``."""
    base = set_dir / "evaluators"
    return sorted(str(p.parent.relative_to(base).as_posix()) for p in base.glob("*/*/result.json"))


def _winner(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if str(value) in ("1", "2"):
        return str(value)
    raise ImporterError(f"{where}: winner {value!r} is not 1, 2 or null")


def read_result(path: Path, name: str) -> list[PairJudgment]:
    """The pairwise verdicts of one ``result.json`` (set ``name``)."""
    data = _read_json(path)
    if not isinstance(data, list):
        raise ImporterError(f"{path}: expected a JSON list of rows, got {type(data).__name__}")
    out: list[PairJudgment] = []
    for i, row in enumerate(data):
        where = f"{path}: row {i}"
        if not isinstance(row, dict) or "label" not in row or not row.get("results"):
            raise ImporterError(f"{where}: expected an object with `label` and a non-empty `results` list")
        final = row["results"][-1]
        if not isinstance(final, dict) or not all(o in final and isinstance(final[o], dict) for o in _ORDERS):
            raise ImporterError(f"{where}: results[-1] needs {_ORDERS[0]!r} and {_ORDERS[1]!r} objects")
        gold = str(row["label"])
        if gold not in ("1", "2"):
            raise ImporterError(f"{where}: label {row['label']!r} is not 1 or 2")
        out.append(
            PairJudgment(
                id=f"{name}#{i}",
                gold=gold,
                original=_winner(final[_ORDERS[0]].get("winner"), f"{where}: {_ORDERS[0]}"),
                swapped=_winner(final[_ORDERS[1]].get("winner"), f"{where}: {_ORDERS[1]}"),
                tags=(name,),
            )
        )
    return out


class LLMBarImporter(Importer):
    """LLMBar pairs with gold labels and a judge's recorded verdicts in both orders."""

    options = {"strategy": "evaluator/strategy folder, e.g. GPT-4/Vanilla_NoRules"}

    @property
    def suite_options(self) -> Mapping[str, str]:  # type: ignore[override]
        """The options of ``rubrictest import llmbar`` (:mod:`.llmbar_suites`)."""
        from .llmbar_suites import OPTIONS

        return OPTIONS

    def write_suites(self, path: Path, out: Path, options: Mapping[str, str]) -> list[Path]:
        """One suite per set: each pair's outputs scored on GPT-4's questions (:mod:`.llmbar_suites`)."""
        from .llmbar_suites import write_suites

        return write_suites(path, out, options)

    def load(self, path: Path, options: Mapping[str, str]) -> ImportedData:
        if not path.is_dir():
            raise ImporterError(f"{path}: not a directory (give an LLMBar set or a folder above sets)")
        sets = find_sets(path)
        if not sets:
            raise ImporterError(f"{path}: not an LLMBar dataset directory: no dataset.json at or below it")
        available = sorted({s for d in sets for s in strategies(d)})
        strategy = options.get("strategy")
        if strategy is None:
            if len(available) != 1:
                raise ImporterError(f"{path}: give --strategy; available: {', '.join(available) or 'none'}")
            strategy = available[0]
        read: list[str] = []
        pairs: list[PairJudgment] = []
        for set_dir in sets:
            result = set_dir / "evaluators" / strategy / "result.json"
            if not result.is_file():
                continue
            name = set_name(set_dir)
            rows = read_result(result, name)
            dataset = _read_json(set_dir / "dataset.json")
            if not isinstance(dataset, list) or len(dataset) != len(rows):
                raise ImporterError(
                    f"{result}: {len(rows)} rows, but {set_dir / 'dataset.json'} has "
                    f"{len(dataset) if isinstance(dataset, list) else 'no list of'} rows"
                )
            pairs.extend(rows)
            read.append(name)
        if not read:
            raise ImporterError(
                f"{path}: no set has evaluators/{strategy}/result.json; "
                f"available strategies: {', '.join(available) or 'none'}"
            )
        return ImportedData(
            pairwise=pairs, source=str(path), details={"importer": "llmbar", "strategy": strategy, "sets": read}
        )


@hookimpl
def register_importers(register: Register) -> None:
    from .biggen_suites import BiGGenImporter
    from .deepresearch_suites import DeepResearchImporter
    from .hellobench_suites import HelloBenchImporter
    from .mtbench_suites import MTBenchImporter
    from .paperbench_eval import PaperBenchImporter

    register("llmbar", LLMBarImporter)
    register("paperbench", PaperBenchImporter)
    register("hellobench", HelloBenchImporter)
    register("deepresearch", DeepResearchImporter)
    register("biggen", BiGGenImporter)
    register("mtbench", MTBenchImporter)
