"""Fixed cameras: placement, field of view as shapely geometry, and which street stretches they see.

A camera stands at a crossing, ``height_m`` above the street, and looks down one of its streets.
Its view is a circular sector (``range_m``, ``fov_deg``), less any exclusion zone. For every
stretch of street inside the view the table records where it starts and ends, per walking
direction; the engine picks the moment the frame is grabbed (a keyed point of the stretch), and
the distance, pitch and facing angle at that point set the capture's quality. Walkers whose back
is to the camera show no face. The result is a CSR table over directed edges, so a trip's
captures are found with array look-ups.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

from sim import cache as sim_cache
from sim.city import City
from sim.kinds import Kind, Placing, kind_index, kinds, street_view_kinds
from sim.rng import keyed_uniform
from sim.scenario import Deployment
from sim.units import HOUR

# A face is usable when the walker faces the camera within 60 degrees.
_MAX_FACING_DEG = 60.0

# Capture-quality factors. Their product is the quality q in [0, 1] that lowers genuine scores
# (sim.facematch). Each coefficient is an assumption of survsim, chosen so that typical daytime
# captures land at q of about 0.7-0.8, where the face-match presets reproduce the live-video
# detection rates of docs/calibration.md section 5; none is fitted to a measurement.
NIGHT_LIGHT = 0.7  # darkness (before 06:00, from 20:00)
CROWD_PER_MIN_HALF = 120.0  # passers-by per minute at which occlusion halves quality
FAST_WALK_MPS = 1.4  # motion blur starts above this speed
BLUR_PER_MPS = 0.15


@dataclass
class Cameras:
    """All capture devices, as columns: street cameras, vans and door cameras.

    ``kind`` indexes :func:`sim.kinds.kind_names`; door cameras (entry points) see the people
    who enter their place, not passers-by. A device works daily from ``active_from_s`` to
    ``active_to_s`` (seconds of the day).
    """

    node: npt.NDArray[np.int32]
    x_m: npt.NDArray[np.float64]
    y_m: npt.NDArray[np.float64]
    heading_deg: npt.NDArray[np.float64]
    fov_deg: npt.NDArray[np.float64]
    range_m: npt.NDArray[np.float64]
    p_capture: npt.NDArray[np.float64]
    deployment: npt.NDArray[np.int16]  # index in the scenario's [[deployment]] list
    height_m: npt.NDArray[np.float64]
    deployment_names: list[str]
    kind: npt.NDArray[np.int8] = field(default_factory=lambda: np.zeros(0, np.int8))
    watchlist: npt.NDArray[np.int16] = field(default_factory=lambda: np.zeros(0, np.int16))
    active_from_s: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    active_to_s: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    fixed_quality: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    # Quality of a door or patrol capture (NaN for street views, whose quality is computed).

    def is_kind(self, *names: str) -> npt.NDArray[np.bool_]:
        """Which devices are of one of the kinds ``names``."""
        return np.isin(self.kind, [kind_index(n) for n in names])

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
        return cls(
            node=np.zeros(0, np.int32),
            x_m=z,
            y_m=z,
            heading_deg=z,
            fov_deg=z,
            range_m=z,
            p_capture=z,
            deployment=np.zeros(0, np.int16),
            height_m=z,
            deployment_names=[],
            kind=np.zeros(0, np.int8),
            watchlist=np.zeros(0, np.int16),
            active_from_s=z,
            active_to_s=z,
            fixed_quality=z,
        )

    def sectors(self) -> npt.NDArray[Any]:
        """Each camera's view as a shapely polygon (a circular sector, metres)."""
        out = np.empty(self.n, dtype=object)
        round_view = self.fov_deg >= 360.0
        for i in np.flatnonzero(round_view):
            out[i] = sector(
                float(self.x_m[i]),
                float(self.y_m[i]),
                float(self.heading_deg[i]),
                float(self.fov_deg[i]),
                float(self.range_m[i]),
            )
        cut = np.flatnonzero(~round_view)
        if cut.size:  # every other sector at once (the same points as sector() gives)
            out[cut] = shapely.polygons(
                _sector_rings(
                    self.x_m[cut],
                    self.y_m[cut],
                    self.heading_deg[cut],
                    self.fov_deg[cut],
                    self.range_m[cut],
                )
            )
        return out

    def sees(
        self, camera: int | npt.NDArray[np.integer[Any]], x_m: npt.ArrayLike, y_m: npt.ArrayLike
    ) -> npt.NDArray[np.bool_]:
        """Whether camera ``camera`` (or each of an array of cameras) has the points (x_m, y_m)
        in view."""
        dx = np.asarray(x_m, np.float64) - self.x_m[camera]
        dy = np.asarray(y_m, np.float64) - self.y_m[camera]
        dist = np.hypot(dx, dy)
        bearing = np.degrees(np.arctan2(dy, dx))
        off = np.abs((bearing - self.heading_deg[camera] + 180.0) % 360.0 - 180.0)
        inside = (dist <= self.range_m[camera]) & (
            (off <= self.fov_deg[camera] / 2.0) | (self.fov_deg[camera] >= 360.0)
        )
        return np.asarray(inside | (dist == 0.0))


def sector(
    x: float, y: float, heading_deg: float, fov_deg: float, range_m: float, n_arc: int = 24
) -> shapely.Polygon:
    """A circular sector polygon with its apex at (x, y)."""
    if fov_deg >= 360.0:
        return shapely.Point(x, y).buffer(range_m, quad_segs=n_arc)
    one = [np.array([v], np.float64) for v in (x, y, heading_deg, fov_deg, range_m)]
    return shapely.Polygon(_sector_rings(one[0], one[1], one[2], one[3], one[4], n_arc)[0])


def _sector_rings(
    x: npt.NDArray[np.float64],
    y: npt.NDArray[np.float64],
    heading_deg: npt.NDArray[np.float64],
    fov_deg: npt.NDArray[np.float64],
    range_m: npt.NDArray[np.float64],
    n_arc: int = 24,
) -> npt.NDArray[np.float64]:
    """Closed rings (apex, arc of ``n_arc`` segments, apex) of many sectors: (n, n_arc + 3, 2)."""
    x, y, r = (np.asarray(v, np.float64)[:, None] for v in (x, y, range_m))
    half = np.asarray(fov_deg, np.float64) / 2
    a = np.radians(
        np.asarray(heading_deg, np.float64)[:, None] + np.linspace(-half, half, n_arc + 1, axis=1)
    )
    ring = np.empty((x.shape[0], n_arc + 3, 2))
    ring[:, 0, 0], ring[:, 0, 1] = x[:, 0], y[:, 0]
    ring[:, 1:-1, 0] = x + r * np.cos(a)
    ring[:, 1:-1, 1] = y + r * np.sin(a)
    ring[:, -1] = ring[:, 0]
    return ring


def place_cameras(
    deployments: Sequence[Deployment],
    city: City,
    footfall: npt.NDArray[np.float64],
    rng: np.random.Generator,
    heading_key: np.uint64,
    watchlist_index: dict[str, int],
) -> Cameras:
    """Place the devices of every deployment, each where its kind puts them (:mod:`sim.kinds`).
    Each kind's checks against the city have passed (:func:`sim.places.check_references`, run
    by :func:`sim.world.checked_city` before any work).

    Parameters
    ----------
    deployments
        The scenario's ``[[deployment]]`` list (empty under a ban).
    footfall
        Expected walkers through each node (for ``placement = "footfall"``).
    rng
        The placement stream (random placement, vans by place type).
    heading_key
        Key of the keyed coin that picks the street a camera at a crossing looks down, so a
        camera at a given crossing looks the same way whatever other cameras exist.
    watchlist_index
        Watchlist name -> index.
    """
    registry = kinds()
    if not deployments:
        return Cameras.empty()
    at = Placing(city, footfall, rng)
    parts = [
        _devices(index, spec, registry[spec.kind], at, heading_key, watchlist_index)
        for index, spec in enumerate(deployments)
    ]
    col = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    node = col["node"]
    return Cameras(
        node=node,
        x_m=city.node_x_m[node],
        y_m=city.node_y_m[node],
        heading_deg=col["heading"],
        fov_deg=col["fov"],
        range_m=col["range"],
        p_capture=col["p"],
        deployment=col["dep"],
        height_m=col["height"],
        deployment_names=[d.name for d in deployments],
        kind=col["kind"],
        watchlist=col["wl"],
        active_from_s=col["from"],
        active_to_s=col["to"],
        fixed_quality=col["fixed_q"],
    )


def _devices(
    index: int,
    spec: Any,
    kind: Kind,
    at: Placing,
    heading_key: np.uint64,
    watchlist_index: dict[str, int],
) -> dict[str, np.ndarray]:
    """The columns of one deployment's devices, from its kind's placement and its model's
    fields (:mod:`sim.kinds`)."""
    nodes = np.asarray(kind.place(spec, at)).astype(np.int32)
    k = nodes.size
    if kind.street_view:
        view = (
            _headings(at.city, nodes, keyed_uniform(heading_key, nodes, index)),
            spec.fov_deg,
            spec.range_m,
            spec.height_m,
            np.nan,
        )
    else:  # at a door or on a patrol: close by, all round, at a set quality
        view = (np.zeros(k), 360.0, 2.0, 1.6, spec.quality)
    start_h, end_h = getattr(spec, "start_h", 0.0), getattr(spec, "end_h", 24.0)
    return {
        "node": nodes,
        "kind": np.full(k, kind_index(spec.kind), np.int8),
        "dep": np.full(k, index, np.int16),
        "wl": np.full(k, watchlist_index[spec.watchlist], np.int16),
        "p": np.full(k, getattr(spec, "p_capture", 1.0), np.float64),
        "heading": np.asarray(view[0], np.float64),
        "fov": np.full(k, view[1]),
        "range": np.full(k, view[2]),
        "height": np.full(k, view[3]),
        "fixed_q": np.full(k, view[4]),
        "from": np.full(k, start_h * HOUR),
        "to": np.full(k, end_h * HOUR),
    }


def entry_points(city: City) -> npt.NDArray[np.int64]:
    """Where roads enter the city: the crossings on its outer edge (on the convex hull of all
    crossings, to within a metre)."""
    pts = shapely.points(city.node_x_m, city.node_y_m)
    rim = shapely.multipoints(pts).convex_hull.exterior
    return np.flatnonzero(shapely.distance(rim, pts) <= 1.0).astype(np.int64)


def _headings(
    city: City, nodes: npt.NDArray[np.integer[Any]], pick: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """Each camera looks down one street of its crossing, chosen by the uniform ``pick``."""
    adj = city.adjacency
    out = np.empty(nodes.size)
    for i, n in enumerate(nodes):
        nbrs = adj.indices[adj.indptr[n] : adj.indptr[n + 1]]
        m = nbrs[int(pick[i] * nbrs.size)]
        out[i] = np.degrees(
            np.arctan2(city.node_y_m[m] - city.node_y_m[n], city.node_x_m[m] - city.node_x_m[n])
        )
    return out


def capture_quality(
    distance_m: npt.ArrayLike,
    height_m: npt.ArrayLike,
    range_m: npt.ArrayLike,
    facing: npt.ArrayLike,
    hour: npt.ArrayLike,
    crowd_per_min: npt.ArrayLike,
    speed_mps: npt.ArrayLike,
) -> npt.NDArray[np.float64]:
    """Quality of a face capture in [0, 1] (1 = a custody portrait).

    Parameters
    ----------
    distance_m, height_m, range_m
        Horizontal distance from the camera, the camera's mounting height and its usable range,
        metres. Close to the camera it looks down on the top of the head (steep pitch).
    facing
        Cosine of the horizontal angle between the walking direction and the line to the camera.
    hour
        Hour of the day (darkness before 06:00 and from 20:00).
    crowd_per_min
        Passers-by per minute at the camera (occlusion).
    speed_mps
        Walking speed (motion blur).
    """
    horiz = np.asarray(distance_m, np.float64)
    h = np.asarray(height_m, np.float64)
    slant = np.hypot(horiz, h)
    d = slant / np.asarray(range_m, np.float64)
    cos_pitch = horiz / np.maximum(slant, 1e-9)
    q = (1.0 - 0.3 * np.clip(d, 0.0, 1.0)) * (0.75 + 0.25 * np.clip(facing, -1.0, 1.0))
    q = q * (0.6 + 0.4 * cos_pitch)
    hh = np.asarray(hour, np.float64) % 24.0
    q = q * np.where((hh < 6.0) | (hh >= 20.0), NIGHT_LIGHT, 1.0)
    q = q / (1.0 + np.asarray(crowd_per_min, np.float64) / CROWD_PER_MIN_HALF)
    blur = 1.0 - BLUR_PER_MPS * np.maximum(np.asarray(speed_mps, np.float64) - FAST_WALK_MPS, 0)
    return np.asarray(np.clip(q * np.clip(blur, 0.7, 1.0), 0.0, 1.0), np.float64)


@dataclass
class Coverage:
    """The stretch of street each camera sees, per directed edge (CSR).

    ``ptr[de]:ptr[de+1]`` index the arrays below for directed edge ``de``. Along a directed edge
    the walker enters the camera's view at ``frac0`` (share of the edge's length) at point
    (``x0_m``, ``y0_m``) and leaves it at ``frac1``, (``x1_m``, ``y1_m``).
    """

    ptr: npt.NDArray[np.int64]
    camera: npt.NDArray[np.int32]
    frac0: npt.NDArray[np.float64]
    frac1: npt.NDArray[np.float64]
    x0_m: npt.NDArray[np.float64]
    y0_m: npt.NDArray[np.float64]
    x1_m: npt.NDArray[np.float64]
    y1_m: npt.NDArray[np.float64]

    @property
    def n_pairs(self) -> int:
        return int(self.camera.size)

    def passage(
        self, pair: npt.ArrayLike, s: npt.ArrayLike, cam_x_m: npt.ArrayLike, cam_y_m: npt.ArrayLike
    ) -> tuple[npt.NDArray[np.float64], ...]:
        """Where along the stretch in view a walker is when the camera grabs the frame.

        Parameters
        ----------
        pair
            Rows of this table.
        s
            Position within the stretch in view, 0 (entering) to 1 (leaving).
        cam_x_m, cam_y_m
            The camera's position.

        Returns
        -------
        frac, distance_m, facing, x_m, y_m
            Share of the edge walked, horizontal distance to the camera, the cosine of the
            angle between the walking direction and the line to the camera, and the point.
        """
        k = np.asarray(pair, np.int64)
        u = np.asarray(s, np.float64)
        dx_all, dy_all, step_all, dfrac_all = self._spans
        dx, dy = dx_all[k], dy_all[k]
        px, py = self.x0_m[k] + u * dx, self.y0_m[k] + u * dy
        step = step_all[k]
        tx, ty = np.asarray(cam_x_m) - px, np.asarray(cam_y_m) - py
        dist = np.hypot(tx, ty)
        # Right under the camera no face is seen (facing 0).
        facing = np.where(dist > 1e-6, (dx * tx + dy * ty) / (step * np.maximum(dist, 1e-9)), 0.0)
        frac = self.frac0[k] + u * dfrac_all[k]
        return frac, dist, facing, px, py

    @functools.cached_property
    def _spans(self) -> tuple[npt.NDArray[np.float64], ...]:
        """Per row, once: the stretch's x and y extent, its length (at least 1e-9 m) and the
        share of the edge it spans."""
        dx, dy = self.x1_m - self.x0_m, self.y1_m - self.y0_m
        return dx, dy, np.maximum(np.hypot(dx, dy), 1e-9), self.frac1 - self.frac0


def coverage(city: City, cams: Cameras, excluded: Any = None, *, cache: bool = False) -> Coverage:
    """Which stretches of street each camera sees, for both walking directions.

    Pairs whose walkers never face the camera within 60 degrees (walking away) are dropped.
    ``excluded`` (a shapely geometry) is cut out of every camera's view: no face is captured
    inside it. With ``cache``, the result is kept in the on-disk cache (:mod:`sim.cache`),
    keyed by the streets' geometry, the cameras' views, the exclusion zones and the versions
    of shapely and GEOS, for the next run of the same camera network.
    """
    if not (cache and sim_cache.enabled()):
        return _coverage(city, cams, excluded)

    def computed() -> sim_cache.Arrays:
        table = _coverage(city, cams, excluded)
        return {f: getattr(table, f) for f in _COVERAGE_FIELDS}

    got = sim_cache.memo(
        _coverage_entry(city, cams, excluded),
        _COVERAGE_FIELDS,
        computed,
        lambda got: got["ptr"].shape == (2 * city.n_edges + 1,),
    )
    return Coverage(**got)


_COVERAGE_FIELDS = ("ptr", "camera", "frac0", "frac1", "x0_m", "y0_m", "x1_m", "y1_m")
COVERAGE_VERSION = 1  # bump when what coverage() computes changes


def _coverage_entry(city: City, cams: Cameras, excluded: Any) -> Path:
    return sim_cache.route_entry(
        "coverage",
        f"v{COVERAGE_VERSION}:numpy{np.__version__}:shapely{shapely.__version__}:"
        f"geos{shapely.geos_version_string}",
        shapely.get_coordinates(city.edge_geometry),
        shapely.get_num_coordinates(city.edge_geometry),
        city.edge_length_m,
        cams.x_m,
        cams.y_m,
        cams.heading_deg,
        cams.fov_deg,
        cams.range_m,
        cams.kind,
        b"" if excluded is None else shapely.to_wkb(excluded),
    )


def _coverage(city: City, cams: Cameras, excluded: Any) -> Coverage:
    n_dir = 2 * city.n_edges
    if cams.n == 0:
        z = np.zeros(0)
        return Coverage(np.zeros(n_dir + 1, np.int64), np.zeros(0, np.int32), z, z, z, z, z, z)
    polys = cams.sectors()
    # Door and patrol cameras do not watch the street through a fixed view.
    street = cams.is_kind(*street_view_kinds())
    polys[~street] = shapely.Polygon()
    if excluded is not None:
        polys = shapely.difference(polys, excluded)
    lines = city.edge_geometry
    tree = shapely.STRtree(lines)
    cam_idx, edge_idx = tree.query(polys, predicate="intersects")
    inside = shapely.intersection(lines[edge_idx], polys[cam_idx])
    # Each piece in view is a stretch of its own (a view cut by an exclusion zone, a street
    # bending in and out of view).
    inside, part_of = shapely.get_parts(inside, return_index=True)
    cam_idx, edge_idx = cam_idx[part_of], edge_idx[part_of]
    seen = (shapely.get_type_id(inside) == 1) & (shapely.length(inside) > 1e-6)
    cam_idx, edge_idx, inside = cam_idx[seen], edge_idx[seen], inside[seen]
    # Each stretch from where it starts to where it ends along the edge (u -> v).
    pts = shapely.get_coordinates(inside, return_index=True)
    coords, owner = pts if isinstance(pts, tuple) else (pts, np.zeros(0, np.int64))
    along = shapely.line_locate_point(lines[edge_idx[owner]], shapely.points(coords))
    first = np.full(edge_idx.size, np.inf)
    last = np.full(edge_idx.size, -np.inf)
    np.minimum.at(first, owner, along)
    np.maximum.at(last, owner, along)
    length = np.maximum(city.edge_length_m[edge_idx], 1e-9)
    p0 = shapely.line_interpolate_point(lines[edge_idx], first)
    p1 = shapely.line_interpolate_point(lines[edge_idx], last)
    f0, f1 = np.clip(first / length, 0, 1), np.clip(last / length, 0, 1)
    x0, y0, x1, y1 = shapely.get_x(p0), shapely.get_y(p0), shapely.get_x(p1), shapely.get_y(p1)
    # Directed rows: 2e (u->v) and 2e+1 (v->u: the stretch is walked the other way).
    de = np.concatenate([2 * edge_idx, 2 * edge_idx + 1])
    cam = np.concatenate([cam_idx, cam_idx]).astype(np.int32)
    cols = [
        np.concatenate(c)
        for c in ((f0, 1 - f1), (f1, 1 - f0), (x0, x1), (y0, y1), (x1, x0), (y1, y0))
    ]
    table = Coverage(np.zeros(0, np.int64), cam, *cols)
    # A straight stretch faces the camera best at one of its ends.
    ends = np.arange(de.size)
    c0 = table.passage(ends, np.zeros(de.size), cams.x_m[cam], cams.y_m[cam])[2]
    c1 = table.passage(ends, np.ones(de.size), cams.x_m[cam], cams.y_m[cam])[2]
    keep = np.maximum(c0, c1) >= np.cos(np.radians(_MAX_FACING_DEG))
    order = np.flatnonzero(keep)[np.lexsort((cam[keep], de[keep]))]
    ptr = np.zeros(n_dir + 1, np.int64)
    np.cumsum(np.bincount(de[order], minlength=n_dir), out=ptr[1:])
    return Coverage(ptr, cam[order], *(c[order] for c in cols))
