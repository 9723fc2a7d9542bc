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
from .rubric_quality import collect_verdicts, parse_spec, print_report


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
    return {r.case.id: list(res) for r, res in zip(requests, results, strict=True)
            if not isinstance(res, BaseException)}


def _include_hint(suite: Path, companion: Path, includes: Sequence[str]) -> str | None:
    rel = os.path.relpath(companion, suite.parent)
    if any(os.path.normpath(inc) == os.path.normpath(rel) for inc in includes):
        return None
    if includes:
        return f"{suite} does not include the companion yet: add {rel!r} to its `include:` list."
    return f"{suite} does not include the companion yet: add this line at its top level:\n\ninclude: [{rel}]\n"


@click.command("generate")
@click.argument("suite", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--generator", "-g", "generator_name", required=True,
              help="Registered generator: checklist, scoring, contrastive, decompose, retrieve, or a plugin's.")
@click.option("--model", "model_spec", help="The model that writes rubrics: any target, e.g. openai:gpt-4.1.")
@click.option("--judge", "judge_spec", help="Judge for filters and the quality report (default: the suite's judge).")
@click.option("--pairs", "pairs_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="JSONL of labelled responses: {case, chosen, rejected}, {case, output_1, output_2, label: 1|2} "
                   "or {case, response, label: good|bad}.")
@click.option("--library", multiple=True,
              help="Rubric library for retrieve (repeatable): FILE.jsonl, a suite, or hellobench|llmbar|biggen|"
                   "deep_research[:DIR].")
@click.option("--option", "-o", "option_items", multiple=True, help="Generator option KEY=VALUE (repeatable).")
@click.option("--case", "case_ids", multiple=True, help="Only these cases (repeatable).")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Companion file to write (default: SUITE's name with .generated.yaml).")
@click.option("--review", is_flag=True, help="Print the diff of the companion file and ask before writing.")
@click.option("--yes", "-y", is_flag=True, help="With --review: write without asking.")
@click.option("--force", is_flag=True, help="Overwrite a companion file that was edited by hand.")
@click.option("--max-attempts", default=3, show_default=True, type=click.IntRange(min=1),
              help="Times a model is asked for valid structured output before giving up.")
def command(suite: Path, generator_name: str, model_spec: str | None, judge_spec: str | None,
            pairs_file: Path | None, library: tuple[str, ...], option_items: tuple[str, ...],
            case_ids: tuple[str, ...], output: Path | None, review: bool, yes: bool, force: bool,
            max_attempts: int) -> None:
    """Generate rubric criteria for the cases of SUITE into a companion file.

    Generators: checklist (TICK), scoring (SedarEval scoring and deduction points),
    contrastive (OpenRubrics: hard rules and principles from labelled pairs), decompose (RRD
    decompose-filter with correlation-aware weights), retrieve (RubricRAG: BM25-retrieved
    exemplar rubrics). With --pairs and a judge, the quality of the new criteria is printed.

    Example:

        rubrictest generate suites/test_support.rubric.yaml --generator checklist --model openai:gpt-4.1 --review
    """
    from ...plugins import load_plugins, registry

    # One event loop for every model and judge call: async clients are bound to their loop.
    loop = asyncio.new_event_loop()
    clients: list[ModelClient | JudgeClient] = []
    try:
        try:
            load_plugins()
            entry = registry().get("generators", generator_name)
            suite_model, cases = suite_cases(suite)
            if case_ids:
                unknown = sorted(set(case_ids) - {c.id for c in cases})
                if unknown:
                    raise click.BadParameter(f"unknown case(s): {', '.join(unknown)}", param_hint="--case")
                cases = [c for c in cases if c.id in case_ids]
            pairs, singles = read_labelled(pairs_file, case_ids=[c.id for c in cases]) if pairs_file else ([], [])
            factory = entry.factory
            if getattr(factory, "needs_pairs", False) and not pairs:
                raise GenerationError(f"generator {generator_name!r} learns from labelled pairs: give --pairs "
                                      "FILE with {case, chosen, rejected} rows")
            context_dir = ComponentContext(base_dir=suite.parent, rootdir=Path.cwd())
            model = ModelClient(m, context_dir) if (m := parse_spec(model_spec, "--model")) else None
            judge_cfg: ComponentSpec | None = parse_spec(judge_spec, "--judge") or suite_model.judge
            wants_judge = bool(getattr(factory, "uses_judge", False) or getattr(factory, "needs_judge", False)
                               or pairs or singles)
            judge = JudgeClient(judge_cfg, context_dir) if (judge_cfg and wants_judge) else None
            clients += [c for c in (model, judge) if c is not None]
            options = _options(option_items)
            if library:
                options["library"] = list(library)  # resolved against the current directory
            context = GeneratorContext(model=model, judge=judge, options=options, base_dir=Path.cwd(),
                                       suite_cases=cases, max_attempts=max_attempts)
            generator: Generator = factory(context)
            requests = [GenerationRequest(case=c, pairs=tuple(p for p in pairs if p.case_id == c.id),
                                          responses=tuple(r for r in singles if r.case_id == c.id)) for c in cases]
            generated = loop.run_until_complete(_run(generator, requests))
            provenance = {"generator": generator_name, "model": model.label if model else None,
                          "judge": judge.label if judge else None, "prompt_version": generator.prompt_version,
                          "date": context.date, "rubrictest": __version__}
            plan = plan_companion(output or companion_path_for(suite), generated, generator=generator_name,
                                  provenance=provenance, force=force,
                                  existing_ids={c.id: [k.id for k in c.criteria] for c in cases})
        except (RubricTestError, ValidationError) as exc:
            raise click.ClickException(str(exc)) from None

        if plan.added == 0:
            click.echo(f"{generator_name}: no criteria generated for {len(cases)} case(s); nothing written.")
            return
        if review:
            click.echo(plan.diff() or "(no change)")
            if not yes and not click.confirm(f"Write {plan.path}?", default=False):
                click.echo("Nothing written.")
                return
        write_companion(plan)
        n_cases = sum(1 for v in generated.values() if v)
        replaced = f", replacing {plan.removed} from an earlier run" if plan.removed else ""
        click.echo(f"Wrote {plan.added} criteria for {n_cases} case(s) to {plan.path}{replaced}.")
        hint = _include_hint(suite, plan.path, suite_model.include)
        if hint:
            click.echo(hint)
        if suite_model.judge is None:
            click.echo("Note: the suite sets no `judge:`; generated text criteria need one to run.")
        if (pairs or singles) and judge is None:
            click.echo("No quality report: no judge to measure with (give --judge or set `judge:` in the suite).")
        elif pairs or singles:
            assert judge is not None
            try:
                loop.run_until_complete(_print_quality(cases, generated, plan, pairs, singles, judge))
            except RubricTestError as exc:
                click.echo(f"No quality report: {exc}", err=True)
    finally:
        for client in clients:
            loop.run_until_complete(client.aclose())
        loop.close()


async def _print_quality(cases: Sequence[Case], generated: dict[str, list[GeneratedCriterion]],
                         plan: CompanionPlan, pairs: Sequence[Any], singles: Sequence[Any], judge: JudgeClient) -> None:
    new_cases = [Case(suite=c.suite, id=c.id, input=c.input, messages=c.messages, reference=c.reference,
                      criteria=tuple(g.to_criterion(i) for g, i in zip(generated[c.id], plan.ids[c.id], strict=True)))
                 for c in cases if generated.get(c.id)]
    from ...generation._quality import rubric_quality

    matrix, labels, pair_rows, names = await collect_verdicts(new_cases, pairs, singles, lambda _: judge)
    if not labels:
        return
    click.echo("\nQuality of the generated criteria on the labelled responses:")
    print_report(rubric_quality(matrix, labels, names, pairs=pair_rows), as_json=False)
