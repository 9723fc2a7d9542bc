"""``rubrictest import``: write a benchmark as suites that ``pytest`` runs.

The importer named on the command line (registered through ``register_importers``) writes
its suites, and the benchmark's responses and recorded grades beside them, into a staging
folder next to ``OUT``; every suite written is loaded (validated) before the folder is moved
into place, so a failure leaves nothing half-written. ``OUT`` must not exist, or be empty, or
(with ``--force``) be a folder an earlier ``rubrictest import`` wrote.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

import click

from ...errors import RubricTestError
from ...trust.calibration import get_importer
from ...trust.calibration.importers import Importer, ImporterError
from ..options import InputError

#: Written into every folder ``rubrictest import`` makes: what ``--force`` may replace.
MARKER = ".rubrictest-import.json"


def _options(importer: Importer, name: str, pairs: tuple[str, ...]) -> dict[str, str]:
    options: dict[str, str] = {}
    for item in pairs:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InputError(f"--option {item!r}: expected KEY=VALUE")
        if key not in importer.suite_options:
            known = ", ".join(f"{k} ({v})" for k, v in importer.suite_options.items()) or "none"
            raise InputError(f"importer {name!r} has no option {key!r}; its options: {known}")
        options[key] = value
    return options


def _check_out(out: Path, force: bool) -> None:
    if not out.exists():
        return
    if not out.is_dir():
        raise InputError(f"{out}: exists and is not a folder")
    if not any(out.iterdir()):
        return
    if not force:
        raise InputError(
            f"{out}: not empty (choose a new folder, or --force to replace one that `rubrictest import` wrote)"
        )
    if not (out / MARKER).is_file():
        raise InputError(
            f"{out}: not written by `rubrictest import` (no {MARKER}); --force replaces only such a folder"
        )


def _validate(suites: list[Path], staging: Path) -> None:
    """Load every suite written: an importer that wrote an invalid suite is a bug to report
    now, not at the user's next pytest run."""
    from ...suite import load_suite

    if not suites:
        raise ImporterError("the importer wrote no suite")
    for suite in suites:
        if staging not in suite.resolve().parents:
            raise ImporterError(f"the importer returned {suite}, which is outside the output folder")
        load_suite(suite)


def _write(
    importer: Importer, source: Path, out: Path, options: Mapping[str, str], meta: dict[str, object], force: bool
) -> list[Path]:
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent)).resolve()
    umask = os.umask(0)
    os.umask(umask)
    staging.chmod(0o777 & ~umask)  # mkdtemp makes it private; OUT is an ordinary folder
    try:
        suites = importer.write_suites(source, staging, options)
        _validate(suites, staging)
        (staging / MARKER).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        if out.exists():
            _check_out(out, force)  # again: it may have changed while the importer ran
            shutil.rmtree(out)
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return [out / s.resolve().relative_to(staging) for s in suites]


@click.command("import")
@click.argument("benchmark")
@click.argument("source", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--out",
    type=click.Path(path_type=Path),
    required=True,
    help="Folder to write the suites into (new, empty, or one written by import with --force).",
)
@click.option(
    "--option",
    "options",
    multiple=True,
    metavar="KEY=VALUE",
    help="Importer option (`rubrictest plugins` lists importers; a wrong one lists its options).",
)
@click.option("--force", is_flag=True, help="Replace OUT when an earlier `rubrictest import` wrote it.")
def command(benchmark: str, source: Path, out: Path, options: tuple[str, ...], force: bool) -> None:
    """Write BENCHMARK's rubrics, responses and recorded grades read from SOURCE as suites.

    Running pytest on OUT then judges every case with the recorded grades (no model
    call) and reproduces the benchmark's own scores; swap the `recorded` judge for a
    model to grade with it instead.

    \b
    Example:
        rubrictest import paperbench ../shared/data/preparedness/project/paperbench/data/judge_eval -o pb
        pytest pb
        rubrictest report
    """
    try:
        importer = get_importer(benchmark)
        if not importer.writes_suites:
            raise ImporterError(
                f"importer {benchmark!r} reads judge data for `rubrictest calibrate --from` only; it writes no suites"
            )
        opts = _options(importer, benchmark, options)
        _check_out(out, force)
        meta: dict[str, object] = {"importer": benchmark, "source": str(source), "options": opts}
        written = _write(importer, source, out, opts, meta, force)
    except InputError:
        raise
    except RubricTestError as exc:
        raise InputError(str(exc)) from None
    click.echo(f"wrote {len(written)} suite{'s' if len(written) != 1 else ''} to {out}:")
    for path in written:
        click.echo(f"  {path}")
    click.echo(f"run them: pytest {out}")
