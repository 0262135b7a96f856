"""Tracking reach: how much of each person's movements the system's identity log can rebuild.

Computed at the end of the run from the log the system still holds (entries whose
``kept_until_s`` has not passed) against the truth (trips, homes). Per person:

- ``trips_linked_share``: share of their trips with at least one capture linked to them;
- ``reach``: share of their time away from home during which the system knew where they were to
  within 15 minutes (each linked capture covers 15 minutes either side, within the outing);
- ``home_inferred``: whether the most frequent night-time (22:00-06:00) capture place linked to
  them lies within 300 m of their true home;
- ``home_chance``: for a person the system makes a guess for, the chance that a guess drawn at
  random from everybody's guessed places (each person's most frequent night-time place, as
  often as it is guessed) lies within 300 m of their home: what guessing would score without
  knowing who was seen where (0 for the others). Its mean, ``home_inferred_chance_share``, is
  the baseline for ``home_inferred_share``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa

from analysis.ids import rows_of_ids, take
from sim.units import DAY, HOUR

KNOWN_WINDOW_S = 15 * 60.0
HOME_RADIUS_M = 300.0
NIGHT = (22.0, 6.0)

Tables = Mapping[str, pa.Table]


def _col(t: pa.Table, name: str) -> np.ndarray:
    return t.column(name).to_numpy()


def tracking_table(tables: Tables, end_s: float) -> pa.Table:
    """One row per person: trips, linked trips, time away, time known, reach, home inferred."""
    people = tables["people"]
    n = people.num_rows
    pid = _col(people, "person_id").astype(np.int64)
    home = np.zeros(n, np.int64)
    home[pid] = _col(people, "home_node")
    trips = tables["trips"]
    t_person = _col(trips, "person_id").astype(np.int32)
    dep = _col(trips, "depart_s")
    arr = np.minimum(_col(trips, "arrive_s"), end_s)
    origin = _col(trips, "origin_node")
    dest = _col(trips, "dest_node")
    n_trips = np.bincount(t_person, minlength=n)

    # Outings: from leaving home to coming back (tours start and end at home).
    order = _by_person_then_time(t_person, dep)
    p = t_person[order]
    starts = origin[order] == home[p]
    ends = dest[order] == home[p]
    del origin, dest
    # Each trip belongs to the outing begun by the latest start at or before it.
    outing = np.cumsum(starts) - 1
    start_time = dep[order][starts]
    owner = p[starts]
    valid = outing >= 0
    valid[valid] &= owner[outing[valid]] == p[valid]  # an outing of this person
    del p, starts
    outing_end = np.full(start_time.size, end_s)
    closing = ends & valid
    outing_end[outing[closing]] = arr[order][closing]
    del ends, closing, dep, arr
    away = np.bincount(owner, weights=np.maximum(outing_end - start_time, 0.0), minlength=n)
    # The outing of each trip, by trip id (-1: none).
    outing_of_trip = np.full(order.size, -1, np.int32 if order.size < 2**31 else np.int64)
    outing_of_trip[order[valid]] = outing[valid]
    del order, outing, valid

    log = tables.get("identity_log")
    linked_trips = np.zeros(n)
    known = np.zeros(n)
    home_inferred = np.zeros(n, bool)
    home_chance = np.zeros(n)
    links = np.zeros(n, np.int64)
    links_true = np.zeros(n, np.int64)
    believed = np.zeros(n)
    if log is not None and log.num_rows:
        # The log's own time and camera of each capture it holds; from the captures table only
        # the truth (whose face, on which trip), read for those rows alone.
        held = np.flatnonzero(_col(log, "kept_until_s") >= end_s)
        ident = _col(log, "identity").astype(np.int64)[held]
        caps = tables["captures"]
        row = rows_of_ids(caps.column("capture_id"), _col(log, "capture_id")[held])
        usable = (row >= 0) & (ident >= 0) & (ident < n)
        row, ident, held = row[usable], ident[usable], held[usable]
        own = take(caps.column("person_id"), row) == ident  # linked to its owner
        # What the system holds, right or wrong: every linked capture counts for what it
        # believes (where it places a person, where it guesses their home).
        t_all = _col(log, "t_s")[held]
        links = np.bincount(ident, minlength=n)[:n]
        links_true = np.bincount(ident[own], minlength=n)[:n]
        believed = _covered_time(ident, t_all, n, end_s)
        cam = _col(log, "camera_id")[held]
        del held
        home_inferred, home_chance = _home(tables, ident, t_all, cam, home, n)
        del cam
        row, who, t = row[own], ident[own], t_all[own]
        del own, ident, t_all
        trip = rows_of_ids(trips.column("trip_id"), take(caps.column("trip_id"), row))
        # A capture linked to its owner links the owner's trip: count distinct trips.
        linked = np.zeros(t_person.size, bool)
        linked[trip[trip >= 0]] = True
        linked_trips = np.bincount(t_person[linked], minlength=n)[:n].astype(float)
        del linked
        del row
        o = np.where(trip >= 0, outing_of_trip[np.maximum(trip, 0)], -1) if trip.size else trip
        known = _known_time(who, t, o, start_time, outing_end, n)
    reach = np.divide(known, away, out=np.zeros(n), where=away > 0)
    return pa.table(
        {
            "person_id": pa.array(np.arange(n, dtype=np.int32)),
            "trips": pa.array(n_trips.astype(np.int32)),
            "trips_linked": pa.array(linked_trips.astype(np.int32)),
            "away_s": pa.array(away),
            "known_s": pa.array(known),
            "reach": pa.array(reach),
            "home_inferred": pa.array(home_inferred),
            "home_chance": pa.array(home_chance),
            "links": pa.array(links.astype(np.int32)),
            "links_true": pa.array(links_true.astype(np.int32)),
            "believed_s": pa.array(believed),
        }
    )


def _covered_time(who: np.ndarray, t: np.ndarray, n: int, end_s: float) -> np.ndarray:
    """Per person: the length of the union of [t - 15 min, t + 15 min] (within the run) over
    the captures linked to them: how long the system believes it knew where they were."""
    if not t.size:
        return np.zeros(n)
    order = _by_person_then_time(who, t)  # linear time: the log comes in time order
    w = who[order]
    ts = t[order]
    del order
    base = w * 1e9  # each person on their own stretch of the time line
    lo = np.maximum(ts - KNOWN_WINDOW_S, 0.0)
    lo += base
    hi = np.minimum(ts + KNOWN_WINDOW_S, end_s)
    hi += base
    del ts, base
    # The latest end before each window (the same values and additions as before, in place).
    prev_end = np.empty_like(hi)
    prev_end[0] = -np.inf
    np.maximum.accumulate(hi[:-1], out=prev_end[1:])
    np.maximum(lo, prev_end, out=prev_end)
    del lo
    np.subtract(hi, prev_end, out=hi)
    np.maximum(hi, 0.0, out=hi)
    return np.bincount(w, weights=hi, minlength=n)[:n]


def _by_person_then_time(person: np.ndarray, t: np.ndarray) -> np.ndarray:
    """The order of ``np.lexsort((t, person))``. Trips come sorted by time, so a stable sort by
    person gives it: a two-pass radix sort on 16-bit halves (linear time) for ids below 2**32."""
    if t.size > 1 and not np.all(t[1:] >= t[:-1]):
        return np.lexsort((t, person))
    return _stable_order(person)


def _stable_order(keys: np.ndarray) -> np.ndarray:
    """``np.argsort(keys, kind="stable")`` for integer keys: numpy's stable sort of 16-bit keys
    is a radix sort, so keys below 2**16 take one pass and keys below 2**32 two (low half,
    then high half, each stable)."""
    if keys.size == 0 or keys.min() < 0 or keys.max() >= 1 << 32:
        return np.argsort(keys, kind="stable")
    if keys.max() < 1 << 16:
        return np.argsort(keys.astype(np.uint16), kind="stable")
    low = np.argsort((keys & 0xFFFF).astype(np.uint16), kind="stable")
    high = np.argsort((keys[low] >> 16).astype(np.uint16), kind="stable")
    return low[high]


def _known_time(
    who: np.ndarray,
    t: np.ndarray,
    o: np.ndarray,
    start_time: np.ndarray,
    outing_end: np.ndarray,
    n: int,
) -> np.ndarray:
    """Length of the union of [t - 15 min, t + 15 min] clipped to each capture's outing
    (``o``: the outing of each capture's trip, -1 if none)."""
    ok = o >= 0
    who, t, o = who[ok], t[ok], o[ok]
    del ok
    lo = np.maximum(t - KNOWN_WINDOW_S, start_time[o])
    hi = np.minimum(t + KNOWN_WINDOW_S, outing_end[o])
    del t
    # Union per outing: shift each outing onto its own stretch of the time line.
    base = o.astype(np.float64) * 1e9
    lo, hi = lo + base, hi + base
    del base
    srt = _order_of_outings(lo, o)
    del o
    lo, hi, w = lo[srt], hi[srt], who[srt]
    del srt, who
    prev_end = np.concatenate([[-np.inf], np.maximum.accumulate(hi)[:-1]])
    length = np.maximum(hi - np.maximum(lo, prev_end), 0.0)
    return np.bincount(w, weights=length, minlength=n)


def _order_of_outings(lo: np.ndarray, o: np.ndarray) -> np.ndarray:
    """``np.argsort(lo, kind="stable")`` where ``lo`` (shifted by outing ``o``) grows with the
    outing: captures come in time order, so within an outing ``lo`` is usually sorted already
    and a stable sort by outing number (a radix sort) gives the same order. Checked; the full
    sort only when it does not (rows not in time order, or a tie across two outings)."""
    srt = _stable_order(o)
    ls, os_ = lo[srt], o[srt]
    if np.all((ls[1:] > ls[:-1]) | ((ls[1:] == ls[:-1]) & (os_[1:] == os_[:-1]))):
        return srt
    return np.argsort(lo, kind="stable")


def _home(
    tables: Tables, who: np.ndarray, t: np.ndarray, cam: np.ndarray, home: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Whether each person's most frequent night-time capture place is near their home, and the
    chance that a guess drawn from everybody's guesses would be (see the module docstring)."""
    hour = t % DAY / HOUR
    night = (hour >= NIGHT[0]) | (hour < NIGHT[1])
    out = np.zeros(n, bool)
    chance = np.zeros(n)
    if not night.any():
        return out, chance
    cam = cam.astype(np.int64)[night]
    person = who[night]
    key = person * np.int64(1 << 32) + cam
    uk, counts = np.unique(key, return_counts=True)
    kp, kc = uk >> 32, uk & ((1 << 32) - 1)
    # Per person, the camera seen most often (ties: the lowest camera id).
    best = np.lexsort((kc, -counts, kp))
    first = np.ones(best.size, bool)
    first[1:] = kp[best][1:] != kp[best][:-1]
    top_p, top_c = kp[best][first], kc[best][first]
    cams = tables["cameras"]
    cx = np.zeros(int(_col(cams, "camera_id").max()) + 1)
    cy = np.zeros_like(cx)
    cx[_col(cams, "camera_id")] = _col(cams, "x_m")
    cy[_col(cams, "camera_id")] = _col(cams, "y_m")
    nodes = tables["nodes"]
    nx = np.zeros(nodes.num_rows)
    ny = np.zeros(nodes.num_rows)
    nx[_col(nodes, "node")] = _col(nodes, "x_m")
    ny[_col(nodes, "node")] = _col(nodes, "y_m")
    h = home[top_p]
    out[top_p] = np.hypot(cx[top_c] - nx[h], cy[top_c] - ny[h]) <= HOME_RADIUS_M
    # The baseline: each guessed place weighted by how many people it is guessed for. Per home
    # crossing (tens of thousands in a whole city), then per person a guess is made for (the
    # others score 0).
    place, weight = np.unique(top_c, return_counts=True)
    homes = np.unique(h)
    near = _weight_near(nx[homes], ny[homes], cx[place], cy[place], weight) / weight.sum()
    chance[top_p] = near[np.searchsorted(homes, h)]
    return out, chance


def _weight_near(
    hx: np.ndarray, hy: np.ndarray, px: np.ndarray, py: np.ndarray, weight: np.ndarray
) -> np.ndarray:
    """Per home (hx, hy), the summed weight of the places (px, py) within HOME_RADIUS_M of it.
    Candidates come from a k-d tree (so the cost grows with homes x nearby places, not homes x
    places); each is then held to the same ``np.hypot(...) <= HOME_RADIUS_M`` as the tracking
    itself, and the weights are whole counts, so the sums are exact."""
    from scipy.spatial import cKDTree

    out = np.zeros(hx.size, np.int64)
    if not hx.size or not px.size:
        return out
    reach = HOME_RADIUS_M * (1 + 1e-9) + 1e-6  # no pair at the radius is missed by rounding
    pairs = cKDTree(np.stack([px, py], axis=1)).sparse_distance_matrix(
        cKDTree(np.stack([hx, hy], axis=1)), reach, output_type="ndarray"
    )
    pl, hm = pairs["i"].astype(np.int64), pairs["j"].astype(np.int64)
    ok = np.hypot(px[pl] - hx[hm], py[pl] - hy[hm]) <= HOME_RADIUS_M
    np.add.at(out, hm[ok], weight[pl[ok]].astype(np.int64))
    return out


# The summary keys of tracking_summary (None when a run has no trips or street map).
TRACKING_KEYS = (
    "tracking_reach_mean",
    "tracking_reach_by_group",
    "trips_linked_share_mean",
    "home_inferred_share",
    "home_inferred_chance_share",
    "false_links",
    "tracking_precision_mean",
    "tracking_reach_believed_mean",
)


def tracking_summary(table: pa.Table, person_group: np.ndarray, names: list[str]) -> dict[str, Any]:
    """Summary keys: mean reach overall and by group, home inferred share."""
    reach = _col(table, "reach")
    away = _col(table, "away_s")
    moving = away > 0
    by_group = {}
    for g, name in enumerate(names):
        sel = moving & (person_group == g)
        by_group[name] = float(reach[sel].mean()) if sel.any() else None
    trips = _col(table, "trips")
    linked = _col(table, "trips_linked")
    return {
        "tracking_reach_mean": float(reach[moving].mean()) if moving.any() else None,
        "tracking_reach_by_group": by_group,
        "trips_linked_share_mean": (
            float((linked[trips > 0] / trips[trips > 0]).mean()) if (trips > 0).any() else None
        ),
        "home_inferred_share": float(_col(table, "home_inferred").mean())
        if table.num_rows
        else None,
        "home_inferred_chance_share": (
            float(_col(table, "home_chance").mean())
            if table.num_rows and "home_chance" in table.column_names
            else None
        ),
        **_believed(table, moving),
    }


def _believed(table: pa.Table, moving: np.ndarray) -> dict[str, Any]:
    """What the system believes against what is true: its false links, the precision of the
    histories it rebuilds, and the reach it would claim counting every link."""
    if "links" not in table.column_names:
        return {
            "false_links": None,
            "tracking_precision_mean": None,
            "tracking_reach_believed_mean": None,
        }
    links = _col(table, "links")
    true = _col(table, "links_true")
    has = links > 0
    away = _col(table, "away_s")
    claimed = np.minimum(
        np.divide(_col(table, "believed_s"), away, out=np.ones(away.size), where=away > 0), 1.0
    )
    return {
        "false_links": int((links - true).sum()),
        "tracking_precision_mean": float((true[has] / links[has]).mean()) if has.any() else None,
        "tracking_reach_believed_mean": float(claimed[moving].mean()) if moving.any() else None,
    }
