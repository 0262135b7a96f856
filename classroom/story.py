"""The classroom's words: narration lines, and the end-of-day summary in plain sentences.

Every sentence is built from the figures of :mod:`classroom.measures` (never from a scenario's
intention): a group comparison is said only between groups with enough events to tell
(:data:`analysis.rates.FEW_EVENTS`), and otherwise the summary says there were too few.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from analysis.rates import FEW_EVENTS, disparity, group_rates, reference_group
from classroom.measures import Share
from sim.units import DAY

NARRATION_LINES = 8


def clock(t_s: float) -> str:
    """'07:30'; 'day 2, 07:30' from the second day; the very end of a day is its 24:00."""
    whole = round(t_s)
    day, rest = divmod(whole, int(DAY))
    if whole > 0 and rest == 0:
        day, rest = day - 1, int(DAY)
    h, m = divmod(rest // 60, 60)
    return f"{'day ' + str(day + 1) + ', ' if day else ''}{h:02d}:{m:02d}"


def singular(label: str) -> str:
    """'Black women' -> 'Black woman'; 'Minority men' -> 'minority man'."""
    words = label.split()
    if not words:
        return "person"
    last = {"women": "woman", "men": "man", "people": "person"}.get(words[-1].lower())
    if last is None:
        return f"member of the group {label}"
    first = words[:-1]
    if first and first[0] in ("Minority", "Majority"):
        first[0] = first[0].lower()
    return " ".join([*first, last])


def article(noun: str) -> str:
    return f"an {noun}" if noun[:1].lower() in "aeiou" else f"a {noun}"


def plural(n: int, one: str, many: str | None = None) -> str:
    """'1 face', '2 faces', '1 person', '3 people'."""
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


def capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def recent(narration: Sequence[tuple[float, str]], t: float) -> list[str]:
    """The latest lines up to ``t``, newest first; a sentence said again and again is one line
    with how often ("(x4 since 09:10)"), not a column of the same words."""
    seen = sorted((n for n in narration if n[0] <= t), key=lambda n: n[0], reverse=True)
    lines: list[tuple[float, str, int, float]] = []  # newest time, text, count, first time
    index: dict[str, int] = {}
    for ts, text in seen:
        if text in index:
            newest, _, count, _ = lines[index[text]]
            lines[index[text]] = (newest, text, count + 1, ts)
            continue
        if len(lines) == NARRATION_LINES:
            continue
        index[text] = len(lines)
        lines.append((ts, text, 1, ts))
    return [
        f"{clock(ts)}  {text}" + (f" (x{count} since {clock(first)})" if count > 1 else "")
        for ts, text, count, first in lines
    ]


def _compare(labels: list[str], k: list[int], n: list[int], what: str, per: str) -> str:
    """The report's headline disparity (:func:`analysis.rates.disparity`): the group with the
    highest rate ratio to the reference group (the first group, as the report and NIST take
    it), among groups with enough events, with its exact interval; said to be within chance
    when the interval reaches 1; or why no comparison can be made."""
    rates = group_rates(dict(zip(labels, k, strict=True)), dict(zip(labels, n, strict=True)))
    ref = reference_group(rates)
    d = disparity(rates, ref)
    if d is None:
        enough = sum(not r["too_few"] and r["captures"] > 0 for r in rates.values())
        return (
            f"Too few {what} to compare the groups with {ref or 'one another'}: "
            f"{plural(enough, 'group has', 'groups have')} {FEW_EVENTS} or more."
        )
    lo, hi = d["ci"]  # hi None: no upper limit
    said = f"{d['group']} had {d['ratio']:.1f} times the rate of {what} {per} of {ref}"
    upper = "no upper limit" if hi is None else f"{hi:.2g} times"
    chance = f"allowing for chance: {lo:.2g} to {upper}"
    if lo <= 1.0 and (hi is None or hi >= 1.0):
        return f"{said}, but chance alone could give that ({chance}): the two cannot be told apart."
    return f"{said} ({chance})."


def day_summary(snap: dict[str, Any], preset: str) -> list[str]:
    """The end-of-day summary: a few plain sentences from the final figures."""
    c = snap["counters"]
    labels = snap["groups"]["labels"]
    out: list[str] = []
    if preset == "ban":
        out.append(
            "Face recognition was banned: the cameras searched no face, so nobody was "
            "flagged, stopped or tracked by the system."
        )
        return out
    out.append(f"The cameras captured {plural(c['captures'], 'face')}.")
    if c["alerts"]:
        share = Share(c["false_alerts"], c["alerts"]).of_100()
        out.append(
            f"The system raised {plural(c['alerts'], 'alert')}: {c['true_alerts']:,} pointed "
            f"at a person on the watchlist and {c['false_alerts']:,} at someone else ({share} "
            f"of every 100 alerts wrong)."
        )
        g = snap["groups"]
        out.append(_compare(labels, g["k"], g["n"], "false alerts", "per face captured"))
    else:
        out.append("The system raised no alert.")
    if "stops" in snap["relevant"]:
        out.append(
            f"Officers stopped {plural(c['stops'], 'person', 'people')} on alerts; "
            f"{c['wrongful_stops']:,} of them {'was' if c['stops'] == 1 else 'were'} not the "
            f"person sought."
        )
    if "patrol" in snap:
        p = snap["patrol"]
        n = c["patrol_stops"]
        out.append(
            f"Patrol officers stopped {plural(n, 'person', 'people')} and scanned "
            f"{'the face' if n == 1 else 'their faces'}."
        )
        out.append(_compare(labels, p["k"], snap["residents"], "patrol stops", "per resident"))
    if "protesters_named" in c:
        names = snap.get("gathering_names") or []
        where = f"the {names[0]}" if len(names) == 1 else "the gatherings"
        out.append(
            f"Of the {plural(c['protesters'], 'person', 'people')} at {where}, the system "
            f"named {c['protesters_named']:,} from captures taken there."
        )
    if "assembly_alarms" in snap["relevant"]:
        n = c["assembly_alarms"]
        a = snap.get("assemblies")
        if a is None:
            out.append(f"The assembly detector raised {plural(n, 'alarm')}.")
        else:
            out.append(
                f"The assembly detector raised {plural(n, 'alarm')}: "
                f"{a['false_assembly_alarms']:,} at no real gathering (people who happened to "
                f"pass together), and it detected {a['gatherings_detected']:,} of the "
                f"{plural(a['gatherings'], 'real gathering')} from captures of people there."
            )
    return out
