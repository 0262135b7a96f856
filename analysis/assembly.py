"""Gatherings against the assembly detector: what was detected, how fast, and who was named.

A gathering counts as detected when an assembly alarm falls within ``MATCH_RADIUS_M`` of its
place between its start and half an hour after its end. Alarms that match no real (non-routine)
gathering are false alarms. Participants count as identified when the system's identity log holds
a capture of theirs, linked to them, from the hour around the gathering.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa

MATCH_RADIUS_M = 300.0
AFTER_S = 1800.0
SIZE_BINS = ((1, 50), (51, 200), (201, 1000), (1001, 10**9))

Tables = Mapping[str, pa.Table]


def _col(t: pa.Table, name: str) -> np.ndarray:
    return t.column(name).to_numpy()


def assembly_summary(tables: Tables, names: list[str],
                     person_group: np.ndarray) -> dict[str, Any]:
    g = tables.get("gatherings")
    al = tables.get("assembly_alerts")
    empty: dict[str, Any] = {
        "gatherings": 0, "gatherings_detected": 0, "assembly_detection_latency_s": None,
        "false_assembly_alarms": 0 if al is None else int(al.num_rows),
        "assembly_alarms": 0 if al is None else int(al.num_rows),
        "assembly_detection_by_size": {}, "participants_identified_share_by_group": {
            n: None for n in names}}
    if g is None or g.num_rows == 0:
        return empty
    real = ~_col(g, "routine").astype(bool)
    gx, gy = _col(g, "x_m"), _col(g, "y_m")
    start, end = _col(g, "start_s"), _col(g, "end_s")
    size = _col(g, "size")
    if al is not None and al.num_rows:
        at, ax, ay = _col(al, "t_s"), _col(al, "x_m"), _col(al, "y_m")
    else:
        at = ax = ay = np.zeros(0)
    # hit[i, j]: alarm j is about gathering i.
    hit = ((np.hypot(ax[None, :] - gx[:, None], ay[None, :] - gy[:, None]) <= MATCH_RADIUS_M)
           & (at[None, :] >= start[:, None]) & (at[None, :] <= end[:, None] + AFTER_S))
    detected = hit.any(axis=1) & real
    first = np.where(hit, at[None, :], np.inf).min(axis=1) if at.size else np.full(real.size,
                                                                                np.inf)
    latency = (first - start)[detected]
    false_alarms = int((~(hit & real[:, None]).any(axis=0)).sum()) if at.size else 0
    by_size = {}
    for lo, hi in SIZE_BINS:
        sel = real & (size >= lo) & (size <= hi)
        if sel.any():
            label = f"{lo}-{hi}" if hi < 10**9 else f"over {lo - 1}"
            by_size[label] = float(detected[sel].mean())
    return {
        "gatherings": int(real.sum()),
        "gatherings_detected": int(detected.sum()),
        "assembly_detection_latency_s": float(np.median(latency)) if latency.size else None,
        "false_assembly_alarms": false_alarms,
        "assembly_alarms": int(at.size),
        "assembly_detection_by_size": by_size,
        "participants_identified_share_by_group": _identified(tables, names, person_group,
                                                              real, start, end),
    }


def _identified(tables: Tables, names: list[str], person_group: np.ndarray, real: np.ndarray,
                start: np.ndarray, end: np.ndarray) -> dict[str, float | None]:
    part = tables["gathering_participants"]
    gid = _col(part, "gathering_id").astype(np.int64)
    who = _col(part, "person_id").astype(np.int64)
    keep = real[gid]
    gid, who = gid[keep], who[keep]
    named = np.zeros(who.size, bool)
    log = tables.get("identity_log")
    caps = tables.get("captures")
    if log is not None and log.num_rows and caps is not None and caps.num_rows and who.size:
        ident = _col(log, "identity").astype(np.int64)
        lt = _col(log, "t_s")
        by_id = np.full(int(_col(caps, "capture_id").max()) + 1, -1, np.int64)
        by_id[_col(caps, "capture_id")] = _col(caps, "person_id")
        own = by_id[_col(log, "capture_id")] == ident
        ident, lt = ident[own], lt[own]
        # A participant is named if a linked capture of theirs falls in the hour around it.
        order = np.lexsort((lt, ident))
        ident, lt = ident[order], lt[order]
        lo = np.searchsorted(ident * 1e7 + lt, who * 1e7 + (start[gid] - 1800.0))
        hi = np.searchsorted(ident * 1e7 + lt, who * 1e7 + (end[gid] + 1800.0), side="right")
        named = hi > lo
    out: dict[str, float | None] = {}
    grp = person_group[who] if who.size else np.zeros(0, np.int64)
    for gi, n in enumerate(names):
        sel = grp == gi
        out[n] = float(named[sel].mean()) if sel.any() else None
    return out
