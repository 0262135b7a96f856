"""The tables the command line prints: a run's summary, a sensitivity analysis's findings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from analysis.summary import Summary, as_summary
from sim.units import HOUR


def fmt(v: Any) -> str:
    """A figure for a table: thousands separated, three significant digits."""
    if v is None or (isinstance(v, float) and v != v):  # None or NaN
        return "n/a"
    if isinstance(v, float):
        return f"{v:,.3g}" if abs(v) < 1000 else f"{v:,.0f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def print_summary(out_console: Console, summary: Summary | Mapping[str, Any]) -> None:
    """The run table: the headline figures, each scenario's own outcome, and the groups."""
    s = as_summary(summary)
    head = Table(title=f"survsim run: {s.scenario} (seed {s.seed})", show_header=False)
    head.add_column("metric")
    head.add_column("value", justify="right")
    share = s.false_alert_share
    rows = [
        ("people", s.people),
        ("simulated hours", s.duration_s / HOUR),
        ("faces captured", s.captures),
        ("alerts", s.alerts),
        ("  pointing at the right person", s.true_alerts),
        ("  pointing at the wrong person", s.false_alerts),
        ("share of alerts that were wrong", "n/a" if share is None else f"{share:.1%}"),
        ("listed people in the city", s.watchlist_present),
        (
            "  of them detected",
            "n/a" if s.watchlist_detected_share is None else f"{s.watchlist_detected_share:.1%}",
        ),
        (
            "highest false-alert rate against " + _label(s, s.false_alert_reference_group),
            _disparity(s),
        ),
        *_own_outcome(s),
        ("wall time (s)", s.wall_s),
    ]
    for k, v in rows:
        head.add_row(k, fmt(v))
    out_console.print(head)
    groups = Table(
        title="By group (false alerts per 1,000 captures of people not listed; 95% intervals)"
    )
    for c in (
        "group",
        "captures",
        "false alerts",
        "rate per 1,000",
        "95% interval",
        "against the best-treated group",
    ):
        groups.add_column(
            c, justify="left" if c in ("group", "against the best-treated group") else "right"
        )
    labels = s.group_labels
    ci = s.false_alert_rate_ci_by_group
    parity = s.false_alert_parity_by_group
    for g, n in s.captures_by_group.items():
        lo_hi = ci.get(g)
        groups.add_row(
            labels.get(g, g),
            fmt(n),
            fmt(s.false_alerts_by_group[g]),
            fmt(s.false_alert_rate_by_group[g]),
            f"{fmt(lo_hi[0])} to {fmt(lo_hi[1])}" if lo_hi else "n/a",
            parity.get(g, ""),
        )
    out_console.print(groups)
    few = [labels.get(g, g) for g, v in s.false_alert_too_few_by_group.items() if v]
    if few:
        out_console.print(
            Text(
                f"too few to tell (fewer than 10 false alerts): "
                f"{', '.join(few)}; their rates are not ranked",
                style="dim",
            )
        )


def _own_outcome(s: Summary) -> list[tuple[str, Any]]:
    """The rows of what a scenario is about beyond street alerts, when it has them: facility
    checks, stops, review, patrols, gatherings."""
    rows: list[tuple[str, Any]] = []
    if s.verifications:
        rows += [
            ("identity checks at doors", s.verifications),
            ("  genuine people wrongly refused", s.false_rejects),
            ("  impostors let through", f"{s.false_accepts} of {s.impostor_attempts}"),
        ]
    if s.stops:
        rows += [
            ("stops by officers", s.stops),
            ("  of the wrong person", s.wrongful_stops),
            ("  people wrongfully stopped", s.people_wrongfully_stopped),
        ]
    if s.patrol_stops or s.patrol_scans:
        rows += [
            ("stops by patrol officers", s.patrol_stops),
            ("  with a body-cam face scan", s.patrol_scans),
        ]
    if s.false_alerts_rejected_share is not None:
        rows += [
            ("alerts confirmed by review", s.confirmed_alerts),
            ("  false alerts confirmed", s.confirmed_false_alerts),
        ]
    reach, believed = s.tracking_reach_mean, s.tracking_reach_believed_mean
    if reach or believed:
        rows += [
            (
                "time away rebuilt from kept captures",
                f"{reach or 0:.1%} truly, {believed or 0:.1%} as believed",
            ),
            ("  captures linked to the wrong person", s.false_links),
        ]
    if s.gatherings or s.assembly_alarms:
        rows += [
            ("gatherings", s.gatherings),
            ("  detected from participants' faces", s.gatherings_detected),
            ("  assembly alarms (false)", f"{s.assembly_alarms} ({s.false_assembly_alarms})"),
        ]
    return rows


def _label(s: Summary, group: str | None) -> str:
    return "the reference group" if group is None else str(s.group_labels.get(group, group))


def _disparity(s: Summary) -> str:
    """The headline disparity: the highest rate ratio to the reference group among groups with
    enough false alerts, with its 95% interval."""
    d = s.false_alert_disparity
    if not d:
        return "too few false alerts to tell"
    lo, hi = d.ci
    return (
        f"{_label(s, d.group)}: {d.ratio:.1f}x ({lo:.1f} to "
        f"{'unbounded' if hi is None else f'{hi:.1f}'})"
    )


def print_sensitivity(out_console: Console, result: dict[str, Any], title: str) -> None:
    """What moves each metric, and the verdicts, of a sensitivity analysis."""
    labels = result["labels"]
    shown = Table(title=title)
    shown.add_column("metric", no_wrap=True)
    for c in ("over the ranges", "as given"):
        shown.add_column(c, justify="right")
    shown.add_column("driven by", overflow="fold")
    for r in result["metric_ranges"]:
        if r["target"] != "scenario":
            continue
        span = "n/a" if r["low"] is None else f"{fmt(r['low'])} to {fmt(r['high'])}"
        drivers = ", ".join(labels.get(d, d) for d in r["drivers"]) or (
            r["note"] or "nothing beyond chance"
        )
        shown.add_row(r["metric"], span, fmt(r["given"]), drivers)
    out_console.print(shown)
    for v in result["verdicts"]:
        mark = "[green]robust[/green]" if v["robust"] else "[yellow]depends[/yellow]"
        out_console.print(f"{mark}  {v['text']}")
