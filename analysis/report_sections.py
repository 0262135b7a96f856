"""The run report's figures over time and of tracking: alerts hour by hour (right and wrong
person), the review queue, gatherings with the assembly alarms raised around them, and how much
of people's movements the system could rebuild (tracking reach).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
import pyarrow as pa
from plotly.subplots import make_subplots

from analysis.assembly import AFTER_S, MATCH_RADIUS_M
from analysis.report_base import (
    RIGHT,
    WRONG,
    AlertFacts,
    Group,
    Section,
    _clock,
    _col,
    _csv,
    _esc,
    _layout,
    _num,
    _pct,
)
from analysis.summary import Summary
from sim.units import HOUR


def _hours(summary: Summary, *t_arrays: np.ndarray) -> np.ndarray:
    end_h = summary.duration_s / HOUR
    for t in t_arrays:
        if t.size:
            end_h = max(end_h, float(t.max()) / HOUR)
    return np.arange(0, int(np.ceil(max(end_h, 1.0))) + 1)


def _alerts_section(summary: Summary, facts: AlertFacts) -> Section:
    edges = _hours(summary, facts.t_s)
    h = facts.t_s / HOUR
    right = np.histogram(h[facts.is_true], bins=edges)[0]
    wrong = np.histogram(h[~facts.is_true], bins=edges)[0]
    mid = edges[:-1] + 0.5
    fig = go.Figure()
    fig.add_trace(
        go.Bar(
            x=mid,
            y=wrong,
            name="wrong person (false alert)",
            marker_color=WRONG,
            customdata=[_clock(HOUR * e) for e in edges[:-1]],
            hovertemplate="hour from %{customdata}<br>%{y} false alerts<extra></extra>",
        )
    )
    fig.add_trace(
        go.Bar(
            x=mid,
            y=right,
            name="right person",
            marker_color=RIGHT,
            customdata=[_clock(HOUR * e) for e in edges[:-1]],
            hovertemplate="hour from %{customdata}<br>%{y} correct alerts<extra></extra>",
        )
    )
    if not facts.t_s.size:
        fig.add_annotation(
            text="No alerts were raised in this run.",
            showarrow=False,
            x=0.5,
            y=0.5,
            xref="paper",
            yref="paper",
            font={"size": 16},
        )
        fig.update_yaxes(range=[0, 1])
    _layout(
        fig,
        380,
        barmode="stack",
        bargap=0.1,
        legend={"orientation": "h", "y": 1.12, "x": 0},
        xaxis_title="hours since the start of the run (0 = midnight)",
        yaxis_title="alerts in the hour",
    )
    csv_text = _csv(
        ["hour_start", "hour_end", "alerts_right_person", "alerts_wrong_person"],
        [
            [int(a), int(b), int(r), int(w)]
            for a, b, r, w in zip(edges[:-1], edges[1:], right, wrong, strict=True)
        ],
    )
    return Section(
        "alerts",
        "When it happened: alerts hour by hour",
        "Each bar is one hour. Red: alerts that pointed at someone who was not the "
        "person on the watchlist; blue: alerts that found the listed person.",
        fig,
        "alerts_per_hour.csv",
        csv_text,
    )


def _queue_section(summary: Summary, q: pa.Table) -> Section:
    order = np.argsort(_col(q, "t_s"), kind="stable")
    t = _col(q, "t_s")[order]
    w = _col(q, "waiting")[order]
    x = np.concatenate([[0.0], t / HOUR])
    y = np.concatenate([[0], w])
    fig = go.Figure(
        go.Scatter(
            x=x,
            y=y,
            mode="lines",
            line_shape="hv",
            fill="tozeroy",
            line={"color": "#d35400"},
            name="alerts waiting",
            hovertemplate="%{x:.2f} h: %{y} waiting<extra></extra>",
        )
    )
    _layout(
        fig,
        320,
        xaxis_title="hours since the start of the run (0 = midnight)",
        yaxis_title="alerts waiting for a reviewer",
        showlegend=False,
    )
    fig.update_xaxes(range=[0, float(_hours(summary, t)[-1])])
    return Section(
        "review_queue",
        "The review queue",
        "How many alerts were waiting for a human reviewer at each moment. A long "
        "queue means alerts are checked late, dropped, or acted on unchecked, "
        "depending on the scenario's overflow rule.",
        fig,
        "review_queue.csv",
        _csv(["t_s", "waiting"], [[float(a), int(b)] for a, b in zip(t, w, strict=True)]),
    )


def _assembly_section(summary: Summary, tables: Mapping[str, pa.Table]) -> Section:
    g = tables.get("gatherings")
    aa = tables.get("assembly_alerts")
    fig = go.Figure()
    at = _col(aa, "t_s") if aa is not None and aa.num_rows else np.zeros(0)
    ax = _col(aa, "x_m") if aa is not None and aa.num_rows else np.zeros(0)
    ay = _col(aa, "y_m") if aa is not None and aa.num_rows else np.zeros(0)
    nf = _col(aa, "n_flagged") if aa is not None and aa.num_rows else np.zeros(0, np.int64)
    routine_any = g is not None and bool(_col(g, "routine").astype(bool).any())
    top = float(max(nf.max(), 1)) * 1.15 if nf.size else 5.0
    real_hit, rows = _gathering_bands(fig, g, at, ax, ay, top)
    rows += _alarm_markers(fig, at, ax, ay, nf, real_hit)
    if not fig.data:  # a gathering-free run without alarms never gets here, but be safe
        fig.add_trace(go.Scatter(x=[0], y=[0], mode="markers", name="no alarms"))
    _layout(
        fig,
        360,
        xaxis_title="hours since the start of the run (0 = midnight)",
        yaxis_title="flagged people counted by the alarm",
        legend={"orientation": "h", "y": 1.15, "x": 0},
    )
    fig.update_xaxes(range=[0, float(_hours(summary, at)[-1])])
    fig.update_yaxes(range=[0, top], rangemode="tozero", dtick=max(1, int(np.ceil(top / 6))))
    return Section(
        "assembly",
        "Gatherings and assembly alarms",
        "Shaded bands are the gatherings that really took place (yellow)"
        + (" and everyday crowds such as a market (grey)" if routine_any else "")
        + ". Diamonds are the alarms the "
        "assembly detector raised: purple when a real gathering was under way "
        f"within {MATCH_RADIUS_M:.0f} m, red when there was none (a false alarm).",
        fig,
        "assembly_alarms.csv",
        _csv(["what", "t_s_or_start_s", "end_s", "size", "n_flagged", "x_m,y_m"], rows),
    )


def _gathering_bands(
    fig: go.Figure,
    g: pa.Table | None,
    at: np.ndarray,
    ax: np.ndarray,
    ay: np.ndarray,
    top: float,
) -> tuple[np.ndarray, list[list[object]]]:
    """A shaded band per gathering (and routine crowd); which alarms fell at a real gathering,
    and the bands' CSV rows."""
    real_hit = np.zeros(at.size, bool)
    rows: list[list[object]] = []
    if g is not None and g.num_rows:
        for name, x, y, s0, s1, size, routine in zip(
            g.column("name").to_pylist(),
            _col(g, "x_m"),
            _col(g, "y_m"),
            _col(g, "start_s"),
            _col(g, "end_s"),
            _col(g, "size"),
            _col(g, "routine").astype(bool),
            strict=True,
        ):
            hit = (np.hypot(ax - x, ay - y) <= MATCH_RADIUS_M) & (at >= s0) & (at <= s1 + AFTER_S)
            if not routine:
                real_hit |= hit
            kind = "routine crowd" if routine else "gathering"
            fig.add_trace(
                go.Scatter(
                    x=[s0 / HOUR, s1 / HOUR, s1 / HOUR, s0 / HOUR, s0 / HOUR],
                    y=[0, 0, top, top, 0],
                    fill="toself",
                    mode="lines",
                    line={"width": 0},
                    fillcolor=("rgba(150,150,150,0.25)" if routine else "rgba(241,196,15,0.35)"),
                    name=f"{name} ({kind}, {_num(int(size))} people)",
                    hoveron="fills",
                    hoverinfo="name",
                )
            )
            rows.append([f"{kind}: {name}", float(s0), float(s1), int(size), None, None])
    return real_hit, rows


def _alarm_markers(
    fig: go.Figure,
    at: np.ndarray,
    ax: np.ndarray,
    ay: np.ndarray,
    nf: np.ndarray,
    real_hit: np.ndarray,
) -> list[list[object]]:
    """The assembly alarms as diamonds (at a real gathering or false); their CSV rows."""
    for sel, name, colour in (
        (real_hit, "alarm at a real gathering", "#8e44ad"),
        (~real_hit, "false alarm", WRONG),
    ):
        if sel.any():
            fig.add_trace(
                go.Scatter(
                    x=at[sel] / HOUR,
                    y=nf[sel],
                    mode="markers",
                    name=name,
                    marker={"size": 11, "color": colour, "symbol": "diamond"},
                    customdata=[_clock(t) for t in at[sel]],
                    hovertemplate=f"<b>{name}</b><br>%{{customdata}}<br>%{{y}} flagged people"
                    "<extra></extra>",
                )
            )
    return [
        [
            "alarm at a real gathering" if r else "false alarm",
            float(t),
            None,
            None,
            int(n),
            f"{x:.0f},{y:.0f}",
        ]
        for t, n, r, x, y in zip(at, nf, real_hit, ax, ay, strict=True)
    ]


def _reach_section(
    summary: Summary, tracking: pa.Table, person_group: np.ndarray, groups: Sequence[Group]
) -> Section | None:
    reach = _col(tracking, "reach")
    away = _col(tracking, "away_s")
    pid = _col(tracking, "person_id").astype(np.int64)
    moving = away > 0
    if not moving.any():
        return None
    grp = person_group[pid] if person_group.size > int(pid.max()) else np.zeros(pid.size, np.int64)
    fig = make_subplots(
        rows=1,
        cols=2,
        column_widths=[0.62, 0.38],
        horizontal_spacing=0.2,
        subplot_titles=(
            "Share of residents (%) by how much of their time away the system could place them",
            "Average reach by group",
        ),
    )
    header, table, means = _reach_histograms(fig, reach, moving, grp, groups)
    _reach_means(fig, groups, means)
    fig.update_xaxes(
        title_text="reach: % of time away from home the system knew where they were",
        range=[0, 100],
        row=1,
        col=1,
    )
    fig.update_yaxes(title_text="% of residents who went out", row=1, col=1)
    fig.update_xaxes(title_text="average reach (%)", row=1, col=2)
    _layout(fig, 460, legend={"orientation": "h", "y": -0.25, "x": 0})
    fig.update_layout(margin={"b": 110})
    fig.update_annotations(font_size=13)
    return Section(
        "reach",
        "How much of people's movements the system can rebuild",
        "Reach is the share of a person's time away from home during which the "
        "system, from the captures linked to them that it still held at the end of "
        "the run, knew where they had been to within 15 minutes. Residents who never "
        "left home are not counted. Click a group in the legend to draw its own "
        "distribution over everyone's.",
        fig,
        "tracking_reach_histogram.csv",
        _csv(header, table),
    )


def _reach_histograms(
    fig: go.Figure,
    reach: np.ndarray,
    moving: np.ndarray,
    grp: np.ndarray,
    groups: Sequence[Group],
) -> tuple[list[str], list[list[object]], list[float | None]]:
    """The distribution of reach (everyone's bars, each group's line) in the left panel; the
    histogram's CSV header and rows, and each group's mean reach."""
    edges = np.linspace(0.0, 1.0, 21)
    mid = (edges[:-1] + edges[1:]) / 2 * 100
    header = ["reach_from", "reach_to", "everyone"]
    table: list[list[object]] = [[float(a), float(b)] for a, b in itertools.pairwise(edges)]
    everyone = np.histogram(np.clip(reach[moving], 0, 1), bins=edges)[0]
    share_all = everyone / max(everyone.sum(), 1) * 100
    fig.add_trace(
        go.Bar(
            x=mid,
            y=share_all,
            name="everyone",
            marker_color="#cfd8dc",
            width=4.6,
            hovertemplate="reach %{x:.0f}% ± 2.5: %{y:.1f}% of residents<extra>everyone</extra>",
        ),
        row=1,
        col=1,
    )
    for row, v in zip(table, everyone, strict=True):
        row.append(int(v))
    means: list[float | None] = []
    for gi, g in enumerate(groups):
        sel = moving & (grp == gi)
        counts = np.histogram(np.clip(reach[sel], 0, 1), bins=edges)[0]
        header.append(g.name)
        for row, v in zip(table, counts, strict=True):
            row.append(int(v))
        means.append(float(reach[sel].mean()) if sel.any() else None)
        if not sel.any():
            continue
        fig.add_trace(
            go.Scatter(
                x=mid,
                y=counts / sel.sum() * 100,
                mode="lines+markers",
                name=g.label,
                line={"color": g.colour, "width": 1.5},
                marker={"size": 4},
                legendgroup=g.name,
                visible="legendonly",
                hovertemplate="reach %{x:.0f}% ± 2.5: %{y:.1f}% of "
                f"{_esc(g.label)}<extra></extra>",
            ),
            row=1,
            col=1,
        )
    return header, table, means


def _reach_means(fig: go.Figure, groups: Sequence[Group], means: Sequence[float | None]) -> None:
    """Each group's average reach as a bar in the right panel (the first group at the top)."""
    rows = list(range(len(groups)))[::-1]
    fig.add_trace(
        go.Bar(
            x=[(means[i] or 0.0) * 100 for i in rows],
            y=[groups[i].label for i in rows],
            orientation="h",
            marker_color=[groups[i].colour for i in rows],
            showlegend=False,
            text=[_pct(means[i]) for i in rows],
            textposition="auto",
            hovertemplate="%{y}: %{x:.1f}% on average<extra></extra>",
        ),
        row=1,
        col=2,
    )
