"""The city: a walking graph in projected metres with typed places and named districts.

The graph is stored as arrays (node coordinates, edge endpoints and lengths, a CSR adjacency
matrix); shapely geometries and a networkx view are built on demand for the modules and users that
want them. Routing lives in :mod:`sim.routing`.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
import shapely

from sim.errors import ScenarioError
from sim.rng import Streams, declare, keyed_uniform
from sim.scenario import GridCity, OsmCity, Places, RadialCity, expand_map_path
from sim.schema import PLACE_TYPES as PLACE_TYPES

if TYPE_CHECKING:
    import networkx as nx

# Scenario key (city.places.<key>) for each place type.
_PLACE_KEYS = {
    "workplace": "workplaces",
    "shop": "shops",
    "transit_hub": "transit_hubs",
    "plaza": "plazas",
    "place_of_worship": "places_of_worship",
    "school": "schools",
    "hospital": "hospitals",
    "airport": "airports",
    "prison": "prisons",
}
_LABELS = {
    "workplace": "Workplace",
    "shop": "Shop",
    "transit_hub": "Station",
    "plaza": "Plaza",
    "place_of_worship": "Place of worship",
    "school": "School",
    "hospital": "Hospital",
    "airport": "Airport",
    "prison": "Prison",
}

IntArray = npt.NDArray[np.int32]
FloatArray = npt.NDArray[np.float64]


@dataclass
class City:
    """A street graph with places. Node and edge attributes are numpy columns.

    Attributes
    ----------
    node_x_m, node_y_m
        Projected coordinates in metres.
    edge_u, edge_v, edge_length_m
        Undirected edges (u < v) and their lengths in metres.
    node_district
        District index of each node; names in ``district_names``.
    place_node, place_type, place_name
        Typed places (index into ``PLACE_TYPES`` for the type).
    centre_node
        The central plaza (capital) or the middle crossing (grid).
    """

    kind: str
    node_x_m: FloatArray
    node_y_m: FloatArray
    edge_u: IntArray
    edge_v: IntArray
    edge_length_m: FloatArray
    node_district: npt.NDArray[np.int16]
    district_names: list[str]
    centre_node: int
    place_node: IntArray = field(default_factory=lambda: np.zeros(0, np.int32))
    place_type: npt.NDArray[np.int8] = field(default_factory=lambda: np.zeros(0, np.int8))
    place_name: list[str] = field(default_factory=list)
    # Real maps: street shapes (shapely LineStrings, u to v), how many homes each crossing
    # holds (relative; None: the same everywhere), the projection and the data's attribution.
    shapes: npt.NDArray[Any] | None = None
    home_weight: FloatArray | None = None
    crs: str | None = None
    attribution: str | None = None

    @property
    def n_nodes(self) -> int:
        return int(self.node_x_m.size)

    @property
    def n_edges(self) -> int:
        return int(self.edge_u.size)

    @cached_property
    def adjacency(self) -> sp.csr_matrix:
        """Symmetric CSR matrix of edge lengths (metres)."""
        n = self.n_nodes
        rows = np.concatenate([self.edge_u, self.edge_v])
        cols = np.concatenate([self.edge_v, self.edge_u])
        data = np.concatenate([self.edge_length_m, self.edge_length_m])
        return sp.csr_matrix((data, (rows, cols)), shape=(n, n))

    @cached_property
    def _edge_keys(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        n = np.int64(self.n_nodes)
        u = self.edge_u.astype(np.int64)
        v = self.edge_v.astype(np.int64)
        keys = np.concatenate([u * n + v, v * n + u])
        # Directed edge index: 2*e for u->v, 2*e+1 for v->u.
        directed = np.concatenate([2 * np.arange(u.size), 2 * np.arange(u.size) + 1])
        order = np.argsort(keys, kind="stable")
        return keys[order], directed[order].astype(np.int64)

    def directed_edge(self, a: npt.ArrayLike, b: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """Directed edge index (2*e for u->v, 2*e+1 for v->u) of each step a -> b."""
        keys, directed = self._edge_keys
        q = np.asarray(a, np.int64) * np.int64(self.n_nodes) + np.asarray(b, np.int64)
        pos = np.searchsorted(keys, q)
        if np.any(pos >= keys.size) or np.any(keys[np.minimum(pos, keys.size - 1)] != q):
            raise ValueError("a step between nodes that are not joined by an edge")
        return directed[pos]

    @cached_property
    def edge_geometry(self) -> npt.NDArray[Any]:
        """One shapely LineString per edge, in metres (from u to v)."""
        if self.shapes is not None:
            return self.shapes
        coords = np.stack(
            [
                np.stack([self.node_x_m[self.edge_u], self.node_y_m[self.edge_u]], axis=1),
                np.stack([self.node_x_m[self.edge_v], self.node_y_m[self.edge_v]], axis=1),
            ],
            axis=1,
        )
        return shapely.linestrings(coords)

    @cached_property
    def node_degree(self) -> npt.NDArray[np.int32]:
        return np.bincount(
            np.concatenate([self.edge_u, self.edge_v]), minlength=self.n_nodes
        ).astype(np.int32)

    def places_of(self, place_type: str) -> IntArray:
        """Nodes of the places of one type."""
        return self.place_node[self.place_type == PLACE_TYPES.index(place_type)]

    def distance_from_centre_m(self) -> FloatArray:
        c = self.centre_node
        return np.hypot(self.node_x_m - self.node_x_m[c], self.node_y_m - self.node_y_m[c])

    def to_networkx(self) -> nx.Graph:
        """The walking graph as networkx (nodes: x_m, y_m, district; edges: length_m, geometry);
        imported only here: runs never need it."""
        import networkx as nx

        g = nx.Graph()
        for i in range(self.n_nodes):
            g.add_node(
                i,
                x_m=float(self.node_x_m[i]),
                y_m=float(self.node_y_m[i]),
                district=self.district_names[self.node_district[i]],
            )
        geoms = self.edge_geometry
        for e in range(self.n_edges):
            g.add_edge(
                int(self.edge_u[e]),
                int(self.edge_v[e]),
                length_m=float(self.edge_length_m[e]),
                geometry=geoms[e],
            )
        return g


# ---------------------------------------------------------------- generators
declare(
    "city.places.*",
    "where the places of each type lie: a priority per crossing, keyed "
    "by crossing (city seed, not the run seed)",
)


def city_seed(spec: GridCity | RadialCity | OsmCity) -> int:
    """The seed that fixes the map, its places, their names and the districts.

    ``city.seed`` when given; otherwise derived from the city's own settings (for a real map,
    the content of its file), never from the run seed or replication: one capital is one place,
    and replications vary who lives there and how they move. The place counts are left out, so
    asking for more shops keeps every existing place where it was (places are chosen by a
    priority per crossing: a larger count adds the next ones).
    """
    if spec.seed is not None:
        return int(spec.seed)
    settings = spec.model_dump(mode="json", exclude={"seed", "places"})
    if isinstance(spec, OsmCity) and spec.path is not None:
        settings["path"] = file_digest(expand_map_path(spec.path, "scenario"))
    text = json.dumps(settings, sort_keys=True)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little") >> 1


def build_city(spec: GridCity | RadialCity | OsmCity) -> City:
    """Generate (or load) the street graph and its places from the scenario's ``[city]``."""
    streams = Streams(city_seed(spec))
    if isinstance(spec, OsmCity):
        from sim.osm import load_osm_city  # osmnx is an optional extra

        city, tagged = load_osm_city(spec)
        _place(city, spec.places, streams, tagged)
        return city
    city = _grid(spec) if isinstance(spec, GridCity) else _radial(spec)
    _place(city, spec.places, streams)
    return city


def _edges(
    u: list[int] | IntArray, v: list[int] | IntArray, x: FloatArray, y: FloatArray
) -> tuple[IntArray, IntArray, FloatArray]:
    a = np.asarray(u, np.int64)
    b = np.asarray(v, np.int64)
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    key = np.unique(lo * (x.size + 1) + hi)
    lo, hi = key // (x.size + 1), key % (x.size + 1)
    keep = lo != hi
    lo, hi = lo[keep], hi[keep]
    length = np.hypot(x[lo] - x[hi], y[lo] - y[hi])
    return lo.astype(np.int32), hi.astype(np.int32), length


def _grid(spec: GridCity) -> City:
    cols, rows = spec.columns, spec.rows
    ii, jj = np.meshgrid(np.arange(cols), np.arange(rows), indexing="xy")
    idx = (jj * cols + ii).ravel()
    x = (ii.ravel() * spec.block_m).astype(np.float64)
    y = (jj.ravel() * spec.block_m).astype(np.float64)
    order = np.argsort(idx)
    x, y = x[order], y[order]
    node = np.arange(cols * rows).reshape(rows, cols)
    u = np.concatenate([node[:, :-1].ravel(), node[:-1, :].ravel()])
    v = np.concatenate([node[:, 1:].ravel(), node[1:, :].ravel()])
    eu, ev, length = _edges(u, v, x, y)
    dx, dy = spec.districts_x, spec.districts_y
    col_of = np.arange(cols * rows) % cols
    row_of = np.arange(cols * rows) // cols
    dcol = np.minimum(col_of * dx // cols, dx - 1)
    drow = np.minimum(row_of * dy // rows, dy - 1)
    district = (drow * dx + dcol).astype(np.int16)
    if (dx, dy) == (2, 2):
        names = ["South-West", "South-East", "North-West", "North-East"]
    else:
        names = [f"District {chr(65 + r)}{c + 1}" for r in range(dy) for c in range(dx)]
    centre = int(node[rows // 2, cols // 2])
    return City("grid", x, y, eu, ev, length, district, names, centre)


# The eight compass directions, counter-clockwise from east (district names).
COMPASS8 = [
    "East",
    "North-East",
    "North",
    "North-West",
    "West",
    "South-West",
    "South",
    "South-East",
]


def _radial(spec: RadialCity) -> City:
    xs: list[FloatArray] = [np.zeros(1)]
    ys: list[FloatArray] = [np.zeros(1)]
    ring_of: list[IntArray] = [np.zeros(1, np.int32)]
    angle_of: list[FloatArray] = [np.zeros(1)]
    u: list[IntArray] = []
    v: list[IntArray] = []
    prev_start, prev_n = 0, 1
    start = 1
    doubling = 0
    for k in range(1, spec.rings + 1):
        r = k * spec.ring_spacing_m
        # Nodes per ring: spokes x 2^j, j never decreasing, so every crossing on ring k has a
        # partner at the same angle on ring k+1 (local streets continue outward).
        want = max(
            0, int(np.round(np.log2(max(2 * np.pi * r / (spec.block_m * spec.spokes), 1.0))))
        )
        doubling = max(doubling, want)
        n = spec.spokes * 2**doubling
        theta = 2 * np.pi * np.arange(n) / n
        xs.append(r * np.cos(theta))
        ys.append(r * np.sin(theta))
        ring_of.append(np.full(n, k, np.int32))
        angle_of.append(theta)
        ids = start + np.arange(n, dtype=np.int32)
        u.append(ids)  # ring road
        v.append(start + ((np.arange(n) + 1) % n).astype(np.int32))
        if k == 1:
            u.append(np.zeros(n, np.int32))  # centre plaza to the first ring
            v.append(ids)
        else:
            step = n // prev_n
            u.append(prev_start + np.arange(prev_n, dtype=np.int32))
            v.append(start + (np.arange(prev_n) * step).astype(np.int32))
        prev_start, prev_n = start, n
        start += n
    x = np.concatenate(xs)
    y = np.concatenate(ys)
    ring = np.concatenate(ring_of)
    angle = np.concatenate(angle_of)
    eu, ev, length = _edges(np.concatenate(u), np.concatenate(v), x, y)
    nd = spec.districts
    sector = np.floor(((angle + np.pi / nd) % (2 * np.pi)) / (2 * np.pi / nd)).astype(np.int16)
    if nd == 8:
        outer = COMPASS8
    elif nd == 4:
        outer = ["East", "North", "West", "South"]
    else:
        outer = [f"Sector {i + 1}" for i in range(nd)]
    district = np.where(ring <= spec.centre_rings, 0, sector + 1).astype(np.int16)
    names = ["Centre", *outer]
    return City("radial", x, y, eu, ev, length, district, names, 0)


TaggedPlaces = dict[str, tuple[IntArray, list[str]]]


def _place(
    city: City, places: Places, streams: Streams, tagged: TaggedPlaces | None = None
) -> None:
    """Put typed places on nodes; the centre node is always the central plaza.

    Each type ranks the crossings by a keyed priority (weighted sampling without replacement,
    Efraimidis & Spirakis 2006: the largest ``log(u) / weight``), takes the first ``count`` and
    names them in that order ("Shop 1 (North)" is the first shop): a larger count keeps the
    places and names a smaller one had.

    ``tagged`` (real maps): per type, the nodes and names of the places the map has; they are
    all kept, and ``places`` gives the minimum count of each type, filled up by the generator.
    """
    tagged = tagged or {}
    r = city.distance_from_centre_m()
    r_max = max(float(r.max()), 1.0)
    n = city.n_nodes
    centre_bias = np.exp(-r / (0.35 * r_max))
    weights = {
        "workplace": centre_bias + 0.05,
        "shop": 0.5 * centre_bias / centre_bias.sum() + 0.5 / n,
        "transit_hub": city.node_degree.astype(np.float64) ** 2,
        "plaza": np.ones(n),
        "place_of_worship": np.ones(n),
        "school": np.ones(n),
        "hospital": centre_bias + 0.2,
        "airport": (r / r_max) ** 8 + 1e-9,  # at the edge of the city
        "prison": (r / r_max) ** 4 + 1e-9,
    }
    problems = []
    nodes: list[IntArray] = []
    types: list[npt.NDArray[np.int8]] = []
    names: list[str] = []
    for t_index, t in enumerate(PLACE_TYPES):
        count = int(getattr(places, _PLACE_KEYS[t]))
        if count > n:
            problems.append(
                f"city.places.{_PLACE_KEYS[t]}: {count:,} places of this type but "
                f"the city has only {n:,} crossings to put them on; expected at most "
                f"{n:,}"
            )
            continue
        w = weights[t].astype(np.float64)
        rank = _ranked(streams.key(f"city.places.{t}"), w)
        if t in tagged:
            have, have_names = tagged[t]
            if t == "plaza":  # the central plaza first
                keep = have != city.centre_node
                centre_name = [
                    nm for nd, nm in zip(have, have_names, strict=True) if nd == city.centre_node
                ]
                have = np.concatenate([[city.centre_node], have[keep]]).astype(np.int32)
                have_names = [
                    centre_name[0] if centre_name else "Central Square",
                    *(nm for nm, k in zip(have_names, keep, strict=True) if k),
                ]
            free = rank[~np.isin(rank, have)]
            extra = free[: max(0, min(count - have.size, int(np.count_nonzero(w[free]))))]
            chosen = np.concatenate([have, extra]).astype(np.int32)
            given = list(have_names)
        elif t == "plaza":
            others = rank[rank != city.centre_node][: count - 1]
            chosen = np.concatenate([[city.centre_node], others]).astype(np.int32)
            given = ["Central Plaza"]
        else:
            chosen = rank[:count].astype(np.int32)
            given = []
        nodes.append(chosen)
        types.append(np.full(chosen.size, t_index, np.int8))
        for i, node in enumerate(chosen):
            district = city.district_names[city.node_district[node]]
            names.append(
                given[i] if i < len(given) and given[i] else f"{_LABELS[t]} {i + 1} ({district})"
            )
    if problems:
        raise ScenarioError(problems)
    city.place_node = np.concatenate(nodes).astype(np.int32)
    city.place_type = np.concatenate(types).astype(np.int8)
    city.place_name = names


def _ranked(key: np.uint64, weights: FloatArray) -> IntArray:
    """Crossings by descending priority ``log(u) / weight`` (u keyed by crossing); crossings of
    weight zero come last (by u), so a count larger than the weighted crossings still fits."""
    n = weights.size
    u = keyed_uniform(key, np.arange(n))
    with np.errstate(divide="ignore"):
        priority = np.where(weights > 0, np.log(np.maximum(u, 1e-300)) / weights, -np.inf)
    return np.lexsort((-u, -priority)).astype(np.int32)


def file_digest(path: Path) -> str:
    """``sha256:<hex>`` of a file's content (a map identified by what it holds, not where)."""
    try:
        st = path.stat()
    except (OSError, ValueError):
        return f"missing:{path.name}"
    return _digest(str(path), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=32)
def _digest(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    except OSError:
        return f"unreadable:{Path(path).name}"
    return "sha256:" + h.hexdigest()
