"""``rubrictest calibrate``: how far a judge agrees with gold or human labels."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ...errors import ConfigError
from ...trust.calibration import Options, get_importer, summarize, summarize_pairs, summarize_scale
from ...trust.calibration.importers import ImportedData, ImporterError
from ...trust.calibration.labels import read_records
from ...trust.calibration.sources import from_records, from_store, join
from ..options import InputError, NothingMeasured, db_option, dump_json, fmt, fmt_ci, table
from ..options import db_path as options_db_path

_POINT = ("accuracy", "kappa", "precision", "recall", "f1", "leniency", "spearman", "pearson", "ece", "brier")
_SCALE = ("exact", "kappa_quadratic", "kappa_linear", "spearman", "mae", "bias")
_PAIR = ("accuracy_original", "accuracy_swapped", "accuracy", "both_correct", "positional_agreement")


def _parse_options(strategy: str | None, pairs: tuple[str, ...]) -> dict[str, str]:
    options: dict[str, str] = {}
    for item in pairs:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InputError(f"--option {item!r}: expected KEY=VALUE")
        options[key] = value
    if strategy is not None:
        options["strategy"] = strategy
    return options


def _gates(
    result: dict[str, Any], min_kappa: float | None, min_accuracy: float | None, min_weighted_kappa: float | None = None
) -> list[str]:
    """Failed gates, as messages. Pairwise accuracy (a percentage) is compared as a fraction;
    a gate on figures the data has none of (levels, outcomes) is undefined, so it fails."""
    failures: list[str] = []
    acc = kappa = None
    if "pairwise" in result:
        overall = result["pairwise"]["overall"]
        acc = overall["accuracy"] / 100 if overall["accuracy"] is not None else None
        kappas = [k for k in (overall["kappa_original"], overall["kappa_swapped"]) if k is not None]
        kappa = sum(kappas) / len(kappas) if kappas else None
    elif "pointwise" in result:
        overall = result["pointwise"]["overall"]
        acc, kappa = overall["accuracy"], overall["kappa"]
    weighted = result["scale"]["overall"]["kappa_quadratic"] if "scale" in result else None
    for name, value, minimum in (
        ("kappa", kappa, min_kappa),
        ("accuracy", acc, min_accuracy),
        ("weighted-kappa", weighted, min_weighted_kappa),
    ):
        if minimum is None:
            continue
        if value is None:
            failures.append(f"{name} is undefined on this data (gate --min-{name} {minimum:g})")
        elif value < minimum:
            failures.append(f"{name} {value:.3f} < --min-{name} {minimum:g}")
    return failures


def _render_tables(tables: dict[str, dict[str, dict[str, Any] | None]]) -> list[str]:
    """An importer's own figures (``details["tables"]``), one text table each."""
    out = []
    for title, rows in tables.items():
        columns = list(dict.fromkeys(col for row in rows.values() if row for col in row))
        out.append(
            f"{title}:\n"
            + table(
                ["group", *columns],
                [[name, *(fmt(row.get(col)) if row else "undefined" for col in columns)] for name, row in rows.items()],
            )
        )
    return out


def _render(result: dict[str, Any]) -> str:
    out = [f"source: {result['source']}", *_render_tables(result.get("tables", {}))]
    if "pairwise" in result:
        pw = result["pairwise"]
        rows = []
        for name, group in [("overall", pw["overall"]), *pw["by_tag"].items()]:
            figures = [fmt(group[k], pct=True) for k in _PAIR]
            rows.append([name, str(group["n"]), *figures, str(group["ties"])])
        headers = ["set", "n", "acc(orig)", "acc(swap)", "accuracy", "both", "pos.agree", "ties"]
        out.append(table(headers, rows))
    if "pointwise" in result:
        pt = result["pointwise"]
        o = pt["overall"]
        out.append(
            f"verdicts: {o['n']} labelled, {result.get('errors', 0)} judge errors left out, "
            f"{result.get('unlabelled', 0)} without a label"
        )
        out.append(table(["metric", "value", "95% CI"], [[k, fmt(o[k]), fmt_ci(o.get(f"{k}_ci"))] for k in _POINT]))
        sections = (("per tag", pt.get("by_tag", {})), ("per criterion", pt.get("by_criterion", {})))
        for title, groups in sections:
            if groups:
                out.append(title + ":")
                out.append(
                    table(
                        ["group", "n", "accuracy", "kappa", "f1", "leniency"],
                        [
                            [name, str(g["n"]), fmt(g["accuracy"]), fmt(g["kappa"]), fmt(g["f1"]), fmt(g["leniency"])]
                            for name, g in groups.items()
                        ],
                    )
                )
    if "scale" in result:
        out.extend(_render_scale(result["scale"]))
    if result.get("panel_agreement"):
        from ...store.report import agreement_lines

        against = result["panel_agreement"].get("members_vs_labels") or {}
        if against:
            out.append(
                "panel members against the labels:\n"
                + table(
                    ["member", "n", "accuracy", "kappa", "leniency"],
                    [
                        [name, str(g["n"]), fmt(g["accuracy"]), fmt(g["kappa"]), fmt(g["leniency"])]
                        for name, g in against.items()
                    ],
                )
            )
        out.append("\n".join(agreement_lines(result["panel_agreement"])))
    return "\n\n".join(out)


def _render_scale(scale: dict[str, Any]) -> list[str]:
    """The level agreement of criteria graded on a scale: overall, per criterion, per tag."""
    o = scale["overall"]
    out = [
        f"levels: {o['n']} labelled (weighted kappa: {scale['weights']} weights; mae and bias in levels)",
        table(["metric", "value", "95% CI"], [[k, fmt(o[k]), fmt_ci(o.get(f"{k}_ci"))] for k in _SCALE]),
    ]
    for title, groups in (("levels per criterion", scale["by_criterion"]), ("levels per tag", scale["by_tag"])):
        if groups:
            out.append(title + ":")
            out.append(
                table(
                    ["group", "n", *_SCALE],
                    [[name, str(g["n"]), *(fmt(g[k]) for k in _SCALE)] for name, g in groups.items()],
                )
            )
    return out


def _panel_agreement(
    db: Path, run: str, suite: str | None, gold: Any, labels: Path, opts: Options
) -> dict[str, Any] | None:
    """How far a run's judge panel members agree with each other, and each member with the
    labels (``None`` without a panel): what ``weights:`` of a ``weighted`` panel come from."""
    from ...store import Store
    from ...store.agreement import panel_agreement
    from ...trust.calibration.sources import JudgedRow

    store = Store.open(db, create=False)
    try:
        members, verdicts = store.member_verdicts(run), store.verdicts(run)
    finally:
        store.close()
    if suite is not None:
        members = [m for m in members if m["suite"] == suite]
    agreement = panel_agreement(members, verdicts)
    if agreement is None:
        return None
    tags = {(v["suite"], v["case_id"], v["target"] or "", v["criterion_id"]): tuple(v["tags"] or ()) for v in verdicts}
    by_member: dict[str, list[JudgedRow]] = {}
    for m in members:
        by_member.setdefault(m["member"], []).append(
            JudgedRow(
                case=m["case_id"],
                criterion=m["criterion_id"],
                outcome=m["outcome"],
                target=m["target"] or None,
                confidence=m["confidence"],
                judge=m["member"],
                suite=m["suite"],
                tags=tags.get((m["suite"], m["case_id"], m["target"] or "", m["criterion_id"]), ()),
            )
        )
    against: dict[str, dict[str, Any]] = {}
    for name, rows in by_member.items():
        keys = {(r.case, r.criterion) for r in rows}
        joined = join(rows, [g for g in gold if (g.case, g.criterion) in keys], labels, f"member {name}")
        if joined.rows:
            o = summarize(joined.rows, opts, by_criterion=False, by_tag=False)["overall"]
            against[name] = {k: o.get(k) for k in ("n", "accuracy", "kappa", "leniency")}
    agreement["members_vs_labels"] = against
    return agreement


def _store_calibration(db: Path, run: str, judges: set[str], labels: Path, rows: Any, result: dict[str, Any]) -> None:
    """Keep a stored run's calibration in its database (``rubrictest view`` shows it on the
    judge's page); only when the verdicts are one judge's, else the figures mix judges."""
    if len(judges) != 1:
        click.echo(
            f"calibration not stored: the verdicts come from {len(judges)} judges (pick one with --judge)", err=True
        )
        return
    from ...store import Store
    from ...trust.calibration.summary import reliability_bins

    store = Store.open(db, create=False)
    try:
        store.record_calibration(
            run,
            judge=next(iter(judges)),
            labels=str(labels),
            overall=result["pointwise"]["overall"],
            reliability=reliability_bins(rows),
            result=result,
        )
    finally:
        store.close()


@click.command("calibrate")
@click.option(
    "--from",
    "from_",
    nargs=2,
    type=(str, click.Path(path_type=Path)),
    default=None,
    metavar="IMPORTER PATH",
    help="Read recorded judge data with an importer (e.g. llmbar DIR).",
)
@click.option("--strategy", help="Importer option: which recorded judge/strategy (llmbar: GPT-4/Vanilla).")
@click.option("-o", "--option", "options", multiple=True, metavar="KEY=VALUE", help="Other importer options.")
@click.option("--labels", type=click.Path(path_type=Path), help="Gold labels, JSONL in the recorded format.")
@click.option(
    "--verdicts",
    type=click.Path(path_type=Path),
    help="Judge verdicts as JSONL (recorded format) instead of a run in the database.",
)
@db_option
@click.option("--run", "run_id", help="Run id in the database (default: the latest run).")
@click.option("--judge", help="Only verdicts of this judge label.")
@click.option("--suite", "suite_name", help="Only verdicts of this suite (its name).")
@click.option("--include-checks", is_flag=True, help="Also calibrate deterministic checks.")
@click.option("--min-kappa", type=float, help="Exit 1 when Cohen's kappa is below this.")
@click.option("--min-accuracy", type=float, help="Exit 1 when accuracy (a fraction, 0.9) is below this.")
@click.option(
    "--min-weighted-kappa",
    type=float,
    help="Exit 1 when the quadratic weighted kappa of levels (scale criteria) is below this.",
)
@click.option(
    "--resamples",
    type=click.IntRange(0),
    default=1000,
    show_default=True,
    help="Bootstrap resamples for the intervals (0: none).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Bootstrap seed.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def command(
    from_: tuple[str, Path] | None,
    strategy: str | None,
    options: tuple[str, ...],
    labels: Path | None,
    verdicts: Path | None,
    db_path: Path | None,
    run_id: str | None,
    judge: str | None,
    suite_name: str | None,
    include_checks: bool,
    min_kappa: float | None,
    min_accuracy: float | None,
    min_weighted_kappa: float | None,
    resamples: int,
    seed: int,
    as_json: bool,
) -> None:
    """Measure a judge against gold or human labels.

    Reports accuracy, Cohen's kappa, precision/recall/F1 of "met", leniency (judge met rate
    minus label met rate), Spearman and Pearson for scored judges, ECE and Brier for
    confidences -- overall, per criterion and per tag, with seeded bootstrap intervals.
    For criteria graded on a scale, where the labels give a `level`, it compares levels:
    exact agreement, weighted kappa (quadratic; linear beside it), Spearman, and the mean
    absolute error and bias in levels.
    For recorded pairwise data it reports each order's accuracy, their mean, the share
    right in both orders and the positional agreement (percentages). When a judge panel
    judged the run, it also shows how far the members agree with each other (pairwise kappa,
    the criteria they split on, flagged as rubric problems).

    \b
    Examples:
      rubrictest calibrate --labels gold.jsonl                 # latest run in the database
      rubrictest calibrate --labels gold.jsonl --verdicts judge.jsonl --min-kappa 0.6
      rubrictest calibrate --labels levels.jsonl --min-weighted-kappa 0.7   # scale criteria
      rubrictest calibrate --from llmbar LLMBar/Dataset/LLMBar/Natural \\
          --strategy GPT-4/Vanilla_NoRules --json
    """
    opts = Options(resamples=resamples, seed=seed)
    try:
        if from_ is not None:
            if labels or verdicts:
                raise InputError("--from reads labels and verdicts itself; drop --labels/--verdicts")
            result = _from_importer(from_, _parse_options(strategy, options), opts)
        else:
            if labels is None:
                raise InputError("give --labels FILE (gold labels), or --from IMPORTER PATH")
            result = _from_labels(
                labels,
                verdicts,
                db_path,
                run_id,
                judge=judge,
                suite_name=suite_name,
                include_checks=include_checks,
                opts=opts,
            )
    except (ImporterError, ConfigError) as exc:
        raise InputError(str(exc)) from None

    failures = _gates(result, min_kappa, min_accuracy, min_weighted_kappa)
    result["gates_failed"] = failures
    click.echo(dump_json(result) if as_json else _render(result))
    if failures:
        for msg in failures:
            click.echo(f"judge gate failed: {msg}", err=True)
        raise SystemExit(1)


def _from_importer(from_: tuple[str, Path], given: dict[str, str], opts: Options) -> dict[str, Any]:
    """Calibration of the judge data an importer reads (``--from IMPORTER PATH``)."""
    name, path = from_
    importer = get_importer(name)
    unknown = sorted(set(given) - set(importer.options))
    if unknown:
        allowed = ", ".join(f"{k} ({v})" for k, v in importer.options.items()) or "none"
        raise InputError(f"importer {name!r} has no option {', '.join(unknown)}; its options: {allowed}")
    data: ImportedData = importer.load(path, given)
    result: dict[str, Any] = {"source": data.source, **data.details}
    if data.pairwise:
        result["pairwise"] = summarize_pairs(data.pairwise, opts)
        result["n"] = result["pairwise"]["overall"]["n"]
        result.update({k: result["pairwise"]["overall"][k] for k in _PAIR})
    if data.pointwise:
        result["pointwise"] = summarize(data.pointwise, opts, by_criterion=data.by_criterion)
    if data.scale:
        result["scale"] = summarize_scale(data.scale, opts)
    if not data.pairwise and not data.pointwise and not data.scale:
        raise NothingMeasured(f"calibrate: {path}: the importer found no verdicts")
    return result


def _from_labels(
    labels: Path,
    verdicts: Path | None,
    db_path: Path | None,
    run_id: str | None,
    *,
    judge: str | None,
    suite_name: str | None,
    include_checks: bool,
    opts: Options,
) -> dict[str, Any]:
    """Calibration of a stored run's (or a JSONL file's) verdicts against gold labels."""
    gold = read_records(labels, levels=True)
    if verdicts is not None:
        judged = from_records(read_records(verdicts, levels=True))
        what = str(verdicts)
    else:
        db = options_db_path(db_path)
        run, judged = from_store(db, run_id, judge=judge, include_checks=include_checks, suite=suite_name)
        what = f"run {run} of {db}"
    joined = join(judged, gold, labels, what)
    if not joined.rows and not joined.scale:
        # Every matched verdict was a judge ERROR: agreement over nothing is not agreement.
        raise NothingMeasured(
            f"calibrate: 0 of {len(gold)} labels matched a verdict the judge answered "
            f"({joined.errors} judge ERRORs left out) in {what}"
        )
    result: dict[str, Any] = {
        "source": what,
        "labels": str(labels),
        "errors": joined.errors,
        "unlabelled": joined.unlabelled,
    }
    if joined.rows:
        result["pointwise"] = summarize(joined.rows, opts)
    if joined.scale:
        result["scale"] = summarize_scale(joined.scale, opts)
    if verdicts is None:
        agreement = _panel_agreement(db, run, suite_name, gold, labels, opts)
        if agreement is not None:
            result["panel_agreement"] = agreement
    if verdicts is None and joined.rows:
        _store_calibration(db, run, {r.judge for r in judged if r.judge}, labels, joined.rows, result)
    return result
