"""The run report's map, "Where it happened": the city from above with the run drawn on it.

One layer per kind of point (streets, crossings, cameras, false alerts, wrongful stops,
gatherings, assembly alarms), each added by its own function, which also returns its rows of
the map's CSV. Coordinates are shifted to metres from the city's centre at the end.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
import pyarrow as pa

from analysis.report_base import (
    RIGHT,
    WRONG,
    AlertFacts,
    Group,
    Section,
    _clock,
    _col,
    _csv,
    _layout,
    _num,
)
from sim.schema import WRONGFUL_STOP

Rows = list[list[object]]  # the map's CSV rows: layer, x_m, y_m, detail, t_s


def _polylines(edges: pa.Table) -> tuple[np.ndarray, np.ndarray]:
    """All streets' vertices in one pair of arrays, a NaN gap after each street (to 0.1 m)."""
    out = []
    for name in ("x_m", "y_m"):
        col = edges.column(name).combine_chunks()
        flat = np.round(col.flatten().to_numpy(zero_copy_only=False), 1)
        ends = col.offsets.to_numpy()[1:] - col.offsets.to_numpy()[0]
        out.append(np.insert(flat, ends, np.nan))
    return out[0], out[1]


def _map_section(
    tables: Mapping[str, pa.Table],
    facts: AlertFacts,
    groups: Sequence[Group],
    attribution: str | None = None,
) -> Section:
    """The map with every layer the run has, and the CSV of its points."""
    fig = go.Figure()
    label = [g.label for g in groups]
    nodes = tables.get("nodes")
    _add_streets(fig, tables.get("edges"))
    rows = [
        *_add_crossings(fig, nodes),
        *_add_cameras(fig, tables.get("cameras")),
        *_add_false_alerts(fig, facts, label),
        *_add_wrongful_stops(fig, tables.get("stops"), facts, label),
        *_add_gatherings(fig, tables.get("gatherings")),
        *_add_assembly_alarms(fig, tables.get("assembly_alerts")),
    ]
    _layout(fig, 680, legend={"orientation": "h", "y": -0.08, "x": 0.5, "xanchor": "center"})
    rows = _centre(fig, nodes, rows)
    fig.update_xaxes(
        title_text="metres east of the centre", showgrid=False, zeroline=False, constrain="domain"
    )
    fig.update_yaxes(
        title_text="metres north of the centre",
        showgrid=False,
        zeroline=False,
        scaleanchor="x",
        scaleratio=1,
    )
    fig.update_layout(margin={"t": 20})
    if attribution:  # ODbL: the map data's attribution travels with every map shown
        fig.add_annotation(
            text=html.escape(attribution.split(", https://")[0]),
            xref="paper",
            yref="paper",
            x=1,
            y=0,
            xanchor="right",
            yanchor="bottom",
            showarrow=False,
            font={"size": 10, "color": "#555"},
            bgcolor="rgba(255,255,255,0.8)",
        )
    return Section(
        "map",
        "Where it happened",
        _map_intro(rows, attribution),
        fig,
        "map_points.csv",
        _csv(
            ["layer", "x_m", "y_m", "detail", "t_s", "east_of_centre_m", "north_of_centre_m"], rows
        ),
    )


def _map_intro(rows: Rows, attribution: str | None) -> str:
    """The map's explanation, naming only the layers it shows."""
    layers = {str(r[0]) for r in rows}
    shown = [
        text
        for layer, text in (
            ("camera", "blue triangles are cameras"),
            ("false alert", "red crosses mark where someone was falsely flagged"),
            ("wrongful stop", "black rings where someone was wrongly stopped"),
            ("gathering", "stars the gatherings (yellow) and everyday crowds (grey)"),
            ("assembly alarm", "purple diamonds the assembly alarms"),
        )
        if layer in layers
    ]
    return (
        "The city seen from above: grey lines are the streets and grey dots the "
        "crossings" + (", " + ", ".join(shown) if shown else "") + ". Click a legend entry to "
        "hide or show it; drag to zoom, double-click to reset."
        + (f" {attribution}." if attribution else "")
    )


def _centre(fig: go.Figure, nodes: pa.Table | None, rows: Rows) -> Rows:
    """Shift every trace to metres from the city's centre; the rows gain those columns."""
    # Axes in metres from the city's centre (the middle of its crossings), not in the map
    # projection's own coordinates (hundreds of kilometres on a real map's UTM grid).
    centre = (0.0, 0.0)
    if nodes is not None and nodes.num_rows:
        nx, ny = _col(nodes, "x_m"), _col(nodes, "y_m")
        centre = ((float(nx.min()) + float(nx.max())) / 2, (float(ny.min()) + float(ny.max())) / 2)
    for trace in fig.data:
        if trace.x is not None and trace.y is not None:
            trace.x = [None if v is None else float(v) - centre[0] for v in trace.x]
            trace.y = [None if v is None else float(v) - centre[1] for v in trace.y]
    return [[*r, float(str(r[1])) - centre[0], float(str(r[2])) - centre[1]] for r in rows]


def _add_streets(fig: go.Figure, edges: pa.Table | None) -> None:
    """The streets as one grey trace (they have no rows in the CSV)."""
    if edges is not None and edges.num_rows:
        # One trace for all streets: vertices with a gap (None) after each street.
        xs, ys = _polylines(edges)
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines",
                name="streets",
                line={"color": "#d5d8dc", "width": 1},
                hoverinfo="skip",
            )
        )


def _add_crossings(fig: go.Figure, nodes: pa.Table | None) -> Rows:
    """The street crossings, with their district."""
    if nodes is None or not nodes.num_rows:
        return []
    nx, ny = _col(nodes, "x_m"), _col(nodes, "y_m")
    district = [str(d) for d in nodes.column("district").to_pylist()]
    fig.add_trace(
        go.Scatter(
            x=nx,
            y=ny,
            mode="markers",
            name="street crossings",
            marker={"size": 4, "color": "#c8ccd0"},
            text=district,
            hovertemplate="crossing (%{text})<extra></extra>",
        )
    )
    return [
        ["street crossing", float(x), float(y), d, None]
        for x, y, d in zip(nx, ny, district, strict=True)
    ]


def _add_cameras(fig: go.Figure, cams: pa.Table | None) -> Rows:
    """The cameras, with their deployment and kind."""
    if cams is None or not cams.num_rows:
        return []
    cx, cy = _col(cams, "x_m"), _col(cams, "y_m")
    dep = [str(d) for d in cams.column("deployment").to_pylist()]
    kind = [str(k) for k in cams.column("kind").to_pylist()]
    fig.add_trace(
        go.Scatter(
            x=cx,
            y=cy,
            mode="markers",
            name="cameras",
            marker={"size": 10, "color": RIGHT, "symbol": "triangle-up", "opacity": 0.6},
            text=[f"{d} ({k})" for d, k in zip(dep, kind, strict=True)],
            hovertemplate="camera: %{text}<extra></extra>",
        )
    )
    return [
        ["camera", float(x), float(y), f"{d} ({k})", None]
        for x, y, d, k in zip(cx, cy, dep, kind, strict=True)
    ]


def _add_false_alerts(fig: go.Figure, facts: AlertFacts, label: Sequence[str]) -> Rows:
    """Where someone was falsely flagged, with the time, their group and the score."""
    wrong = ~facts.is_true
    if not wrong.any():
        return []
    who = [label[int(g)] if int(g) < len(label) else "" for g in facts.group[wrong]]
    text = [
        f"{_clock(t)}<br>face of: {w}<br>score {sc:.3f}"
        for t, w, sc in zip(facts.t_s[wrong], who, facts.score[wrong], strict=True)
    ]
    fig.add_trace(
        go.Scatter(
            x=facts.x_m[wrong],
            y=facts.y_m[wrong],
            mode="markers",
            name="false alerts",
            marker={"size": 7, "color": WRONG, "symbol": "x", "opacity": 0.75},
            text=text,
            hovertemplate="<b>false alert</b><br>%{text}<extra></extra>",
        )
    )
    return [
        ["false alert", float(x), float(y), w, float(t)]
        for x, y, w, t in zip(
            facts.x_m[wrong], facts.y_m[wrong], who, facts.t_s[wrong], strict=True
        )
    ]


def _add_wrongful_stops(
    fig: go.Figure, st: pa.Table | None, facts: AlertFacts, label: Sequence[str]
) -> Rows:
    """Where someone was wrongly stopped (at the alert's capture), with the time and group."""
    if st is None or not st.num_rows or not facts.alert_id.size:
        return []
    outcome = np.asarray(st.column("outcome").to_pylist(), object)
    sel = outcome == WRONGFUL_STOP
    if not sel.any():
        return []
    pos = np.searchsorted(facts.alert_id, _col(st, "alert_id")[sel])
    pos = np.minimum(pos, facts.alert_id.size - 1)
    ok = facts.alert_id[pos] == _col(st, "alert_id")[sel]
    pos = pos[ok]
    t_stop = _col(st, "t_s")[sel][ok]
    who = [label[int(g)] if int(g) < len(label) else "" for g in facts.group[pos]]
    fig.add_trace(
        go.Scatter(
            x=facts.x_m[pos],
            y=facts.y_m[pos],
            mode="markers",
            name="wrongful stops",
            marker={
                "size": 13,
                "color": "rgba(0,0,0,0)",
                "line": {"color": "#111", "width": 2},
                "symbol": "circle",
            },
            text=[f"{_clock(t)}<br>person stopped: {w}" for t, w in zip(t_stop, who, strict=True)],
            hovertemplate="<b>wrongful stop</b><br>%{text}<extra></extra>",
        )
    )
    return [
        ["wrongful stop", float(x), float(y), w, float(t)]
        for x, y, w, t in zip(facts.x_m[pos], facts.y_m[pos], who, t_stop, strict=True)
    ]


def _add_gatherings(fig: go.Figure, g: pa.Table | None) -> Rows:
    """The gatherings and everyday crowds, with their size and times."""
    if g is None or not g.num_rows:
        return []
    routine = _col(g, "routine").astype(bool)
    names = [str(n) for n in g.column("name").to_pylist()]
    text = [
        f"{n}{' (routine crowd)' if r else ''}: {_num(int(sz))} people, "
        f"{_clock(s0)} to {_clock(s1)}"
        for n, r, sz, s0, s1 in zip(
            names, routine, _col(g, "size"), _col(g, "start_s"), _col(g, "end_s"), strict=True
        )
    ]
    fig.add_trace(
        go.Scatter(
            x=_col(g, "x_m"),
            y=_col(g, "y_m"),
            mode="markers+text",
            name="gatherings",
            marker={
                "size": 20,
                "symbol": "star",
                "color": ["#bdc3c7" if r else "#f1c40f" for r in routine],
                "line": {"color": "#7d6608", "width": 1},
            },
            text=names,
            textposition="top center",
            customdata=text,
            hovertemplate="<b>gathering</b><br>%{customdata}<extra></extra>",
        )
    )
    return [
        ["gathering", float(x), float(y), t, float(s0)]
        for x, y, t, s0 in zip(
            _col(g, "x_m"), _col(g, "y_m"), text, _col(g, "start_s"), strict=True
        )
    ]


def _add_assembly_alarms(fig: go.Figure, aa: pa.Table | None) -> Rows:
    """The assembly detector's alarms, with the time and number of flagged people."""
    if aa is None or not aa.num_rows:
        return []
    fig.add_trace(
        go.Scatter(
            x=_col(aa, "x_m"),
            y=_col(aa, "y_m"),
            mode="markers",
            name="assembly alarms",
            marker={"size": 10, "color": "#8e44ad", "symbol": "diamond-open", "line": {"width": 2}},
            text=[
                f"{_clock(t)}, {int(n)} flagged"
                for t, n in zip(_col(aa, "t_s"), _col(aa, "n_flagged"), strict=True)
            ],
            hovertemplate="<b>assembly alarm</b><br>%{text}<extra></extra>",
        )
    )
    return [
        ["assembly alarm", float(x), float(y), f"{int(n)} flagged", float(t)]
        for x, y, n, t in zip(
            _col(aa, "x_m"), _col(aa, "y_m"), _col(aa, "n_flagged"), _col(aa, "t_s"), strict=True
        )
    ]
