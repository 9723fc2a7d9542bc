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
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...errors import RubricTestError
from .summary import LabelledVerdict, PairJudgment


class ImporterError(RubricTestError):
    """Recorded judge data that cannot be imported: wrong directory shape, bad rows."""


@dataclass
class ImportedData:
    """What an importer read.

    Attributes:
        pointwise: verdicts on single responses beside their gold labels.
        pairwise: pairwise verdicts in both orders beside the gold winner.
        source: where the data came from (shown in reports).
        details: importer-specific facts shown in reports (strategy, sets read...). Its
            ``tables`` entry, ``{title: {row: {column: value}}}``, holds figures computed the
            way the data's authors compute them; ``calibrate`` prints each as a table.
        by_criterion: whether to break pointwise metrics down per criterion id; ``False``
            when no criterion is shared by several cases (every group would hold one verdict).
    """

    pointwise: list[LabelledVerdict] = field(default_factory=list)
    pairwise: list[PairJudgment] = field(default_factory=list)
    source: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    by_criterion: bool = True


class Importer(abc.ABC):
    """Reads recorded judge verdicts and gold labels. Implement :meth:`load`.

    Attributes:
        options: the option names :meth:`load` understands, with a one-line help each;
            ``calibrate`` rejects any other ``--option`` before calling :meth:`load`.
    """

    options: Mapping[str, str] = {}

    @abc.abstractmethod
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


def get_importer(name: str) -> Importer:
    """Build the importer registered as ``name`` (a :class:`ConfigError` lists the others)."""
    from ...plugins import registry

    importer = registry().get("importers", name).factory()
    if not isinstance(importer, Importer):
        raise ImporterError(f"importer {name!r} did not build an Importer (got {type(importer).__name__})")
    return importer
