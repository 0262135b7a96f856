"""Fixed cameras: placement, field of view as shapely geometry, and which street stretches they see.

A camera stands at a crossing and looks down one of its streets. Its view is a circular sector
(``range_m``, ``fov_deg``). For every edge that crosses the sector the camera gets a *passage
point* (the middle of the stretch in view) with a distance and, per walking direction, how squarely
the walker faces the camera. Walkers whose back is to the camera show no face. The result is a
CSR table over directed edges, so a trip's captures are found with array look-ups.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

from sim.city import City
from sim.errors import ScenarioError
from sim.rng import keyed_uniform
from sim.scenario import Cctv

# A face is usable when the walker faces the camera within 60 degrees.
_MAX_FACING_DEG = 60.0

# Capture-quality factors. Their product is the quality q in [0, 1] that lowers genuine scores
# (sim.facematch). Each coefficient is an assumption of survsim, chosen so that typical daytime
# captures land at q of about 0.7-0.8, where the face-match presets reproduce the live-video
# detection rates of CALIBRATION.md section 5; none is fitted to a measurement.
NIGHT_LIGHT = 0.7  # darkness (before 06:00, from 20:00)
CROWD_PER_MIN_HALF = 120.0  # passers-by per minute at which occlusion halves quality
FAST_WALK_MPS = 1.4  # motion blur starts above this speed
BLUR_PER_MPS = 0.15


@dataclass
class Cameras:
    """All fixed cameras, as columns."""

    node: npt.NDArray[np.int32]
    x_m: npt.NDArray[np.float64]
    y_m: npt.NDArray[np.float64]
    heading_deg: npt.NDArray[np.float64]
    fov_deg: npt.NDArray[np.float64]
    range_m: npt.NDArray[np.float64]
    p_capture: npt.NDArray[np.float64]
    deployment: npt.NDArray[np.int16]
    deployment_names: list[str]

    @property
    def n(self) -> int:
        return int(self.node.size)

    def stable_key(self, n_nodes: int) -> npt.NDArray[np.int64]:
        """An identity per camera that does not depend on which other cameras exist
        (deployment and crossing), for keyed coins."""
        return self.deployment.astype(np.int64) * np.int64(n_nodes) + self.node

    @classmethod
    def empty(cls) -> Cameras:
        z = np.zeros(0)
        return cls(np.zeros(0, np.int32), z, z, z, z, z, z, np.zeros(0, np.int16), [])

    def sectors(self) -> npt.NDArray[Any]:
        """Each camera's view as a shapely polygon (a circular sector, metres)."""
        out = []
        for i in range(self.n):
            out.append(sector(float(self.x_m[i]), float(self.y_m[i]), float(self.heading_deg[i]),
                              float(self.fov_deg[i]), float(self.range_m[i])))
        return np.array(out, dtype=object)

    def sees(self, camera: int, x_m: npt.ArrayLike, y_m: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """Whether camera ``camera`` has the points (x_m, y_m) in view."""
        dx = np.asarray(x_m, np.float64) - self.x_m[camera]
        dy = np.asarray(y_m, np.float64) - self.y_m[camera]
        dist = np.hypot(dx, dy)
        bearing = np.degrees(np.arctan2(dy, dx))
        off = np.abs((bearing - self.heading_deg[camera] + 180.0) % 360.0 - 180.0)
        inside = (dist <= self.range_m[camera]) & (
            (off <= self.fov_deg[camera] / 2.0) | (self.fov_deg[camera] >= 360.0))
        return np.asarray(inside | (dist == 0.0))


def sector(x: float, y: float, heading_deg: float, fov_deg: float, range_m: float,
           n_arc: int = 24) -> shapely.Polygon:
    """A circular sector polygon with its apex at (x, y)."""
    if fov_deg >= 360.0:
        return shapely.Point(x, y).buffer(range_m, quad_segs=n_arc)
    a = np.radians(heading_deg + np.linspace(-fov_deg / 2, fov_deg / 2, n_arc + 1))
    ring = [(x, y), *zip(x + range_m * np.cos(a), y + range_m * np.sin(a), strict=True), (x, y)]
    return shapely.Polygon(ring)


def place_cameras(deployments: list[tuple[int, Cctv]], city: City,
                  footfall: npt.NDArray[np.float64], rng: np.random.Generator,
                  heading_key: np.uint64) -> Cameras:
    """Place the cameras of every ``cctv`` deployment.

    Parameters
    ----------
    deployments
        (index in the scenario's ``[[deployment]]`` list, spec) pairs.
    footfall
        Expected walkers through each node (for ``placement = "footfall"``).
    rng
        The camera-placement stream (random placement).
    heading_key
        Key of the keyed coin that picks the street a camera at a crossing looks down, so a
        camera at a given crossing looks the same way whatever other cameras exist.
    """
    cols: dict[str, list[np.ndarray]] = {k: [] for k in
                                         ("node", "heading", "fov", "range", "p", "dep")}
    names: list[str] = []
    problems: list[str] = []
    for d, (index, spec) in enumerate(deployments):
        names.append(spec.name)
        k = spec.count
        if k > city.n_nodes:
            problems.append(f"deployment.{index}.count: {k:,} cameras but the city has only "
                            f"{city.n_nodes:,} crossings to put them on; expected at most "
                            f"{city.n_nodes:,}")
            continue
        if spec.placement == "random":
            nodes = rng.choice(city.n_nodes, size=k, replace=False)
        elif spec.placement == "footfall":
            # Busiest crossings first; ties broken by node id for a stable order.
            nodes = np.lexsort((np.arange(city.n_nodes), -footfall))[:k]
        else:
            nodes = np.lexsort((np.arange(city.n_nodes), city.distance_from_centre_m()))[:k]
        nodes = np.sort(nodes).astype(np.int32)
        cols["node"].append(nodes)
        cols["heading"].append(_headings(city, nodes, keyed_uniform(heading_key, nodes, d)))
        cols["fov"].append(np.full(k, spec.fov_deg))
        cols["range"].append(np.full(k, spec.range_m))
        cols["p"].append(np.full(k, spec.p_capture))
        cols["dep"].append(np.full(k, d, np.int16))
    if problems:
        raise ScenarioError(problems)
    if not cols["node"]:
        return Cameras.empty()
    node = np.concatenate(cols["node"])
    return Cameras(node=node, x_m=city.node_x_m[node], y_m=city.node_y_m[node],
                   heading_deg=np.concatenate(cols["heading"]),
                   fov_deg=np.concatenate(cols["fov"]), range_m=np.concatenate(cols["range"]),
                   p_capture=np.concatenate(cols["p"]), deployment=np.concatenate(cols["dep"]),
                   deployment_names=names)


def _headings(city: City, nodes: npt.NDArray[np.integer[Any]],
              pick: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Each camera looks down one street of its crossing, chosen by the uniform ``pick``."""
    adj = city.adjacency
    out = np.empty(nodes.size)
    for i, n in enumerate(nodes):
        nbrs = adj.indices[adj.indptr[n]:adj.indptr[n + 1]]
        m = nbrs[int(pick[i] * nbrs.size)]
        out[i] = np.degrees(np.arctan2(city.node_y_m[m] - city.node_y_m[n],
                                       city.node_x_m[m] - city.node_x_m[n]))
    return out


def capture_quality(distance_m: npt.ArrayLike, range_m: npt.ArrayLike, facing: npt.ArrayLike,
                    hour: npt.ArrayLike, crowd_per_min: npt.ArrayLike,
                    speed_mps: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Quality of a face capture in [0, 1] (1 = a custody portrait).

    Parameters
    ----------
    distance_m, range_m
        Distance from the camera and the camera's usable range, metres.
    facing
        Cosine of the angle between the walking direction and the line to the camera.
    hour
        Hour of the day (darkness before 06:00 and from 20:00).
    crowd_per_min
        Passers-by per minute at the camera (occlusion).
    speed_mps
        Walking speed (motion blur).
    """
    d = np.asarray(distance_m, np.float64) / np.asarray(range_m, np.float64)
    q = (1.0 - 0.3 * np.clip(d, 0.0, 1.0)) * (0.75 + 0.25 * np.clip(facing, -1.0, 1.0))
    h = np.asarray(hour, np.float64) % 24.0
    q = q * np.where((h < 6.0) | (h >= 20.0), NIGHT_LIGHT, 1.0)
    q = q / (1.0 + np.asarray(crowd_per_min, np.float64) / CROWD_PER_MIN_HALF)
    blur = 1.0 - BLUR_PER_MPS * np.maximum(np.asarray(speed_mps, np.float64) - FAST_WALK_MPS, 0)
    return np.asarray(np.clip(q * np.clip(blur, 0.7, 1.0), 0.0, 1.0), np.float64)


@dataclass
class Coverage:
    """Passage points per directed edge (CSR): ``ptr[de]:ptr[de+1]`` index the arrays below."""

    ptr: npt.NDArray[np.int64]
    camera: npt.NDArray[np.int32]
    frac: npt.NDArray[np.float64]  # position of the passage point along the directed edge
    distance_m: npt.NDArray[np.float64]
    facing: npt.NDArray[np.float64]  # cosine of the angle between walking and looking at camera

    @property
    def n_pairs(self) -> int:
        return int(self.camera.size)


def coverage(city: City, cams: Cameras) -> Coverage:
    """Which stretches of street each camera sees, for both walking directions."""
    n_dir = 2 * city.n_edges
    if cams.n == 0:
        z = np.zeros(0)
        return Coverage(np.zeros(n_dir + 1, np.int64), np.zeros(0, np.int32), z, z, z)
    polys = cams.sectors()
    lines = city.edge_geometry
    tree = shapely.STRtree(lines)
    cam_idx, edge_idx = tree.query(polys, predicate="intersects")
    inside = shapely.intersection(lines[edge_idx], polys[cam_idx])
    seen = shapely.length(inside) > 1e-6
    cam_idx, edge_idx, inside = cam_idx[seen], edge_idx[seen], inside[seen]
    mid = shapely.line_interpolate_point(inside, 0.5, normalized=True) if inside.size else inside
    # Multi-part intersections: the middle of the whole in-view part is a fair passage point.
    mx, my = shapely.get_x(mid), shapely.get_y(mid)
    along = shapely.line_locate_point(lines[edge_idx], mid)
    length = city.edge_length_m[edge_idx]
    frac = np.clip(along / np.maximum(length, 1e-9), 0.0, 1.0)
    ux = city.node_x_m[city.edge_v[edge_idx]] - city.node_x_m[city.edge_u[edge_idx]]
    uy = city.node_y_m[city.edge_v[edge_idx]] - city.node_y_m[city.edge_u[edge_idx]]
    norm = np.maximum(np.hypot(ux, uy), 1e-9)
    ux, uy = ux / norm, uy / norm
    tx, ty = cams.x_m[cam_idx] - mx, cams.y_m[cam_idx] - my
    dist = np.hypot(tx, ty)
    tnorm = np.maximum(dist, 1e-9)
    cos_uv = (ux * tx + uy * ty) / tnorm  # walking u->v, looking at the camera
    # Directed rows: 2e (u->v) and 2e+1 (v->u, facing flips, frac mirrors).
    de = np.concatenate([2 * edge_idx, 2 * edge_idx + 1])
    cam = np.concatenate([cam_idx, cam_idx]).astype(np.int32)
    fr = np.concatenate([frac, 1.0 - frac])
    dd = np.concatenate([dist, dist])
    fc = np.concatenate([cos_uv, -cos_uv])
    ok = fc >= np.cos(np.radians(_MAX_FACING_DEG))
    de, cam, fr, dd, fc = de[ok], cam[ok], fr[ok], dd[ok], fc[ok]
    order = np.lexsort((cam, de))
    de, cam, fr, dd, fc = de[order], cam[order], fr[order], dd[order], fc[order]
    ptr = np.zeros(n_dir + 1, np.int64)
    np.cumsum(np.bincount(de, minlength=n_dir), out=ptr[1:])
    return Coverage(ptr, cam, fr, dd, fc)
