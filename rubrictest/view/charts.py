"""The plots of the viewer and the HTML report, as Vega-Lite specifications.

Each function returns a Vega-Lite spec (plain data); the page embeds it as JSON and the
vendored vega-embed (``static/vendor``) draws it in the browser, with no network. Data are
aggregated in SQL first (a histogram is its bins, not its points), so a spec stays small
however large the run.
"""

from __future__ import annotations

from typing import Any

SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"  # an identifier: vega-embed never fetches it
_PALETTE = ["#2563eb", "#d97706", "#059669", "#7c3aed", "#dc2626", "#0891b2", "#4b5563", "#db2777"]
_CONFIG: dict[str, Any] = {
    "font": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
    "view": {"stroke": None},
    "axis": {
        "labelColor": "#374151",
        "titleColor": "#111827",
        "gridColor": "#e5e7eb",
        "domainColor": "#9ca3af",
        "labelFontSize": 11,
        "titleFontSize": 12,
        "titleFontWeight": 600,
    },
    "legend": {"labelFontSize": 11, "titleFontSize": 11, "orient": "top"},
    "range": {"category": _PALETTE},
}


def _spec(title: str, data: list[dict[str, Any]], **rest: Any) -> dict[str, Any]:
    return {
        "$schema": SCHEMA,
        "title": {"text": title, "anchor": "start", "fontSize": 13},
        "width": "container",
        "data": {"values": data},
        "config": _CONFIG,
        **rest,
    }


def _target_label(target: str | None) -> str:
    return target or "(fixed outputs)"


def score_distribution(bins: list[dict[str, Any]], n_bins: int = 10) -> dict[str, Any] | None:
    """Histogram of case scores per target, from :meth:`ResultsDB.score_bins` rows."""
    if not bins:
        return None
    values = [
        {
            "target": _target_label(b["target"]),
            "from": b["bin"] / n_bins,
            "to": (b["bin"] + 1) / n_bins,
            "range": f"{b['bin'] / n_bins:.1f}–{(b['bin'] + 1) / n_bins:.1f}",
            "cases": b["n"],
        }
        for b in bins
    ]
    return _spec(
        "Case scores per target",
        values,
        height=180,
        mark={"type": "bar", "tooltip": True},
        encoding={
            "x": {
                "field": "range",
                "type": "ordinal",
                "title": "case score",
                "sort": {"field": "from"},
                "axis": {"labelAngle": 0},
            },
            "xOffset": {"field": "target"},
            "y": {"field": "cases", "type": "quantitative", "title": "cases", "axis": {"tickMinStep": 1}},
            "color": {"field": "target", "type": "nominal", "title": "target"},
        },
    )


def pass_rates(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Horizontal bars of per-criterion pass rates (the lowest first), from :meth:`ResultsDB.pass_rates`."""
    if not rows:
        return None
    values = [
        {
            "criterion": f"{r['suite']} · {r['criterion_id']}" + (f" [{r['target']}]" if r["target"] else ""),
            "target": _target_label(r["target"]),
            "pass rate": r["pass_rate"],
            "verdicts": r["n"],
            "passed": r["passed"],
        }
        for r in rows
    ]
    height = max(120, 16 * len(values))
    return _spec(
        "Criteria with the lowest pass rates",
        values,
        height=height,
        mark={"type": "bar", "tooltip": True, "cornerRadiusEnd": 2},
        encoding={
            "y": {"field": "criterion", "type": "nominal", "title": None, "sort": None, "axis": {"labelLimit": 320}},
            "x": {
                "field": "pass rate",
                "type": "quantitative",
                "title": "pass rate",
                "scale": {"domain": [0, 1]},
                "axis": {"format": ".0%"},
            },
            "color": {"field": "target", "type": "nominal", "title": "target"},
        },
    )


def trend(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """A criterion's pass rate run after run, one line per target, from :meth:`ResultsDB.trend`."""
    if not rows:
        return None
    values = [
        {
            "run": r["run_id"],
            "started": (r["started_at"] or "")[:19].replace("T", " "),
            "target": _target_label(r["target"]),
            "pass rate": (r["passed"] or 0) / r["n"] if r["n"] else None,
            "verdicts": r["n"],
        }
        for r in rows
    ]
    return _spec(
        "Pass rate per run",
        values,
        height=220,
        mark={"type": "line", "point": {"size": 60}, "tooltip": True},
        encoding={
            # ordinal: runs minutes apart and runs months apart both read well
            "x": {
                "field": "started",
                "type": "ordinal",
                "title": "run started",
                "axis": {"labelAngle": -30, "labelLimit": 140},
            },
            "y": {"field": "pass rate", "type": "quantitative", "scale": {"domain": [0, 1]}, "axis": {"format": ".0%"}},
            "color": {"field": "target", "type": "nominal", "title": "target"},
            "detail": {"field": "run"},
        },
    )


def paired(rows: list[dict[str, Any]], label_a: str, label_b: str) -> dict[str, Any] | None:
    """Per criterion: verdicts fixed (fail → pass) to the right, broken (pass → fail) to the left."""
    values = []
    for r in rows:
        name = f"{r['suite']} · {r['criterion_id']}" + (f" [{r['target']}]" if r.get("target") else "")
        if r["fixed"]:
            values.append({"criterion": name, "change": f"fixed in {label_b}", "cases": r["fixed"]})
        if r["broken"]:
            values.append({"criterion": name, "change": f"broken in {label_b}", "cases": -r["broken"]})
    if not values:
        return None
    names = list(dict.fromkeys(v["criterion"] for v in values))
    return _spec(
        f"Flipped verdicts, {label_a} → {label_b}",
        values,
        height=max(100, 18 * len(names)),
        mark={"type": "bar", "tooltip": True},
        encoding={
            "y": {"field": "criterion", "type": "nominal", "title": None, "sort": names, "axis": {"labelLimit": 320}},
            "x": {
                "field": "cases",
                "type": "quantitative",
                "title": "cases (broken ← · → fixed)",
                "axis": {"tickMinStep": 1},
            },
            "color": {
                "field": "change",
                "type": "nominal",
                "title": None,
                "scale": {"range": ["#dc2626", "#059669"]},
                "sort": [f"broken in {label_b}", f"fixed in {label_b}"],
            },
        },
    )


def reliability(bins: list[dict[str, Any]], title: str) -> dict[str, Any] | None:
    """Reliability diagram: mean confidence against the share correct per confidence bin, with
    the diagonal of perfect calibration."""
    if not bins:
        return None
    values = [{"confidence": b["mean_confidence"], "correct": b["accuracy"], "verdicts": b["n"]} for b in bins]
    diagonal = {
        "data": {"values": [{"confidence": 0, "correct": 0}, {"confidence": 1, "correct": 1}]},
        "mark": {"type": "line", "strokeDash": [4, 4], "color": "#9ca3af"},
        "encoding": {
            "x": {"field": "confidence", "type": "quantitative"},
            "y": {"field": "correct", "type": "quantitative"},
        },
    }
    points = {
        "mark": {"type": "line", "point": {"size": 70, "filled": True}, "tooltip": True, "color": _PALETTE[0]},
        "encoding": {
            "x": {
                "field": "confidence",
                "type": "quantitative",
                "scale": {"domain": [0, 1]},
                "title": "mean confidence",
            },
            "y": {
                "field": "correct",
                "type": "quantitative",
                "scale": {"domain": [0, 1]},
                "title": "share agreeing with the labels",
            },
        },
    }
    return _spec(title, values, height=240, layer=[diagonal, points])


def confidence_profile(bins: list[dict[str, Any]], judge: str) -> dict[str, Any] | None:
    """A judge's verdicts per confidence bin, coloured by how often it said "met" there."""
    if not bins:
        return None
    values = [
        {
            "confidence": f"{b['bin'] / 10:.1f}–{(b['bin'] + 1) / 10:.1f}",
            "from": b["bin"] / 10,
            "verdicts": b["n"],
            "met": b["met_rate"],
        }
        for b in bins
    ]
    return _spec(
        f"Confidence of {judge}",
        values,
        height=200,
        mark={"type": "bar", "tooltip": True},
        encoding={
            "x": {
                "field": "confidence",
                "type": "ordinal",
                "sort": {"field": "from"},
                "axis": {"labelAngle": 0},
                "title": "stated confidence",
            },
            "y": {"field": "verdicts", "type": "quantitative", "title": "verdicts"},
            "color": {
                "field": "met",
                "type": "quantitative",
                "title": "share met",
                "scale": {"domain": [0, 1], "scheme": "blues"},
                "legend": {"format": ".0%"},
            },
        },
    )
