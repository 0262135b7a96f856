"""The report of a ``survsim sensitivity`` directory: which inputs drive each conclusion.

Findings first, in plain sentences: each conclusion (the most burdened group against the
reference group, and the policy comparison's sign for each headline metric) marked "robust" or
"depends on X"; then, per metric, the range it takes over the inputs' ranges and which inputs
move it. A figure per metric shows each input's effect (Morris mu* with its 95% bootstrap
interval, or Sobol's first-order and total indices) with the rule for "matters" stated.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
import pyarrow.parquet as pq

from analysis.compare import is_share
from analysis.report_base import Section, _csv, _esc, _layout
from analysis.report_many import _fmt, _key_label, _page, _value, _write
from analysis.sensitivity import (
    NOISE_REPLICATIONS,
    SHARE_OF_TOP,
    SOBOL_FLOOR,
    VERDICT_FIELDS,
    Verdict,
    direction,
    metric_words,
)


def _label(key: str, labels: dict[str, str]) -> str:
    """An input's plain name: a declared assumption's own, else the sweep's labels."""
    own = labels.get(key)
    return own if own and own != key else _key_label(key)


def _scale(m: str) -> tuple[float, str]:
    """Shares are shown in percentage points."""
    return (100.0, "percentage points of ") if is_share(m) else (1.0, "")


def _effect(name: str, way: str) -> str:
    if way == "up":
        return f"Raising {name} raises it"
    if way == "down":
        return f"Raising {name} lowers it"
    return f"{name[0].upper()}{name[1:]} moves it {way}"


def metric_sentence(
    r: dict[str, Any], labels: dict[str, str], names: tuple[str, str], group_labels: dict[str, str]
) -> str:
    """One metric in plain words: its range over the inputs and what moves it."""
    m = r["metric"]
    what = metric_words(m, group_labels)
    if r["target"] == "difference":
        what = f"the difference in {what} ({names[1]} minus {names[0]})"
    head = what[0].upper() + what[1:]
    if r["low"] is None:
        return f"{head}: undefined at every point (too few events)."
    if r["low"] == r["high"]:
        return f"{head}: {_value(m, r['low'])} at every point; no input moves it."
    out = f"{head}: from {_value(m, r['low'])} to {_value(m, r['high'])} over the ranges"
    if r["given"] is not None:
        out += f" ({_value(m, r['given'])} at the scenario's own values)"
    if r["note"]:
        return out + f"; no indices: {r['note']}."
    drivers = [_label(d, labels) for d in r["drivers"]]
    if drivers:
        return out + "; driven by " + ", ".join(drivers) + "."
    return out + "; no input moves it beyond run-to-run chance."


def build_sensitivity_report(out_dir: Path, *, overwrite: bool = False) -> Path:
    """``report.html`` for a finished ``survsim sensitivity`` directory."""
    out_dir = Path(out_dir)
    meta = json.loads((out_dir / "sensitivity.json").read_text("utf-8"))
    if not meta.get("complete"):
        raise FileNotFoundError(
            f"{out_dir}: the sensitivity analysis did not finish; run it again with --resume"
        )
    rows = pq.read_table(out_dir / "indices.parquet").to_pylist()
    labels: dict[str, str] = meta.get("labels") or {}
    summary = out_dir / "runs" / "base" / "summary.json"
    group_labels = (
        json.loads(summary.read_text("utf-8")).get("group_labels") or {}
        if summary.is_file()
        else {}
    )
    base = Path(meta["scenario"]).stem
    other = Path(meta["against"]).stem if meta.get("against") else base
    names = (base, other)
    morris = meta["method"] == "morris"
    plain = {f["key"]: _label(f["key"], labels) for f in meta["factors"]}
    findings = [Verdict(**{k: v[k] for k in VERDICT_FIELDS}).text(plain) for v in meta["verdicts"]]
    findings += [
        metric_sentence(r, labels, names, group_labels)
        for r in meta["metric_ranges"]
        if r["target"] == "scenario"
    ]
    sections: list[Section] = []
    for r in meta["metric_ranges"]:
        mine = [x for x in rows if x["metric"] == r["metric"] and x["target"] == r["target"]]
        if not mine:
            continue
        mine.sort(key=lambda x: x["strength"])
        sections.append(_metric_section(r, mine, labels, names, group_labels, morris))
    return _write(
        out_dir,
        overwrite=overwrite,
        page=_page(
            "Which inputs drive the conclusions",
            f"{'Morris' if morris else 'Sobol'} sensitivity of {base} over "
            f"{len(meta['factors'])} inputs.",
            findings,
            sections,
            _about(meta, labels, morris),
        ),
    )


def _metric_section(
    r: dict[str, Any],
    mine: list[dict[str, Any]],
    labels: dict[str, str],
    names: tuple[str, str],
    group_labels: dict[str, str],
    morris: bool,
) -> Section:
    """One metric (or policy difference): each input's effect on it, weakest first (``mine``,
    its rows of the indices), with the metric's sentence and which way each input moves it."""
    base, other = names
    fig = _indices_figure(r["metric"], mine, labels, group_labels, morris)
    what = metric_sentence(r, labels, names, group_labels)
    key = f"sens-{r['target']}-{r['metric'].replace('/', '-')}"
    heading = metric_words(r["metric"], group_labels)
    if r["target"] == "difference":
        heading = f"Difference in {heading} ({other} minus {base})"
    else:
        heading = heading[0].upper() + heading[1:]
    dirs = [
        _effect(_label(x["input"], labels), direction(x))
        for x in mine[::-1]
        if x["matters"] and morris and direction(x)
    ]
    return Section(
        key=key,
        heading=heading,
        intro=what + ("".join(f" {d}." for d in dirs)),
        fig=fig,
        csv_name=f"{key}.csv",
        csv_text=_csv(
            [
                "input",
                "mu_star",
                "mu_star_conf",
                "mu",
                "sigma",
                "S1",
                "S1_conf",
                "ST",
                "ST_conf",
                "matters",
            ],
            [
                [
                    x["input"],
                    x["mu_star"],
                    x["mu_star_conf"],
                    x["mu"],
                    x["sigma"],
                    x["S1"],
                    x["S1_conf"],
                    x["ST"],
                    x["ST_conf"],
                    x["matters"],
                ]
                for x in mine[::-1]
            ],
        ),
    )


def _indices_figure(
    metric: str,
    mine: list[dict[str, Any]],
    labels: dict[str, str],
    group_labels: dict[str, str],
    morris: bool,
) -> go.Figure:
    """Morris mu* with its interval and the chance floor, or Sobol's first-order and total
    indices, one bar per input."""
    ys = [_label(x["input"], labels) for x in mine]
    fig = go.Figure()
    if morris:
        k, unit = _scale(metric)
        fig.add_trace(
            go.Bar(
                x=[k * x["mu_star"] for x in mine],
                y=ys,
                orientation="h",
                name="μ* (effect)",
                marker_color=["#b2182b" if x["matters"] else "#9aa5b1" for x in mine],
                error_x={"type": "data", "array": [k * x["mu_star_conf"] for x in mine]},
            )
        )
        floor = mine[0]["floor"]
        if floor:
            fig.add_vline(
                x=k * floor,
                line_dash="dot",
                annotation_text="chance alone",
                annotation_position="top right",
                line_color="#555",
            )
        xt = f"effect over the input's range (μ*), in {unit}{metric_words(metric, group_labels)}"
    else:
        fig.add_trace(
            go.Bar(
                x=[x["S1"] for x in mine],
                y=ys,
                orientation="h",
                name="alone (first order)",
                marker_color="#2c6e91",
                error_x={"type": "data", "array": [x["S1_conf"] for x in mine]},
            )
        )
        fig.add_trace(
            go.Bar(
                x=[x["ST"] for x in mine],
                y=ys,
                orientation="h",
                name="with interactions (total)",
                marker_color="#b2182b",
                error_x={"type": "data", "array": [x["ST_conf"] for x in mine]},
            )
        )
        xt = "share of the metric's variance"
    _layout(fig, 120 + 40 * len(mine), barmode="group", xaxis_title=xt)
    return fig


def _about(meta: dict[str, Any], labels: dict[str, str], morris: bool) -> str:
    """The design, the inputs' ranges and the rules behind "robust" and "matters"."""
    inputs = "".join(
        f"<li>{_esc(_label(f['key'], labels))} (<code>{_esc(f['key'])}</code>): "
        f"{_fmt(f['low'])} to {_fmt(f['high'])}</li>"
        for f in meta["factors"]
    )
    rule = (
        f"an input matters when its μ* is at least {SHARE_OF_TOP:.0%} of the largest and "
        f"above the μ* an input with no effect reaches by chance (the dotted line: from "
        f"the run-to-run spread of {NOISE_REPLICATIONS} runs of the scenario as given)"
        if morris
        else f"an input matters when the lower end of its total index's 95% interval is above "
        f"{SOBOL_FLOOR:.0%}"
    )
    runs = meta["points"] * meta["replications"]
    return (
        f"<p>Scenario {_esc(meta['scenario'])}"
        + (f", against {_esc(meta['against'])} at the same inputs" if meta.get("against") else "")
        + f". {'Morris screening' if morris else 'Sobol indices'} (SALib) over "
        f"{meta['points']} points ({meta['samples']} "
        f"{'trajectories' if morris else 'base samples'}), {meta['replications']} "
        f"replication(s) each ({runs} runs a scenario), seed {meta['seed']}, every point "
        f"on the same random numbers; plus {NOISE_REPLICATIONS} runs of the scenario as "
        f"given for the run-to-run spread. Inputs varied:</p><ul>{inputs}</ul>"
        f"<p>A conclusion is <b>robust</b> when it holds at every point of the design "
        f"(each input across its whole range, the others anywhere in theirs), and "
        f"<b>depends on</b> the inputs that matter to the quantity behind it otherwise. "
        f"Each point's value is one run's (or the mean of its replications), so a "
        f"conclusion near zero can flip by chance alone; "
        f"{_esc(rule)}. Every run is in <code>sensitivity.parquet</code>, the indices in "
        f"<code>indices.parquet</code>.</p>"
    )
