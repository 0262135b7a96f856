"""Gatherings against the assembly detector: what the system really detected, how fast, and
who it placed there.

Credited only with what the system observed (issue "Numbers that mean what they say"):

- A gathering counts as **detected** when an assembly alarm falls within ``MATCH_RADIUS_M`` of
  its place between its start and half an hour after its end, *and* the flagged sightings that
  raised the alarm (``assembly_members``) include a participant of the gathering captured there
  (within ``MATCH_RADIUS_M`` of the place, in the same window). An alarm of the background
  (flagged passers-by who happen to meet) near the place does not count.
- ``gatherings_near_alarm`` keeps the old, coincidence-based count (any alarm near the place in
  the window), and ``gatherings_detected_by_chance`` estimates how many gatherings an alarm
  would have come near by chance: for each gathering, the background alarms (those built from
  no participant of any real gathering) that fell within ``MATCH_RADIUS_M`` of its place over the
  whole run, scaled to the gathering's window (a Poisson expectation, 1 - exp(-lambda)).
- Alarms that detect no real (non-routine) gathering are false alarms.
- **Participants identified**: participants the system holds a linked capture of (its identity
  log, the capture linked to its own person) taken within ``MATCH_RADIUS_M`` of the gathering's
  place during the gathering; ``participants_captured_share_by_group``: participants captured
  there at all (the most the system could have identified).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa

from analysis.ids import rows_of

MATCH_RADIUS_M = 300.0
AFTER_S = 1800.0
SIZE_BINS = ((1, 50), (51, 200), (201, 1000), (1001, 10**9))

Tables = Mapping[str, pa.Table]


def _col(t: pa.Table, name: str) -> np.ndarray:
    return t.column(name).to_numpy()


def assembly_summary(
    tables: Tables, names: list[str], person_group: np.ndarray, duration_s: float = 0.0
) -> dict[str, Any]:
    g = tables.get("gatherings")
    al = tables.get("assembly_alerts")
    n_alarms = 0 if al is None else int(al.num_rows)
    empty: dict[str, Any] = {
        "gatherings": 0,
        "gatherings_detected": 0,
        "gatherings_near_alarm": 0,
        "gatherings_detected_by_chance": 0.0,
        "assembly_detection_latency_s": None,
        "false_assembly_alarms": n_alarms,
        "assembly_alarms": n_alarms,
        "assembly_detection_by_size": {},
        "participants_identified_share_by_group": {n: None for n in names},
        "participants_captured_share_by_group": {n: None for n in names},
    }
    if g is None or g.num_rows == 0:
        return empty
    g = g.take(np.argsort(_col(g, "gathering_id"), kind="stable"))  # row i: the i-th id
    gids = _col(g, "gathering_id").astype(np.int64)
    real = ~_col(g, "routine").astype(bool)
    gx, gy = _col(g, "x_m"), _col(g, "y_m")
    start, end = _col(g, "start_s"), _col(g, "end_s")
    size = _col(g, "size")
    duration = max(duration_s, float(end.max()) + AFTER_S)
    if al is not None and al.num_rows:
        aid, at = _col(al, "assembly_id").astype(np.int64), _col(al, "t_s")
        ax, ay = _col(al, "x_m"), _col(al, "y_m")
    else:
        aid = np.zeros(0, np.int64)
        at = ax = ay = np.zeros(0)
    # near[i, j]: alarm j fell near gathering i, in its window.
    near = (
        (np.hypot(ax[None, :] - gx[:, None], ay[None, :] - gy[:, None]) <= MATCH_RADIUS_M)
        & (at[None, :] >= start[:, None])
        & (at[None, :] <= end[:, None] + AFTER_S)
    )
    built = _built_from(tables, aid, gids, gx, gy, start, end)  # built[i, j]: from i
    hit = near & built
    detected = hit.any(axis=1) & real
    first = (
        np.where(hit, at[None, :], np.inf).min(axis=1) if at.size else np.full(real.size, np.inf)
    )
    latency = (first - start)[detected]
    false_alarms = int((~(hit & real[:, None]).any(axis=0)).sum()) if at.size else 0
    # Background alarms: built from no participant of any real gathering.
    background = ~(built & real[:, None]).any(axis=0) if at.size else np.zeros(0, bool)
    lam = np.zeros(real.size)
    if at.size and duration > 0:
        close = np.hypot(ax[None, :] - gx[:, None], ay[None, :] - gy[:, None]) <= MATCH_RADIUS_M
        lam = (close & background[None, :]).sum(axis=1) * (end - start + AFTER_S) / duration
    by_size = {}
    for lo, hi in SIZE_BINS:
        sel = real & (size >= lo) & (size <= hi)
        if sel.any():
            label = f"{lo}-{hi}" if hi < 10**9 else f"over {lo - 1}"
            by_size[label] = float(detected[sel].mean())
    identified, captured = _identified(tables, names, person_group, gids, real, gx, gy, start, end)
    return {
        "gatherings": int(real.sum()),
        "gatherings_detected": int(detected.sum()),
        "gatherings_near_alarm": int((near.any(axis=1) & real).sum()),
        "gatherings_detected_by_chance": float((-np.expm1(-lam))[real].sum()),
        "assembly_detection_latency_s": float(np.median(latency)) if latency.size else None,
        "false_assembly_alarms": false_alarms,
        "assembly_alarms": int(at.size),
        "assembly_detection_by_size": by_size,
        "participants_identified_share_by_group": identified,
        "participants_captured_share_by_group": captured,
    }


def _at_gathering(
    tables: Tables,
    capture: np.ndarray,
    gid: np.ndarray,
    gx: np.ndarray,
    gy: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    after_s: float,
) -> np.ndarray:
    """Whether each capture (id) was taken within MATCH_RADIUS_M of gathering ``gid``'s place,
    between its start and ``after_s`` after its end."""
    caps = tables["captures"]
    r = rows_of(_col(caps, "capture_id"), capture)
    t, x, y = _col(caps, "t_s")[r], _col(caps, "x_m")[r], _col(caps, "y_m")[r]
    return (
        (np.hypot(x - gx[gid], y - gy[gid]) <= MATCH_RADIUS_M)
        & (t >= start[gid])
        & (t <= end[gid] + after_s)
    )


def _built_from(
    tables: Tables,
    aid: np.ndarray,
    gids: np.ndarray,
    gx: np.ndarray,
    gy: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
) -> np.ndarray:
    """built[i, j]: alarm j's flagged sightings include a participant of gathering i captured
    at the gathering (its place, its window)."""
    out = np.zeros((gx.size, aid.size), bool)
    mem = tables.get("assembly_members")
    caps = tables.get("captures")
    part = tables.get("gathering_participants")
    if (
        mem is None
        or mem.num_rows == 0
        or caps is None
        or caps.num_rows == 0
        or part is None
        or aid.size == 0
    ):
        return out
    m_aid = _col(mem, "assembly_id").astype(np.int64)
    m_cid = _col(mem, "capture_id").astype(np.int64)
    r = rows_of(_col(caps, "capture_id"), m_cid)
    ok = r >= 0
    m_aid, m_cid = m_aid[ok], m_cid[ok]
    who = _col(caps, "person_id").astype(np.int64)[r[ok]]
    col = rows_of(aid, m_aid)  # each member's alarm, as a column of ``out``
    pg = np.searchsorted(gids, _col(part, "gathering_id").astype(np.int64))
    pp = _col(part, "person_id").astype(np.int64)
    for i in range(gx.size):  # gatherings: a handful per run
        members = np.isin(who, pp[pg == i]) & (col >= 0)
        if not members.any():
            continue
        here = _at_gathering(
            tables, m_cid[members], np.full(int(members.sum()), i), gx, gy, start, end, AFTER_S
        )
        out[i, col[members][here]] = True
    return out


def _identified(
    tables: Tables,
    names: list[str],
    person_group: np.ndarray,
    gids: np.ndarray,
    real: np.ndarray,
    gx: np.ndarray,
    gy: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
) -> tuple[dict[str, float | None], dict[str, float | None]]:
    """Per group: the share of real gatherings' participants the system identified there (a
    linked capture of theirs at the place during the gathering), and the share captured there
    at all."""
    part = tables["gathering_participants"]
    gid = np.searchsorted(gids, _col(part, "gathering_id").astype(np.int64))  # row
    who = _col(part, "person_id").astype(np.int64)
    keep = real[gid]
    gid, who = gid[keep], who[keep]
    named = np.zeros(who.size, bool)
    seen = np.zeros(who.size, bool)
    caps = tables.get("captures")
    if caps is not None and caps.num_rows and who.size:
        c_person = _col(caps, "person_id").astype(np.int64)
        c_id = _col(caps, "capture_id").astype(np.int64)
        seen = _any_at(tables, who, gid, c_person, c_id, gx, gy, start, end)
        log = tables.get("identity_log")
        if log is not None and log.num_rows:
            ident = _col(log, "identity").astype(np.int64)
            lcid = _col(log, "capture_id").astype(np.int64)
            r = rows_of(c_id, lcid)
            own = (r >= 0) & (c_person[r] == ident)
            named = _any_at(tables, who, gid, ident[own], lcid[own], gx, gy, start, end)
    grp = person_group[who] if who.size else np.zeros(0, np.int64)
    identified: dict[str, float | None] = {}
    captured: dict[str, float | None] = {}
    for gi, n in enumerate(names):
        sel = grp == gi
        identified[n] = float(named[sel].mean()) if sel.any() else None
        captured[n] = float(seen[sel].mean()) if sel.any() else None
    return identified, captured


def _any_at(
    tables: Tables,
    who: np.ndarray,
    gid: np.ndarray,
    person: np.ndarray,
    capture: np.ndarray,
    gx: np.ndarray,
    gy: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
) -> np.ndarray:
    """For each (participant, gathering): whether one of the captures (``capture``, of
    ``person``) shows them at the gathering's place during it. Independent of row order."""
    out = np.zeros(who.size, bool)
    if not capture.size or not who.size:
        return out
    # Pair every capture of a participant with each of their gatherings, then test the place.
    order = np.argsort(who, kind="stable")
    w_sorted = who[order]
    lo = np.searchsorted(w_sorted, person, side="left")
    hi = np.searchsorted(w_sorted, person, side="right")
    counts = hi - lo
    if not counts.sum():
        return out
    cap_rep = np.repeat(np.arange(person.size), counts)
    k = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    pair = order[np.repeat(lo, counts) + k]  # index into who / gid
    at = _at_gathering(tables, capture[cap_rep], gid[pair], gx, gy, start, end, 0.0)
    out[pair[at]] = True
    return out
