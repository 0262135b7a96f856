"""Reports for many runs: a comparison of scenarios, and a parameter sweep.

Same page as the run report (``analysis.report``): plain sentences first, then figures with the
CSV behind each. A comparison shows each scenario's mean with its 95% interval and the paired
difference against the first scenario; a sweep shows trade-off curves (the swept parameter
against false alerts and against detections of listed people).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import plotly.graph_objects as go
import pyarrow.parquet as pq
from plotly.offline import get_plotlyjs

from analysis.compare import FEW_REPLICATIONS, bounds, interval, is_share
from analysis.figures import write_page
from analysis.report import CSS, REPORT_NAME, _figure_html
from analysis.report_base import PALETTE, Section, _csv, _esc, _layout

# Metrics a reader cares about first, with plain names.
HEADLINE: dict[str, str] = {
    "false_alerts": "false alerts (alerts pointing at the wrong person)",
    "true_alerts": "true alerts",
    "false_alert_share": "share of alerts that were wrong",
    "wrongful_stops": "wrongful stops",
    "watchlist_detected_share": "share of listed people found",
    "tracking_reach_mean": "tracking reach (share of time away known within 15 min)",
    "gatherings_detected": "gatherings detected",
    "captures": "faces captured",
}


COUNTS = ("false_alerts", "true_alerts", "wrongful_stops", "captures", "gatherings_detected")


def _value(m: str, x: float) -> str:
    """A metric's value in plain words: shares as percentages, counts as whole numbers."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if is_share(m):
        return f"{100 * x:.1f}%" if abs(x) < 0.1 else f"{100 * x:.0f}%"
    return _fmt(x)


def _finding(
    s: str, base: str, m: str, label: str, r: dict[str, Any], b: dict[str, Any], sure: bool
) -> str:
    """One comparison in plain words: 'capital_x against capital_cctv: 12 fewer false alerts a
    run on average (57 against 69; 95% interval of the difference 8 to 16 fewer).'"""
    d, lo, hi = r["diff_mean"], r["diff_ci_low"], r["diff_ci_high"]
    if is_share(m):
        size = f"{100 * abs(d):.1f} percentage points"
        direction = "higher" if d > 0 else "lower"
        span = f"{100 * lo:+.1f} to {100 * hi:+.1f} points"
    else:
        size = _fmt(abs(d))
        direction = (
            ("more" if d > 0 else "fewer") if m in COUNTS else ("higher" if d > 0 else "lower")
        )
        span = f"{_fmt(lo)} to {_fmt(hi)}"
    return (
        f"{s} against {base}: {size} {direction} {label} on average per run "
        f"({_value(m, r['mean'])} against {_value(m, b['mean'])}; 95% interval of the "
        f"difference {span})"
        + ("." if sure else ", a difference the replications cannot tell from zero.")
    )


def _fmt(x: float) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:.3g}"


def _page(
    title: str, subtitle: str, findings: Sequence[str], sections: Sequence[Section], about: str
) -> str:
    items = "".join(f"<li>{_esc(t)}</li>" for t in findings)
    nav = "".join(f"<a href='#{_esc(s.key)}'>{_esc(s.heading)}</a>" for s in sections)
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{_esc(title)}</title><style>{CSS}</style>"
        f"<script type='text/javascript'>{get_plotlyjs()}</script></head>"
        f"<body data-figures='{len(sections)}'><main><h1>{_esc(title)}</h1>"
        f"<p class='sub'>{_esc(subtitle)}</p>"
        f"<section class='findings' id='findings'><h2>Key findings</h2><ul>{items}</ul>"
        f"</section><nav>{nav}<a href='#about'>About</a></nav>"
        + "".join(_figure_html(s) for s in sections)
        + f"<section id='about'><h2>About</h2>{about}</section></main></body></html>"
    )


def _write(out_dir: Path, page: str, overwrite: bool = False) -> Path:
    return write_page(out_dir / REPORT_NAME, page, overwrite=overwrite)


# ---------------------------------------------------------------- comparison
def _groups(out_dir: Path, names: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    """The population's groups in order, and their readable names, from the full runs the
    comparison keeps (none known without them)."""
    order: list[str] = []
    labels: dict[str, str] = {}
    for s in names:
        p = out_dir / "runs" / s / "summary.json"
        if not p.is_file():
            continue
        summary = json.loads(p.read_text("utf-8"))
        labels.update(summary.get("group_labels") or {})
        order += [g for g in summary.get("captures_by_group") or {} if g not in order]
    return order, labels


def interval_kind(meta: dict[str, Any]) -> str:
    """What a comparison's intervals include, in a sentence."""
    kinds = meta.get("model_uncertainty") or {}
    ensemble = sorted(n for n, k in kinds.items() if k == "ensemble")
    if not ensemble:
        return (
            "They show run-to-run variation only (who lives where, how people move, every "
            "coin): the face-match model's parameters are fixed at their point estimates "
            '(facematch.uncertainty = "ensemble" adds their uncertainty).'
        )
    which = "every scenario" if len(ensemble) == len(kinds) else ", ".join(ensemble)
    return (
        f"For {which} they include the face-match model's uncertainty as well: "
        f"replication r uses draw r of its uncertain inputs (facematch.uncertainty = "
        f'"ensemble").'
    )


def build_compare_report(out_dir: Path, *, overwrite: bool = False) -> Path:
    """``report.html`` for a ``survsim compare`` directory."""
    out_dir = Path(out_dir)
    meta = json.loads((out_dir / "compare.json").read_text("utf-8"))
    rows = pq.read_table(out_dir / "comparison.parquet").to_pylist()
    names: list[str] = meta["scenarios"]
    overall = {(r["scenario"], r["metric"]): r for r in rows if r["group"] is None}
    findings = _compare_findings(meta, names, overall)
    sections = []
    for m, label in HEADLINE.items():
        sec = _compare_metric_section(meta, names, overall, m, label)
        if sec is not None:
            sections.append(sec)
    groups_sec = _compare_group_section(out_dir, names, rows)
    if groups_sec is not None:
        sections.append(groups_sec)
    title = f"Comparing {len(names)} scenarios"
    return _write(
        out_dir,
        overwrite=overwrite,
        page=_page(
            title,
            f"{meta['replications']} replications each.",
            findings,
            sections,
            _compare_about(meta),
        ),
    )


def _compare_findings(
    meta: dict[str, Any], names: Sequence[str], overall: dict[tuple[str, str], dict[str, Any]]
) -> list[str]:
    """A sentence for every headline metric on which a scenario differs from the first."""
    base = names[0]
    findings: list[str] = []
    for s in names[1:]:
        for m, label in HEADLINE.items():
            r = overall.get((s, m))
            b = overall.get((base, m))
            if r is None or b is None or not np.isfinite(r["diff_mean"]):
                continue
            lo, hi = r["diff_ci_low"], r["diff_ci_high"]
            if r["diff_mean"] == 0 and lo == 0 and hi == 0:
                continue
            sure = np.isfinite(lo) and np.isfinite(hi) and (lo > 0 or hi < 0)
            findings.append(_finding(s, base, m, label, r, b, sure))
    if not findings:
        findings.append(
            f"No headline metric differed between the scenarios and {base} "
            f"over {meta['replications']} replications."
        )
    return findings


def _compare_metric_section(
    meta: dict[str, Any],
    names: Sequence[str],
    overall: dict[tuple[str, str], dict[str, Any]],
    m: str,
    label: str,
) -> Section | None:
    """One headline metric's mean per scenario with its 95% interval (none unless every
    scenario has it)."""
    got = [overall.get((s, m)) for s in names]
    pts = [p for p in got if p is not None]
    if len(pts) < len(got):
        return None
    mean = [p["mean"] for p in pts]
    lo = [p["ci_low"] for p in pts]
    hi = [p["ci_high"] for p in pts]
    err_up = [(h - mu) if np.isfinite(h) else 0 for h, mu in zip(hi, mean, strict=True)]
    err_dn = [(mu - low) if np.isfinite(low) else 0 for low, mu in zip(lo, mean, strict=True)]
    fig = go.Figure(
        go.Bar(
            x=names,
            y=mean,
            error_y={"type": "data", "array": err_up, "arrayminus": err_dn},
            marker_color="#2c6e91",
            hovertemplate="%{x}<br>%{y:.4g}<extra></extra>",
        )
    )
    _layout(fig, 360, yaxis_title=m.replace("_", " "))
    return Section(
        key=f"cmp-{m}",
        heading=label[0].upper() + label[1:],
        intro=f"Mean per run over {meta['replications']} replications, with its 95% interval.",
        fig=fig,
        csv_name=f"{m}.csv",
        csv_text=_csv(
            [
                "scenario",
                "mean",
                "ci_low",
                "ci_high",
                "diff_mean",
                "diff_ci_low",
                "diff_ci_high",
            ],
            [
                [
                    p["scenario"],
                    p["mean"],
                    p["ci_low"],
                    p["ci_high"],
                    p["diff_mean"],
                    p["diff_ci_low"],
                    p["diff_ci_high"],
                ]
                for p in pts
            ],
        ),
    )


def _compare_group_section(
    out_dir: Path, names: Sequence[str], rows: Sequence[dict[str, Any]]
) -> Section | None:
    """Each group's pooled false-alert rate, scenario by scenario (none without groups)."""
    present = sorted(
        {r["group"] for r in rows if r["metric"] == "false_alert_rate_by_group" and r["group"]}
    )
    order, labels = _groups(out_dir, names)
    groups = [g for g in order if g in present] + [g for g in present if g not in order]
    if not groups:
        return None
    fig = go.Figure()
    data = []
    for s in names:
        vals = [
            next(
                (
                    r
                    for r in rows
                    if r["scenario"] == s
                    and r["group"] == g
                    and r["metric"] == "false_alert_rate_by_group"
                ),
                None,
            )
            for g in groups
        ]
        mean = [v["mean"] if v else None for v in vals]
        up = [(v["ci_high"] - v["mean"]) if v and np.isfinite(v["ci_high"]) else 0 for v in vals]
        dn = [(v["mean"] - v["ci_low"]) if v and np.isfinite(v["ci_low"]) else 0 for v in vals]
        fig.add_trace(
            go.Bar(
                name=s,
                x=[labels.get(g, g) for g in groups],
                y=mean,
                error_y={"type": "data", "array": up, "arrayminus": dn},
            )
        )
        data += [
            [s, g, v["mean"], v["ci_low"], v["ci_high"]]
            for g, v in zip(groups, vals, strict=True)
            if v
        ]
    _layout(fig, 420, barmode="group", yaxis_title="false alerts per 1,000 captures")
    return Section(
        key="cmp-groups",
        heading="False-alert rate by group",
        intro="False alerts per 1,000 captures of people not on the watchlist, pooled over "
        "the replications (all of a group's false alerts over all captures of its "
        "people not listed), with the exact 95% interval of that pooled rate.",
        fig=fig,
        csv_name="false_alert_rate_by_group.csv",
        csv_text=_csv(["scenario", "group", "mean", "ci_low", "ci_high"], data),
    )


def _compare_about(meta: dict[str, Any]) -> str:
    return (
        f"<p>Scenarios: {_esc(', '.join(meta['files']))}. Seed {meta['seed']}; replication "
        f"r of every scenario uses the same random numbers (common random numbers), so "
        f"differences are paired run by run. Intervals are 95% t-intervals over "
        f"replications, kept inside each figure's range (no count below zero, no share "
        f"above 100%), on the log scale for ratios; a group's false-alert rate is pooled "
        f"over the replications with its exact interval. {_esc(interval_kind(meta))} "
        f"Full run of replication 0 of each scenario: <code>runs/</code>.</p>"
        + (
            f"<p class='note'>Only {meta['replications']} replication(s): the intervals "
            f"are rough; use 5 or more before quoting them.</p>"
            if int(meta["replications"]) < FEW_REPLICATIONS
            else ""
        )
    )


# ---------------------------------------------------------------- sweep
KEY_LABELS = {
    "facematch.threshold": "face-match threshold",
    "facematch.model": "face-match model",
    "watchlist.size": "watchlist size",
    "watchlist.present": "listed people in the city",
    "population.people": "residents",
    "governance.retention_days": "retention (days)",
    "duration_h": "simulated hours",
}
SWEEP_METRICS = (
    ("false_alerts", "false alerts a run"),
    ("watchlist_detected_share", "share of listed people found"),
    ("wrongful_stops", "wrongful stops a run"),
    (
        "false_alert_disparity/ratio",
        "highest group false-alert rate against the reference group (times)",
    ),
    ("tracking_reach_mean", "tracking reach (share of time away known)"),
)
EMPTY = {
    "false_alerts": "No false alerts at any point of the grid.",
    "watchlist_detected_share": "No listed person was found at any point of the grid "
    "(or none lives in the city).",
    "wrongful_stops": "No wrongful stops at any point: in this scenario officers do not "
    "act on alerts (governance.alert_action), or nobody was stopped.",
    "false_alert_disparity/ratio": "At no point did two groups have enough false alerts "
    "(10 or more each) to be compared.",
    "tracking_reach_mean": "The system kept no captures to track anyone with "
    "(retention off or scan scope limited).",
}


def _key_label(key: str) -> str:
    return KEY_LABELS.get(key, key.replace(".", " ").replace("_", " "))


def build_sweep_report(out_dir: Path, *, overwrite: bool = False) -> Path:
    """``report.html`` for a ``survsim sweep`` directory: each headline against the swept
    parameter with its 95% band, a trade-off chart, and a sentence for every panel left out."""
    out_dir = Path(out_dir)
    meta = json.loads((out_dir / "sweep.json").read_text("utf-8"))
    table = pq.read_table(out_dir / "sweep.parquet")
    keys = list(meta["grid"])
    rows = table.to_pylist()
    by: dict[tuple[Any, ...], dict[str, list[float]]] = {}
    for r in rows:
        by.setdefault(tuple(r[k] for k in keys), {}).setdefault(r["metric"], []).append(r["value"])
    x_key = keys[0]
    others = keys[1:]
    series: dict[tuple[Any, ...], list[tuple[Any, dict[str, list[float]]]]] = {}
    for point, metrics in by.items():
        series.setdefault(point[1:], []).append((point[0], metrics))
    sections = []
    left_out: list[str] = []
    for m, label in SWEEP_METRICS:
        sec = _sweep_section(series, others, x_key, meta, m, label)
        if sec is None:
            left_out.append(EMPTY[m])
        else:
            sections.append(sec)
    trade = _trade_off(series, others, x_key, meta)
    if trade is not None:
        sections.insert(0, trade)
    about = (
        f"<p>Scenario {_esc(meta['scenario'])}, seed {meta['seed']}. Grid: "
        f"{_esc(json.dumps(meta['grid']))}. Bands are 95% t-intervals over the "
        f"replications, kept inside each figure's range. Every point's rows are in "
        f"<code>points/</code> and <code>sweep.parquet</code>.</p>"
    )
    return _write(
        out_dir,
        overwrite=overwrite,
        page=_page(
            f"Sweep of {', '.join(_key_label(k) for k in keys)}",
            f"{len(by)} points.",
            _sweep_findings(by, keys, meta) + left_out,
            sections,
            about,
        ),
    )


def _sweep_section(
    series: dict[tuple[Any, ...], list[tuple[Any, dict[str, list[float]]]]],
    others: list[str],
    x_key: str,
    meta: dict[str, Any],
    m: str,
    label: str,
) -> Section | None:
    """One headline metric against the swept parameter, a line with its 95% band for each
    combination of the other parameters (none when it is missing or zero everywhere)."""
    fig = go.Figure()
    data = []
    share = is_share(m)
    for k, (rest, pts) in enumerate(sorted(series.items())):
        pts = sorted(pts, key=lambda p: _sort_key(p[0]))
        xs = [p[0] for p in pts]
        stats = [_point_interval(m, p[1].get(m, [])) for p in pts]
        if not any(st[0] is not None for st in stats):
            continue
        scale = 100.0 if share else 1.0
        ys = [st[0] * scale if st[0] is not None else None for st in stats]
        lo = [st[1] * scale if st[1] is not None else None for st in stats]
        hi = [st[2] * scale if st[2] is not None else None for st in stats]
        colour = PALETTE[k % len(PALETTE)]
        name = (
            ", ".join(f"{_key_label(kk)} {v}" for kk, v in zip(others, rest, strict=True)) or label
        )
        band = [
            (x, a, b) for x, a, b in zip(xs, lo, hi, strict=True) if a is not None and b is not None
        ]
        if band:
            fig.add_trace(
                go.Scatter(
                    x=[b[0] for b in band] + [b[0] for b in band[::-1]],
                    y=[b[2] for b in band] + [b[1] for b in band[::-1]],
                    fill="toself",
                    mode="lines",
                    fillcolor=_rgba(colour, 0.18),
                    line={"width": 0},
                    hoverinfo="skip",
                    showlegend=False,
                    name=f"{name} (95% interval)",
                )
            )
        fig.add_trace(
            go.Scatter(x=xs, y=ys, mode="lines+markers", name=name, line={"color": colour})
        )
        data += [[*rest, x, st[0], st[1], st[2]] for x, st in zip(xs, stats, strict=True)]
    if not data or all(d[-3] in (None, 0.0) for d in data):
        return None
    _layout(fig, 380, xaxis_title=_key_label(x_key), yaxis_title=label + (" (%)" if share else ""))
    return Section(
        key=f"sweep-{m.replace('/', '-')}",
        heading=f"{label[0].upper()}{label[1:]}, against the {_key_label(x_key)}",
        intro=f"Mean over {meta['replications']} replications at each point; the shaded "
        f"band is the 95% interval of that mean.",
        fig=fig,
        csv_name=f"{m.replace('/', '_')}.csv",
        csv_text=_csv([*others, x_key, "mean", "ci_low", "ci_high"], data),
    )


def _sweep_findings(
    by: dict[tuple[Any, ...], dict[str, list[float]]], keys: list[str], meta: dict[str, Any]
) -> list[str]:
    """The grid in a sentence, and where false alerts were fewest and most."""
    findings = [
        f"{len(by)} points of {', '.join(_key_label(k) for k in keys)}, "
        f"{meta['replications']} replications each, on common random numbers."
    ]
    fa = [(p, float(np.nanmean(v["false_alerts"]))) for p, v in by.items() if "false_alerts" in v]
    if fa:
        lo_p, hi_p = min(fa, key=lambda t: t[1]), max(fa, key=lambda t: t[1])
        findings.append(
            f"False alerts ranged from {_fmt(lo_p[1])} a run at "
            f"{_point(keys, lo_p[0])} to {_fmt(hi_p[1])} at "
            f"{_point(keys, hi_p[0])}."
        )
    return findings


def _point_interval(
    metric: str, values: list[float]
) -> tuple[float | None, float | None, float | None]:
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    if not v.size:
        return None, None, None
    lo_b, hi_b = bounds(metric, v)
    mean, lo, hi = interval(v, lo_b, hi_b)
    return (mean, None if math.isnan(lo) else lo, None if math.isnan(hi) else hi)


def _rgba(hex_colour: str, alpha: float) -> str:
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def _trade_off(
    series: dict[tuple[Any, ...], list[tuple[Any, dict[str, list[float]]]]],
    others: list[str],
    x_key: str,
    meta: dict[str, Any],
) -> Section | None:
    """False alerts against the share of listed people found, one point per grid value (the
    swept value as its label): what a setting buys and what it costs."""
    fig = go.Figure()
    data = []
    for k, (rest, pts) in enumerate(sorted(series.items())):
        pts = sorted(pts, key=lambda p: _sort_key(p[0]))
        xs, ys, text = [], [], []
        for x, metrics in pts:
            found = _point_interval(
                "watchlist_detected_share", metrics.get("watchlist_detected_share", [])
            )[0]
            false = _point_interval("false_alerts", metrics.get("false_alerts", []))[0]
            if found is None or false is None:
                continue
            xs.append(100 * found)
            ys.append(false)
            text.append(f"{_key_label(x_key)} {x}")
            data.append([*rest, x, found, false])
        if xs:
            name = (
                ", ".join(f"{_key_label(kk)} {v}" for kk, v in zip(others, rest, strict=True))
                or "grid"
            )
            fig.add_trace(
                go.Scatter(
                    x=xs,
                    y=ys,
                    mode="lines+markers+text",
                    text=text,
                    textposition="top center",
                    name=name,
                    line={"color": PALETTE[k % len(PALETTE)]},
                )
            )
    if not data:
        return None
    _layout(
        fig, 420, xaxis_title="share of listed people found (%)", yaxis_title="false alerts a run"
    )
    return Section(
        key="sweep-trade-off",
        heading="The trade-off: listed people found against false alerts",
        intro=f"Each point is one {_key_label(x_key)}, the mean over "
        f"{meta['replications']} replications: further right finds more of "
        f"the people on the list, higher raises more false alerts.",
        fig=fig,
        csv_name="trade_off.csv",
        csv_text=_csv([*others, x_key, "watchlist_detected_share", "false_alerts"], data),
    )


def _sort_key(v: Any) -> tuple[int, Any]:
    try:
        return (0, float(v))
    except (TypeError, ValueError):
        return (1, str(v))


def _point(keys: list[str], p: tuple[Any, ...]) -> str:
    return ", ".join(f"{_key_label(k)} {v}" for k, v in zip(keys, p, strict=True))


def build_report(
    directory: Path,
    caveats: list[str] | None = None,
    sources: list[str] | None = None,
    *,
    overwrite: bool = False,
) -> Path:
    """The right report for a run, comparison or sweep directory (``overwrite``: replace a
    ``report.html`` that survsim did not write)."""
    from analysis.report import build_run_report

    d = Path(directory)
    if (d / "compare.json").exists():
        return build_compare_report(d, overwrite=overwrite)
    if (d / "sweep.json").exists() and (d / "sweep.parquet").exists():
        return build_sweep_report(d, overwrite=overwrite)
    if (d / "sensitivity.json").exists():
        from analysis.report_sensitivity import build_sensitivity_report

        return build_sensitivity_report(d, overwrite=overwrite)
    if (d / "summary.json").exists():
        return build_run_report(d, caveats=caveats, sources=sources, overwrite=overwrite)
    raise FileNotFoundError(
        f"{d}: not a run, comparison, sweep or sensitivity directory (no "
        f"summary.json, compare.json, sweep.json or sensitivity.json)"
    )
