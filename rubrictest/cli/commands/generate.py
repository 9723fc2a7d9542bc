"""``rubrictest generate``: write rubric criteria with a generator into a companion file.

The suite file is never rewritten: criteria go to a companion file (default
``test_x.generated.yaml`` beside ``test_x.rubric.yaml``) and, when the suite does not include
it yet, the command prints the one ``include:`` line to add. Nothing is written when any
case fails to generate, and a companion edited by hand is reported, not overwritten.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError

from ... import __version__
from ...engine import ModelCalls
from ...errors import RubricTestError
from ...generation import (
    CompanionPlan,
    GeneratedCriterion,
    GenerationError,
    GenerationRequest,
    Generator,
    GeneratorContext,
    JudgeClient,
    ModelClient,
    companion_path_for,
    plan_companion,
    read_labelled,
    suite_cases,
    write_companion,
)
from ...protocol import Case, ComponentContext, ComponentSpec
from ...protocol.voting import PanelSpec
from ..options import calls_options, command_run, echo_summary, parse_spec
from .rubric_quality import collect_verdicts, print_report


def _options(pairs: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in pairs:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--option")
        out[key.strip()] = value.strip()
    return out


async def _run(generator: Generator, requests: Sequence[GenerationRequest]) -> dict[str, list[GeneratedCriterion]]:
    await generator.prepare(requests)
    results = await asyncio.gather(*(generator.generate(r) for r in requests), return_exceptions=True)
    errors = [r for r in results if isinstance(r, BaseException)]
    if errors:
        first = errors[0]
        if not isinstance(first, RubricTestError):
            raise GenerationError(f"generator {generator.name!r} raised {type(first).__name__}: {first}") from first
        more = f" (and {len(errors) - 1} more case(s) failed)" if len(errors) > 1 else ""
        raise GenerationError(f"{first}{more}. Nothing was written.")
    return {
        r.case.id: list(res) for r, res in zip(requests, results, strict=True) if not isinstance(res, BaseException)
    }


def _include_hint(suite: Path, companion: Path, includes: Sequence[str]) -> str | None:
    rel = os.path.relpath(companion, suite.parent)
    if any(os.path.normpath(inc) == os.path.normpath(rel) for inc in includes):
        return None
    if includes:
        return f"{suite} does not include the companion yet: add {rel!r} to its `include:` list."
    return f"{suite} does not include the companion yet: add this line at its top level:\n\ninclude: [{rel}]\n"


@click.command("generate")
@click.argument("suite", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--generator",
    "-g",
    "generator_name",
    required=True,
    help="Registered generator: checklist, scoring, contrastive, decompose, retrieve, or a plugin's.",
)
@click.option("--model", "model_spec", help="The model that writes rubrics: any target, e.g. openai:gpt-4.1.")
@click.option("--judge", "judge_spec", help="Judge for filters and the quality report (default: the suite's judge).")
@click.option(
    "--pairs",
    "pairs_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSONL of labelled responses: {case, chosen, rejected}, {case, output_1, output_2, label: 1|2} "
    "or {case, response, label: good|bad}.",
)
@click.option(
    "--library",
    multiple=True,
    help="Rubric library for retrieve (repeatable): FILE.jsonl, a suite, or hellobench|llmbar|biggen|"
    "deep_research[:DIR].",
)
@click.option("--option", "-o", "option_items", multiple=True, help="Generator option KEY=VALUE (repeatable).")
@click.option("--case", "case_ids", multiple=True, help="Only these cases (repeatable).")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Companion file to write (default: SUITE's name with .generated.yaml).",
)
@click.option("--review", is_flag=True, help="Print the diff of the companion file and ask before writing.")
@click.option("--yes", "-y", is_flag=True, help="With --review: write without asking.")
@click.option("--force", is_flag=True, help="Overwrite a companion file that was edited by hand.")
@click.option(
    "--max-attempts",
    default=3,
    show_default=True,
    type=click.IntRange(min=1),
    help="Times a model is asked for valid structured output before giving up.",
)
@calls_options
def command(
    suite: Path,
    generator_name: str,
    model_spec: str | None,
    judge_spec: str | None,
    pairs_file: Path | None,
    library: tuple[str, ...],
    option_items: tuple[str, ...],
    case_ids: tuple[str, ...],
    output: Path | None,
    review: bool,
    yes: bool,
    force: bool,
    max_attempts: int,
    db_path: Path | None,
    no_store: bool,
    cache: str,
    max_cost: float | None,
) -> None:
    """Generate rubric criteria for the cases of SUITE into a companion file.

    Generators: checklist (TICK), scoring (SedarEval scoring and deduction points),
    contrastive (OpenRubrics: hard rules and principles from labelled pairs), decompose (RRD
    decompose-filter with correlation-aware weights), retrieve (RubricRAG: BM25-retrieved
    exemplar rubrics). With --pairs and a judge, the quality of the new criteria is printed.
    Model calls are cached: generating again for an unchanged suite makes none.

    Example:

        rubrictest generate suites/test_support.rubric.yaml --generator checklist --model openai:gpt-4.1 --review
    """
    from ...plugins import load_plugins

    load_plugins()
    # One event loop for every model and judge call: async clients are bound to their loop.
    loop = asyncio.new_event_loop()
    with command_run("generate", db_path_=db_path, no_store=no_store, cache=cache, max_cost=max_cost) as run:
        try:
            try:
                job = _Job(suite, generator_name, case_ids, pairs_file)
                generated, plan, judge = job.generate(
                    loop, run.calls, model_spec, judge_spec, library, option_items, output, force, max_attempts
                )
            except (RubricTestError, ValidationError) as exc:
                raise click.ClickException(str(exc)) from None
            if _write(job, generated, plan, review, yes) and (job.pairs or job.singles):
                _quality(loop, job, generated, plan, judge)
        finally:
            loop.run_until_complete(run.pool.aclose())
            loop.close()
            echo_summary(run)


class _Job:
    """The suite, cases and labelled data one ``generate`` works on."""

    def __init__(self, suite: Path, generator_name: str, case_ids: tuple[str, ...], pairs_file: Path | None) -> None:
        from ...plugins import registry

        self.suite = suite
        self.generator_name = generator_name
        self.factory = registry().get("generators", generator_name).factory
        self.suite_model, cases = suite_cases(suite)
        if case_ids:
            unknown = sorted(set(case_ids) - {c.id for c in cases})
            if unknown:
                raise click.BadParameter(f"unknown case(s): {', '.join(unknown)}", param_hint="--case")
            cases = [c for c in cases if c.id in case_ids]
        self.cases = cases
        self.pairs, self.singles = read_labelled(pairs_file, case_ids=[c.id for c in cases]) if pairs_file else ([], [])
        if getattr(self.factory, "needs_pairs", False) and not self.pairs:
            raise GenerationError(
                f"generator {generator_name!r} learns from labelled pairs: give --pairs "
                "FILE with {case, chosen, rejected} rows"
            )

    def generate(
        self,
        loop: asyncio.AbstractEventLoop,
        calls: ModelCalls,
        model_spec: str | None,
        judge_spec: str | None,
        library: tuple[str, ...],
        option_items: tuple[str, ...],
        output: Path | None,
        force: bool,
        max_attempts: int,
    ) -> tuple[dict[str, list[GeneratedCriterion]], CompanionPlan, JudgeClient | None]:
        """Run the generator over the cases; plan the companion file."""
        context_dir = ComponentContext(base_dir=self.suite.parent, rootdir=Path.cwd())
        model_cfg = parse_spec(model_spec, "--model")
        model = ModelClient(model_cfg, context_dir, calls) if model_cfg else None
        suite_judge = self.suite_model.judge
        if isinstance(suite_judge, PanelSpec):  # generators filter with one judge: the panel's first member
            suite_judge = suite_judge.panel[0]
        judge_cfg: ComponentSpec | None = parse_spec(judge_spec, "--judge") or suite_judge
        wants_judge = bool(
            getattr(self.factory, "uses_judge", False)
            or getattr(self.factory, "needs_judge", False)
            or self.pairs
            or self.singles
        )
        judge = JudgeClient(judge_cfg, context_dir, calls) if (judge_cfg and wants_judge) else None
        options = _options(option_items)
        if library:
            options["library"] = list(library)  # resolved against the current directory
        context = GeneratorContext(
            model=model,
            judge=judge,
            options=options,
            base_dir=Path.cwd(),
            suite_cases=self.cases,
            max_attempts=max_attempts,
        )
        generator: Generator = self.factory(context)
        requests = [
            GenerationRequest(
                case=c,
                pairs=tuple(p for p in self.pairs if p.case_id == c.id),
                responses=tuple(r for r in self.singles if r.case_id == c.id),
            )
            for c in self.cases
        ]
        generated = loop.run_until_complete(_run(generator, requests))
        provenance = {
            "generator": self.generator_name,
            "model": model.label if model else None,
            "judge": judge.label if judge else None,
            "prompt_version": generator.prompt_version,
            "date": context.date,
            "rubrictest": __version__,
        }
        plan = plan_companion(
            output or companion_path_for(self.suite),
            generated,
            generator=self.generator_name,
            provenance=provenance,
            force=force,
            existing_ids={c.id: [k.id for k in c.criteria] for c in self.cases},
        )
        return generated, plan, judge


def _write(
    job: _Job, generated: dict[str, list[GeneratedCriterion]], plan: CompanionPlan, review: bool, yes: bool
) -> bool:
    """Write the companion file (after review when asked); whether it was written."""
    if plan.added == 0:
        click.echo(f"{job.generator_name}: no criteria generated for {len(job.cases)} case(s); nothing written.")
        return False
    if review:
        click.echo(plan.diff() or "(no change)")
        if not yes and not click.confirm(f"Write {plan.path}?", default=False):
            click.echo("Nothing written.")
            return False
    write_companion(plan)
    n_cases = sum(1 for v in generated.values() if v)
    replaced = f", replacing {plan.removed} from an earlier run" if plan.removed else ""
    click.echo(f"Wrote {plan.added} criteria for {n_cases} case(s) to {plan.path}{replaced}.")
    hint = _include_hint(job.suite, plan.path, job.suite_model.include)
    if hint:
        click.echo(hint)
    if job.suite_model.judge is None:
        click.echo("Note: the suite sets no `judge:`; generated text criteria need one to run.")
    return True


def _quality(
    loop: asyncio.AbstractEventLoop,
    job: _Job,
    generated: dict[str, list[GeneratedCriterion]],
    plan: CompanionPlan,
    judge: JudgeClient | None,
) -> None:
    if judge is None:
        click.echo("No quality report: no judge to measure with (give --judge or set `judge:` in the suite).")
        return
    try:
        loop.run_until_complete(_print_quality(job.cases, generated, plan, job.pairs, job.singles, judge))
    except RubricTestError as exc:
        click.echo(f"No quality report: {exc}", err=True)


async def _print_quality(
    cases: Sequence[Case],
    generated: dict[str, list[GeneratedCriterion]],
    plan: CompanionPlan,
    pairs: Sequence[Any],
    singles: Sequence[Any],
    judge: JudgeClient,
) -> None:
    new_cases = [
        Case(
            suite=c.suite,
            id=c.id,
            input=c.input,
            messages=c.messages,
            reference=c.reference,
            criteria=tuple(g.to_criterion(i) for g, i in zip(generated[c.id], plan.ids[c.id], strict=True)),
        )
        for c in cases
        if generated.get(c.id)
    ]
    from ...generation._quality import rubric_quality

    matrix, labels, pair_rows, names = await collect_verdicts(new_cases, pairs, singles, lambda _: judge)
    if not labels:
        return
    click.echo("\nQuality of the generated criteria on the labelled responses:")
    print_report(rubric_quality(matrix, labels, names, pairs=pair_rows), as_json=False)
