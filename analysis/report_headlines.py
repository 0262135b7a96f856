"""The run report's key findings: plain-language sentences built from ``summary.json``.

``headlines`` returns them as (key, sentence) pairs in the order the page lists them, one topic
after another: what was captured, false alerts and who bears them, detection of listed people,
review, stops, tracking, assemblies, and outcomes particular to some scenarios (patrols, door
checks). Each topic's sentences come from one function below; a topic the run lacks adds none.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from analysis import rates
from analysis.report_base import Group, _duration, _num, _pct, _plural, _rate
from analysis.summary import Summary, as_summary

Finding = tuple[str, str]  # (key, sentence)


def headlines(
    summary: Summary | Mapping[str, Any],
    groups: Sequence[Group],
    scenario: Mapping[str, Any],
    n_cameras: int,
) -> list[Finding]:
    """The headline findings, as (key, sentence) pairs, generated from the summary's numbers.

    Robust to runs without captures, alerts, stops or gatherings (and to missing keys: they
    read as in a run where nothing happened, :class:`analysis.summary.Summary`).
    """
    summary = as_summary(summary)
    label = {g.name: g.label for g in groups}
    return [
        *_capture_findings(summary, scenario, n_cameras),
        *_false_alert_findings(summary, label),
        *_detection_findings(summary),
        *_review_findings(summary),
        *_stop_findings(summary),
        *_wrongful_stop_findings(summary, groups),
        *_tracking_findings(summary),
        *_assembly_findings(summary, label),
        *_scenario_findings(summary),
    ]


def _capture_findings(s: Summary, scenario: Mapping[str, Any], n_cameras: int) -> list[Finding]:
    """How many faces the cameras captured over the run, or why none were."""
    people = s.people
    captures = s.captures
    duration = _duration(s.duration_s)
    banned = bool((scenario.get("governance") or {}).get("ban"))
    if captures:
        return [
            (
                "captures",
                f"Over {duration}, {_plural(n_cameras, 'camera')} captured "
                f"{_num(captures)} faces of the city's {_num(people)} residents.",
            )
        ]
    why = " (face recognition was banned in this scenario)" if banned else ""
    return [
        (
            "captures",
            f"Over {duration}, no faces of the city's {_num(people)} residents were captured{why}.",
        )
    ]


def _false_alert_findings(s: Summary, label: Mapping[str, str]) -> list[Finding]:
    """The share of alerts that were wrong, then which groups bore the false alerts."""
    alerts = s.alerts
    false = s.false_alerts
    share = s.false_alert_share
    if alerts and share is not None:
        out = [
            (
                "false_share",
                f"Of every 100 alerts, {100 * share:.0f} pointed at the "
                f"wrong person ({_num(false)} of "
                f"{_plural(alerts, 'alert')}).",
            )
        ]
    else:
        out = [("false_share", "The system raised no alerts, so nobody was falsely flagged.")]
    return out + _disparity_findings(s, label, alerts, false)


def _disparity_findings(
    s: Summary, label: Mapping[str, str], alerts: int, false: int
) -> list[Finding]:
    """How much likelier one group was than the reference group to be falsely flagged."""
    d = s.false_alert_disparity
    few = [label.get(g, g) for g, v in s.false_alert_too_few_by_group.items() if v and g in label]
    rate = s.false_alert_rate_by_group
    if d and d.group in label and d.reference in label:
        lo, hi = d.ci
        text = (
            f"{label[d.group]} were {d.ratio:.1f} times as likely as "
            f"{label[d.reference]} to be falsely flagged each time their face was "
            f"captured (95% interval {lo:.1f} to "
            f"{'unbounded' if hi is None else f'{hi:.1f}'} times; "
            f"{_rate(rate.get(d.group))} against {_rate(rate.get(d.reference))} "
            f"false alerts per 1,000 captures)."
        )
        if few:
            text += (
                f" Too few false alerts to tell for {_plural(len(few), 'group')} "
                f"({', '.join(few)}): fewer than {rates.FEW_EVENTS} each, so they are "
                f"not compared."
            )
        return [("disparity", text)]
    if alerts and false:
        ref = label.get(str(s.false_alert_reference_group), "none")
        return [
            (
                "disparity",
                f"Too few false alerts to compare groups: "
                f"{', '.join(few) or 'the groups'} had fewer than "
                f"{rates.FEW_EVENTS} each (or the reference group, {ref}, "
                f"did), and a rate resting on so few says little.",
            )
        ]
    if alerts:
        return [("disparity", "No group had false alerts, so groups cannot be compared.")]
    return []


def _detection_findings(s: Summary) -> list[Finding]:
    """How many of the listed people living in the city the system found."""
    present = s.watchlist_present
    found = s.watchlist_detected_share
    if not (present and found is not None):
        return []
    return [
        (
            "detected",
            f"The system found {round(found * present)} of the {present} "
            f"people on the watchlist who live in the city ({_pct(found)}).",
        )
    ]


def _review_findings(s: Summary) -> list[Finding]:
    """What human review caught of the false alerts, and its longest queue."""
    rej = s.false_alerts_rejected_share
    if rej is None:
        return []
    backlog = s.review_backlog_max
    cf = s.confirmed_false_alerts
    return [
        (
            "review",
            f"Human reviewers rejected {_pct(rej)} of the false alerts; "
            f"{_plural(cf, 'false alert')} went through (confirmed, or acted "
            f"on unreviewed). Up to {_plural(backlog, 'alert')} waited for a "
            "reviewer at once.",
        )
    ]


def _stop_findings(s: Summary) -> list[Finding]:
    """What officers sent on alerts did: stops, arrests, wrongful stops, time to reach."""
    stops = s.stops
    wrongful = s.wrongful_stops
    missed = s.missed_intercepts
    if not (stops or missed):
        return []
    text = (
        f"Officers acted on alerts: {_plural(stops, 'stop')}, of which "
        f"{_plural(s.arrests, 'arrest')} of a listed person and "
        f"{_plural(wrongful, 'wrongful stop')} of someone who was not the person "
        "sought"
    )
    text += f"; {_plural(missed, 'alert')} came too late to act on." if missed else "."
    med = s.intercept_time_s_median
    if med is not None:
        text += f" Officers took a median of {_duration(med)} to reach the person."
    return [("stops", text)]


def _wrongful_stop_findings(s: Summary, groups: Sequence[Group]) -> list[Finding]:
    """Which groups were stopped wrongfully most and least often, per 100,000 residents."""
    wrongful = s.wrongful_stops
    if not wrongful:
        return []
    per100k = s.wrongful_stops_per_100k_by_group
    by_group = s.wrongful_stops_by_group
    vals = [(g, r) for g in groups if (r := per100k.get(g.name)) is not None]
    hi_g, hi = max(vals, key=lambda x: x[1])
    text = (
        f"Per 100,000 residents, {hi_g.label} were stopped wrongfully most often "
        f"({_rate(hi)}, from {_plural(int(by_group.get(hi_g.name, 0)), 'stop')})"
    )
    pos = [(g, r) for g, r in vals if r > 0]
    zero = [g.label for g, r in vals if r == 0]
    if len(pos) >= 2:
        lo_g, lo = min(pos, key=lambda x: x[1])
        text += f"; {lo_g.label} least often among those stopped at all ({_rate(lo)})"
    text += "."
    if zero:
        text += f" {', '.join(zero)}: none."
    if wrongful < 20:
        text += (
            f" With {_plural(wrongful, 'wrongful stop')} in all, these differences are uncertain."
        )
    return [("wrongful_per_100k", text)]


def _tracking_findings(s: Summary) -> list[Finding]:
    """How much of residents' movements, and which homes, the kept faces gave away."""
    reach = s.tracking_reach_mean
    if reach is None:
        return []
    home = s.home_inferred_share
    text = (
        f"From the faces it held at the end of the run, the system knew where the "
        f"average resident was (to within 15 minutes) for {_pct(reach)} of their time "
        f"away from home"
    )
    linked = s.trips_linked_share_mean
    if linked is not None:
        text += f", and saw them on {_pct(linked)} of their trips"
    text += "."
    if home is not None:
        text += f" Night-time sightings pointed to the home of {_pct(home, 1)} of residents"
        chance = s.home_inferred_chance_share
        text += (
            f" (guessing from the same places at random would hit {_pct(chance, 1)})."
            if chance is not None
            else "."
        )
    wrong = s.false_links
    precision = s.tracking_precision_mean
    if wrong and precision is not None:
        believed = s.tracking_reach_believed_mean
        text += (
            f" Its searches of kept captures also linked {_num(wrong)} captures to the "
            f"wrong person: {_pct(precision)} of what it held on the average person "
            f"was really theirs"
            + (
                f", and counting every link it would claim {_pct(believed)} of their time away."
                if believed is not None
                else "."
            )
        )
    return [("tracking", text)]


def _assembly_findings(s: Summary, label: Mapping[str, str]) -> list[Finding]:
    """Whether the assembly detector spotted the gatherings, its false alarms, and how many
    participants it could place there afterwards."""
    gatherings = s.gatherings
    alarms = s.assembly_alarms
    if not gatherings:
        if alarms:
            return [
                (
                    "gatherings",
                    f"No real gathering took place, yet the assembly detector "
                    f"raised {_plural(alarms, 'alarm')}: all false alarms.",
                )
            ]
        return []
    false_alarms = s.false_assembly_alarms
    text = _gatherings_spotted(s, gatherings)
    text += (
        f" {_plural(false_alarms, 'assembly alarm')} out of {_num(alarms)} pointed at "
        "no real gathering (false alarms)."
        if alarms
        else " It raised no assembly alarms."
    )
    named = [
        (label.get(k, k), float(v))
        for k, v in s.participants_identified_share_by_group.items()
        if v is not None
    ]
    if named:
        lo_n, hi_n = min(named, key=lambda x: x[1]), max(named, key=lambda x: x[1])
        text += (
            f" Afterwards the system could place between {_pct(lo_n[1])} "
            f"({lo_n[0]}) and {_pct(hi_n[1])} ({hi_n[0]}) of each group's "
            "participants at the gathering, from captures taken there that it held "
            "and had linked to them."
        )
    return [("gatherings", text)]


def _gatherings_spotted(s: Summary, gatherings: int) -> str:
    """The sentence on how many of the run's gatherings the detector spotted, and how soon."""
    det = s.gatherings_detected
    lat = s.assembly_detection_latency_s
    after = (
        f", {'a median of ' if det > 1 else ''}{_duration(lat)} after "
        f"{'they' if det > 1 else 'it'} began"
        if det and lat is not None
        else ""
    )
    if gatherings != 1:
        return (
            f"Of {_num(gatherings)} gatherings (routine crowds such as markets aside), "
            f"the system's assembly detector spotted {det}{after}."
        )
    text = (
        "The system's assembly detector "
        + (
            f"spotted the gathering{after}, from flagged faces of people taking part"
            if det
            else "missed the gathering"
        )
        + " (routine crowds such as markets are not counted as gatherings)."
    )
    near = s.gatherings_near_alarm
    if near > det:
        text += (
            " An alarm did go off nearby while it was under way, but it was "
            "raised by other flagged passers-by, not by the participants, so it "
            "is not counted as spotting it."
        )
    return text


def _scenario_findings(s: Summary) -> list[Finding]:
    """Outcomes only some scenarios have: patrol stops with face scans, and door checks."""
    out: list[Finding] = []
    patrol = s.patrol_stops
    if patrol:
        out.append(
            (
                "patrol",
                f"Patrol officers stopped {_plural(patrol, 'person', 'people')}; "
                f"{_num(s.patrol_scans)} of these stops "
                "included a face scan.",
            )
        )
    checks = s.verifications
    if checks:
        refused = _plural(s.false_rejects, "genuine person", "genuine people")
        tries = s.impostor_attempts
        out.append(
            (
                "verifications",
                f"At the facility's doors, {_num(checks)} face checks wrongly refused "
                f"{refused}"
                + (
                    f" and let in {_num(s.false_accepts)} of {_plural(tries, 'impostor')}."
                    if tries
                    else "; nobody tried to pass as someone else."
                ),
            )
        )
    return out
