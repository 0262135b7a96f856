"""One run as a single HTML page that a non-specialist can read: ``build_run_report(run_dir)``.

The page (``run_dir/report.html``) opens offline: plotly.js is embedded once, every figure's data
is inline, and each figure has a link that downloads the table behind it as CSV (a ``data:`` URL).
It holds:

- headline findings in plain sentences, generated from ``summary.json``;
- who was falsely flagged (per-group bars) and a parity table (the four-fifths rule against the
  best-treated group);
- wrongful stops per 100,000 residents by group, when officers acted on alerts;
- a map of the city: crossings, cameras, false alerts, wrongful stops, gatherings;
- timelines: alerts per hour (right and wrong person), the review queue, assembly alarms;
- how much of people's movements the system could rebuild (tracking reach);
- the scenario's settings, seed, versions, hash, and the face-match model's caveats and sources.

Like the rest of ``analysis`` it reads only the run directory and imports nothing from the
simulator but the schema, so the face-match model's caveats and sources come in as arguments.

Usage: ``python -m analysis.report RUN_DIR`` (without the model's caveats), or from the edge
(the CLI) ``build_run_report(run_dir, caveats=list(m.caveats), sources=list(m.sources))``.
"""

from __future__ import annotations

import csv
import html
import io
import itertools
import json
import sys
import tomllib
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pyarrow as pa
from plotly.offline import get_plotlyjs
from plotly.subplots import make_subplots

from analysis import rates
from analysis.assembly import AFTER_S, MATCH_RADIUS_M
from analysis.figures import write_page
from analysis.metrics import claimed_person, read_run, read_table

REPORT_NAME = "report.html"
PALETTE = ("#1b9e77", "#66c2a5", "#d95f02", "#fc8d62", "#7570b3", "#8da0cb", "#e7298a",
           "#f4a6c9", "#66a61e", "#a6d854", "#e6ab02", "#ffd92f")
WRONG = "#c0392b"
RIGHT = "#2e86c1"
PLOT_CONFIG = {"displaylogo": False, "responsive": True,
               "modeBarButtonsToRemove": ["select2d", "lasso2d"]}

GENERAL_CAVEATS = (
    "This is a simulation, not a measurement. The city, its residents and their movements are "
    "synthetic; the numbers show what survsim's models predict under this scenario's "
    "assumptions, not what any real system did.",
    "The face-match model is a model: its error rates come from laboratory tests (mostly of "
    "portrait photographs) and published trials, adjusted for street conditions with assumed "
    "values. Real systems, cameras and lighting differ, and vendors update their algorithms.",
    "One run is one random draw. Counts below about 5 (false alerts, stops) can change a lot "
    "with another seed; run several replications before quoting a small number or a ratio "
    "built on one.",
    "Groups are the scenario's categories (by default NIST's sex × race groups with US Census "
    "shares). Real people do not all fit such categories. Differences between groups come from "
    "the face-match model's error rates and from the scenario's settings (where groups live, "
    "whom officers stop, who gathers), never from anything the people did wrong.",
    "'Falsely flagged' means the system matched a passer-by's face to a watchlist entry that is "
    "someone else. What follows (nothing, a review, a stop) depends on the scenario's governance "
    "settings shown below.",
)


# --------------------------------------------------------------------------- small helpers

def _esc(x: object) -> str:
    return html.escape(str(x), quote=True)


def _num(n: float | int | None) -> str:
    """An integer with thousands separators."""
    return "n/a" if n is None else f"{round(n):,}"


def _rate(r: float | None) -> str:
    """A rate with sensible precision."""
    if r is None:
        return "n/a"
    if r == 0:
        return "0"
    if abs(r) >= 100:
        return f"{r:,.0f}"
    if abs(r) >= 10:
        return f"{r:.1f}"
    if abs(r) >= 1:
        return f"{r:.2f}"
    return f"{r:.3f}"


def _pct(x: float | None, digits: int = 0) -> str:
    return "n/a" if x is None else f"{100 * x:.{digits}f}%"


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{_num(n)} {one if n == 1 else (many or one + 's')}"


def _duration(seconds: float | None) -> str:
    """'12 minutes', '2 hours 13 minutes', '3 days'."""
    if seconds is None:
        return "n/a"
    if seconds < 60:
        return "less than a minute"
    m = round(seconds / 60)
    if m < 90:
        return _plural(m, "minute")
    h, m = divmod(m, 60)
    if h >= 48 and m == 0 and h % 24 == 0:
        return _plural(h // 24, "day")
    return _plural(h, "hour") + (f" {_plural(m, 'minute')}" if m else "")


def _clock(t_s: float) -> str:
    """Simulated time as 'day 1, 14:05' (t = 0 is midnight of day 1)."""
    day, rest = divmod(int(t_s), 86_400)
    return f"day {day + 1}, {rest // 3600:02d}:{rest % 3600 // 60:02d}"


def _csv(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for row in rows:
        w.writerow(["" if v is None else (f"{v:.6g}" if isinstance(v, float) else v)
                    for v in row])
    return buf.getvalue()


def _col(t: pa.Table, name: str) -> np.ndarray:
    return t.column(name).to_numpy()


def _polylines(edges: pa.Table) -> tuple[np.ndarray, np.ndarray]:
    """All streets' vertices in one pair of arrays, a NaN gap after each street (to 0.1 m)."""
    out = []
    for name in ("x_m", "y_m"):
        col = edges.column(name).combine_chunks()
        flat = np.round(col.flatten().to_numpy(zero_copy_only=False), 1)
        ends = col.offsets.to_numpy()[1:] - col.offsets.to_numpy()[0]
        out.append(np.insert(flat, ends, np.nan))
    return out[0], out[1]


def _nonempty(tables: Mapping[str, pa.Table], name: str) -> bool:
    return name in tables and tables[name].num_rows > 0


# --------------------------------------------------------------------------- the run's facts

@dataclass(frozen=True)
class Group:
    name: str
    label: str
    colour: str
    residents: int


@dataclass
class Section:
    """A figure with its heading, explanation and the CSV of the table behind it."""

    key: str
    heading: str
    intro: str
    fig: go.Figure
    csv_name: str
    csv_text: str
    after: str = ""  # extra HTML below the figure (tables, notes)


def _groups(tables: Mapping[str, pa.Table], summary: Mapping[str, Any]) -> list[Group]:
    g = tables.get("groups")
    if g is None or g.num_rows == 0:
        names = list(summary.get("captures_by_group") or {})
        labels = summary.get("group_labels") or {}
        return [Group(n, str(labels.get(n, n)), PALETTE[i % len(PALETTE)], 0)
                for i, n in enumerate(names)]
    order = np.argsort(_col(g, "group_id"))
    names = g.column("group").to_pylist()
    labels = g.column("label").to_pylist()
    residents = np.zeros(len(names), np.int64)
    people = tables.get("people")
    if people is not None and people.num_rows:
        residents = np.bincount(_col(people, "group_id").astype(np.int64),
                                minlength=len(names))
    return [Group(str(names[i]), str(labels[i] or names[i]), PALETTE[k % len(PALETTE)],
                  int(residents[int(_col(g, "group_id")[i])]))
            for k, i in enumerate(order)]


def _person_group(tables: Mapping[str, pa.Table]) -> np.ndarray:
    people = tables.get("people")
    if people is None or people.num_rows == 0:
        return np.zeros(0, np.int64)
    out = np.zeros(int(_col(people, "person_id").max()) + 1, np.int64)
    out[_col(people, "person_id")] = _col(people, "group_id")
    return out


@dataclass
class AlertFacts:
    """Every alert with the truth behind it: whose face it was and whether it was right."""

    alert_id: np.ndarray
    t_s: np.ndarray
    x_m: np.ndarray
    y_m: np.ndarray
    person: np.ndarray
    group: np.ndarray
    score: np.ndarray
    is_true: np.ndarray


def _alert_facts(tables: Mapping[str, pa.Table], person_group: np.ndarray) -> AlertFacts:
    al = tables.get("alerts")
    caps = tables.get("captures")
    if al is None or al.num_rows == 0 or caps is None or caps.num_rows == 0:
        e = np.zeros(0)
        ei = np.zeros(0, np.int64)
        return AlertFacts(ei, e, e, e, ei, ei, e, np.zeros(0, bool))
    cid = _col(caps, "capture_id").astype(np.int64)
    row_of = np.full(int(cid.max()) + 1, -1, np.int64)
    row_of[cid] = np.arange(cid.size)
    row = row_of[_col(al, "capture_id").astype(np.int64)]
    person = _col(caps, "person_id").astype(np.int64)[row]
    wl = tables.get("watchlist")
    claimed = (claimed_person(wl, al) if wl is not None and wl.num_rows
               else np.full(al.num_rows, -1, np.int64))
    return AlertFacts(
        alert_id=_col(al, "alert_id").astype(np.int64), t_s=_col(al, "t_s"),
        x_m=_col(caps, "x_m").astype(np.float64)[row],
        y_m=_col(caps, "y_m").astype(np.float64)[row],
        person=person, group=person_group[person] if person_group.size else person * 0,
        score=_col(al, "score").astype(np.float64),
        is_true=(claimed >= 0) & (claimed == person))


def _metadata(tables: Mapping[str, pa.Table], summary: Mapping[str, Any]) -> dict[str, str]:
    """Seed, versions and hash from the files' own metadata (the summary as a fallback)."""
    out = {k: str(summary[k]) for k in ("scenario", "seed", "replication", "scenario_hash",
                                        "schema_version", "survsim_version")
           if summary.get(k) is not None}
    for t in tables.values():
        md = t.schema.metadata or {}
        if b"seed" in md:
            out.update({k.decode(): v.decode() for k, v in md.items()
                        if k.decode() in ("scenario", "seed", "replication", "scenario_hash",
                                          "schema_version", "survsim_version",
                                          "map_attribution")})
            break
    return out


# --------------------------------------------------------------------------- headlines

def _rates(summary: Mapping[str, Any], groups: Sequence[Group]) -> list[tuple[Group, float]]:
    rates = summary.get("false_alert_rate_by_group") or {}
    return [(g, float(rates[g.name])) for g in groups if rates.get(g.name) is not None]


def group_rates(summary: Mapping[str, Any], groups: Sequence[Group],
                captures_not_listed: Sequence[int]) -> dict[str, dict[str, Any]]:
    """Each group's false alerts on people not listed, the captures of such people, the rate
    with its exact interval and whether it has too few events to tell (analysis.rates)."""
    false = (summary.get("false_alerts_unlisted_by_group")
             or summary.get("false_alerts_by_group") or {})
    return rates.group_rates({g.name: int(false.get(g.name, 0) or 0) for g in groups},
                             {g.name: int(n) for g, n in zip(groups, captures_not_listed,
                                                               strict=True)})


def parity(summary: Mapping[str, Any], groups: Sequence[Group],
           captures_not_listed: Sequence[int]) -> list[dict[str, Any]]:
    """Each group's false-alert rate against the most favourably treated group's (the lowest
    rate among groups with enough events), the four-fifths rule for an adverse outcome: a group
    is *outside* when its rate is more than 5/4 of that group's and the difference is
    significant (exact test, p < 0.05); a group with fewer than ``rates.FEW_EVENTS`` false
    alerts is *too few to tell* (analysis.rates.parity)."""
    r = group_rates(summary, groups, captures_not_listed)
    par = rates.parity(r)
    rows = []
    for g in groups:
        q, p = r[g.name], par[g.name]
        rows.append({"group": g.name, "label": g.label, "rate": q["rate"], "ci": q["ci"],
                     "false_alerts": q["false_alerts"], "best": p["best"],
                     "ratio": p["ratio"], "ratio_ci": p["ci"], "p": p["p"],
                     "verdict": p["verdict"], "uncertain": q["too_few"],
                     "within": p["verdict"] == "within"})
    return rows


def headlines(summary: Mapping[str, Any], groups: Sequence[Group],
              scenario: Mapping[str, Any], n_cameras: int) -> list[tuple[str, str]]:
    """The headline findings, as (key, sentence) pairs, generated from the summary's numbers.

    Robust to runs without captures, alerts, stops or gatherings (and to missing keys).
    """
    s = summary
    out: list[tuple[str, str]] = []
    label = {g.name: g.label for g in groups}
    people = int(s.get("people") or 0)
    captures = int(s.get("captures") or 0)
    duration = _duration(float(s.get("duration_s") or 0.0))
    banned = bool((scenario.get("governance") or {}).get("ban"))
    if captures:
        out.append(("captures", f"Over {duration}, {_plural(n_cameras, 'camera')} captured "
                                f"{_num(captures)} faces of the city's {_num(people)} residents."))
    else:
        why = " (face recognition was banned in this scenario)" if banned else ""
        out.append(("captures", f"Over {duration}, no faces of the city's {_num(people)} "
                                f"residents were captured{why}."))

    alerts = int(s.get("alerts") or 0)
    false = int(s.get("false_alerts") or 0)
    share = s.get("false_alert_share")
    if alerts and share is not None:
        out.append(("false_share", f"Of every 100 alerts, {100 * share:.0f} pointed at the "
                                   f"wrong person ({_num(false)} of "
                                   f"{_plural(alerts, 'alert')})."))
    else:
        out.append(("false_share", "The system raised no alerts, so nobody was falsely "
                                   "flagged."))

    d = s.get("false_alert_disparity")
    label = {g.name: g.label for g in groups}
    few = [label.get(g, g) for g, v in (s.get("false_alert_too_few_by_group") or {}).items()
           if v and g in label]
    rate = s.get("false_alert_rate_by_group") or {}
    if d and d.get("group") in label and d.get("reference") in label:
        lo, hi = d["ci"]
        text = (f"{label[d['group']]} were {d['ratio']:.1f} times as likely as "
                f"{label[d['reference']]} to be falsely flagged each time their face was "
                f"captured (95% interval {lo:.1f} to "
                f"{'unbounded' if hi is None else f'{hi:.1f}'} times; "
                f"{_rate(rate.get(d['group']))} against {_rate(rate.get(d['reference']))} "
                f"false alerts per 1,000 captures).")
        if few:
            text += (f" Too few false alerts to tell for {_plural(len(few), 'group')} "
                     f"({', '.join(few)}): fewer than {rates.FEW_EVENTS} each, so they are "
                     f"not compared.")
        out.append(("disparity", text))
    elif alerts and false:
        ref = label.get(str(s.get("false_alert_reference_group")), "none")
        out.append(("disparity", f"Too few false alerts to compare groups: "
                                 f"{', '.join(few) or 'the groups'} had fewer than "
                                 f"{rates.FEW_EVENTS} each (or the reference group, {ref}, "
                                 f"did), and a rate resting on so few says little."))
    elif alerts:
        out.append(("disparity", "No group had false alerts, so groups cannot be compared."))

    present = int(s.get("watchlist_present") or 0)
    found = s.get("watchlist_detected_share")
    if present and found is not None:
        out.append(("detected", f"The system found {round(found * present)} of the {present} "
                                f"people on the watchlist who live in the city ({_pct(found)})."))

    rej = s.get("false_alerts_rejected_share")
    if rej is not None:
        backlog = int(s.get("review_backlog_max") or 0)
        cf = int(s.get("confirmed_false_alerts") or 0)
        out.append(("review", f"Human reviewers rejected {_pct(rej)} of the false alerts; "
                              f"{_plural(cf, 'false alert')} went through (confirmed, or acted "
                              f"on unreviewed). Up to {_plural(backlog, 'alert')} waited for a "
                              "reviewer at once."))

    stops = int(s.get("stops") or 0)
    wrongful = int(s.get("wrongful_stops") or 0)
    missed = int(s.get("missed_intercepts") or 0)
    if stops or missed:
        text = (f"Officers acted on alerts: {_plural(stops, 'stop')}, of which "
                f"{_plural(int(s.get('arrests') or 0), 'arrest')} of a listed person and "
                f"{_plural(wrongful, 'wrongful stop')} of someone who was not the person "
                "sought")
        text += (f"; {_plural(missed, 'alert')} came too late to act on." if missed else ".")
        med = s.get("intercept_time_s_median")
        if med is not None:
            text += f" Officers took a median of {_duration(med)} to reach the person."
        out.append(("stops", text))
    per100k = s.get("wrongful_stops_per_100k_by_group") or {}
    by_group = s.get("wrongful_stops_by_group") or {}
    if wrongful:
        vals = [(g, float(per100k[g.name])) for g in groups if per100k.get(g.name) is not None]
        hi_g, hi = max(vals, key=lambda x: x[1])
        text = (f"Per 100,000 residents, {hi_g.label} were stopped wrongfully most often "
                f"({_rate(hi)}, from {_plural(int(by_group.get(hi_g.name, 0)), 'stop')})")
        pos = [(g, r) for g, r in vals if r > 0]
        zero = [g.label for g, r in vals if r == 0]
        if len(pos) >= 2:
            lo_g, lo = min(pos, key=lambda x: x[1])
            text += f"; {lo_g.label} least often among those stopped at all ({_rate(lo)})"
        text += "."
        if zero:
            text += f" {', '.join(zero)}: none."
        if wrongful < 20:
            text += (f" With {_plural(wrongful, 'wrongful stop')} in all, these differences are "
                     "uncertain.")
        out.append(("wrongful_per_100k", text))

    reach = s.get("tracking_reach_mean")
    if reach is not None:
        home = s.get("home_inferred_share")
        text = (f"From the faces it held at the end of the run, the system knew where the "
                f"average resident was (to within 15 minutes) for {_pct(reach)} of their time "
                f"away from home")
        linked = s.get("trips_linked_share_mean")
        if linked is not None:
            text += f", and saw them on {_pct(linked)} of their trips"
        text += "."
        if home is not None:
            text += (f" Night-time sightings pointed to the home of {_pct(home, 1)} of "
                     "residents")
            chance = s.get("home_inferred_chance_share")
            text += (f" (guessing from the same places at random would hit {_pct(chance, 1)})."
                     if chance is not None else ".")
        wrong = s.get("false_links")
        precision = s.get("tracking_precision_mean")
        if wrong and precision is not None:
            believed = s.get("tracking_reach_believed_mean")
            text += (f" Its searches of kept captures also linked {_num(wrong)} captures to the "
                     f"wrong person: {_pct(precision)} of what it held on the average person "
                     f"was really theirs"
                     + (f", and counting every link it would claim {_pct(believed)} of their "
                        f"time away." if believed is not None else "."))
        out.append(("tracking", text))

    gatherings = int(s.get("gatherings") or 0)
    alarms = int(s.get("assembly_alarms") or 0)
    false_alarms = int(s.get("false_assembly_alarms") or 0)
    if gatherings:
        det = int(s.get("gatherings_detected") or 0)
        lat = s.get("assembly_detection_latency_s")
        after = (f", {'a median of ' if det > 1 else ''}{_duration(lat)} after "
                 f"{'they' if det > 1 else 'it'} began" if det and lat is not None else "")
        if gatherings == 1:
            text = ("The system's assembly detector "
                    + (f"spotted the gathering{after}, from flagged faces of people taking part"
                       if det else "missed the gathering")
                    + " (routine crowds such as markets are not counted as gatherings).")
            near = int(s.get("gatherings_near_alarm") or 0)
            if near > det:
                text += (" An alarm did go off nearby while it was under way, but it was "
                         "raised by other flagged passers-by, not by the participants, so it "
                         "is not counted as spotting it.")
        else:
            text = (f"Of {_num(gatherings)} gatherings (routine crowds such as markets aside), "
                    f"the system's assembly detector spotted {det}{after}.")
        text += (f" {_plural(false_alarms, 'assembly alarm')} out of {_num(alarms)} pointed at "
                 "no real gathering (false alarms)." if alarms else
                 " It raised no assembly alarms.")
        named = [(label.get(k, k), float(v)) for k, v in
                 (s.get("participants_identified_share_by_group") or {}).items()
                 if v is not None]
        if named:
            lo_n, hi_n = min(named, key=lambda x: x[1]), max(named, key=lambda x: x[1])
            text += (f" Afterwards the system could place between {_pct(lo_n[1])} "
                     f"({lo_n[0]}) and {_pct(hi_n[1])} ({hi_n[0]}) of each group's "
                     "participants at the gathering, from captures taken there that it held "
                     "and had linked to them.")
        out.append(("gatherings", text))
    elif alarms:
        out.append(("gatherings", f"No real gathering took place, yet the assembly detector "
                                  f"raised {_plural(alarms, 'alarm')}: all false alarms."))

    patrol = int(s.get("patrol_stops") or 0)
    if patrol:
        out.append(("patrol", f"Patrol officers stopped {_plural(patrol, 'person', 'people')}; "
                              f"{_num(int(s.get('patrol_scans') or 0))} of these stops "
                              "included a face scan."))
    checks = int(s.get("verifications") or 0)
    if checks:
        refused = _plural(int(s.get("false_rejects") or 0), "genuine person", "genuine people")
        tries = int(s.get("impostor_attempts") or 0)
        out.append(("verifications",
                    f"At the facility's doors, {_num(checks)} face checks wrongly refused "
                    f"{refused}"
                    + (f" and let in {_num(int(s.get('false_accepts') or 0))} of "
                       f"{_plural(tries, 'impostor')}." if tries else
                       "; nobody tried to pass as someone else.")))
    return out


# --------------------------------------------------------------------------- figures

def _layout(fig: go.Figure, height: int, **kw: Any) -> go.Figure:
    fig.update_layout(template="plotly_white", height=height,
                      margin={"l": 60, "r": 20, "t": 50, "b": 50},
                      font={"family": "system-ui, -apple-system, Segoe UI, Helvetica, Arial, "
                                      "sans-serif", "size": 13},
                      hoverlabel={"align": "left"}, **kw)
    return fig


def _group_section(summary: Mapping[str, Any], groups: Sequence[Group],
                   unlisted_caps: np.ndarray) -> Section:
    caps = summary.get("captures_by_group") or {}
    false = summary.get("false_alerts_by_group") or {}
    weights = [int(c) for c in unlisted_caps]
    par = {p["group"]: p for p in parity(summary, groups, weights)}
    labels = [g.label for g in groups][::-1]  # first group at the top
    rows = list(groups)[::-1]
    fig = make_subplots(rows=1, cols=3, shared_yaxes=True, horizontal_spacing=0.04,
                        subplot_titles=("Faces captured", "False alerts",
                                        "False alerts per 1,000 captures"))
    custom = [[g.label, _num(caps.get(g.name, 0)), _num(int(unlisted_caps[groups.index(g)])),
               _num(false.get(g.name, 0)), _rate(par[g.name]["rate"]), _num(g.residents)]
              for g in rows]
    hover = ("<b>%{customdata[0]}</b><br>residents: %{customdata[5]}<br>"
             "faces captured: %{customdata[1]} (of people not on the watchlist: "
             "%{customdata[2]})<br>false alerts: %{customdata[3]}<br>"
             "rate: %{customdata[4]} per 1,000 captures<extra></extra>")
    colours = [g.colour for g in rows]
    for col, values in enumerate((
            [caps.get(g.name, 0) for g in rows], [false.get(g.name, 0) for g in rows],
            [par[g.name]["rate"] or 0.0 for g in rows]), start=1):
        fig.add_trace(go.Bar(x=values, y=labels, orientation="h", marker_color=colours,
                             customdata=custom, hovertemplate=hover, showlegend=False,
                             text=[_rate(v) if col == 3 else _num(v) for v in values],
                             textposition="auto", cliponaxis=False), row=1, col=col)
    _layout(fig, 90 + 38 * max(len(groups), 3))
    fig.update_layout(margin={"l": 170, "t": 40})
    fig.update_xaxes(rangemode="tozero")
    if not sum(int(caps.get(g.name, 0) or 0) for g in groups):
        fig.add_annotation(text="No faces were captured in this run.", showarrow=False,
                           x=0.5, y=0.5, xref="paper", yref="paper", font={"size": 16},
                           bgcolor="white")
    csv_text = _csv(["group", "label", "residents", "captures", "captures_not_listed",
                     "false_alerts", "false_alert_rate_per_1000", "rate_ci_low", "rate_ci_high",
                     "ratio_to_best_treated_group", "four_fifths_rule"],
                    [[g.name, g.label, g.residents, caps.get(g.name, 0), int(unlisted_caps[i]),
                      false.get(g.name, 0), par[g.name]["rate"],
                      *(par[g.name]["ci"] or (None, None)), par[g.name]["ratio"],
                      par[g.name]["verdict"]] for i, g in enumerate(groups)])
    return Section("groups", "Who was falsely flagged",
                   "A false alert is the system matching someone's face to a watchlist entry "
                   "that is somebody else. The rate divides each group's false alerts by the "
                   "number of times faces of that group's residents who are not on the "
                   "watchlist were captured, so groups of different sizes can be compared. "
                   "Hover over a bar for the counts.",
                   fig, "false_alerts_by_group.csv", csv_text,
                   after=_parity_table(summary, groups, weights))


def _parity_table(summary: Mapping[str, Any], groups: Sequence[Group],
                  captures_not_listed: Sequence[int]) -> str:
    rows = parity(summary, groups, captures_not_listed)
    best = next((r["best"] for r in rows if r["best"]), None)
    best_label = next((g.label for g in groups if g.name == best), None)
    body = []
    for r in rows:
        cls = ("ok" if r["within"] else "na" if r["ratio"] is None else "high")
        ci = r["ci"]
        rate = (f"{_rate(r['rate'])} ({_rate(ci[0])} to {_rate(ci[1])})" if ci
                else _rate(r["rate"]))
        if r["ratio"] is not None:
            lo, hi = r["ratio_ci"] or (None, None)
            ratio = (f"{r['ratio']:.2f} × ({'' if lo is None else f'{lo:.2f}'} to "
                     f"{'unbounded' if hi is None else f'{hi:.2f}'})")
        else:
            ratio = "n/a"
        body.append(f"<tr class='{cls}'><td>{_esc(r['label'])}</td>"
                    f"<td class='n'>{_num(r['false_alerts'])}</td>"
                    f"<td class='n'>{_esc(rate)}</td>"
                    f"<td class='n'>{_esc(ratio)}</td><td>{_esc(r['verdict'])}</td></tr>")
    return (
        "<h3>Parity check: the four-fifths rule</h3>"
        "<p>Each group's false-alert rate (with its exact 95% interval) is compared with the "
        "rate of the <b>most favourably treated group</b>, the group with the lowest rate "
        "among those with enough false alerts to tell ("
        + (f"here {_esc(best_label)}" if best_label else "none in this run")
        + "). The US four-fifths rule compares each group with the group treated best; for an "
        "adverse outcome such as being falsely flagged, a group is <b>outside</b> when its "
        f"rate is more than 5/4 of that group's and the difference is statistically "
        f"significant (exact test, p &lt; 0.05). A group with fewer than {rates.FEW_EVENTS} "
        "false alerts is <b>too few to tell</b>: its rate is shown but not compared.</p>"
        "<table class='parity'><thead><tr><th>Group</th><th>False alerts</th>"
        "<th>Rate per 1,000 captures (95% interval)</th>"
        "<th>Compared with the best-treated group (95% interval)</th>"
        "<th>Four-fifths rule</th></tr></thead><tbody>" + "".join(body) + "</tbody></table>")


def _stops_section(summary: Mapping[str, Any], groups: Sequence[Group]) -> Section:
    per100k = summary.get("wrongful_stops_per_100k_by_group") or {}
    by_group = summary.get("wrongful_stops_by_group") or {}
    rows = list(groups)[::-1]
    values = [float(per100k.get(g.name) or 0.0) for g in rows]
    fig = go.Figure(go.Bar(
        x=values, y=[g.label for g in rows], orientation="h",
        marker_color=[g.colour for g in rows],
        text=[f"{_rate(v)} ({_plural(int(by_group.get(g.name, 0)), 'stop')})"
              for g, v in zip(rows, values, strict=True)],
        textposition="outside", cliponaxis=False,
        customdata=[[g.label, _num(by_group.get(g.name, 0)), _num(g.residents)] for g in rows],
        hovertemplate="<b>%{customdata[0]}</b><br>wrongful stops: %{customdata[1]}<br>"
                      "residents: %{customdata[2]}<br>%{x:.1f} per 100,000 residents"
                      "<extra></extra>"))
    _layout(fig, 90 + 38 * max(len(groups), 3), xaxis_title="wrongful stops per 100,000 "
                                                            "residents")
    fig.update_layout(margin={"l": 170, "t": 20})
    fig.update_xaxes(range=[0, max(max(values), 1.0) * 1.2])
    csv_text = _csv(["group", "label", "residents", "wrongful_stops",
                     "wrongful_stops_per_100k_residents"],
                    [[g.name, g.label, g.residents, by_group.get(g.name, 0), per100k.get(g.name)]
                     for g in groups])
    return Section("stops", "Wrongful stops",
                   "Officers sent to act on an alert stop the person whose face raised it. When "
                   "that person is not the one on the watchlist, the stop is wrongful. Counted "
                   "per 100,000 residents of each group.",
                   fig, "wrongful_stops_by_group.csv", csv_text)


def _repeat_section(summary: Mapping[str, Any], facts: AlertFacts, listed: np.ndarray,
                    groups: Sequence[Group], stops: pa.Table | None) -> Section:
    """Innocent people flagged (and stopped) more than once: a look-alike of a listed person
    is a look-alike at every capture."""
    false = ~facts.is_true
    person = facts.person[false]
    innocent = ~listed[person] if listed.size else np.ones(person.size, bool)
    who, times = np.unique(person[innocent], return_counts=True)
    group_of = dict(zip(facts.person.tolist(), facts.group.tolist(), strict=True))
    bins = (("once", times == 1), ("twice", times == 2), ("3 times or more", times >= 3))
    fig = go.Figure()
    rows = list(groups)[::-1]
    data: list[list[object]] = []
    index = {g.name: i for i, g in enumerate(groups)}  # groups are in group-id order
    for label, sel in bins:
        counts = np.bincount(np.array([group_of[p] for p in who[sel].tolist()], np.int64),
                             minlength=len(groups))
        fig.add_trace(go.Bar(x=[int(counts[index[g.name]]) for g in rows],
                             y=[g.label for g in rows], orientation="h",
                             name=f"flagged {label}"))
        data.extend([g.name, g.label, label, int(counts[index[g.name]])] for g in groups)
    fig.update_layout(barmode="stack")
    _layout(fig, 110 + 38 * max(len(groups), 3), xaxis_title="innocent people falsely flagged")
    fig.update_layout(margin={"l": 170, "t": 20})
    repeated = int((times >= 2).sum())
    intro = (f"{_plural(int(who.size), 'innocent person was', 'innocent people were')} falsely "
             f"flagged; {_plural(repeated, 'of them was', 'of them were')} flagged more than "
             f"once, {_num(int(times.max()) if times.size else 0)} times at most. A passer-by "
             f"who resembles a listed face resembles it at every capture (the share of the "
             f"resemblance that persists is an assumption, docs/face_match.md).")
    if stops is not None and stops.num_rows:
        outcome = np.asarray(stops.column("outcome").to_pylist(), object)
        stopped = _col(stops, "person_id").astype(np.int64)[outcome == "wrongful_stop"]
        _, n_stops = np.unique(stopped, return_counts=True)
        intro += (f" Officers stopped {_plural(int(n_stops.size), 'innocent person')}, "
                  f"{_plural(int((n_stops >= 2).sum()), 'of them', 'of them')} more than once.")
    return Section("repeats", "The same people, flagged again and again", intro, fig,
                   "people_falsely_flagged.csv",
                   _csv(["group", "label", "flagged", "people"], data))


def _map_section(tables: Mapping[str, pa.Table], facts: AlertFacts,
                 groups: Sequence[Group], attribution: str | None = None) -> Section:
    fig = go.Figure()
    rows: list[list[object]] = []
    edges = tables.get("edges")
    if edges is not None and edges.num_rows:
        # One trace for all streets: vertices with a gap (None) after each street.
        xs, ys = _polylines(edges)
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name="streets",
                                 line={"color": "#d5d8dc", "width": 1},
                                 hoverinfo="skip"))
    nodes = tables.get("nodes")
    if nodes is not None and nodes.num_rows:
        nx, ny = _col(nodes, "x_m"), _col(nodes, "y_m")
        district = [str(d) for d in nodes.column("district").to_pylist()]
        fig.add_trace(go.Scatter(
            x=nx, y=ny, mode="markers", name="street crossings",
            marker={"size": 4, "color": "#c8ccd0"}, text=district,
            hovertemplate="crossing (%{text})<extra></extra>"))
        rows += [["street crossing", float(x), float(y), d, None]
                 for x, y, d in zip(nx, ny, district, strict=True)]
    cams = tables.get("cameras")
    if cams is not None and cams.num_rows:
        cx, cy = _col(cams, "x_m"), _col(cams, "y_m")
        dep = [str(d) for d in cams.column("deployment").to_pylist()]
        kind = [str(k) for k in cams.column("kind").to_pylist()]
        fig.add_trace(go.Scatter(
            x=cx, y=cy, mode="markers", name="cameras",
            marker={"size": 10, "color": RIGHT, "symbol": "triangle-up", "opacity": 0.6},
            text=[f"{d} ({k})" for d, k in zip(dep, kind, strict=True)],
            hovertemplate="camera: %{text}<extra></extra>"))
        rows += [["camera", float(x), float(y), f"{d} ({k})", None]
                 for x, y, d, k in zip(cx, cy, dep, kind, strict=True)]
    label = [g.label for g in groups]
    wrong = ~facts.is_true
    if wrong.any():
        who = [label[int(g)] if int(g) < len(label) else "" for g in facts.group[wrong]]
        text = [f"{_clock(t)}<br>face of: {w}<br>score {sc:.3f}" for t, w, sc in
                zip(facts.t_s[wrong], who, facts.score[wrong], strict=True)]
        fig.add_trace(go.Scatter(
            x=facts.x_m[wrong], y=facts.y_m[wrong], mode="markers", name="false alerts",
            marker={"size": 7, "color": WRONG, "symbol": "x", "opacity": 0.75}, text=text,
            hovertemplate="<b>false alert</b><br>%{text}<extra></extra>"))
        rows += [["false alert", float(x), float(y), w, float(t)] for x, y, w, t in
                 zip(facts.x_m[wrong], facts.y_m[wrong], who, facts.t_s[wrong], strict=True)]
    st = tables.get("stops")
    if st is not None and st.num_rows and facts.alert_id.size:
        outcome = np.asarray(st.column("outcome").to_pylist(), object)
        sel = outcome == "wrongful_stop"
        if sel.any():
            pos = np.searchsorted(facts.alert_id, _col(st, "alert_id")[sel])
            pos = np.minimum(pos, facts.alert_id.size - 1)
            ok = facts.alert_id[pos] == _col(st, "alert_id")[sel]
            pos = pos[ok]
            t_stop = _col(st, "t_s")[sel][ok]
            who = [label[int(g)] if int(g) < len(label) else "" for g in facts.group[pos]]
            fig.add_trace(go.Scatter(
                x=facts.x_m[pos], y=facts.y_m[pos], mode="markers", name="wrongful stops",
                marker={"size": 13, "color": "rgba(0,0,0,0)",
                        "line": {"color": "#111", "width": 2}, "symbol": "circle"},
                text=[f"{_clock(t)}<br>person stopped: {w}" for t, w in
                      zip(t_stop, who, strict=True)],
                hovertemplate="<b>wrongful stop</b><br>%{text}<extra></extra>"))
            rows += [["wrongful stop", float(x), float(y), w, float(t)] for x, y, w, t in
                     zip(facts.x_m[pos], facts.y_m[pos], who, t_stop, strict=True)]
    g = tables.get("gatherings")
    if g is not None and g.num_rows:
        routine = _col(g, "routine").astype(bool)
        names = [str(n) for n in g.column("name").to_pylist()]
        text = [f"{n}{' (routine crowd)' if r else ''}: {_num(int(sz))} people, "
                f"{_clock(s0)} to {_clock(s1)}" for n, r, sz, s0, s1 in zip(
                    names, routine, _col(g, "size"), _col(g, "start_s"), _col(g, "end_s"),
                    strict=True)]
        fig.add_trace(go.Scatter(
            x=_col(g, "x_m"), y=_col(g, "y_m"), mode="markers+text", name="gatherings",
            marker={"size": 20, "symbol": "star",
                    "color": ["#bdc3c7" if r else "#f1c40f" for r in routine],
                    "line": {"color": "#7d6608", "width": 1}},
            text=names, textposition="top center", customdata=text,
            hovertemplate="<b>gathering</b><br>%{customdata}<extra></extra>"))
        rows += [["gathering", float(x), float(y), t, float(s0)] for x, y, t, s0 in zip(
            _col(g, "x_m"), _col(g, "y_m"), text, _col(g, "start_s"), strict=True)]
    aa = tables.get("assembly_alerts")
    if aa is not None and aa.num_rows:
        fig.add_trace(go.Scatter(
            x=_col(aa, "x_m"), y=_col(aa, "y_m"), mode="markers", name="assembly alarms",
            marker={"size": 10, "color": "#8e44ad", "symbol": "diamond-open",
                    "line": {"width": 2}},
            text=[f"{_clock(t)}, {int(n)} flagged" for t, n in
                  zip(_col(aa, "t_s"), _col(aa, "n_flagged"), strict=True)],
            hovertemplate="<b>assembly alarm</b><br>%{text}<extra></extra>"))
        rows += [["assembly alarm", float(x), float(y), f"{int(n)} flagged", float(t)]
                 for x, y, n, t in zip(_col(aa, "x_m"), _col(aa, "y_m"), _col(aa, "n_flagged"),
                                       _col(aa, "t_s"), strict=True)]
    _layout(fig, 680, legend={"orientation": "h", "y": -0.08, "x": 0.5, "xanchor": "center"})
    # Axes in metres from the city's centre (the middle of its crossings), not in the map
    # projection's own coordinates (hundreds of kilometres on a real map's UTM grid).
    centre = (0.0, 0.0)
    if nodes is not None and nodes.num_rows:
        nx, ny = _col(nodes, "x_m"), _col(nodes, "y_m")
        centre = ((float(nx.min()) + float(nx.max())) / 2,
                  (float(ny.min()) + float(ny.max())) / 2)
    for trace in fig.data:
        if trace.x is not None and trace.y is not None:
            trace.x = [None if v is None else float(v) - centre[0] for v in trace.x]
            trace.y = [None if v is None else float(v) - centre[1] for v in trace.y]
    rows = [[*r, float(str(r[1])) - centre[0], float(str(r[2])) - centre[1]] for r in rows]
    fig.update_xaxes(title_text="metres east of the centre", showgrid=False, zeroline=False,
                     constrain="domain")
    fig.update_yaxes(title_text="metres north of the centre", showgrid=False, zeroline=False,
                     scaleanchor="x", scaleratio=1)
    fig.update_layout(margin={"t": 20})
    if attribution:  # ODbL: the map data's attribution travels with every map shown
        fig.add_annotation(text=html.escape(attribution.split(", https://")[0]), xref="paper",
                           yref="paper", x=1, y=0, xanchor="right", yanchor="bottom",
                           showarrow=False, font={"size": 10, "color": "#555"},
                           bgcolor="rgba(255,255,255,0.8)")
    layers = {str(r[0]) for r in rows}
    shown = [text for layer, text in (
        ("camera", "blue triangles are cameras"),
        ("false alert", "red crosses mark where someone was falsely flagged"),
        ("wrongful stop", "black rings where someone was wrongly stopped"),
        ("gathering", "stars the gatherings (yellow) and everyday crowds (grey)"),
        ("assembly alarm", "purple diamonds the assembly alarms")) if layer in layers]
    return Section("map", "Where it happened",
                   "The city seen from above: grey lines are the streets and grey dots the "
                   "crossings"
                   + (", " + ", ".join(shown) if shown else "") + ". Click a legend entry to "
                   "hide or show it; drag to zoom, double-click to reset."
                   + (f" {attribution}." if attribution else ""),
                   fig, "map_points.csv",
                   _csv(["layer", "x_m", "y_m", "detail", "t_s", "east_of_centre_m",
                         "north_of_centre_m"], rows))


def _hours(summary: Mapping[str, Any], *t_arrays: np.ndarray) -> np.ndarray:
    end_h = float(summary.get("duration_s") or 0.0) / 3600.0
    for t in t_arrays:
        if t.size:
            end_h = max(end_h, float(t.max()) / 3600.0)
    return np.arange(0, int(np.ceil(max(end_h, 1.0))) + 1)


def _alerts_section(summary: Mapping[str, Any], facts: AlertFacts) -> Section:
    edges = _hours(summary, facts.t_s)
    h = facts.t_s / 3600.0
    right = np.histogram(h[facts.is_true], bins=edges)[0]
    wrong = np.histogram(h[~facts.is_true], bins=edges)[0]
    mid = edges[:-1] + 0.5
    fig = go.Figure()
    fig.add_trace(go.Bar(x=mid, y=wrong, name="wrong person (false alert)", marker_color=WRONG,
                         customdata=[_clock(3600 * e) for e in edges[:-1]],
                         hovertemplate="hour from %{customdata}<br>%{y} false alerts"
                                       "<extra></extra>"))
    fig.add_trace(go.Bar(x=mid, y=right, name="right person", marker_color=RIGHT,
                         customdata=[_clock(3600 * e) for e in edges[:-1]],
                         hovertemplate="hour from %{customdata}<br>%{y} correct alerts"
                                       "<extra></extra>"))
    if not facts.t_s.size:
        fig.add_annotation(text="No alerts were raised in this run.", showarrow=False,
                           x=0.5, y=0.5, xref="paper", yref="paper", font={"size": 16})
        fig.update_yaxes(range=[0, 1])
    _layout(fig, 380, barmode="stack", bargap=0.1,
            legend={"orientation": "h", "y": 1.12, "x": 0},
            xaxis_title="hours since the start of the run (0 = midnight)",
            yaxis_title="alerts in the hour")
    csv_text = _csv(["hour_start", "hour_end", "alerts_right_person", "alerts_wrong_person"],
                    [[int(a), int(b), int(r), int(w)] for a, b, r, w in
                     zip(edges[:-1], edges[1:], right, wrong, strict=True)])
    return Section("alerts", "When it happened: alerts hour by hour",
                   "Each bar is one hour. Red: alerts that pointed at someone who was not the "
                   "person on the watchlist; blue: alerts that found the listed person.",
                   fig, "alerts_per_hour.csv", csv_text)


def _queue_section(summary: Mapping[str, Any], q: pa.Table) -> Section:
    order = np.argsort(_col(q, "t_s"), kind="stable")
    t = _col(q, "t_s")[order]
    w = _col(q, "waiting")[order]
    x = np.concatenate([[0.0], t / 3600.0])
    y = np.concatenate([[0], w])
    fig = go.Figure(go.Scatter(x=x, y=y, mode="lines", line_shape="hv", fill="tozeroy",
                               line={"color": "#d35400"}, name="alerts waiting",
                               hovertemplate="%{x:.2f} h: %{y} waiting<extra></extra>"))
    _layout(fig, 320, xaxis_title="hours since the start of the run (0 = midnight)",
            yaxis_title="alerts waiting for a reviewer", showlegend=False)
    fig.update_xaxes(range=[0, float(_hours(summary, t)[-1])])
    return Section("review_queue", "The review queue",
                   "How many alerts were waiting for a human reviewer at each moment. A long "
                   "queue means alerts are checked late, dropped, or acted on unchecked, "
                   "depending on the scenario's overflow rule.",
                   fig, "review_queue.csv",
                   _csv(["t_s", "waiting"], [[float(a), int(b)] for a, b in
                                             zip(t, w, strict=True)]))


def _assembly_section(summary: Mapping[str, Any], tables: Mapping[str, pa.Table]) -> Section:
    g = tables.get("gatherings")
    aa = tables.get("assembly_alerts")
    fig = go.Figure()
    rows: list[list[object]] = []
    at = _col(aa, "t_s") if aa is not None and aa.num_rows else np.zeros(0)
    ax = _col(aa, "x_m") if aa is not None and aa.num_rows else np.zeros(0)
    ay = _col(aa, "y_m") if aa is not None and aa.num_rows else np.zeros(0)
    nf = _col(aa, "n_flagged") if aa is not None and aa.num_rows else np.zeros(0, np.int64)
    real_hit = np.zeros(at.size, bool)
    routine_any = g is not None and bool(_col(g, "routine").astype(bool).any())
    top = float(max(nf.max(), 1)) * 1.15 if nf.size else 5.0
    if g is not None and g.num_rows:
        for name, x, y, s0, s1, size, routine in zip(
                g.column("name").to_pylist(), _col(g, "x_m"), _col(g, "y_m"),
                _col(g, "start_s"), _col(g, "end_s"), _col(g, "size"),
                _col(g, "routine").astype(bool), strict=True):
            hit = ((np.hypot(ax - x, ay - y) <= MATCH_RADIUS_M) & (at >= s0)
                   & (at <= s1 + AFTER_S))
            if not routine:
                real_hit |= hit
            kind = "routine crowd" if routine else "gathering"
            fig.add_trace(go.Scatter(
                x=[s0 / 3600, s1 / 3600, s1 / 3600, s0 / 3600, s0 / 3600],
                y=[0, 0, top, top, 0], fill="toself", mode="lines",
                line={"width": 0}, fillcolor=("rgba(150,150,150,0.25)" if routine
                                              else "rgba(241,196,15,0.35)"),
                name=f"{name} ({kind}, {_num(int(size))} people)", hoveron="fills",
                hoverinfo="name"))
            rows.append([f"{kind}: {name}", float(s0), float(s1), int(size), None, None])
    for sel, name, colour in ((real_hit, "alarm at a real gathering", "#8e44ad"),
                              (~real_hit, "false alarm", WRONG)):
        if sel.any():
            fig.add_trace(go.Scatter(
                x=at[sel] / 3600, y=nf[sel], mode="markers", name=name,
                marker={"size": 11, "color": colour, "symbol": "diamond"},
                customdata=[_clock(t) for t in at[sel]],
                hovertemplate=f"<b>{name}</b><br>%{{customdata}}<br>%{{y}} flagged people"
                              "<extra></extra>"))
    rows += [["alarm at a real gathering" if r else "false alarm", float(t), None, None,
              int(n), f"{x:.0f},{y:.0f}"] for t, n, r, x, y in
             zip(at, nf, real_hit, ax, ay, strict=True)]
    if not fig.data:  # a gathering-free run without alarms never gets here, but be safe
        fig.add_trace(go.Scatter(x=[0], y=[0], mode="markers", name="no alarms"))
    _layout(fig, 360, xaxis_title="hours since the start of the run (0 = midnight)",
            yaxis_title="flagged people counted by the alarm",
            legend={"orientation": "h", "y": 1.15, "x": 0})
    fig.update_xaxes(range=[0, float(_hours(summary, at)[-1])])
    fig.update_yaxes(range=[0, top], rangemode="tozero", dtick=max(1, int(np.ceil(top / 6))))
    return Section("assembly", "Gatherings and assembly alarms",
                   "Shaded bands are the gatherings that really took place (yellow)"
                   + (" and everyday crowds such as a market (grey)" if routine_any else "")
                   + ". Diamonds are the alarms the "
                   "assembly detector raised: purple when a real gathering was under way "
                   f"within {MATCH_RADIUS_M:.0f} m, red when there was none (a false alarm).",
                   fig, "assembly_alarms.csv",
                   _csv(["what", "t_s_or_start_s", "end_s", "size", "n_flagged", "x_m,y_m"],
                        rows))


def _reach_section(summary: Mapping[str, Any], tracking: pa.Table,
                   person_group: np.ndarray, groups: Sequence[Group]) -> Section | None:
    reach = _col(tracking, "reach")
    away = _col(tracking, "away_s")
    pid = _col(tracking, "person_id").astype(np.int64)
    moving = away > 0
    if not moving.any():
        return None
    grp = person_group[pid] if person_group.size > int(pid.max()) else np.zeros(pid.size,
                                                                                  np.int64)
    edges = np.linspace(0.0, 1.0, 21)
    mid = (edges[:-1] + edges[1:]) / 2 * 100
    fig = make_subplots(rows=1, cols=2, column_widths=[0.62, 0.38], horizontal_spacing=0.2,
                        subplot_titles=("Share of residents (%) by how much of their time "
                                        "away the system could place them",
                                        "Average reach by group"))
    header = ["reach_from", "reach_to", "everyone"]
    table: list[list[object]] = [[float(a), float(b)] for a, b in
                                 itertools.pairwise(edges)]
    everyone = np.histogram(np.clip(reach[moving], 0, 1), bins=edges)[0]
    share_all = everyone / max(everyone.sum(), 1) * 100
    fig.add_trace(go.Bar(x=mid, y=share_all, name="everyone", marker_color="#cfd8dc",
                         width=4.6, hovertemplate="reach %{x:.0f}% ± 2.5: %{y:.1f}% of "
                                                  "residents<extra>everyone</extra>"),
                  row=1, col=1)
    for row, v in zip(table, everyone, strict=True):
        row.append(int(v))
    means = []
    for gi, g in enumerate(groups):
        sel = moving & (grp == gi)
        counts = np.histogram(np.clip(reach[sel], 0, 1), bins=edges)[0]
        header.append(g.name)
        for row, v in zip(table, counts, strict=True):
            row.append(int(v))
        means.append(float(reach[sel].mean()) if sel.any() else None)
        if not sel.any():
            continue
        fig.add_trace(go.Scatter(x=mid, y=counts / sel.sum() * 100, mode="lines+markers",
                                 name=g.label, line={"color": g.colour, "width": 1.5},
                                 marker={"size": 4}, legendgroup=g.name,
                                 visible="legendonly",
                                 hovertemplate="reach %{x:.0f}% ± 2.5: %{y:.1f}% of "
                                               f"{_esc(g.label)}<extra></extra>"),
                      row=1, col=1)
    rows = list(range(len(groups)))[::-1]
    fig.add_trace(go.Bar(x=[(means[i] or 0.0) * 100 for i in rows],
                         y=[groups[i].label for i in rows], orientation="h",
                         marker_color=[groups[i].colour for i in rows], showlegend=False,
                         text=[_pct(means[i]) for i in rows], textposition="auto",
                         hovertemplate="%{y}: %{x:.1f}% on average<extra></extra>"),
                  row=1, col=2)
    fig.update_xaxes(title_text="reach: % of time away from home the system knew where they "
                                "were", range=[0, 100], row=1, col=1)
    fig.update_yaxes(title_text="% of residents who went out", row=1, col=1)
    fig.update_xaxes(title_text="average reach (%)", row=1, col=2)
    _layout(fig, 460, legend={"orientation": "h", "y": -0.25, "x": 0})
    fig.update_layout(margin={"b": 110})
    fig.update_annotations(font_size=13)
    return Section("reach", "How much of people's movements the system can rebuild",
                   "Reach is the share of a person's time away from home during which the "
                   "system, from the captures linked to them that it still held at the end of "
                   "the run, knew where they had been to within 15 minutes. Residents who never "
                   "left home are not counted. Click a group in the legend to draw its own "
                   "distribution over everyone's.",
                   fig, "tracking_reach_histogram.csv", _csv(header, table))


# --------------------------------------------------------------------------- the page

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif;
       color: #1d2327; background: #f6f7f9; margin: 0; line-height: 1.5; }
main { max-width: 1100px; margin: 0 auto; padding: 24px 28px 60px; background: #fff;
       box-shadow: 0 0 12px rgba(0,0,0,0.06); }
h1 { font-size: 1.9rem; margin: 0.2em 0 0.1em; }
h2 { font-size: 1.35rem; margin: 2.2em 0 0.4em; padding-top: 0.6em;
     border-top: 1px solid #e3e6ea; }
h3 { font-size: 1.1rem; margin: 1.6em 0 0.3em; }
.sub { color: #5f6b76; margin: 0 0 1em; }
.findings { background: #fdf6e3; border-left: 5px solid #e0a800; padding: 12px 20px 12px 16px;
            border-radius: 4px; }
.findings h2 { border: 0; margin: 0.2em 0 0.3em; padding: 0; }
.findings ul { margin: 0; padding-left: 1.2em; }
.findings li { margin: 0.45em 0; font-size: 1.05rem; }
.intro { max-width: 80ch; }
figure.fig { margin: 0.6em 0 0; }
.csv { font-size: 0.9rem; margin: 0.2em 0 0; }
.csv a { color: #1a5fa8; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.95rem; }
th, td { border-bottom: 1px solid #e3e6ea; padding: 5px 12px 5px 4px; text-align: left; }
th { background: #f0f2f5; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
tr.high td:last-child { color: #a93226; font-weight: 600; }
tr.low td:last-child { color: #9a6700; font-weight: 600; }
tr.ok td:last-child { color: #1e8449; }
tr.na td:last-child { color: #7f8c8d; }
.note { color: #5f6b76; font-size: 0.9rem; }
details { margin: 0.6em 0; }
summary { cursor: pointer; font-weight: 600; }
pre { background: #f6f8fa; padding: 12px; overflow-x: auto; font-size: 0.85rem;
      max-height: 600px; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; }
dl.meta dt { color: #5f6b76; } dl.meta dd { margin: 0; font-family: ui-monospace, monospace; }
nav { font-size: 0.92rem; margin: 0.6em 0 1.2em; }
nav a { margin-right: 14px; color: #1a5fa8; }
"""


def _csv_link(name: str, text: str) -> str:
    href = "data:text/csv;charset=utf-8," + urllib.parse.quote(text)
    return (f"<p class='csv'><a class='csv-link' download='{_esc(name)}' href='{href}'>"
            f"Download the data behind this figure ({_esc(name)})</a></p>")


def _figure_html(sec: Section) -> str:
    div = pio.to_html(sec.fig, full_html=False, include_plotlyjs=False, config=PLOT_CONFIG,
                      div_id=f"fig-{sec.key}", default_width="100%")
    return (f"<section id='{_esc(sec.key)}'><h2>{_esc(sec.heading)}</h2>"
            f"<p class='intro'>{_esc(sec.intro)}</p>"
            f"<figure class='fig' data-fig='{_esc(sec.key)}'>{div}</figure>"
            f"{_csv_link(sec.csv_name, sec.csv_text)}{sec.after}</section>")


def _about(meta: Mapping[str, str], scenario: Mapping[str, Any], resolved: str,
           caveats: Sequence[str] | None, sources: Sequence[str] | None) -> str:
    fm = scenario.get("facematch") or {}
    gov = scenario.get("governance") or {}
    model = str(fm.get("model", "unknown"))
    threshold = gov.get("threshold", fm.get("threshold"))
    rows = [("scenario", meta.get("scenario", scenario.get("name", ""))),
            ("seed", meta.get("seed", "")), ("replication", meta.get("replication", "")),
            ("scenario hash", meta.get("scenario_hash", "")),
            ("survsim version", meta.get("survsim_version", "")),
            ("schema version", meta.get("schema_version", "")),
            ("face-match model", model), ("threshold", threshold)]
    dl = "".join(f"<dt>{_esc(k)}</dt><dd>{_esc(v)}</dd>" for k, v in rows)
    if caveats:
        model_cav = "".join(f"<li>{_esc(c)}</li>" for c in caveats)
    else:
        model_cav = (f"<li>The caveats of the model <code>{_esc(model)}</code> were not passed "
                     f"to this report; see <code>docs/face_match.md</code> or run "
                     f"<code>survsim errors --model {_esc(model)}</code>.</li>")
    src = "".join(f"<li>{_esc(s)}</li>" for s in (sources or ()))
    general = "".join(f"<li>{_esc(c)}</li>" for c in GENERAL_CAVEATS)
    return (
        "<section id='about'><h2>About this run</h2>"
        f"<dl class='meta'>{dl}</dl>"
        "<p class='note'>The same scenario file and seed reproduce these numbers exactly.</p>"
        f"<h3>Caveats of the face-match model ({_esc(model)})</h3><ul class='caveats'>"
        f"{model_cav}</ul>"
        + (f"<h3>Sources of the model</h3><ul class='sources'>{src}</ul>" if src else "")
        + f"<h3>Reading these results</h3><ul class='caveats'>{general}</ul>"
        "<details><summary>Scenario settings (every value used, defaults filled in)</summary>"
        f"<pre>{_esc(resolved or '(scenario.resolved.toml not found)')}</pre></details>"
        "</section>")


def build_run_report(run_dir: Path, caveats: list[str] | None = None,
                     sources: list[str] | None = None, *, overwrite: bool = False) -> Path:
    """Write ``run_dir/report.html``: the run as one self-contained page; returns its path.

    Parameters
    ----------
    run_dir
        A run directory (``summary.json``, ``scenario.resolved.toml``, ``events/*.arrow`` and,
        if present, ``tracking.arrow``).
    caveats, sources
        The face-match model's caveats and sources (``sim.facematch.MODELS[name].caveats`` and
        ``.sources``). ``analysis`` may not import the simulator, so the caller at the edge (the
        CLI) passes them; without them the page says where to find them.
    overwrite
        Replace a ``report.html`` that survsim did not write (one it wrote is always replaced).
    """
    run_dir = Path(run_dir)
    summary: dict[str, Any] = json.loads((run_dir / "summary.json").read_text("utf-8"))
    resolved_path = run_dir / "scenario.resolved.toml"
    resolved = resolved_path.read_text("utf-8") if resolved_path.exists() else ""
    try:
        scenario: dict[str, Any] = tomllib.loads(resolved) if resolved else {}
    except tomllib.TOMLDecodeError:
        scenario = {}
    tables = read_run(run_dir)
    tracking_path = run_dir / "tracking.arrow"
    tracking = read_table(tracking_path) if tracking_path.exists() else None
    meta = _metadata(tables, summary)
    groups = _groups(tables, summary)
    person_group = _person_group(tables)
    facts = _alert_facts(tables, person_group)

    unlisted_caps = np.zeros(len(groups), np.int64)
    caps, people = tables.get("captures"), tables.get("people")
    if caps is not None and caps.num_rows and people is not None and people.num_rows:
        listed = np.zeros(person_group.size, bool)
        listed[_col(people, "person_id")] = _col(people, "is_listed")
        who = _col(caps, "person_id").astype(np.int64)
        unlisted_caps = np.bincount(person_group[who[~listed[who]]], minlength=len(groups))
    n_cameras = tables["cameras"].num_rows if "cameras" in tables else 0

    sections: list[Section] = []
    if groups:
        sections.append(_group_section(summary, groups, unlisted_caps))
    if int(summary.get("wrongful_stops") or 0) or int(summary.get("stops") or 0):
        sections.append(_stops_section(summary, groups))
    if int(summary.get("people_falsely_flagged") or 0) and people is not None:
        listed_of = np.zeros(person_group.size, bool)
        listed_of[_col(people, "person_id")] = _col(people, "is_listed")
        sections.append(_repeat_section(summary, facts, listed_of, groups, tables.get("stops")))
    sections.append(_map_section(tables, facts, groups, meta.get("map_attribution")))
    sections.append(_alerts_section(summary, facts))
    if _nonempty(tables, "review_queue"):
        sections.append(_queue_section(summary, tables["review_queue"]))
    if _nonempty(tables, "assembly_alerts") or int(summary.get("gatherings") or 0):
        sections.append(_assembly_section(summary, tables))
    if tracking is not None and tracking.num_rows:
        reach = _reach_section(summary, tracking, person_group, groups)
        if reach is not None:
            sections.append(reach)

    title = f"What the face-recognition system did: {meta.get('scenario', 'run')}"
    description = str(scenario.get("description", "") or "")
    findings = "".join(f"<li data-key='{_esc(k)}'>{_esc(t)}</li>"
                       for k, t in headlines(summary, groups, scenario, n_cameras))
    nav = "".join(f"<a href='#{_esc(s.key)}'>{_esc(s.heading)}</a>" for s in sections)
    page = (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{_esc(title)}</title><style>{CSS}</style>"
        f"<script type='text/javascript'>{get_plotlyjs()}</script></head>"
        f"<body data-figures='{len(sections)}'><main>"
        f"<h1>{_esc(title)}</h1>"
        f"<p class='sub'>{_esc(description)}{' ' if description else ''}A simulation by survsim "
        f"{_esc(meta.get('survsim_version', ''))}, seed {_esc(meta.get('seed', ''))}.</p>"
        f"<section class='findings' id='findings'><h2>Key findings</h2><ul>{findings}</ul>"
        "</section>"
        f"<nav>{nav}<a href='#about'>About this run</a></nav>"
        + "".join(_figure_html(s) for s in sections)
        + _about(meta, scenario, resolved, caveats, sources)
        + "</main></body></html>")
    return write_page(run_dir / REPORT_NAME, page, overwrite=overwrite)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m analysis.report RUN_DIR", file=sys.stderr)
        return 2
    print(build_run_report(Path(args[0])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
