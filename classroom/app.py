"""The classroom demo page (Dash): controls, a live map, counters, bars, narration, lessons.

``survsim demo`` serves it on 127.0.0.1:8050. Each page load gets its own session id; its run is
computed in the background (:mod:`classroom.session`) and played back as the page polls.
Nothing the browser sends can name a file: the scenario is a key of
:data:`classroom.presets.PRESETS`, and every other value becomes a scenario override validated by
the same models as scenario files.
"""

from __future__ import annotations

import ipaddress
import uuid
from typing import Any

import dash
from dash import Input, Output, State, dcc, html

from analysis.rates import FEW_EVENTS
from classroom.presets import LESSONS, PRESETS, Controls
from classroom.session import Sessions

RIGHT = "#2471a3"
WRONG = "#c0392b"
FEW = "#b8b8b8"  # a group with too few false alerts to tell
SPEEDS = {"5": 5.0, "15": 15.0, "45": 45.0, "0": 0.0}  # seconds of playback per simulated day
COUNTERS = (
    ("captures", "faces captured"),
    ("alerts", "alerts"),
    ("true_alerts", "true alerts"),
    ("false_alerts", "false alerts"),
    ("stops", "people stopped"),
    ("wrongful_stops", "wrongful stops"),
    ("patrol_stops", "patrol stops"),
    ("assembly_alarms", "assembly alarms"),
    ("protesters_named", "at the gathering, named by the system"),
)
ALWAYS = ("captures", "alerts", "true_alerts", "false_alerts")
_CSS = """
body { font-family: system-ui, sans-serif; margin: 0; color: #1c2833; background: #fbfcfc; }
.top { padding: 10px 18px; background: #1c2833; color: white; }
.top h1 { font-size: 1.3em; margin: 0; } .top p { margin: 2px 0 0; opacity: 0.85; }
.wrap { display: flex; gap: 16px; padding: 12px 18px; }
.side { width: 330px; flex: none; } .main { flex: 1; min-width: 0; }
.ctl { margin: 10px 0; } .ctl label { font-weight: 600; font-size: 0.9em; }
.counters { display: flex; flex-wrap: wrap; gap: 8px; margin: 6px 0; }
.counter { background: white; border: 1px solid #d5d8dc; border-radius: 6px; padding: 6px 10px;
           min-width: 90px; } .counter b { display: block; font-size: 1.35em; }
.counter.bad b { color: #c0392b; } .counter.good b { color: #2471a3; }
.status { font-weight: 600; margin: 4px 0; } .error { color: #c0392b; font-weight: 600; }
.lesson { background: #eef3f8; border-radius: 6px; padding: 8px 10px; margin: 8px 0; }
.lesson .q { font-weight: 600; } .narr li { margin: 2px 0; }
button.run { font-size: 1.1em; padding: 8px 22px; background: #1e8449; color: white;
             border: 0; border-radius: 6px; cursor: pointer; }
button.use { padding: 4px 10px; margin-top: 6px; cursor: pointer; }
.row2 { display: flex; gap: 12px; } .row2 > div { flex: 1; min-width: 0; }
"""


def create_app(sessions: Sessions | None = None) -> dash.Dash:
    """The Dash app, with its own session registry."""
    sessions = sessions or Sessions()
    app = dash.Dash(__name__, title="survsim classroom", update_title="", serve_locally=True)
    app.index_string = app.index_string.replace("</head>", f"<style>{_CSS}</style></head>")
    app.layout = _layout
    _callbacks(app, sessions)
    app.server.config["sessions"] = sessions
    return app


def _control(label: str, component: Any) -> html.Div:
    return html.Div([html.Label(label), component], className="ctl")


def _layout() -> html.Div:
    return html.Div(
        [
            dcc.Store(id="session", data=uuid.uuid4().hex),
            dcc.Interval(id="tick", interval=600, disabled=True),
            _header(),
            html.Div([_side(Controls()), _main()], className="wrap"),
        ]
    )


def _header() -> html.Div:
    return html.Div(
        [
            html.H1("survsim classroom: face recognition in a small city"),
            html.P("Pick a policy, press Run, and watch one day in town."),
        ],
        className="top",
    )


def _side(c: Controls) -> html.Div:
    """The left column: lessons, then the controls, then Run."""
    return html.Div(
        [
            *_lesson_panel(),
            _control(
                "Scenario",
                dcc.Dropdown(
                    id="preset",
                    clearable=False,
                    value=c.preset,
                    options=[{"label": p.label, "value": k} for k, p in PRESETS.items()],
                ),
            ),
            html.Div(id="blurb", style={"fontSize": "0.9em"}),
            *_sliders(c),
            _safeguards(),
            _playback(),
            html.Button("Run", id="run", className="run", n_clicks=0),
        ],
        className="side",
    )


def _lesson_panel() -> list[Any]:
    return [
        dcc.Tabs(
            id="mode",
            value="free",
            children=[
                dcc.Tab(label="Free play", value="free"),
                *(dcc.Tab(label=f"Lesson {i + 1}", value=str(i)) for i in range(len(LESSONS))),
            ],
        ),
        html.Div(id="lesson"),
        html.Button(
            "Use these settings",
            id="lesson-use",
            className="use",
            n_clicks=0,
            style={"display": "none"},
        ),
    ]


def _sliders(c: Controls) -> list[html.Div]:
    return [
        _control(
            "People in town",
            dcc.Slider(
                id="people",
                min=1000,
                max=8000,
                step=500,
                value=c.people,
                marks={1000: "1k", 3000: "3k", 5000: "5k", 8000: "8k"},
            ),
        ),
        _control(
            "Cameras (officers for body-cams)",
            dcc.Slider(
                id="cameras",
                min=0,
                max=200,
                step=10,
                value=c.cameras,
                marks={0: "0", 50: "50", 100: "100", 200: "200"},
            ),
        ),
        _control(
            "Match threshold (higher: fewer matches)",
            dcc.Slider(
                id="threshold",
                min=0.50,
                max=0.75,
                step=0.01,
                value=c.threshold,
                marks={0.5: "0.50", 0.6: "0.60", 0.7: "0.70"},
            ),
        ),
        _control(
            "People on the watchlist",
            dcc.Slider(
                id="watchlist",
                min=50,
                max=2000,
                step=50,
                value=c.watchlist,
                marks={50: "50", 500: "500", 1000: "1k", 2000: "2k"},
            ),
        ),
        _control(
            "Keep unmatched faces for (days)",
            dcc.Slider(
                id="retention",
                min=0,
                max=30,
                step=None,
                value=c.retention_days,
                marks={0: "0", 1: "1", 7: "7", 30: "30"},
            ),
        ),
    ]


def _safeguards() -> html.Div:
    return _control(
        "Safeguards",
        dcc.Checklist(
            id="switches",
            options=[
                {"label": " human review of every alert", "value": "review"},
                {
                    "label": " no cameras near places of worship, schools, hospitals",
                    "value": "exclusion",
                },
            ],
            value=[],
        ),
    )


def _playback() -> html.Div:
    return _control(
        "Playback: one day in",
        dcc.RadioItems(
            id="speed",
            value="15",
            inline=True,
            options=[
                {"label": " 5 s ", "value": "5"},
                {"label": " 15 s ", "value": "15"},
                {"label": " 45 s ", "value": "45"},
                {"label": " instant", "value": "0"},
            ],
        ),
    )


def _main() -> html.Div:
    """The right column: status, counters, then the map beside the bars and narration."""
    return html.Div(
        [
            html.Div(id="status", className="status", children="Press Run to start."),
            html.Div(id="counters", className="counters"),
            html.Div(
                [
                    html.Div(
                        dcc.Graph(
                            id="map",
                            config={"displaylogo": False},
                            figure=_empty("The town appears here."),
                        ),
                        style={"flex": "3"},
                    ),
                    html.Div(
                        [
                            dcc.Graph(
                                id="bars",
                                config={"displayModeBar": False},
                                figure=_empty("False alerts by group"),
                            ),
                            html.H3("What just happened", style={"margin": "4px 0"}),
                            html.Ul(id="narration", className="narr"),
                        ],
                        style={"flex": "2"},
                    ),
                ],
                className="row2",
            ),
        ],
        className="main",
    )


def _empty(title: str) -> dict[str, Any]:
    return {
        "data": [],
        "layout": {
            "title": {"text": title},
            "height": 420,
            "xaxis": {"visible": False},
            "yaxis": {"visible": False},
            "margin": {"t": 40, "l": 10, "r": 10, "b": 10},
        },
    }


def _controls(
    preset: Any,
    people: Any,
    cameras: Any,
    threshold: Any,
    watchlist: Any,
    retention: Any,
    switches: Any,
) -> Controls:
    """Controls from browser values; anything malformed raises ValueError (shown in the page)."""
    if not isinstance(preset, str) or preset not in PRESETS:
        raise ValueError(f"unknown scenario {preset!r}; pick one from the list")
    sw = switches if isinstance(switches, list) else []
    try:
        return Controls(
            preset=preset,
            people=int(people),
            cameras=int(cameras),
            threshold=float(threshold),
            watchlist=int(watchlist),
            retention_days=float(retention),
            review="review" in sw,
            exclusion="exclusion" in sw,
        )
    except (TypeError, ValueError):
        raise ValueError("a control sent a value that is not a number") from None


def _callbacks(app: dash.Dash, sessions: Sessions) -> None:
    _lesson_callbacks(app)
    _settings_callback(app)
    _run_callbacks(app, sessions)


def _lesson_callbacks(app: dash.Dash) -> None:
    """The preset's blurb, and the lesson tab's text and button."""

    @app.callback(
        Output("blurb", "children"), Output("cameras", "disabled"), Input("preset", "value")
    )
    def blurb(preset: str) -> tuple[str, bool]:
        p = PRESETS.get(preset)
        return (p.blurb if p else ""), (p is None or p.camera_key is None)

    @app.callback(Output("lesson-use", "style"), Input("mode", "value"))
    def lesson_button(mode: str) -> dict[str, str]:
        return {"display": "none"} if mode == "free" else {}

    @app.callback(Output("lesson", "children"), Input("mode", "value"))
    def lesson(mode: str) -> Any:
        if mode == "free" or not str(mode).isdigit() or int(mode) >= len(LESSONS):
            return html.Div("Free play: change anything, then press Run.", className="lesson")
        ls = LESSONS[int(mode)]
        return html.Div(
            [
                html.B(ls.title),
                html.P(ls.text),
                html.P(ls.question, className="q"),
                html.P(ls.look_at),
            ],
            className="lesson",
        )


def _settings_callback(app: dash.Dash) -> None:
    """A picked preset or a lesson's button sets the controls."""

    @app.callback(
        Output("preset", "value"),
        Output("people", "value"),
        Output("cameras", "value"),
        Output("threshold", "value"),
        Output("watchlist", "value"),
        Output("retention", "value"),
        Output("switches", "value"),
        Input("preset", "value"),
        Input("lesson-use", "n_clicks"),
        State("mode", "value"),
        prevent_initial_call=True,
    )
    def settings(preset: Any, n: Any, mode: Any) -> tuple[Any, ...]:
        """A picked preset shows its own settings; a lesson's button sets the lesson's."""
        if dash.ctx.triggered_id == "lesson-use":
            if not n or not str(mode).isdigit() or int(mode) >= len(LESSONS):
                raise dash.exceptions.PreventUpdate
            c = LESSONS[int(mode)].controls
        elif isinstance(preset, str) and preset in PRESETS:
            c = PRESETS[preset].defaults
        else:
            raise dash.exceptions.PreventUpdate
        return (
            c.preset,
            c.people,
            c.cameras,
            c.threshold,
            c.watchlist,
            c.retention_days,
            [k for k, on in (("review", c.review), ("exclusion", c.exclusion)) if on],
        )


def _run_callbacks(app: dash.Dash, sessions: Sessions) -> None:
    """Run starts a session's run; each tick shows its latest snapshot."""

    @app.callback(
        Output("status", "children", allow_duplicate=True),
        Output("tick", "disabled", allow_duplicate=True),
        Input("run", "n_clicks"),
        State("session", "data"),
        State("preset", "value"),
        State("people", "value"),
        State("cameras", "value"),
        State("threshold", "value"),
        State("watchlist", "value"),
        State("retention", "value"),
        State("switches", "value"),
        State("speed", "value"),
        prevent_initial_call=True,
    )
    def start(
        n: int,
        session: Any,
        preset: Any,
        people: Any,
        cameras: Any,
        threshold: Any,
        watchlist: Any,
        retention: Any,
        switches: Any,
        speed: Any,
    ) -> tuple[Any, bool]:
        return start_run(
            sessions,
            session,
            preset,
            people,
            cameras,
            threshold,
            watchlist,
            retention,
            switches,
            speed,
        )

    @app.callback(
        Output("status", "children"),
        Output("counters", "children"),
        Output("map", "figure"),
        Output("bars", "figure"),
        Output("narration", "children"),
        Output("tick", "disabled"),
        Input("tick", "n_intervals"),
        State("session", "data"),
        prevent_initial_call=True,
    )
    def tick(_: int, session: Any) -> tuple[Any, ...]:
        run = sessions.get(str(session))
        if run is None:
            raise dash.exceptions.PreventUpdate
        return render(run.snapshot())


def start_run(
    sessions: Sessions,
    session: Any,
    preset: Any,
    people: Any,
    cameras: Any,
    threshold: Any,
    watchlist: Any,
    retention: Any,
    switches: Any,
    speed: Any,
) -> tuple[Any, bool]:
    """Start a session's run; a message and the poller's state for the page."""
    if not isinstance(session, str) or not session.isalnum() or len(session) > 64:
        return html.Span("This page lost its session; reload it.", className="error"), True
    try:
        controls = _controls(preset, people, cameras, threshold, watchlist, retention, switches)
    except ValueError as exc:
        return html.Span(str(exc), className="error"), True
    seconds = SPEEDS.get(str(speed), 15.0)
    sessions.start(session, controls, seconds)
    return f"Starting {PRESETS[controls.preset].label} with {controls.people:,} people ...", False


def render(snap: dict[str, Any]) -> tuple[Any, ...]:
    """Page parts from a run's snapshot."""
    status = snap["status"]
    finished = status in ("done", "failed")
    if status == "failed":
        msg = html.Span(f"The run could not be done: {snap['message']}", className="error")
        return msg, [], dash.no_update, dash.no_update, [], True
    if "counters" not in snap:
        return f"{status.capitalize()} ...", [], dash.no_update, dash.no_update, [], False
    label = "Finished" if status == "done" else "Running"
    text = f"{label}: {snap['clock']} ({snap['progress']:.0%} of the day)"
    counters = []
    for key, name in COUNTERS:
        if key not in snap["counters"]:
            continue
        if key not in ALWAYS and not snap["counters"][key] and key not in snap["relevant"]:
            continue  # e.g. no patrol stops outside the body-cam scenario
        v = snap["counters"][key]
        if key == "protesters_named":
            shown = f"{v} of {snap['counters']['protesters']}"
        else:
            shown = f"{v:,}"
        cls = (
            "counter bad"
            if key in ("false_alerts", "wrongful_stops")
            else "counter good"
            if key == "true_alerts"
            else "counter"
        )
        counters.append(html.Div([html.B(shown, id=f"c-{key}"), name], className=cls))
    c = snap["counters"]
    if c["alerts"]:
        counters.append(
            html.Div(
                [
                    html.B(f"{100 * c['false_alerts'] / c['alerts']:.0f}"),
                    "of every 100 alerts wrong",
                ],
                className="counter bad",
            )
        )
    narration = [html.Li(line) for line in snap["narration"]]
    return (
        text,
        counters,
        _map_figure(snap["map"]),
        _bars_figure(snap["groups"]),
        narration,
        finished,
    )


def _map_figure(m: dict[str, Any]) -> dict[str, Any]:
    def pts(name: str, xy: Any, **marker: Any) -> dict[str, Any]:
        return {
            "type": "scatter",
            "mode": "markers",
            "name": name,
            "x": xy[0],
            "y": xy[1],
            "marker": marker,
            "hoverinfo": "name",
        }

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
        pts("cameras", m["cameras"], size=7, color=RIGHT, symbol="triangle-up", opacity=0.5),
        pts("people walking", m["people"], size=5, color="#7f8c8d"),
        pts("gatherings", m["gatherings"], size=22, color="#f1c40f", symbol="star"),
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
            "height": 520,
            "margin": {"t": 10, "l": 10, "r": 10, "b": 10},
            "uirevision": "map",
            "xaxis": {"visible": False},
            "yaxis": {"visible": False, "scaleanchor": "x"},
            "legend": {"orientation": "h", "y": -0.02},
            "plot_bgcolor": "white",
            "transition": {"duration": 0},
        },
    }


def _bars_figure(g: dict[str, Any]) -> dict[str, Any]:
    """False alerts by group; a group with fewer than FEW_EVENTS is drawn grey and marked
    "too few to tell" (its bar is chance as much as bias), as in the report."""
    few = [n < FEW_EVENTS for n in g["false_alerts"]]
    return {
        "data": [
            {
                "type": "bar",
                "orientation": "h",
                "y": g["labels"],
                "x": g["per_10k"],
                "marker": {"color": [FEW if f else WRONG for f in few]},
                "text": [
                    f"{n} (too few to tell)" if f else f"{n}"
                    for n, f in zip(g["false_alerts"], few, strict=True)
                ],
                "textposition": "auto",
                "hovertemplate": "%{y}: %{x:.1f} per 10,000 residents<extra></extra>",
            }
        ],
        "layout": {
            "title": {"text": "False alerts per 10,000 residents"},
            "height": 300,
            "margin": {"t": 40, "l": 150, "r": 10, "b": 30},
            "yaxis": {"autorange": "reversed"},
            "uirevision": "bars",
        },
    }


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def make_server(host: str = "127.0.0.1", port: int = 8050) -> Any:
    """The demo's web server, bound to ``host:port`` (raises OSError if the port is taken);
    ``serve_forever()`` serves it. Binding first lets the caller say so before announcing the
    address (Flask's own ``run`` prints the address, then exits the process on a busy port)."""
    import logging
    import socket

    from werkzeug.serving import make_server as werkzeug_server

    # werkzeug prints its own lines and exits the process when the port is taken: try the
    # address first (as werkzeug binds it, with SO_REUSEADDR), so the caller can say so.
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(address)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    try:
        return werkzeug_server(host, port, create_app().server, threaded=True)
    except SystemExit:  # taken between the probe and now
        raise OSError(f"port {port} is in use") from None


def serve(host: str = "127.0.0.1", port: int = 8050) -> None:  # pragma: no cover - a server
    make_server(host, port).serve_forever()
