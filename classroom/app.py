"""The classroom demo page (Dash): controls, playback, a live map, counters, bars, a time series,
runs side by side, narration, an end-of-day summary and lessons.

``survsim demo`` serves it on 127.0.0.1:8050. Each page load gets its own session id; its runs
are computed in the background (:mod:`classroom.sessions`) and played back as the page polls:
Play, Pause, Step (one simulated hour), Reset and the speed move the playhead
(:mod:`classroom.playback`). Nothing the browser sends can name a file: the scenario is a key
of :data:`classroom.presets.PRESETS`, every other value is held to the page's own limits
(:data:`classroom.presets.LIMITS`) and becomes a scenario override validated by the same models
as scenario files. A value no control can send gets a message in the page, never an error page.
"""

from __future__ import annotations

import ipaddress
import logging
import uuid
from typing import Any

import dash
import flask
from dash import Input, Output, State, dcc, html

from classroom import figures
from classroom.presets import LESSONS, LIMITS, PRESETS, Controls, Preset
from classroom.sessions import BusyError, Sessions
from classroom.story import clock

SPEEDS = {"5": 5.0, "15": 15.0, "45": 45.0, "0": 0.0}  # seconds of playback per simulated day
log = logging.getLogger("survsim.classroom")


def create_app(sessions: Sessions | None = None) -> dash.Dash:
    """The Dash app, with its own session registry."""
    sessions = sessions or Sessions()
    # The page's style sheet is classroom/assets/classroom.css (Dash serves assets/ itself).
    app = dash.Dash(__name__, title="survsim classroom", update_title="", serve_locally=True)
    app.layout = _layout
    _callbacks(app, sessions)
    app.server.config["sessions"] = sessions
    app.server.config["MAX_CONTENT_LENGTH"] = 1 << 20  # a page's requests are a few KB

    @app.server.errorhandler(Exception)
    def _refused(exc: Exception) -> tuple[dict[str, str], int]:
        """Whatever a request breaks: one line in the log, a plain answer, no paths."""
        code = getattr(exc, "code", None)
        if isinstance(code, int) and 400 <= code < 500:
            return {"message": "the server could not use this request"}, code
        log.error("a request failed: %s", repr(f"{type(exc).__name__}: {exc}")[:300])
        return {"message": "the server could not use this request"}, 400

    return app


def _control(label: str, component: Any) -> html.Div:
    return html.Div([html.Label(label), component], className="ctl")


def _layout() -> html.Div:
    return html.Div(
        [
            dcc.Store(id="session", data=uuid.uuid4().hex),
            dcc.Store(id="pb", data=0),
            dcc.Interval(id="tick", interval=600, disabled=True),
            _header(),
            _toolbar(),
            html.Div([_side(Controls()), _main()], className="wrap"),
        ]
    )


def _header() -> html.Div:
    return html.Div(
        [
            html.H1("survsim classroom: face recognition in a small city"),
            html.P("Pick a policy, press Run, and watch one day in town."),
            html.Button("Full screen", id="fullscreen", n_clicks=0),
        ],
        className="top",
    )


def _toolbar() -> html.Div:
    """Run and the playback controls, with the status line: always in view (sticky)."""
    return html.Div(
        [
            html.Button("Run", id="run", className="run", n_clicks=0),
            html.Button("Play", id="play", n_clicks=0),
            html.Button("Pause", id="pause", n_clicks=0),
            html.Button("Step +1 h", id="step", n_clicks=0),
            html.Button("Reset", id="reset", n_clicks=0),
            html.Span("one day in", style={"marginLeft": "6px"}),
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
            html.Div(id="status", className="status", children="Press Run to start."),
        ],
        className="bar",
        id="toolbar",
    )


def _side(c: Controls) -> html.Div:
    """The left column: lessons, then the scenario and its controls."""
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


def _slider(key: str, label: str, step: float | None, marks: dict[Any, str], v: Any) -> Any:
    lo, hi = LIMITS[key]
    return _control(
        label,
        dcc.Slider(id=_IDS[key], min=lo, max=hi, step=step, value=v, marks=marks),
    )


_IDS = {
    "people": "people",
    "cameras": "cameras",
    "threshold": "threshold",
    "watchlist": "watchlist",
    "retention_days": "retention",
}


def _sliders(c: Controls) -> list[html.Div]:
    return [
        _slider(
            "people",
            "People in town",
            500,
            {1000: "1k", 3000: "3k", 5000: "5k", 8000: "8k"},
            c.people,
        ),
        _slider(
            "cameras",
            "Cameras (officers for body-cams)",
            10,
            {0: "0", 50: "50", 100: "100", 200: "200"},
            c.cameras,
        ),
        _slider(
            "threshold",
            "Match threshold (higher: fewer matches)",
            0.01,
            {0.5: "0.50", 0.6: "0.60", 0.7: "0.70"},
            c.threshold,
        ),
        _slider(
            "watchlist",
            "People on the watchlist",
            50,
            {50: "50", 500: "500", 1000: "1k", 2000: "2k"},
            c.watchlist,
        ),
        _slider(
            "retention_days",
            "Keep unmatched faces for (days)",
            None,
            {0: "0", 1: "1", 7: "7", 30: "30"},
            c.retention_days,
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


def _main() -> html.Div:
    """The right column: counters, the map beside the bars and narration, the day's series,
    the summary, the runs side by side and another day's luck."""
    return html.Div(
        [
            html.Div(id="counters", className="counters"),
            html.Div(
                [
                    html.Div(
                        dcc.Graph(
                            id="map",
                            config={"displaylogo": False},
                            figure=_empty("The town appears here.", 460),
                        ),
                        style={"flex": "3"},
                    ),
                    html.Div(
                        [
                            dcc.Graph(
                                id="bars",
                                config={"displayModeBar": False},
                                figure=_empty("False alerts per 1,000 faces captured", 260),
                            ),
                            html.Div(
                                dcc.Graph(
                                    id="patrol-bars",
                                    config={"displayModeBar": False},
                                    figure=_empty("Patrol stops per 1,000 residents", 260),
                                ),
                                id="patrol-box",
                                style={"display": "none"},
                            ),
                            html.H3("What just happened", style={"margin": "4px 0"}),
                            html.Ul(id="narration", className="narr"),
                        ],
                        style={"flex": "2"},
                    ),
                ],
                className="row2",
            ),
            html.Div(id="summary"),
            dcc.Graph(
                id="series",
                config={"displayModeBar": False},
                figure=_empty("Through the day", 280),
            ),
            html.H3("Your runs side by side", style={"margin": "4px 0"}),
            html.Div(id="runs"),
            html.Button("Another day's luck?", id="luck", n_clicks=0),
            html.Div(id="luck-box"),
        ],
        className="main",
    )


def _empty(title: str, height: int) -> dict[str, Any]:
    return {
        "data": [],
        "layout": {
            "title": {"text": title, "font": {"size": 14}},
            "height": height,
            "xaxis": {"visible": False},
            "yaxis": {"visible": False},
            "margin": {"t": 40, "l": 10, "r": 10, "b": 10},
        },
    }


def _preset(value: Any) -> Preset | None:
    return PRESETS.get(value) if isinstance(value, str) else None


def _lesson_index(mode: Any) -> int | None:
    """The lesson a tab value names, or None (free play, or anything else)."""
    if isinstance(mode, str) and mode.isascii() and mode.isdigit() and int(mode) < len(LESSONS):
        return int(mode)
    return None


def _controls(
    preset: Any,
    people: Any,
    cameras: Any,
    threshold: Any,
    watchlist: Any,
    retention: Any,
    switches: Any,
) -> Controls:
    """Controls from browser values, held to the page's limits; ValueError otherwise."""
    if _preset(preset) is None:
        raise ValueError(f"unknown scenario {str(preset)[:40]!r}; pick one from the list")
    sw = switches if isinstance(switches, list) else []

    def number(v: Any, kind: type) -> Any:
        if isinstance(v, bool) or not isinstance(v, (int, float, str)):
            raise ValueError("a control sent a value that is not a number")
        try:
            return kind(float(v)) if kind is int and float(v).is_integer() else kind(v)
        except (TypeError, ValueError, OverflowError):
            raise ValueError("a control sent a value that is not a number") from None

    return Controls(
        preset=preset,
        people=number(people, int),
        cameras=number(cameras, int),
        threshold=number(threshold, float),
        watchlist=number(watchlist, int),
        retention_days=number(retention, float),
        review="review" in sw,
        exclusion="exclusion" in sw,
    ).check()


def _callbacks(app: dash.Dash, sessions: Sessions) -> None:
    _lesson_callbacks(app)
    _settings_callback(app)
    _run_callbacks(app, sessions)
    _playback_callbacks(app, sessions)
    app.clientside_callback(
        """function(n) { if (n) { const e = document.documentElement;
            if (document.fullscreenElement) { document.exitFullscreen(); }
            else if (e.requestFullscreen) { e.requestFullscreen(); } }
            return window.dash_clientside.no_update; }""",
        Output("fullscreen", "title"),
        Input("fullscreen", "n_clicks"),
        prevent_initial_call=True,
    )


def _lesson_callbacks(app: dash.Dash) -> None:
    """The preset's blurb, and the lesson tab's text and button."""

    @app.callback(
        Output("blurb", "children"),
        Output("cameras", "disabled"),
        Output("cameras", "min"),
        Input("preset", "value"),
    )
    def blurb(preset: Any) -> tuple[str, bool, int]:
        p = _preset(preset)
        low = p.cameras_min if p else 0
        return (p.blurb if p else ""), (p is None or p.camera_key is None), low

    @app.callback(Output("lesson-use", "style"), Input("mode", "value"))
    def lesson_button(mode: Any) -> dict[str, str]:
        return {} if _lesson_index(mode) is not None else {"display": "none"}

    @app.callback(Output("lesson", "children"), Input("mode", "value"))
    def lesson(mode: Any) -> Any:
        i = _lesson_index(mode)
        if i is None:
            return html.Div("Free play: change anything, then press Run.", className="lesson")
        ls = LESSONS[i]
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
        i = _lesson_index(mode)
        p = _preset(preset)
        if dash.ctx.triggered_id == "lesson-use":
            if not n or i is None:
                raise dash.exceptions.PreventUpdate
            c = LESSONS[i].controls
        elif p is not None:
            c = p.defaults
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


def _client() -> str:
    return str(flask.request.remote_addr or "local") if flask.has_request_context() else "local"


def _session_id(session: Any) -> str | None:
    ok = isinstance(session, str) and session.isascii() and session.isalnum()
    return session if ok and len(session) <= 64 else None


def _run_callbacks(app: dash.Dash, sessions: Sessions) -> None:
    """Run starts a session's run; each tick (or playback press) shows its latest snapshot."""

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
        n: Any,
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
            sessions, session, preset, people, cameras, threshold, watchlist, retention,
            switches, speed, client=_client(),
        )  # fmt: skip

    @app.callback(
        Output("status", "children"),
        Output("counters", "children"),
        Output("map", "figure"),
        Output("bars", "figure"),
        Output("patrol-bars", "figure"),
        Output("patrol-box", "style"),
        Output("narration", "children"),
        Output("series", "figure"),
        Output("summary", "children"),
        Output("runs", "children"),
        Output("luck-box", "children"),
        Output("tick", "disabled"),
        Input("tick", "n_intervals"),
        Input("pb", "data"),
        State("session", "data"),
        prevent_initial_call=True,
    )
    def tick(_: Any, __: Any, session: Any) -> tuple[Any, ...]:
        key = _session_id(session)
        run = sessions.get(key) if key else None
        if key is None or run is None:  # forgotten (idle too long): say so, stop polling
            lost = html.Span("This page's runs were forgotten; press Run.", className="error")
            return (lost, *[dash.no_update] * 10, True)
        history = sessions.history(key)
        luck = sessions.luck_ranges(key)
        return render(run.snapshot(), history, run.record(), luck)


def _playback_callbacks(app: dash.Dash, sessions: Sessions) -> None:
    @app.callback(
        Output("pb", "data"),
        Output("tick", "disabled", allow_duplicate=True),
        Input("play", "n_clicks"),
        Input("pause", "n_clicks"),
        Input("step", "n_clicks"),
        Input("reset", "n_clicks"),
        Input("speed", "value"),
        State("session", "data"),
        State("pb", "data"),
        prevent_initial_call=True,
    )
    def playback(*args: Any) -> tuple[int, bool]:
        *_, session, count = args
        key = _session_id(session)
        run = sessions.get(key) if key else None
        if run is None:
            raise dash.exceptions.PreventUpdate
        action = str(dash.ctx.triggered_id)
        speed = SPEEDS.get(str(args[4]))
        if action == "speed" and speed is None:
            raise dash.exceptions.PreventUpdate
        run.control(action, speed)
        n = count + 1 if isinstance(count, int) else 1
        return n, action in ("pause", "step", "reset")

    @app.callback(
        Output("luck-box", "children", allow_duplicate=True),
        Output("tick", "disabled", allow_duplicate=True),
        Input("luck", "n_clicks"),
        State("session", "data"),
        prevent_initial_call=True,
    )
    def luck(n: Any, session: Any) -> tuple[Any, bool]:
        key = _session_id(session)
        if key is None:
            return html.Span("This page lost its session; reload it.", className="error"), True
        try:
            sessions.luck(key, _client())
        except ValueError as exc:  # BusyError too
            return html.Span(str(exc), className="error"), True
        return html.P("Computing other days ..."), False


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
    client: str = "local",
) -> tuple[Any, bool]:
    """Start a session's run; a message and the poller's state for the page."""
    key = _session_id(session)
    if key is None:
        return html.Span("This page lost its session; reload it.", className="error"), True
    try:
        controls = _controls(preset, people, cameras, threshold, watchlist, retention, switches)
        sessions.start(key, controls, SPEEDS.get(str(speed), 15.0), client)
    except (ValueError, BusyError) as exc:
        return html.Span(f"Not run: {exc}", className="error"), True
    return f"Starting {PRESETS[controls.preset].label} with {controls.people:,} people ...", False


def _status(snap: dict[str, Any]) -> Any:
    status = snap["status"]
    if status == "failed":
        return html.Span(f"The run could not be done: {snap['message']}", className="error")
    if status == "shelved":
        return html.Span(snap["message"].capitalize(), className="error")
    if "counters" not in snap:
        words = {"queued": "Waiting for the server", "building": "Building the town"}
        return f"{words.get(status, status.capitalize())} ..."
    part = f"{snap['clock']} ({snap['progress']:.0%} of the day)"
    if status == "done":
        return f"Finished: the whole day, to {clock(snap['t_s'])}."
    return f"{'Paused at' if status == 'paused' else 'Playing:'} {part}"


def render(
    snap: dict[str, Any],
    history: list[dict[str, Any]] | None = None,
    now: dict[str, Any] | None = None,
    luck: dict[str, Any] | None = None,
) -> tuple[Any, ...]:
    """Page parts from a run's snapshot (and the session's earlier runs and luck)."""
    history = history or []
    status = snap["status"]
    polling = status in ("queued", "building", "running") or (
        luck is not None and "days" not in luck and not luck.get("failed")
    )
    keep = dash.no_update
    if "counters" not in snap:
        return (_status(snap), [], keep, keep, keep, keep, [], keep, [],
                figures.compare_table(history, None), keep, not polling)  # fmt: skip
    labels = snap["groups"]["labels"]
    patrol = "patrol" in snap
    summary = []
    if "summary" in snap:
        lines = [html.B("The day in a few sentences"), *map(html.P, snap["summary"])]
        summary = [html.Div(lines, className="summary", id="day-summary")]
    return (
        _status(snap),
        figures.counters(snap),
        figures.map_figure(snap["map"]),
        figures.bars_figure(snap["groups"]),
        figures.patrol_figure(snap["patrol"], labels) if patrol else keep,
        {} if patrol else {"display": "none"},
        [html.Li(line) for line in snap["narration"]],
        figures.series_figure(snap["series"], history, snap["duration_h"]),
        summary,
        figures.compare_table(history, now),
        figures.luck_text(luck, labels),
        not polling,
    )


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
