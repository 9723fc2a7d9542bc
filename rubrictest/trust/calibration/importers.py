"""Importers of recorded judge data, for ``rubrictest calibrate --from NAME PATH``.

An importer reads verdicts some judge gave elsewhere (a benchmark's released results, another
tool's logs) together with their gold labels, and hands them to ``calibrate`` as
:class:`ImportedData`. Plugins register importers through the ``register_importers`` hook::

    from rubrictest import hookimpl
    from rubrictest import Importer, ImportedData

    class MyImporter(Importer):
        \"\"\"Verdicts from my-benchmark's result files.\"\"\"

        def load(self, path, options):
            ...
            return ImportedData(pointwise=[...], source=str(path))

    @hookimpl
    def register_importers(register):
        register("my-benchmark", MyImporter)

The registered factory is called with no arguments and must return an :class:`Importer`.
An importer that meets a file or directory of the wrong shape raises :class:`ImporterError`
naming the file and what is wrong; ``calibrate`` shows that one message and writes nothing.

An importer of a benchmark may also write it as suites, for ``rubrictest import NAME PATH -o
OUT``: :meth:`Importer.write_suites` writes suite files (:func:`write_suite`), the benchmark's
responses as a ``jsonl`` target and its recorded grades as a ``recorded`` judge
(:func:`write_jsonl`), so that ``pytest OUT`` reproduces the benchmark's own scores.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ...errors import RubricTestError
from .judged import LabelledVerdict, PairJudgment, ScaleVerdict


class ImporterError(RubricTestError):
    """Recorded judge data that cannot be imported: wrong directory shape, bad rows."""


@dataclass
class ImportedData:
    """What an importer read.

    Attributes:
        pointwise: verdicts on single responses beside their gold labels.
        pairwise: pairwise verdicts in both orders beside the gold winner.
        scale: a judge's levels on criteria graded on a scale beside the gold levels.
        source: where the data came from (shown in reports).
        details: importer-specific facts shown in reports (strategy, sets read...). Its
            ``tables`` entry, ``{title: {row: {column: value}}}``, holds figures computed the
            way the data's authors compute them; ``calibrate`` prints each as a table.
        by_criterion: whether to break pointwise metrics down per criterion id; ``False``
            when no criterion is shared by several cases (every group would hold one verdict).
    """

    pointwise: list[LabelledVerdict] = field(default_factory=list)
    pairwise: list[PairJudgment] = field(default_factory=list)
    scale: list[ScaleVerdict] = field(default_factory=list)
    source: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    by_criterion: bool = True


class Importer:
    """Reads a benchmark: recorded judge verdicts and gold labels (:meth:`load`, for
    ``calibrate``), and/or its rubrics, responses and grades as suites (:meth:`write_suites`,
    for ``rubrictest import``). Implement one or both.

    Attributes:
        options: the option names :meth:`load` understands, with a one-line help each;
            ``calibrate`` rejects any other ``--option`` before calling :meth:`load`.
        suite_options: the same for :meth:`write_suites` and ``rubrictest import``.
    """

    options: Mapping[str, str] = {}
    suite_options: Mapping[str, str] = {}

    def load(self, path: Path, options: Mapping[str, str]) -> ImportedData:
        """Read the data at ``path``.

        Args:
            path: the file or directory named on the command line.
            options: ``--strategy`` and ``--option KEY=VALUE`` values.

        Returns:
            The verdicts and labels read.

        Raises:
            ImporterError: ``path`` does not have the expected shape, or a row is invalid;
                the message names the file (and row) and what was expected.
        """
        raise ImporterError(
            f"{type(self).__name__} reads no judge verdicts for calibrate (it writes suites: use `rubrictest import`)"
        )

    def write_suites(self, path: Path, out: Path, options: Mapping[str, str]) -> list[Path]:
        """Write the benchmark at ``path`` as suites into the folder ``out``.

        ``out`` exists and is empty; ``rubrictest import`` moves it into place only when this
        returns and every suite written loads, so a failure leaves nothing half-written.

        Args:
            path: the file or directory named on the command line.
            out: the folder to write into.
            options: ``--option KEY=VALUE`` values (only names in :attr:`suite_options`).

        Returns:
            The suite files written (other files, such as recorded verdicts, are not listed).

        Raises:
            ImporterError: as for :meth:`load`.
        """
        raise ImporterError(
            f"{type(self).__name__} writes no suites (it reads judge data for `rubrictest calibrate --from`)"
        )

    @property
    def writes_suites(self) -> bool:
        """Whether this importer implements :meth:`write_suites`."""
        return type(self).write_suites is not Importer.write_suites


class _SuiteDumper(yaml.SafeDumper):
    """Block style, multi-line strings as ``|`` blocks: suites people read and diff."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value and not any(c in value for c in "\r\t") and value == value.strip(" ") else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_SuiteDumper.add_representer(str, _str)


def write_suite(path: Path, data: Mapping[str, Any], header: str = "") -> Path:
    """Write a suite file: ``header`` as ``#`` comment lines, then ``data`` as YAML (keys in
    the order given). Returns ``path``."""
    comment = "".join(f"# {line}".rstrip() + "\n" for line in header.strip().splitlines())
    body = yaml.dump(dict(data), Dumper=_SuiteDumper, sort_keys=False, allow_unicode=True, width=100)
    path.write_text(comment + body, encoding="utf-8")
    return path


def write_jsonl(path: Path, rows: Iterable[Mapping[str, Any]]) -> Path:
    """Write one JSON object a line (a ``jsonl`` target's responses, a ``recorded`` judge's
    verdicts). Returns ``path``."""
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def get_importer(name: str) -> Importer:
    """Build the importer registered as ``name`` (a :class:`ConfigError` lists the others)."""
    from ...plugins import registry

    importer = registry().get("importers", name).factory()
    if not isinstance(importer, Importer):
        raise ImporterError(f"importer {name!r} did not build an Importer (got {type(importer).__name__})")
    return importer
