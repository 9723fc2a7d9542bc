"""Rendering a stored run: the terminal summary, ``rubrictest report`` tables, JSON, Markdown."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import TYPE_CHECKING, Any

from .agreement import FLAG_SPLIT, member_votes, panel_agreement, sentinel_summary
from .repeat_report import HEADERS as REPEAT_HEADERS
from .repeat_report import headline, repeat_markdown, repeat_rows, run_repeats
from .tree_report import run_trees, tree_lines

if TYPE_CHECKING:
    from .database import Store

STATUSES = ("PASS", "FAIL", "MISSED", "ERROR")


def run_report(store: Store, run_id: str, flag_split: float = FLAG_SPLIT) -> dict[str, Any]:
    """Everything ``rubrictest report`` shows about ``run_id``, as plain data.

    ``targets`` answers the release question: per suite and target, the cases, their mean
    score and the stored gate (pass rate, Wilson lower bound, minimum, status); ``cases``
    holds every case score and ``criteria`` every verdict with, for FAIL, MISSED and ERROR,
    its ``reason``.

    ``flag_split``: a criterion a judge panel splits on at least this share of the times it
    is judged is flagged as a rubric problem (:mod:`.agreement`).
    """
    run = store.run(run_id)
    verdicts = store.verdicts(run_id)
    members = store.member_verdicts(run_id)
    votes = member_votes(members)
    cases = store.cases(run_id)
    gates = [{k: g.get(k) for k in _GATE_KEYS} for g in store.gates(run_id)]
    usage = _usage(store, run_id)
    suites, targets = _groups(cases, gates)
    by_tag: dict[str, Counter[str]] = defaultdict(Counter)
    for v in verdicts:
        for tag in v["tags"] or []:
            by_tag[tag][v["status"]] += 1
    return {
        "run": {k: run.get(k) for k in ("id", "started_at", "finished_at", "status", "version", "counts")},
        "targets": targets,
        "gates": gates,
        "suites": suites,
        "cases": [{k: c.get(k) for k in ("suite", "case_id", "target", "score", "outcome", "reason")} for c in cases],
        "criteria": [
            {
                **{
                    k: v.get(k)
                    for k in (
                        "suite",
                        "case_id",
                        "target",
                        "criterion_id",
                        "status",
                        "outcome",
                        "confidence",
                        "judge",
                        "criterion_hash",
                        "points",
                        "must",
                        "evidence",
                        "evidence_supported",
                        "rationale",
                        "error",
                        "cached",
                        "criterion_text",
                        "repeats",
                        "flip_rate",
                        "unstable",
                    )
                },
                "reason": verdict_reason(v),
            }
            | (
                {"members": votes[key]}
                if (key := (v["suite"], v["case_id"], v["target"] or "", v["criterion_id"])) in votes
                else {}
            )
            for v in verdicts
        ],
        "repeats": run_repeats(store, run_id, verdicts),
        "tags": {tag: dict(c) for tag, c in sorted(by_tag.items())},
        "panel_agreement": panel_agreement(members, verdicts, flag_split),
        "sentinel": sentinel_summary(store.sentinel_verdicts(run_id)),
        "trees": run_trees(store, run_id, verdicts, cases),
        "usage": usage,
    }


def _groups(
    cases: list[dict[str, Any]], gates: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Per suite and per (suite, target): the cases, how they ended, the mean score, the gate."""
    suites: dict[str, dict[str, Any]] = {}
    targets: dict[tuple[str, str], dict[str, Any]] = {}
    for case in cases:
        s = suites.setdefault(
            case["suite"],
            {
                "suite": case["suite"],
                "path": case["suite_path"],
                "cases": 0,
                "passed": 0,
                "failed": 0,
                "errors": 0,
                "scores": [],
            },
        )
        t = targets.setdefault(
            (case["suite"], case["target"] or ""),
            {
                "suite": case["suite"],
                "target": case["target"] or "",
                "cases": 0,
                "passed": 0,
                "failed": 0,
                "errors": 0,
                "scores": [],
            },
        )
        for group in (s, t):
            group["cases"] += 1
            group[{"passed": "passed", "failed": "failed"}.get(case["outcome"], "errors")] += 1
            if case["score"] is not None:
                group["scores"].append(case["score"])
    for group in [*suites.values(), *targets.values()]:
        scores = group.pop("scores")
        group["mean_score"] = sum(scores) / len(scores) if scores else None
    by_gate = {(g["suite"], g["target"] or ""): g for g in gates}
    for group_key, t in targets.items():
        t["gate"] = by_gate.get(group_key)
    return list(suites.values()), list(targets.values())


def summary_report(store: Store, run_id: str) -> dict[str, Any]:
    """The parts of :func:`run_report` the terminal summary shows, without reading a row per
    verdict unless a judge panel or ``--rubric-repeat`` needs them (at 100,000 criteria those
    rows held 150 MB at the end of the run): ``counts`` per status (from SQL), ``targets``,
    ``suites``, ``panel_agreement``, ``sentinel``, ``repeats`` and ``usage``."""
    members = store.member_verdicts(run_id)
    repeated = store.has_repeats(run_id)
    verdicts = store.verdicts(run_id) if members or repeated else []
    gates = [{k: g.get(k) for k in _GATE_KEYS} for g in store.gates(run_id)]
    suites, targets = _groups(store.cases(run_id), gates)
    return {
        "counts": store.status_counts(run_id),
        "targets": targets,
        "suites": suites,
        "panel_agreement": panel_agreement(members, verdicts, FLAG_SPLIT),
        "sentinel": sentinel_summary(store.sentinel_verdicts(run_id)),
        "repeats": run_repeats(store, run_id, verdicts) if repeated else None,
        "usage": _usage(store, run_id),
    }


def brief_trust_lines(report: dict[str, Any]) -> list[str]:
    """One line each for panel agreement and sentinel disagreements (the terminal summary)."""
    lines = []
    a = report.get("panel_agreement")
    if a:
        kappas = [p["kappa"] for p in a["pairs"] if p["kappa"] is not None]
        line = (
            f"panel agreement: split on {a['split']} of {a['n']} criteria ({_pct(a['split_share'])}), "
            f"kappa {min(kappas):.2f}..{max(kappas):.2f}"
            if kappas
            else f"panel agreement: split on {a['split']} of {a['n']} criteria ({_pct(a['split_share'])})"
        )
        if a["flagged"]:
            line += "; rubric problems (the panel splits): " + ", ".join(a["flagged"][:5])
        lines.append(line)
    s = report.get("sentinel")
    if s:
        flagged = ", ".join(
            f"{c['suite']}::{_case(c)} ({c['disagreement']}: rubric {c['rubric_score']:.2f}, sentinel {c['score']:.2f})"
            for c in s["disagreements"][:5]
        )
        lines.append(
            f"sentinel: {len(s['disagreements'])} of {s['n']} cases a rubric-holistic disagreement"
            + (f": {flagged}" if flagged else "")
            + (f"; {s['errors']} case(s) without a sentinel verdict (ERROR)" if s["errors"] else "")
        )
    return [""] + lines if lines else []


_GATE_KEYS = (
    "suite",
    "target",
    "status",
    "passes",
    "total",
    "pass_rate",
    "lower_bound",
    "min_pass_rate",
    "confidence",
    "errors",
    "max_disagreement",
    "disagreements",
    "disagreement_rate",
)


def verdict_reason(v: dict[str, Any]) -> str | None:
    """Why a verdict did not pass (``None`` when it passed): the judge's error for ERROR, else
    its rationale, else its quoted evidence, else what the criterion asked."""
    if v["status"] == "PASS":
        return None
    if v["status"] == "ERROR":
        return v.get("error") or "no verdict"
    said = "met (a deduction: passes when not met)" if v.get("outcome") == "met" else "not met"
    detail = v.get("rationale") or (f'evidence: "{v["evidence"]}"' if v.get("evidence") else None)
    return f"{said}: {detail}" if detail else f"{said}: {v.get('criterion_text') or v['criterion_id']}"


def gate_text(gate: dict[str, Any] | None) -> str:
    """A stored gate in one line: status, cases passed, Wilson lower bound against the minimum,
    and (with a sentinel) the share of rubric-holistic disagreements against its bound."""
    if gate is None:
        return "no gate"
    parts = []
    if gate.get("min_pass_rate") is not None:
        total = gate["total"] or 0
        passed = f"{gate['passes']}/{total} cases passed" + (f" ({gate['pass_rate']:.1%})" if total else "")
        if gate.get("lower_bound") is None:
            parts.append(f"{passed}; undecided, no verdict for " + ", ".join((gate.get("errors") or [])[:5]))
        else:
            op = ">=" if gate["lower_bound"] >= gate["min_pass_rate"] else "<"
            parts.append(
                f"{passed}, Wilson lower bound {gate['lower_bound']:.3f} at {gate['confidence']:.0%} {op} "
                f"min pass rate {gate['min_pass_rate']:g}"
            )
    if gate.get("max_disagreement") is not None:
        rate = gate.get("disagreement_rate")
        if rate is None:
            parts.append(
                "disagreements undecided: no rubric or sentinel score for " + ", ".join((gate.get("errors") or [])[:5])
            )
        else:
            op = "<=" if rate <= gate["max_disagreement"] + 1e-12 else ">"
            parts.append(
                f"{len(gate.get('disagreements') or [])} rubric-holistic disagreement(s) ({rate:.1%}) {op} "
                f"max {gate['max_disagreement']:g}"
            )
    return f"{gate['status']}: " + "; ".join(parts)


def _usage(store: Store, run_id: str) -> list[dict[str, Any]]:
    rows = store.db.query(
        "SELECT kind, component, count(*) AS calls, sum(input_tokens) AS input_tokens, "
        "sum(output_tokens) AS output_tokens, sum(cost_usd) AS cost_usd, avg(latency_s) AS mean_latency_s "
        "FROM judge_calls WHERE run_id = ? AND request IS NOT NULL GROUP BY kind, component ORDER BY kind, component",
        [run_id],
    )
    out = [dict(r) for r in rows]
    hits = {
        r["judge"]: r["n"]
        for r in store.db.query(
            "SELECT judge, count(DISTINCT judge_call_id) AS n FROM verdicts WHERE run_id = ? AND cached = 1 "
            "GROUP BY judge",
            [run_id],
        )
    }
    for row in out:
        row["cache_hits"] = hits.pop(row["component"], 0) if row["kind"] == "judge" else 0
    for judge, n in hits.items():
        out.append(
            {
                "kind": "judge",
                "component": judge,
                "calls": 0,
                "input_tokens": None,
                "output_tokens": None,
                "cost_usd": None,
                "mean_latency_s": None,
                "cache_hits": n,
            }
        )
    return out


def _fmt(value: Any, spec: str = "") -> str:
    if value is None:
        return "-"
    return format(value, spec) if spec else str(value)


def table(headers: list[str], rows: list[list[str]]) -> list[str]:
    """A plain-text table with aligned columns."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return out


def render_text(report: dict[str, Any]) -> list[str]:
    """``rubrictest report`` as text: per suite and target its gate, case scores and criteria
    (with the reason of every verdict that did not pass), then trees, suites and usage."""
    run = report["run"]
    lines = [f"run {run['id']}  {run['status']}  started {run['started_at']}", ""]
    cases = defaultdict(list)
    for c in report["cases"]:
        cases[(c["suite"], c["target"] or "")].append(c)
    criteria = defaultdict(list)
    for c in report["criteria"]:
        criteria[(c["suite"], c["target"] or "")].append(c)
    groups = list(dict.fromkeys([*((t["suite"], t["target"]) for t in report["targets"]), *criteria]))
    by_key = {(t["suite"], t["target"]): t for t in report["targets"]}
    for key in groups:
        suite, target = key
        gate = (by_key.get(key) or {}).get("gate")
        lines.append(f"== {suite}" + (f" [{target}]" if target else "") + (f"  gate {gate_text(gate)}" if gate else ""))
        if cases[key]:
            lines += table(
                ["case", "score", "outcome", "reason"],
                [
                    [
                        c["case_id"],
                        _fmt(c["score"], ".3f"),
                        c["outcome"] or "-",
                        _one_line(c["reason"]) if c["outcome"] != "passed" else "",
                    ]
                    for c in cases[key]
                ],
            )
            lines.append("")
        rows = [
            [
                c["case_id"],
                c["criterion_id"],
                c["status"],
                _fmt(c["confidence"], ".2f"),
                c["judge"] or "-",
                (c["criterion_hash"] or "")[:8],
                _one_line(c["reason"]),
            ]
            for c in criteria[key]
        ]
        lines += table(["case", "criterion", "status", "conf", "judge", "hash", "reason"], rows)
        lines.append("")
    if report.get("repeats"):
        lines += [headline(report["repeats"])] + table(REPEAT_HEADERS, repeat_rows(report["repeats"])) + [""]
    if report.get("trees"):
        lines += tree_lines(report["trees"])
    lines += suite_lines(report)
    if any("members" in c for c in report["criteria"]):
        lines.append("")
        lines += vote_lines(report["criteria"])
    if report.get("panel_agreement"):
        lines.append("")
        lines += agreement_lines(report["panel_agreement"])
    if report.get("sentinel"):
        lines.append("")
        lines += sentinel_lines(report["sentinel"])
    if report["usage"]:
        lines.append("")
        lines += usage_lines(report["usage"])
    return [line.rstrip() for line in lines]


def _one_line(text: str | None, limit: int = 100) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _case(c: dict[str, Any]) -> str:
    return str(c["case_id"]) + (f"[{c['target']}]" if c.get("target") and "[" not in c["case_id"] else "")


def vote_lines(criteria: list[dict[str, Any]]) -> list[str]:
    """Each panel-judged criterion: every member's vote beside the panel's verdict."""
    judged = [c for c in criteria if "members" in c]
    names = list(dict.fromkeys(m["member"] for c in judged for m in c["members"]))
    rows = []
    for c in judged:
        got = {
            m["member"]: m["outcome"] + ("" if m["counted"] or m["outcome"] == "error" else " (not counted)")
            for m in c["members"]
        }
        rows.append(
            [
                c["suite"],
                _case(c),
                c["criterion_id"],
                *(got.get(n, "") for n in names),
                f"{c['outcome']} ({c['status']})",
            ]
        )
    return ["panel votes:", *table(["suite", "case", "criterion", *names, "panel"], rows)]


def agreement_lines(agreement: dict[str, Any]) -> list[str]:
    """Pairwise agreement of the panel members, splits per criterion and tag, flagged criteria."""
    a = agreement
    lines = [
        f"panel agreement: {a['n']} criteria judged by {len(a['members'])} members, the panel split on "
        f"{a['split']} ({_pct(a['split_share'])})"
    ]
    lines += table(
        ["member", "member", "n", "agree", "kappa"],
        [[p["a"], p["b"], str(p["n"]), _pct(p["agreement"]), _fmt(p["kappa"], ".2f")] for p in a["pairs"]],
    )
    lines.append("")
    lines += table(
        ["suite", "criterion", "judged", "split", "share", ""],
        [
            [
                c["suite"],
                c["criterion_id"],
                str(c["n"]),
                str(c["split"]),
                _pct(c["split_share"]),
                "RUBRIC PROBLEM: the panel splits on it (" + ", ".join(c["cases_split"][:5]) + ")"
                if c["flagged"]
                else "",
            ]
            for c in a["by_criterion"]
        ],
    )
    if a["by_tag"]:
        lines.append("")
        lines += table(
            ["tag", "judged", "split", "share", "kappa (mean of pairs)"],
            [
                [tag, str(t["n"]), str(t["split"]), _pct(t["split_share"]), _fmt(_mean_kappa(t), ".2f")]
                for tag, t in a["by_tag"].items()
            ],
        )
    return lines


def _mean_kappa(group: dict[str, Any]) -> float | None:
    kappas = [p["kappa"] for p in group["pairs"] if p["kappa"] is not None]
    return sum(kappas) / len(kappas) if kappas else None


_DISAGREEMENT = {
    "rubric_only": "RUBRIC ONLY: the rubric passes what the sentinel fails (reward hacking?)",
    "holistic_only": "HOLISTIC ONLY: the sentinel passes what the rubric fails (rubric misses the point?)",
}


def sentinel_lines(sentinel: dict[str, Any]) -> list[str]:
    """The sentinel's holistic verdicts beside the rubric scores; disagreements flagged."""
    s = sentinel
    lines = [
        f"sentinel (rubric-free): {s['n']} cases compared, {len(s['disagreements'])} rubric-holistic "
        f"disagreement(s) ({_pct(s['rate'])})" + (f", {s['errors']} sentinel error(s)" if s["errors"] else "")
    ]
    lines += table(
        ["suite", "case", "rubric", "sentinel", "verdict", "judge", ""],
        [
            [
                c["suite"],
                _case(c),
                _fmt(c["rubric_score"], ".2f"),
                _fmt(c["score"], ".2f"),
                c["outcome"],
                c["judge"],
                _DISAGREEMENT.get(c["disagreement"] or "", c["error"] or ""),
            ]
            for c in s["cases"]
        ],
    )
    return lines


def suite_lines(report: dict[str, Any]) -> list[str]:
    """Per suite and target: cases passed, failed, in error, the mean case score and the gate."""
    rows = [
        [
            t["suite"],
            t["target"] or "-",
            str(t["cases"]),
            str(t["passed"]),
            str(t["failed"]),
            str(t["errors"]),
            _fmt(t["mean_score"], ".3f"),
            t["gate"]["status"] if t.get("gate") else "-",
        ]
        for t in report["targets"]
    ]
    return table(["suite", "target", "cases", "passed", "failed", "error", "mean score", "gate"], rows)


def usage_lines(usage: list[dict[str, Any]]) -> list[str]:
    rows = [
        [
            u["kind"],
            u["component"],
            str(u["calls"]),
            str(u["cache_hits"]),
            _fmt(u["input_tokens"]),
            _fmt(u["output_tokens"]),
            _fmt(u["cost_usd"], ".4f"),
            _fmt(u["mean_latency_s"], ".3f"),
        ]
        for u in usage
    ]
    return table(
        ["kind", "component", "calls", "cache hits", "tokens in", "tokens out", "cost $", "mean latency s"], rows
    )


def render_markdown(report: dict[str, Any]) -> str:
    """``rubrictest report --format markdown``: for CI job summaries and pull requests."""
    from .github import md_cell

    run = report["run"]
    out = [f"## rubrictest run `{run['id']}` — {run['status']}", ""]
    counts = Counter(c["status"] for c in report["criteria"])
    out.append(" · ".join(f"**{counts.get(s, 0)}** {s}" for s in STATUSES))
    out += [
        "",
        "| suite | target | gate | cases | passed | failed | error | mean score |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for t in report["targets"]:
        out.append(
            f"| {md_cell(t['suite'])} | {md_cell(t['target'] or '-')} | {md_cell(gate_text(t.get('gate')))} | "
            f"{t['cases']} | {t['passed']} | {t['failed']} | {t['errors']} | {_fmt(t['mean_score'], '.3f')} |"
        )
    out += ["", "| suite | target | case | score | outcome | reason |", "|---|---|---|---|---|---|"]
    for c in report["cases"]:
        reason = c["reason"] if c["outcome"] != "passed" else ""
        out.append(
            f"| {md_cell(c['suite'])} | {md_cell(c['target'] or '-')} | {md_cell(c['case_id'])} | "
            f"{_fmt(c['score'], '.3f')} | {c['outcome']} | {md_cell(reason)} |"
        )
    out += [
        "",
        "| suite | target | case | criterion | status | confidence | judge | reason |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for c in report["criteria"]:
        out.append(
            f"| {md_cell(c['suite'])} | {md_cell(c['target'] or '-')} | {md_cell(c['case_id'])} | "
            f"{md_cell(c['criterion_id'])} | {c['status']} | {_fmt(c['confidence'], '.2f')} | "
            f"{md_cell(c['judge'])} | {md_cell(c['reason'] or '')} |"
        )
    out += _markdown_panels(report)
    if report.get("repeats"):
        out += repeat_markdown(report["repeats"])
    if report["usage"]:
        out += [
            "",
            "| kind | component | calls | cache hits | tokens in | tokens out | cost $ |",
            "|---|---|---|---|---|---|---|",
        ]
        for u in report["usage"]:
            out.append(
                f"| {u['kind']} | {md_cell(u['component'])} | {u['calls']} | {u['cache_hits']} | "
                f"{_fmt(u['input_tokens'])} | {_fmt(u['output_tokens'])} | {_fmt(u['cost_usd'], '.4f')} |"
            )
    return "\n".join(out) + "\n"


def _markdown_panels(report: dict[str, Any]) -> list[str]:
    out: list[str] = []
    judged = [c for c in report["criteria"] if "members" in c]
    if judged:
        names = list(dict.fromkeys(m["member"] for c in judged for m in c["members"]))
        out += [
            "",
            "**Panel votes**",
            "",
            "| suite | case | criterion | " + " | ".join(names) + " | panel |",
            "|---|---|---|" + "---|" * len(names) + "---|",
        ]
        for c in judged:
            got = {m["member"]: m["outcome"] for m in c["members"]}
            out.append(
                f"| {c['suite']} | {_case(c)} | {c['criterion_id']} | "
                + " | ".join(got.get(n, "") for n in names)
                + f" | {c['outcome']} ({c['status']}) |"
            )
    a = report.get("panel_agreement")
    if a:
        out += [
            "",
            f"**Panel agreement**: the panel split on {a['split']} of {a['n']} criteria judged "
            f"({_pct(a['split_share'])})",
            "",
            "| member | member | n | agree | kappa |",
            "|---|---|---|---|---|",
        ]
        out += [
            f"| {p['a']} | {p['b']} | {p['n']} | {_pct(p['agreement'])} | {_fmt(p['kappa'], '.2f')} |"
            for p in a["pairs"]
        ]
        for c in a["by_criterion"]:
            if c["flagged"]:
                out.append(
                    f"\n:warning: **rubric problem**: the panel splits on `{c['suite']}::{c['criterion_id']}` "
                    f"in {c['split']} of {c['n']} cases ({', '.join(c['cases_split'][:5])})"
                )
    s = report.get("sentinel")
    if s:
        out += [
            "",
            f"**Sentinel** (rubric-free): {len(s['disagreements'])} rubric-holistic disagreement(s) in "
            f"{s['n']} cases ({_pct(s['rate'])})",
            "",
            "| suite | case | rubric | sentinel | verdict | |",
            "|---|---|---|---|---|---|",
        ]
        out += [
            f"| {c['suite']} | {_case(c)} | {_fmt(c['rubric_score'], '.2f')} | {_fmt(c['score'], '.2f')} | "
            f"{c['outcome']} | {_DISAGREEMENT.get(c['disagreement'] or '', c['error'] or '')} |"
            for c in s["cases"]
        ]
    return out


def terminal_summary_lines(store: Store, run_id: str, live_usage: dict[str, Any]) -> list[str]:
    """The ``rubrictest`` section pytest prints at the end of a run."""
    store.flush()
    report = summary_report(store, run_id)
    counts = report["counts"]
    lines = ["criteria: " + ", ".join(f"{counts.get(s, 0)} {s}" for s in STATUSES)]
    lines += suite_lines(report)
    lines += brief_trust_lines(report)
    if report.get("repeats"):
        # Only the criteria that flipped: a stable one has nothing to say, and suites are long.
        flipped = repeat_rows(report["repeats"], only_flipped=True)
        lines += ["", headline(report["repeats"])] + (table(REPEAT_HEADERS, flipped) if flipped else [])
    total = live_usage["total"]
    lines.append("")
    lines.append(
        f"model calls: {total['calls']}  cache hits: {total['cache_hits']}  tokens: "
        f"{total['input_tokens']} in / {total['output_tokens']} out  cost: ${total['cost_usd']:.4f}"
    )
    if report["usage"]:
        lines += usage_lines(report["usage"])
    lines.append(f"results: {store.path}  run {run_id}  (rubrictest report {run_id})")
    return lines
