"""What the classroom shows at a moment of the day, computed from a run's events up to then.

Every figure here is the report's own (``analysis``), restricted to what happened by the
playback clock ``t``:

- **false-alert rate by group**: false alerts on people on no list, per 1,000 captures of such
  people (``false_alert_rate_by_group`` in summary.json); a group with fewer than
  :data:`analysis.rates.FEW_EVENTS` false alerts is "too few to tell" (drawn grey, not ranked);
- **protesters named**: participants of a real (not routine) gathering the system holds a
  linked capture of, taken within :data:`analysis.assembly.MATCH_RADIUS_M` of the place during
  the gathering (``participants_identified_share_by_group``), counted once the system has
  linked it;
- **patrol stops by group**: people stopped by patrol officers, per 1,000 residents.

``tests/test_demo.py`` holds the end-of-day values to the summary of the same scenario.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from analysis.assembly import MATCH_RADIUS_M, assembly_summary
from analysis.rates import FEW_EVENTS, PER, rate_interval

SERIES_STEP_S = 900.0  # the time series' resolution: a point every 15 simulated minutes


@dataclass
class Events:
    """Columns appended batch by batch (lists of numpy arrays, joined on demand)."""

    parts: dict[str, list[np.ndarray]] = field(default_factory=dict)
    cache: dict[str, np.ndarray] = field(default_factory=dict)
    version: int = 0  # bumped by every addition (derived values are kept per version)
    _derived: dict[str, tuple[int, Any]] = field(default_factory=dict)

    def add(self, name: str, values: np.ndarray) -> None:
        self.parts.setdefault(name, []).append(values)
        self.cache.pop(name, None)
        self.version += 1

    def derived(self, name: str, compute: Any) -> Any:
        """``compute(self)``, kept until the next addition."""
        got = self._derived.get(name)
        if got is None or got[0] != self.version:
            got = (self.version, compute(self))
            self._derived[name] = got
        return got[1]

    def get(self, name: str, dtype: Any = np.float64) -> np.ndarray:
        if name not in self.cache:
            p = self.parts.get(name)
            self.cache[name] = np.concatenate(p) if p else np.zeros(0, dtype)
        return self.cache[name]


def counters(ev: Events, t: float) -> dict[str, int]:
    """The counters at ``t``: each counts events that happened by then."""
    al_true = ev.get("al.true", bool)[ev.get("al.t") <= t]
    stop_seen = ev.get("stop.t") <= t
    made = ev.get("stop.made", bool)
    out = {
        "captures": int(np.count_nonzero(ev.get("cap.t") <= t)),
        "alerts": int(al_true.size),
        "true_alerts": int(np.count_nonzero(al_true)),
        "false_alerts": int(al_true.size - np.count_nonzero(al_true)),
        "stops": int(np.count_nonzero(made[stop_seen])),  # reached in time, as the report
        "wrongful_stops": int(np.count_nonzero(ev.get("stop.wrong", bool)[stop_seen])),
        "patrol_stops": int(np.count_nonzero(ev.get("pstop.t") <= t)),
        "assembly_alarms": int(np.count_nonzero(ev.get("asm.t") <= t)),
    }
    named = protesters_named(ev, t)
    if named is not None:
        out["protesters_named"], out["protesters"] = named
    return out


def false_alert_rates(ev: Events, t: float, n_groups: int) -> dict[str, list[Any]]:
    """Per group at ``t``: false alerts on people on no list (k), captures of such people (n),
    the rate per 1,000 captures, its exact 95% interval, and whether k is too few to tell."""
    cap_seen = ev.get("cap.t") <= t
    person = ev.get("cap.person", np.int64)[cap_seen]
    group = ev.get("person.group", np.int64)
    listed = ev.get("person.listed", bool)
    if group.size == 0:
        return {"k": [0] * n_groups, "n": [0] * n_groups, "rate": [None] * n_groups,
                "ci": [None] * n_groups, "too_few": [True] * n_groups}  # fmt: skip
    free = ~listed[person]
    n = np.bincount(group[person[free]], minlength=n_groups)
    al_seen = ev.get("al.t") <= t
    al_person = ev.get("al.person", np.int64)[al_seen]
    wrong = ~ev.get("al.true", bool)[al_seen] & ~listed[al_person]
    k = np.bincount(group[al_person[wrong]], minlength=n_groups)
    return {
        "k": k.tolist(),
        "n": n.tolist(),
        "rate": [float(ki / ni * PER) if ni else None for ki, ni in zip(k, n, strict=True)],
        "ci": [rate_interval(int(ki), int(ni)) for ki, ni in zip(k, n, strict=True)],
        "too_few": [bool(ki < FEW_EVENTS) for ki in k],
    }


def patrol_stop_rates(ev: Events, t: float, residents: list[int]) -> dict[str, list[Any]]:
    """Per group at ``t``: patrol stops, and stops per 1,000 residents."""
    person = ev.get("pstop.person", np.int64)[ev.get("pstop.t") <= t]
    k = np.bincount(ev.get("person.group", np.int64)[person], minlength=len(residents))
    return {
        "k": k.tolist(),
        "rate": [float(ki / r * PER) if r else None for ki, r in zip(k, residents, strict=True)],
    }


def protesters_named(ev: Events, t: float) -> tuple[int, int] | None:
    """(named, participants) of the real gatherings that have begun by ``t``; None when no
    real gathering has begun (nothing to count yet)."""
    gid, named_t = ev.derived("named", _named_times)
    begun = ev.get("g.start")[gid] <= t if gid.size else np.zeros(0, bool)
    if not begun.any():
        return None
    return int(np.count_nonzero(named_t[begun] <= t)), int(np.count_nonzero(begun))


def _named_times(ev: Events) -> tuple[np.ndarray, np.ndarray]:
    """Per (real gathering, participant): the gathering, and when the system first linked a
    capture of the participant taken at its place during it (the report's definition; inf:
    never, among the events so far)."""
    real = np.flatnonzero(~ev.get("g.routine", bool))
    gid = ev.get("gp.gathering", np.int64)
    person = ev.get("gp.person", np.int64)
    keep = np.isin(gid, real)
    gid, person = gid[keep], person[keep]
    first = np.full(person.size, np.inf)
    log_t = ev.get("id.t")
    ident = ev.get("id.person", np.int64)
    cid = ev.get("id.capture", np.int64)
    cap_id = ev.get("cap.id", np.int64)
    if not cid.size or not cap_id.size or not person.size:
        return gid, first
    row = np.minimum(np.searchsorted(cap_id, cid), cap_id.size - 1)
    own = (cap_id[row] == cid) & (ev.get("cap.person", np.int64)[row] == ident)
    ident, row, log_t = ident[own], row[own], log_t[own]
    cx, cy, ct = ev.get("cap.x")[row], ev.get("cap.y")[row], ev.get("cap.t")[row]
    gx, gy = ev.get("g.x"), ev.get("g.y")
    start, end = ev.get("g.start"), ev.get("g.end")
    for i in np.unique(gid):
        at = (np.hypot(cx - gx[i], cy - gy[i]) <= MATCH_RADIUS_M) & (ct >= start[i])
        at &= ct <= end[i]
        who, when = ident[at], log_t[at]
        order = np.lexsort((when, who))
        who, when = who[order], when[order]
        lead = np.ones(who.size, bool)
        lead[1:] = who[1:] != who[:-1]
        who, when = who[lead], when[lead]  # each person's first linking time
        if not who.size:
            continue
        mine = np.flatnonzero(gid == i)
        pos = np.minimum(np.searchsorted(who, person[mine]), who.size - 1)
        hit = who[pos] == person[mine]
        first[mine[hit]] = when[pos[hit]]
    return gid, first


def assemblies(ev: Events) -> dict[str, Any]:
    """The report's assembly figures (:func:`analysis.assembly.assembly_summary`) over the
    events so far: gatherings detected (an alarm built from a participant's capture there),
    false alarms (at no real gathering), participants identified."""
    return ev.derived("assemblies", _assemblies)


def _assemblies(ev: Events) -> dict[str, Any]:
    tables = {
        "gatherings": pa.table(
            {
                "gathering_id": np.arange(ev.get("g.x").size, dtype=np.int32),
                "x_m": ev.get("g.x"),
                "y_m": ev.get("g.y"),
                "start_s": ev.get("g.start"),
                "end_s": ev.get("g.end"),
                "size": ev.get("g.size", np.int32),
                "routine": ev.get("g.routine", bool),
            }
        ),
        "gathering_participants": pa.table(
            {
                "gathering_id": ev.get("gp.gathering", np.int64),
                "person_id": ev.get("gp.person", np.int64),
            }
        ),
        "assembly_alerts": pa.table(
            {
                "assembly_id": ev.get("asm.id", np.int64),
                "t_s": ev.get("asm.t"),
                "x_m": ev.get("asm.x"),
                "y_m": ev.get("asm.y"),
            }
        ),
        "assembly_members": pa.table(
            {"assembly_id": ev.get("am.id", np.int64), "capture_id": ev.get("am.capture", np.int64)}
        ),
        "captures": pa.table(
            {
                "capture_id": ev.get("cap.id", np.int64),
                "person_id": ev.get("cap.person", np.int64),
                "t_s": ev.get("cap.t"),
                "x_m": ev.get("cap.x"),
                "y_m": ev.get("cap.y"),
            }
        ),
        "identity_log": pa.table(
            {
                "identity": ev.get("id.person", np.int64),
                "capture_id": ev.get("id.capture", np.int64),
            }
        ),
    }
    group = ev.get("person.group", np.int64)
    names = [str(i) for i in range(int(group.max()) + 1 if group.size else 0)]
    return assembly_summary(tables, names, group)


SERIES = (
    ("false_alerts", "false alerts"),
    ("true_alerts", "true alerts"),
    ("wrongful_stops", "wrongful stops"),
    ("patrol_stops", "patrol stops"),
    ("assembly_alarms", "assembly alarms"),
    ("protesters_named", "named at the gathering"),
)


def series(ev: Events, t: float, keys: list[str]) -> dict[str, Any]:
    """Cumulative counts of ``keys`` (see :data:`SERIES`) every :data:`SERIES_STEP_S` up to
    ``t``, and at ``t`` itself; hours on the x axis."""
    times = np.arange(0.0, t, SERIES_STEP_S)
    times = np.append(times, t) if t > 0 else np.zeros(1)
    times_of = {
        "false_alerts": ev.get("al.t")[~ev.get("al.true", bool)],
        "true_alerts": ev.get("al.t")[ev.get("al.true", bool)],
        "wrongful_stops": ev.get("stop.t")[ev.get("stop.wrong", bool)],
        "patrol_stops": ev.get("pstop.t"),
        "assembly_alarms": ev.get("asm.t"),
    }
    out: dict[str, Any] = {"hours": (times / 3600.0).round(3).tolist()}
    for key in keys:
        if key == "protesters_named":
            out[key] = [(protesters_named(ev, float(x)) or (0, 0))[0] for x in times]
        else:
            got = np.sort(times_of[key])
            out[key] = np.searchsorted(got, times, side="right").tolist()
    return out


@dataclass(frozen=True)
class Share:
    """A share "k of every 100" said honestly: never 100 while one is not, never 0 while one
    is."""

    k: int
    n: int

    def of_100(self) -> str:
        if not self.n:
            return "-"
        exact = 100.0 * self.k / self.n
        if 0 < exact < 1:
            return "fewer than 1"
        if 99 < exact < 100:
            return "more than 99"
        return f"{round(exact):.0f}"
