"""The page's figures and panels, from a run's snapshot (plain dicts for Dash)."""

from __future__ import annotations

from typing import Any

from dash import html

from analysis.rates import FEW_EVENTS
from classroom.measures import SERIES, Share
from classroom.presets import PRESETS

RIGHT = "#2471a3"
WRONG = "#c0392b"
FEW = "#b8b8b8"  # a group with too few events to tell
SERIES_COLOURS = {
    "false_alerts": WRONG,
    "true_alerts": RIGHT,
    "wrongful_stops": "#111111",
    "patrol_stops": "#d35400",
    "assembly_alarms": "#8e44ad",
    "protesters_named": "#b7950b",
}
COUNTERS = (
    ("captures", "faces captured"),
    ("alerts", "alerts"),
    ("true_alerts", "true alerts"),
    ("false_alerts", "false alerts"),
    ("stops", "people stopped"),
    ("wrongful_stops", "wrongful stops"),
    ("patrol_stops", "patrol stops"),
    ("assembly_alarms", "assembly alarms"),
    ("protesters_named", "protesters named by the system"),
)
ALWAYS = ("captures", "alerts", "true_alerts", "false_alerts")


def counters(snap: dict[str, Any]) -> list[Any]:
    """The counter boxes: what happened by the playback clock, one consistent set."""
    c = snap["counters"]
    out = []
    for key, name in COUNTERS:
        if key not in c:
            continue
        shown_anyway = (*ALWAYS, "protesters_named", *snap["relevant"])
        if not c[key] and key not in shown_anyway:
            continue  # e.g. no patrol stops outside the body-cam scenario
        v = c[key]
        shown = f"{v:,} of {c['protesters']:,}" if key == "protesters_named" else f"{v:,}"
        if key == "protesters_named":
            names = snap.get("gathering_names") or []
            name = f"at the {names[0] if len(names) == 1 else 'gatherings'}, named by the system"
        cls = {"false_alerts": "bad", "wrongful_stops": "bad", "true_alerts": "good"}
        out.append(
            html.Div([html.B(shown, id=f"c-{key}"), name], className=f"counter {cls.get(key, '')}")
        )
    if c["alerts"]:
        share = Share(c["false_alerts"], c["alerts"]).of_100()
        out.append(
            html.Div(
                [html.B(share, id="c-share"), "of every 100 alerts wrong"],
                className="counter bad",
            )
        )
    return out


def map_figure(m: dict[str, Any]) -> dict[str, Any]:
    def pts(name: str, xy: Any, hover: str = "name", **marker: Any) -> dict[str, Any]:
        return {
            "type": "scatter",
            "mode": "markers",
            "name": name,
            "x": xy[0],
            "y": xy[1],
            "marker": marker,
            "hoverinfo": hover,
        }

    places = pts("places", m["places"], "text", size=5, color="#aab7b8", symbol="square")
    places["text"] = m["places"][2]
    data = [
        {
            "type": "scatter",
            "mode": "lines",
            "name": "streets",
            "x": m["streets"][0],
            "y": m["streets"][1],
            "line": {"color": "#d5d8dc", "width": 1},
            "hoverinfo": "skip",
        },
        places,
        pts("cameras", m["cameras"], size=7, color=RIGHT, symbol="triangle-up", opacity=0.5),
        pts("people walking", m["people"], size=5, color="#7f8c8d"),
        pts("everyday crowd (now)", m["crowds"], size=18, color="#aeb6bf", symbol="circle-open"),
        pts("gathering (now)", m["gatherings"], size=22, color="#f1c40f", symbol="star"),
        pts("true alerts", m["true"], size=9, color=RIGHT, symbol="circle"),
        pts("false alerts", m["false"], size=8, color=WRONG, symbol="x"),
        pts(
            "wrongful stops",
            m["stops"],
            size=14,
            color="rgba(0,0,0,0)",
            line={"color": "#111", "width": 2},
        ),
        pts("assembly alarms", m["assemblies"], size=11, color="#8e44ad", symbol="diamond-open"),
    ]
    return {
        "data": data,
        "layout": {
            "height": 460,
            "margin": {"t": 10, "l": 10, "r": 10, "b": 10},
            "uirevision": "map",
            "xaxis": {"visible": False},
            "yaxis": {"visible": False, "scaleanchor": "x"},
            "legend": {"orientation": "h", "y": -0.02},
            "plot_bgcolor": "white",
            "transition": {"duration": 0},
        },
    }


def _rate_text(rate: float | None, k: int, few: bool, unit: str) -> str:
    if rate is None:
        return "none captured"
    return f"{rate:.1f} ({k} {unit}, too few to tell)" if few else f"{rate:.1f} ({k} {unit})"


def bars_figure(g: dict[str, Any]) -> dict[str, Any]:
    """False alerts per 1,000 captures of people on no list, by group (the report's rate); a
    group with fewer than FEW_EVENTS false alerts is grey and marked "too few to tell"."""
    rate = [r if r is not None else 0.0 for r in g["rate"]]
    few = g["too_few"]
    return _hbars(
        g["labels"],
        rate,
        [FEW if f else WRONG for f in few],
        [_rate_text(r, k, f, "false") for r, k, f in zip(g["rate"], g["k"], few, strict=True)],
        "False alerts per 1,000 faces captured",
        "%{y}: %{x:.2f} false alerts per 1,000 captures<extra></extra>",
    )


def patrol_figure(p: dict[str, Any], labels: list[str]) -> dict[str, Any]:
    """Patrol stops per 1,000 residents, by group (grey: fewer than FEW_EVENTS stops)."""
    few = [k < FEW_EVENTS for k in p["k"]]
    return _hbars(
        labels,
        [r if r is not None else 0.0 for r in p["rate"]],
        [FEW if f else "#d35400" for f in few],
        [_rate_text(r, k, f, "stops") for r, k, f in zip(p["rate"], p["k"], few, strict=True)],
        "Patrol stops per 1,000 residents",
        "%{y}: %{x:.1f} stops per 1,000 residents<extra></extra>",
    )


def _hbars(
    labels: list[str], x: list[float], colours: list[str], text: list[str], title: str, hover: str
) -> dict[str, Any]:
    top = max(x, default=0.0) or 1.0  # nothing to draw: an axis of 0 to 1, not of nanos
    return {
        "data": [
            {
                "type": "bar",
                "orientation": "h",
                "y": labels,
                "x": x,
                "marker": {"color": colours},
                "text": text,
                "textposition": "outside",
                "cliponaxis": False,
                "hovertemplate": hover,
            }
        ],
        "layout": {
            "title": {"text": title, "font": {"size": 14}},
            "height": 260,
            "margin": {"t": 36, "l": 130, "r": 10, "b": 24},
            "yaxis": {"autorange": "reversed"},
            "xaxis": {"range": [0, top * 1.9]},  # room for the text beside the longest bar
            "uirevision": title,
        },
    }


def series_figure(
    series: dict[str, Any], history: list[dict[str, Any]], duration_h: float
) -> dict[str, Any]:
    """Cumulative counts against the hour; the session's previous run drawn dotted (its
    whole day) for comparison."""
    names = dict(SERIES)
    data = []
    keys = [k for k in series if k != "hours"]
    prev = history[-1] if history else None
    for key in keys:
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": names[key],
                "x": series["hours"],
                "y": series[key],
                "line": {"color": SERIES_COLOURS[key], "width": 3},
            }
        )
        if prev is not None and key in prev["series"]:
            data.append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    "name": f"{names[key]}, run {len(history)}",
                    "x": prev["series"]["hours"],
                    "y": prev["series"][key],
                    "line": {"color": SERIES_COLOURS[key], "width": 2, "dash": "dot"},
                }
            )
    return {
        "data": data,
        "layout": {
            "title": {"text": "Through the day (dotted: the previous run)", "font": {"size": 14}},
            "height": 280,
            "margin": {"t": 36, "l": 50, "r": 10, "b": 36},
            "xaxis": {"title": {"text": "hour of the day"}, "range": [0, duration_h], "dtick": 3},
            "yaxis": {"title": {"text": "so far"}, "rangemode": "tozero"},
            "legend": {"orientation": "h", "y": -0.3},
            "uirevision": "series",
        },
    }


def compare_table(history: list[dict[str, Any]], now: dict[str, Any] | None) -> Any:
    """The session's runs side by side: settings and whole-day results."""
    rows = [*history, *([now] if now is not None else [])]
    if not rows:
        return html.P("Your runs appear here, side by side, once a day has been computed.")
    head = ["run", "scenario", "people", "cameras", "threshold", "on list", "review",
            "days kept", "alerts", "false", "wrong of 100", "wrongful stops"]  # fmt: skip
    body = []
    for i, r in enumerate(rows):
        c, k = r["counters"], r["controls"]
        cells = [
            f"{i + 1}" + (" (now)" if now is not None and i == len(rows) - 1 else ""),
            r["label"],
            f"{k['people']:,}",
            f"{k['cameras']}" if PRESETS[k["preset"]].camera_key else "-",
            f"{k['threshold']:.2f}",
            f"{k['watchlist']:,}",
            "yes" if k["review"] else "no",
            f"{k['retention_days']:g}",
            f"{c['alerts']:,}",
            f"{c['false_alerts']:,}",
            Share(c["false_alerts"], c["alerts"]).of_100(),
            f"{c['wrongful_stops']:,}",
        ]
        body.append(html.Tr([html.Td(x) for x in cells]))
    return html.Table(
        [html.Thead(html.Tr([html.Th(h) for h in head])), html.Tbody(body)],
        className="runs",
        id="runs-table",
    )


def luck_text(luck: dict[str, Any] | None, labels: list[str]) -> Any:
    """'With another day's luck: between X and Y' for the main figures."""
    if luck is None:
        return ""
    if luck.get("failed"):
        return html.P("Another day's luck could not be computed (the server is busy).")
    if "days" not in luck:
        return html.P(f"Computing other days: {luck['done']} of {luck['of']} ...")
    names = dict(SERIES)
    lines = [f"Over {luck['days']} days of the same town and policy (other random draws):"]
    for key, (lo, hi) in luck["counters"].items():
        lines.append(f"{names[key]}: between {lo:,} and {hi:,}")
    if "false_share" in luck:
        lo, hi = luck["false_share"]
        lines.append(f"alerts wrong: between {lo} and {hi} of every 100")
    for label, r in zip(labels, luck["rate"], strict=True):
        if r == "few":
            lines.append(f"{label}: too few false alerts to tell on some days")
        elif r is not None:
            lines.append(f"{label}: {r[0]:.1f} to {r[1]:.1f} false alerts per 1,000 faces")
    return html.Div([html.B(lines[0]), html.Ul([html.Li(x) for x in lines[1:]])], id="luck-ranges")
