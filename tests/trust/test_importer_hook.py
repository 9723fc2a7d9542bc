"""A third-party importer registered through ``register_importers`` feeds ``calibrate``."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from rubrictest import Register, hookimpl
from rubrictest.cli.commands.calibrate import command
from rubrictest.trust.calibration import ImportedData, Importer, ImporterError, LabelledVerdict


class TsvImporter(Importer):
    """case<TAB>criterion<TAB>judge 0/1<TAB>gold 0/1 lines."""

    options = {"skip": "lines to skip"}

    def load(self, path: Path, options: Mapping[str, str]) -> ImportedData:
        if not path.is_file():
            raise ImporterError(f"{path}: expected a .tsv file")
        lines = path.read_text().splitlines()[int(options.get("skip", "0")) :]
        rows = [
            LabelledVerdict(c, k, j == "1", g == "1", tags=("tsv",))
            for c, k, j, g in (line.split("\t") for line in lines)
        ]
        return ImportedData(pointwise=rows, source=str(path), details={"importer": "tsv"})


@hookimpl
def register_importers(register: Register) -> None:
    register("tsv", TsvImporter)


class _Plugin:
    register_importers = staticmethod(register_importers)


@pytest.fixture
def tsv_plugin(register_plugin: Callable[[Any, str], Any]) -> None:
    from rubrictest.plugins import registry

    register_plugin(_Plugin, "trust-tsv")
    assert "tsv" in registry().names("importers") and "llmbar" in registry().names("importers")


def test_plugin_importer_feeds_pointwise_metrics(tsv_plugin: None, tmp_path: Path) -> None:
    data = tmp_path / "v.tsv"
    data.write_text("header\na\tx\t1\t1\nb\tx\t1\t0\nc\tx\t0\t0\nd\tx\t0\t0\n")
    result = CliRunner().invoke(command, ["--from", "tsv", str(data), "-o", "skip=1", "--json", "--resamples", "0"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    overall = out["pointwise"]["overall"]
    assert overall["accuracy"] == 0.75 and overall["leniency"] == 0.25 and overall["kappa"] == 0.5
    assert out["pointwise"]["by_tag"]["tsv"]["n"] == 4 and out["importer"] == "tsv"


def test_plugin_importer_errors_are_clear(tsv_plugin: None, tmp_path: Path) -> None:
    result = CliRunner().invoke(command, ["--from", "tsv", str(tmp_path)])
    assert result.exit_code == 2 and "expected a .tsv file" in result.output
    result = CliRunner().invoke(command, ["--from", "tsv", str(tmp_path), "-o", "oops"])
    assert result.exit_code == 2 and "expected KEY=VALUE" in result.output
    result = CliRunner().invoke(command, ["--from", "tsv", str(tmp_path), "--strategy", "x"])
    assert result.exit_code == 2 and "importer 'tsv' has no option strategy; its options: skip (lines to skip)" in (
        result.output
    )
