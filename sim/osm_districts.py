"""Districts of a real map: its administrative boundaries where OpenStreetMap has enough of
them, else compass sectors around the centre (``city.districts`` clusters), named by
direction."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

from sim.city import COMPASS8
from sim.scenario import unique_names


def districts(
    x: np.ndarray, y: np.ndarray, centre: int, boundaries: Any, crs: str, k: int
) -> tuple[npt.NDArray[np.int16], list[str]]:
    """Each crossing's district and the districts' names: administrative where the map has
    them, else ``k`` sectors around ``centre``."""
    found = _admin_districts(x, y, boundaries, crs)
    if found is not None:
        return found
    return _cluster_districts(x, y, centre, k)


def _admin_districts(
    x: np.ndarray, y: np.ndarray, boundaries: Any, crs: str
) -> tuple[npt.NDArray[np.int16], list[str]] | None:
    """Districts from the most local administrative level that splits the map in two or more."""
    if boundaries is None or len(boundaries) == 0 or "admin_level" not in boundaries:
        return None
    try:
        b = boundaries.to_crs(crs)
    except Exception:
        return None
    b = b[b.geometry.geom_type.isin(["Polygon", "MultiPolygon"])]
    pts = shapely.points(x, y)
    levels = sorted(
        {str(v) for v in b["admin_level"].dropna()},
        key=lambda s: -float(s) if s.replace(".", "").isdigit() else 0,
    )
    for level in levels:
        sub = b[b["admin_level"].astype(str) == level]
        label = np.full(x.size, -1, np.int64)
        names: list[str] = []
        for geom, name in zip(sub.geometry, sub.get("name", [""] * len(sub)), strict=False):
            inside = shapely.contains(geom, pts) & (label < 0)
            if inside.any():
                label[inside] = len(names)
                names.append(
                    str(name) if isinstance(name, str) and name else f"District {len(names) + 1}"
                )
        if len(names) >= 2 and np.mean(label >= 0) >= 0.5:
            out = label < 0
            if out.any():  # crossings outside every boundary join the nearest inside one
                from scipy.spatial import cKDTree

                tree = cKDTree(np.stack([x[~out], y[~out]], axis=1))
                _, j = tree.query(np.stack([x[out], y[out]], axis=1))
                label[out] = label[~out][j]
            return label.astype(np.int16), unique_names(names)
    return None


def _cluster_districts(
    x: np.ndarray, y: np.ndarray, centre: int, k: int
) -> tuple[npt.NDArray[np.int16], list[str]]:
    """k-means of the crossings (scipy's ``kmeans2``, 50 rounds at most, from a deterministic
    start: the centre, then each time the crossing farthest from the seeds so far)."""
    from scipy.cluster.vq import kmeans2

    pts = np.stack([x, y], axis=1)
    k = max(1, min(k, x.size // 20 or 1))
    seeds = [centre]
    d = np.hypot(x - x[centre], y - y[centre])
    for _ in range(1, k):
        nxt = int(np.argmax(d))
        seeds.append(nxt)
        d = np.minimum(d, np.hypot(x - x[nxt], y - y[nxt]))
    # An emptied cluster keeps its centre (missing="warn"; its warning says nothing to a user).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, label = kmeans2(
            pts.astype(np.float64),
            pts[seeds].astype(np.float64),
            iter=50,
            minit="matrix",
            missing="warn",
        )
    # The cluster holding the centre is "Centre"; the others are named by compass direction.
    label = np.unique(label, return_inverse=True)[1]
    k = int(label.max()) + 1
    cx, cy = x[centre], y[centre]
    names = []
    for j in range(k):
        if j == label[centre]:
            names.append("Centre")
            continue
        mx, my = pts[label == j].mean(axis=0)
        angle = math.atan2(my - cy, mx - cx)
        names.append(COMPASS8[round(angle / (math.pi / 4)) % 8])
    return label.astype(np.int16), unique_names(names)
