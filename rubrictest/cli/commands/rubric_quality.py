"""``rubrictest rubric-quality``: how well each criterion of a suite separates good from bad responses.

Judges every labelled response (``--pairs``) against every criterion of its case, builds the
verdict matrix and prints :func:`rubrictest.generation._quality.rubric_quality`'s report.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ...engine import ModelCalls
from ...errors import RubricTestError
from ...generation import (
    GenerationError,
    JudgeClient,
    LabelledPair,
    LabelledResponse,
    check_companion,
    read_labelled,
    require_stats,
)
from ...protocol import Case, ComponentContext, ComponentSpec, Criterion
from ..options import calls_options, command_run, echo_summary, parse_spec

if TYPE_CHECKING:
    from ...generation._quality import QualityReport


def _rows(
    cases: Sequence[Case], pairs: Sequence[LabelledPair], responses: Sequence[LabelledResponse]
) -> tuple[list[tuple[Case, str, str, int]], list[tuple[int, int]]]:
    """One row per labelled response (case, text, row id, label), and the pairs' row indices."""
    by_id = {c.id: c for c in cases}
    rows: list[tuple[Case, str, str, int]] = []
    pair_rows: list[tuple[int, int]] = []
    for p in pairs:
        if p.case_id not in by_id:
            continue
        pair_rows.append((len(rows), len(rows) + 1))
        case = by_id[p.case_id]
        rows += [(case, p.chosen, f"{p.id}:chosen", 1), (case, p.rejected, f"{p.id}:rejected", 0)]
    rows += [(by_id[r.case_id], r.response, r.id, int(r.good)) for r in responses if r.case_id in by_id]
    return rows, pair_rows


async def collect_verdicts(
    cases: Sequence[Case],
    pairs: Sequence[LabelledPair],
    responses: Sequence[LabelledResponse],
    judge_for: Callable[[Criterion], JudgeClient],
) -> tuple[Any, list[int], list[tuple[int, int]], list[str]]:
    """Judge labelled responses on their case's criteria and build a verdict matrix.

    A criterion shared by several cases (same id and content hash, from a named rubric) is
    one column.

    Args:
        cases: the cases, with their criteria.
        pairs: preference pairs; each gives a good and a bad row.
        responses: single labelled responses.
        judge_for: the judge client that answers a criterion.

    Returns:
        ``(matrix, labels, pair rows, column names)``; cells are pass values (NaN where the
        criterion does not belong to the row's case or the judge gave no verdict).
    """
    require_stats("measuring rubric quality")
    import numpy as np

    rows, pair_rows = _rows(cases, pairs, responses)
    columns: dict[tuple[str, str], int] = {}
    owners: dict[tuple[str, str], list[str]] = {}
    for case in cases:
        for crit in case.criteria:
            key = (crit.id, crit.hash)
            columns.setdefault(key, len(columns))
            owners.setdefault(key, []).append(case.id)
    ids = [k[0] for k in columns]
    names = [k[0] if ids.count(k[0]) == 1 else f"{owners[k][0]}:{k[0]}" for k in columns]
    matrix = np.full((len(rows), len(columns)), math.nan)
    clients: list[JudgeClient] = []

    async def judge_row(r: int, case: Case, response: str, rid: str) -> None:
        groups: dict[int, tuple[JudgeClient, list[Criterion]]] = {}
        for crit in case.criteria:
            client = judge_for(crit)
            if client not in clients:
                clients.append(client)
            groups.setdefault(id(client), (client, []))[1].append(crit)
        for client, crits in groups.values():
            outcomes = await client.outcomes(case, response, crits, response_id=rid)
            for crit in crits:
                passed = crit.passes(outcomes[crit.id])
                if passed is not None:
                    matrix[r, columns[(crit.id, crit.hash)]] = float(passed)

    await asyncio.gather(*(judge_row(i, c, text, rid) for i, (c, text, rid, _) in enumerate(rows)))
    if rows and columns and np.isnan(matrix).all():
        reasons = [e for client in clients for e in client.errors]
        reason = reasons[-1] if reasons else "no criteria apply"
        raise GenerationError(f"no verdict for any labelled response: {reason}")
    return matrix, [label for *_, label in rows], pair_rows, names


def judges_for_suite(
    base_dir: Path, override: ComponentSpec | None, calls: ModelCalls | None = None
) -> tuple[Callable[[Criterion], JudgeClient], dict[str, JudgeClient]]:
    """A function giving each criterion its judge client, built once per distinct spec.

    Text criteria use ``override`` when given, else their own judge; checks keep their check.
    Returns the function and the clients it has built (to close them).
    """
    context = ComponentContext(base_dir=base_dir, rootdir=Path.cwd())
    built: dict[str, JudgeClient] = {}

    def judge_for(crit: Criterion) -> JudgeClient:
        spec = crit.judge if (crit.check or override is None) else override
        if spec is None:
            raise click.ClickException(f"criterion {crit.id!r} has no judge; give --judge")
        if spec.key() not in built:
            built[spec.key()] = JudgeClient(spec, context, calls)
        return built[spec.key()]

    return judge_for, built


def print_report(report: QualityReport, as_json: bool) -> None:
    """Print the report as a table, or as JSON."""
    from ...generation._quality import format_report

    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
    else:
        click.echo(format_report(report))


@click.command("rubric-quality")
@click.argument("suite", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--pairs",
    "pairs_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSONL of labelled responses: {case, chosen, rejected}, {case, output_1, output_2, label: 1|2} "
    "or {case, response, label: good|bad}.",
)
@click.option("--judge", "judge_spec", help="Judge for text criteria (plugin:model); default: each criterion's own.")
@click.option("--case", "case_ids", multiple=True, help="Only these cases (repeatable).")
@click.option(
    "--redundancy",
    default=0.9,
    show_default=True,
    type=click.FloatRange(0, 1),
    help="Verdict correlation at which a criterion is reported redundant.",
)
@click.option(
    "-C",
    "c",
    default=1.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    help="Inverse regularisation strength of the l1 selection (smaller selects fewer).",
)
@click.option("--top", type=click.IntRange(min=1), help="Select at most this many criteria.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@calls_options
def command(
    suite: Path,
    pairs_file: Path,
    judge_spec: str | None,
    case_ids: tuple[str, ...],
    redundancy: float,
    c: float,
    top: int | None,
    as_json: bool,
    db_path: Path | None,
    no_store: bool,
    cache: str,
    max_cost: float | None,
) -> None:
    """Measure each criterion of SUITE on labelled responses.

    Per criterion: AUROC between good and bad responses, mean score delta, direction
    agreement on pairs, redundancy (verdict correlation), saturated / unreachable, and an
    l1-regularised logistic-regression selection of the most discriminative criteria.

    Example:

        rubrictest rubric-quality suites/test_support.rubric.yaml --pairs labelled.jsonl --judge openai:gpt-4.1
    """
    from ...plugins import load_plugins
    from ...suite import load_suite

    try:
        load_plugins()
        loaded = load_suite(suite)
        for inc in loaded.model.include:
            problem = check_companion(suite.parent / inc)
            if problem:
                click.echo(f"Warning: {problem}; its criteria are measured as they now read.", err=True)
        cases = list({run.case.id: run.case for run in loaded.runs}.values())
        all_ids = [c.id for c in cases]
        if case_ids:
            unknown = sorted(set(case_ids) - {c.id for c in cases})
            if unknown:
                raise click.BadParameter(f"unknown case(s): {', '.join(unknown)}", param_hint="--case")
            cases = [c for c in cases if c.id in case_ids]
        pairs, singles = read_labelled(pairs_file, case_ids=all_ids)
        override = parse_spec(judge_spec, "--judge")
        with command_run("rubric-quality", db_path_=db_path, no_store=no_store, cache=cache, max_cost=max_cost) as run:
            judge_for, _ = judges_for_suite(suite.parent, override, run.calls)

            async def measure() -> tuple[Any, list[int], list[tuple[int, int]], list[str]]:
                try:
                    return await collect_verdicts(cases, pairs, singles, judge_for)
                finally:
                    await run.pool.aclose()

            matrix, labels, pair_rows, names = asyncio.run(measure())
            echo_summary(run, as_json=as_json)
        from ...generation._quality import rubric_quality

        report = rubric_quality(matrix, labels, names, pairs=pair_rows, redundancy=redundancy, c=c, top=top)
    except RubricTestError as exc:
        raise click.ClickException(str(exc)) from None
    print_report(report, as_json)
