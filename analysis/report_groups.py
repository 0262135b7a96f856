"""The run report's figures about who bore the system's errors, group by group: who was falsely
flagged (with the four-fifths parity table), wrongful stops per 100,000 residents, and the
innocent people flagged again and again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
import pyarrow as pa
from plotly.subplots import make_subplots

from analysis import rates
from analysis.report_base import (
    AlertFacts,
    Group,
    Section,
    _col,
    _csv,
    _esc,
    _layout,
    _num,
    _plural,
    _rate,
)
from analysis.summary import Summary
from sim.schema import WRONGFUL_STOP


def group_rates(
    summary: Summary, groups: Sequence[Group], captures_not_listed: Sequence[int]
) -> dict[str, dict[str, Any]]:
    """Each group's false alerts on people not listed, the captures of such people, the rate
    with its exact interval and whether it has too few events to tell (analysis.rates)."""
    false = summary.false_alerts_unlisted_by_group or summary.false_alerts_by_group
    return rates.group_rates(
        {g.name: int(false.get(g.name, 0) or 0) for g in groups},
        {g.name: int(n) for g, n in zip(groups, captures_not_listed, strict=True)},
    )


def parity(
    summary: Summary, groups: Sequence[Group], captures_not_listed: Sequence[int]
) -> list[dict[str, Any]]:
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
        rows.append(
            {
                "group": g.name,
                "label": g.label,
                "rate": q["rate"],
                "ci": q["ci"],
                "false_alerts": q["false_alerts"],
                "best": p["best"],
                "ratio": p["ratio"],
                "ratio_ci": p["ci"],
                "p": p["p"],
                "verdict": p["verdict"],
                "uncertain": q["too_few"],
                "within": p["verdict"] == "within",
            }
        )
    return rows


def _group_section(summary: Summary, groups: Sequence[Group], unlisted_caps: np.ndarray) -> Section:
    weights = [int(c) for c in unlisted_caps]
    par = {p["group"]: p for p in parity(summary, groups, weights)}
    return Section(
        "groups",
        "Who was falsely flagged",
        "A false alert is the system matching someone's face to a watchlist entry "
        "that is somebody else. The rate divides each group's false alerts by the "
        "number of times faces of that group's residents who are not on the "
        "watchlist were captured, so groups of different sizes can be compared. "
        "Hover over a bar for the counts.",
        _group_figure(summary, groups, unlisted_caps, par),
        "false_alerts_by_group.csv",
        _group_csv(summary, groups, unlisted_caps, par),
        after=_parity_table(summary, groups, weights),
    )


def _group_figure(
    summary: Summary,
    groups: Sequence[Group],
    unlisted_caps: np.ndarray,
    par: dict[str, dict[str, Any]],
) -> go.Figure:
    """Faces captured, false alerts and their rate, one bar per group in three panels."""
    caps = summary.captures_by_group
    false = summary.false_alerts_by_group
    labels = [g.label for g in groups][::-1]  # first group at the top
    rows = list(groups)[::-1]
    fig = make_subplots(
        rows=1,
        cols=3,
        shared_yaxes=True,
        horizontal_spacing=0.04,
        subplot_titles=("Faces captured", "False alerts", "False alerts per 1,000 captures"),
    )
    custom = [
        [
            g.label,
            _num(caps.get(g.name, 0)),
            _num(int(unlisted_caps[groups.index(g)])),
            _num(false.get(g.name, 0)),
            _rate(par[g.name]["rate"]),
            _num(g.residents),
        ]
        for g in rows
    ]
    hover = (
        "<b>%{customdata[0]}</b><br>residents: %{customdata[5]}<br>"
        "faces captured: %{customdata[1]} (of people not on the watchlist: "
        "%{customdata[2]})<br>false alerts: %{customdata[3]}<br>"
        "rate: %{customdata[4]} per 1,000 captures<extra></extra>"
    )
    colours = [g.colour for g in rows]
    bars: list[list[Any]] = [
        [caps.get(g.name, 0) for g in rows],
        [false.get(g.name, 0) for g in rows],
        [par[g.name]["rate"] or 0.0 for g in rows],
    ]
    for col, values in enumerate(bars, start=1):
        fig.add_trace(
            go.Bar(
                x=values,
                y=labels,
                orientation="h",
                marker_color=colours,
                customdata=custom,
                hovertemplate=hover,
                showlegend=False,
                text=[_rate(v) if col == 3 else _num(v) for v in values],
                textposition="auto",
                cliponaxis=False,
            ),
            row=1,
            col=col,
        )
    _layout(fig, 90 + 38 * max(len(groups), 3))
    fig.update_layout(margin={"l": 170, "t": 40})
    fig.update_xaxes(rangemode="tozero")
    if not sum(int(caps.get(g.name, 0) or 0) for g in groups):
        fig.add_annotation(
            text="No faces were captured in this run.",
            showarrow=False,
            x=0.5,
            y=0.5,
            xref="paper",
            yref="paper",
            font={"size": 16},
            bgcolor="white",
        )
    return fig


def _group_csv(
    summary: Summary,
    groups: Sequence[Group],
    unlisted_caps: np.ndarray,
    par: dict[str, dict[str, Any]],
) -> str:
    """The table behind the per-group figure, with each rate's interval and parity verdict."""
    caps = summary.captures_by_group
    false = summary.false_alerts_by_group
    return _csv(
        [
            "group",
            "label",
            "residents",
            "captures",
            "captures_not_listed",
            "false_alerts",
            "false_alert_rate_per_1000",
            "rate_ci_low",
            "rate_ci_high",
            "ratio_to_best_treated_group",
            "four_fifths_rule",
        ],
        [
            [
                g.name,
                g.label,
                g.residents,
                caps.get(g.name, 0),
                int(unlisted_caps[i]),
                false.get(g.name, 0),
                par[g.name]["rate"],
                *(par[g.name]["ci"] or (None, None)),
                par[g.name]["ratio"],
                par[g.name]["verdict"],
            ]
            for i, g in enumerate(groups)
        ],
    )


def _parity_table(
    summary: Summary, groups: Sequence[Group], captures_not_listed: Sequence[int]
) -> str:
    rows = parity(summary, groups, captures_not_listed)
    best = next((r["best"] for r in rows if r["best"]), None)
    best_label = next((g.label for g in groups if g.name == best), None)
    body = []
    for r in rows:
        cls = "ok" if r["within"] else "na" if r["ratio"] is None else "high"
        ci = r["ci"]
        rate = f"{_rate(r['rate'])} ({_rate(ci[0])} to {_rate(ci[1])})" if ci else _rate(r["rate"])
        if r["ratio"] is not None:
            lo, hi = r["ratio_ci"] or (None, None)
            ratio = (
                f"{r['ratio']:.2f} × ({'' if lo is None else f'{lo:.2f}'} to "
                f"{'unbounded' if hi is None else f'{hi:.2f}'})"
            )
        else:
            ratio = "n/a"
        body.append(
            f"<tr class='{cls}'><td>{_esc(r['label'])}</td>"
            f"<td class='n'>{_num(r['false_alerts'])}</td>"
            f"<td class='n'>{_esc(rate)}</td>"
            f"<td class='n'>{_esc(ratio)}</td><td>{_esc(r['verdict'])}</td></tr>"
        )
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
        "<th>Four-fifths rule</th></tr></thead><tbody>" + "".join(body) + "</tbody></table>"
    )


def _stops_section(summary: Summary, groups: Sequence[Group]) -> Section:
    per100k = summary.wrongful_stops_per_100k_by_group
    by_group = summary.wrongful_stops_by_group
    rows = list(groups)[::-1]
    values = [float(per100k.get(g.name) or 0.0) for g in rows]
    fig = go.Figure(
        go.Bar(
            x=values,
            y=[g.label for g in rows],
            orientation="h",
            marker_color=[g.colour for g in rows],
            text=[
                f"{_rate(v)} ({_plural(int(by_group.get(g.name, 0)), 'stop')})"
                for g, v in zip(rows, values, strict=True)
            ],
            textposition="outside",
            cliponaxis=False,
            customdata=[[g.label, _num(by_group.get(g.name, 0)), _num(g.residents)] for g in rows],
            hovertemplate="<b>%{customdata[0]}</b><br>wrongful stops: %{customdata[1]}<br>"
            "residents: %{customdata[2]}<br>%{x:.1f} per 100,000 residents"
            "<extra></extra>",
        )
    )
    _layout(fig, 90 + 38 * max(len(groups), 3), xaxis_title="wrongful stops per 100,000 residents")
    fig.update_layout(margin={"l": 170, "t": 20})
    fig.update_xaxes(range=[0, max(max(values), 1.0) * 1.2])
    csv_text = _csv(
        ["group", "label", "residents", "wrongful_stops", "wrongful_stops_per_100k_residents"],
        [
            [g.name, g.label, g.residents, by_group.get(g.name, 0), per100k.get(g.name)]
            for g in groups
        ],
    )
    return Section(
        "stops",
        "Wrongful stops",
        "Officers sent to act on an alert stop the person whose face raised it. When "
        "that person is not the one on the watchlist, the stop is wrongful. Counted "
        "per 100,000 residents of each group.",
        fig,
        "wrongful_stops_by_group.csv",
        csv_text,
    )


def _repeat_section(
    summary: Summary,
    facts: AlertFacts,
    listed: np.ndarray,
    groups: Sequence[Group],
    stops: pa.Table | None,
) -> Section:
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
        counts = np.bincount(
            np.array([group_of[p] for p in who[sel].tolist()], np.int64), minlength=len(groups)
        )
        fig.add_trace(
            go.Bar(
                x=[int(counts[index[g.name]]) for g in rows],
                y=[g.label for g in rows],
                orientation="h",
                name=f"flagged {label}",
            )
        )
        data.extend([g.name, g.label, label, int(counts[index[g.name]])] for g in groups)
    fig.update_layout(barmode="stack")
    _layout(fig, 110 + 38 * max(len(groups), 3), xaxis_title="innocent people falsely flagged")
    fig.update_layout(margin={"l": 170, "t": 20})
    repeated = int((times >= 2).sum())
    intro = (
        f"{_plural(int(who.size), 'innocent person was', 'innocent people were')} falsely "
        f"flagged; {_plural(repeated, 'of them was', 'of them were')} flagged more than "
        f"once, {_num(int(times.max()) if times.size else 0)} times at most. A passer-by "
        f"who resembles a listed face resembles it at every capture (the share of the "
        f"resemblance that persists is an assumption, docs/face_match.md)."
    )
    if stops is not None and stops.num_rows:
        outcome = np.asarray(stops.column("outcome").to_pylist(), object)
        stopped = _col(stops, "person_id").astype(np.int64)[outcome == WRONGFUL_STOP]
        _, n_stops = np.unique(stopped, return_counts=True)
        intro += (
            f" Officers stopped {_plural(int(n_stops.size), 'innocent person')}, "
            f"{_plural(int((n_stops >= 2).sum()), 'of them', 'of them')} more than once."
        )
    return Section(
        "repeats",
        "The same people, flagged again and again",
        intro,
        fig,
        "people_falsely_flagged.csv",
        _csv(["group", "label", "flagged", "people"], data),
    )
