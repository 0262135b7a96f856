"""Governance as plain functions over arrays: stations, travel times, exclusion zones, scope.

The engine's simpy processes (review queue, dispatch) ask this module what the rules imply; the
rules themselves come from the scenario's ``[governance]`` table.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

from sim.city import PLACE_TYPES, City
from sim.scenario import ExclusionZone, Governance


def stations(city: City) -> npt.NDArray[np.int32]:
    """Police stations: in each district, the crossing nearest the district's centroid."""
    out = []
    for d in range(len(city.district_names)):
        nodes = np.flatnonzero(city.node_district == d)
        if nodes.size == 0:
            continue
        cx, cy = city.node_x_m[nodes].mean(), city.node_y_m[nodes].mean()
        out.append(nodes[np.argmin(np.hypot(city.node_x_m[nodes] - cx, city.node_y_m[nodes] - cy))])
    return np.unique(np.asarray(out, np.int32))


def travel_time_s(
    dist_from_stations_m: npt.NDArray[np.float64], nodes: npt.ArrayLike, speed_mps: float
) -> npt.NDArray[np.float64]:
    """Time for the nearest station's officer to reach each node.

    Parameters
    ----------
    dist_from_stations_m
        Shortest street distances, stations (rows) by nodes (columns).
    nodes
        Where officers must go.
    speed_mps
        Travel speed.
    """
    d = dist_from_stations_m[:, np.asarray(nodes, np.int64)]
    return np.asarray(d.min(axis=0) / speed_mps, np.float64)


def exclusion_area(city: City, zones: list[ExclusionZone]) -> Any:
    """The union of the exclusion buffers (a shapely geometry), or None without zones."""
    parts = []
    for z in zones:
        types = [PLACE_TYPES.index(t) for t in z.place_types]
        nodes = city.place_node[np.isin(city.place_type, types)]
        if nodes.size:
            parts.append(
                shapely.buffer(
                    shapely.points(city.node_x_m[nodes], city.node_y_m[nodes]), z.buffer_m
                )
            )
    if not parts:
        return None
    return shapely.union_all(np.concatenate(parts))


def searched_entries(gov: Governance, watchlist_size: int) -> npt.NDArray[np.int64]:
    """The watchlist entries the system may search for under the scan scope."""
    if gov.scan_scope == "warrant":
        return np.unique(np.asarray(gov.warrant_targets, np.int64))
    return np.arange(watchlist_size, dtype=np.int64)
