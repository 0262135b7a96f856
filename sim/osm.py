"""Real cities from OpenStreetMap: a cleaned walking graph, typed places, districts and homes.

A scenario's ``[city] kind = "osm"`` names an extract on disk (``path``: OSM XML, ``.osm.bz2``,
``.osm.pbf`` or an osmnx GraphML file) or a place to download (``place``). Preparing the map
follows what street-network researchers do with osmnx:

1. street ways only, with osmnx's own walking filter (read from osmnx: no motorways,
   cycleways, private or ``foot=no`` ways, areas, rest areas, streets whose sidewalks are mapped
   separately or ways under construction), walkable both ways;
2. the largest connected component;
3. projected to metres (UTM);
4. nearby intersection nodes consolidated (``consolidate_m``; osmnx's
   ``consolidate_intersections``, dead ends kept);
5. edge geometry filled in (a straight line where OSM has no shape), oriented u to v.

Places come from the map's tags (places of worship, schools, hospitals, marketplaces, stations,
parks and squares, airports, prisons, shops, offices); districts from administrative boundaries
when the extract has them, otherwise from k-means clustering of the crossings; homes are placed
by residential buildings where the extract has enough of them, otherwise by street length.

The prepared map is cached on disk (:mod:`sim.cache`: ``SURVSIM_CACHE``, default
``~/.cache/survsim``) keyed by the file's content and the preparation settings, so the second run
loads it in well under a second. osmnx (the ``osm`` extra) is imported only here, and only when a
map has to be prepared. Reading the extract or download and typing its places:
:mod:`sim.osm_read`; a ``.osm.pbf`` (whole cities) is read streaming into arrays by
:mod:`sim.osm_stream`, which builds the same walking graph as osmnx without osmnx's graph in
memory; districts: :mod:`sim.osm_districts`.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import itertools
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

from sim import cache
from sim.city import PLACE_TYPES, City, TaggedPlaces
from sim.errors import ScenarioError, short
from sim.files import atomic_path
from sim.osm_districts import districts
from sim.osm_read import Feature, Streets, _download, _read_extract, need_osmium
from sim.osm_read import place_type_of as place_type_of
from sim.scenario import OsmCity, expand_map_path

ATTRIBUTION = (
    "Map data © OpenStreetMap contributors, available under the Open Database "
    "License (ODbL) 1.0, https://www.openstreetmap.org/copyright"
)
PREP_VERSION = 4  # bump when the preparation changes what a cached map holds
INSTALL_HINT = (
    "real street maps need osmnx, an optional extra: install it with "
    "`pip install 'survsim[osm]'` (or `.venv/bin/pip install -e '.[osm]'` in a "
    "checkout)"
)

# Street classes and how many homes a metre of them carries (relative), for home placement.
_HOME_PER_M = {
    "residential": 1.0,
    "living_street": 1.0,
    "unclassified": 0.6,
    "tertiary": 0.6,
    "service": 0.4,
    "secondary": 0.4,
    "primary": 0.3,
}
_HOME_PER_M_OTHER = 0.15  # footways, paths, steps, trunk roads
_RESIDENTIAL_BUILDINGS = {
    "yes",
    "house",
    "residential",
    "apartments",
    "detached",
    "terrace",
    "semidetached_house",
    "dormitory",
    "bungalow",
    "flats",
    "hut",
}
_MIN_BUILDINGS = 100  # fewer residential buildings than this: place homes by street length
_SNAP_M = 300.0  # tagged features farther than this from any crossing are outside the map


# ---------------------------------------------------------------- entry point
def load_osm_city(spec: OsmCity) -> tuple[City, TaggedPlaces]:
    """The prepared city and its tagged places, from the cache or freshly prepared."""
    source, key = _source_key(spec)
    cached = cache.cache_dir() / "maps" / f"{_slug(source)}-{key[:20]}.npz"
    if cache.enabled() and cached.exists():
        with contextlib.suppress(OSError, ValueError, KeyError, EOFError):
            return _read_cache(cached)
    prepared = _prepare(spec)
    if cache.enabled():
        with contextlib.suppress(OSError):  # a read-only cache only costs the next run time
            _write_cache(cached, prepared)
    return prepared.city, prepared.tagged


def _source_key(spec: OsmCity) -> tuple[str, str]:
    h = hashlib.sha256()
    h.update(
        json.dumps(
            {"v": PREP_VERSION, "consolidate_m": spec.consolidate_m, "districts": spec.districts}
        ).encode()
    )
    if spec.place is not None:
        h.update(b"place:" + spec.place.strip().lower().encode())
        return spec.place, h.hexdigest()
    path = _map_path(spec)
    try:
        with path.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    except OSError as exc:
        raise ScenarioError(f"city.path: {path}: cannot read the file ({exc})") from None
    return path.name, h.hexdigest()


def _map_path(spec: OsmCity) -> Path:
    assert spec.path is not None
    path = expand_map_path(spec.path, "scenario")  # paths given with --set are expanded here
    shown = short(str(path))
    try:
        exists, is_file = path.exists(), path.is_file()
    except (OSError, ValueError) as exc:  # a name too long, a NUL byte, a symlink loop...
        raise ScenarioError(
            f"city.path: {shown}: not a usable file name ({exc.__class__.__name__}"
            f": {short(str(exc), 120)})"
        ) from None
    if not exists:
        raise ScenarioError(
            f"city.path: {shown}: no such file (expected an OpenStreetMap "
            f"extract: .osm, .osm.bz2, .osm.pbf, or an osmnx .graphml file)"
        )
    if not is_file:
        raise ScenarioError(f"city.path: {shown}: not a file")
    return path


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_")[:40] or "map"


# ---------------------------------------------------------------- the prepared map
@dataclass
class Prepared:
    city: City
    tagged: TaggedPlaces = field(default_factory=dict)


_CITY_ARRAYS = (
    "node_x_m",
    "node_y_m",
    "edge_u",
    "edge_v",
    "edge_length_m",
    "node_district",
    "home_weight",
)


def _write_cache(path: Path, p: Prepared) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    c = p.city
    coords = shapely.get_coordinates(c.edge_geometry)
    counts = shapely.get_num_coordinates(c.edge_geometry)
    meta = {
        "district_names": c.district_names,
        "centre_node": c.centre_node,
        "crs": c.crs,
        "kind": c.kind,
        "tagged_names": {t: names for t, (_, names) in p.tagged.items()},
    }
    arrays = {name: getattr(c, name) for name in _CITY_ARRAYS}
    arrays.update({f"tagged_{t}": nodes for t, (nodes, _) in p.tagged.items()})
    with atomic_path(path, suffix=".tmp.npz") as tmp:  # numpy adds .npz to other names
        np.savez(
            tmp,
            shape_coords=coords,
            shape_counts=counts,
            meta=np.frombuffer(json.dumps(meta).encode(), np.uint8),
            **arrays,
        )


def _read_cache(path: Path) -> tuple[City, TaggedPlaces]:
    with np.load(path) as z:
        meta = json.loads(bytes(z["meta"]).decode())
        a = {name: z[name] for name in _CITY_ARRAYS}
        counts = z["shape_counts"]
        coords = z["shape_coords"]
        tagged = {
            t: (z[f"tagged_{t}"].astype(np.int32), list(names))
            for t, names in meta["tagged_names"].items()
        }
    starts = np.concatenate([[0], np.cumsum(counts)])
    shapes = np.array(
        [shapely.LineString(coords[s:e]) for s, e in itertools.pairwise(starts)], dtype=object
    )
    city = City(
        meta["kind"],
        a["node_x_m"],
        a["node_y_m"],
        a["edge_u"],
        a["edge_v"],
        a["edge_length_m"],
        a["node_district"],
        list(meta["district_names"]),
        int(meta["centre_node"]),
        shapes=shapes,
        home_weight=a["home_weight"],
        crs=meta["crs"],
        attribution=ATTRIBUTION,
    )
    return city, tagged


# ---------------------------------------------------------------- preparation
def _osmnx() -> Any:
    try:
        import osmnx as ox
    except ImportError:
        raise ScenarioError(f"city.kind = 'osm': {INSTALL_HINT}") from None
    ox.settings.log_console = False
    ox.settings.use_cache = cache.enabled()
    ox.settings.cache_folder = str(cache.cache_dir() / "osmnx")
    tags = list(ox.settings.useful_tags_way)
    missing = [k for k, _ in walk_filter() if k not in tags]
    if missing:  # the ways keep the tags the walking filter reads
        ox.settings.useful_tags_way = [*tags, *missing]
    return ox


@functools.cache
def walk_filter() -> list[tuple[str, re.Pattern[str]]]:
    """osmnx's own "walk" network filter (the Overpass query its ``network_type="walk"``
    sends), as (tag, excluded values) pairs: a way is walkable when it has a ``highway`` tag
    and no listed tag matches its pattern (Overpass ``!~``, an unanchored regular expression).
    Read from osmnx itself, so a map file is filtered exactly as a download is."""
    from osmnx import _overpass

    text = _overpass._get_network_filter("walk")
    return [(k, re.compile(v)) for k, v in re.findall(r'\["([^"]+)"!~"([^"]*)"\]', text)]


def _prepare(spec: OsmCity) -> Prepared:
    ox = _osmnx()
    where = f"city.{'place' if spec.place is not None else 'path'}"
    if spec.place is not None:
        graph, features, boundaries = _download(ox, spec.place)
    else:
        path = _map_path(spec)
        if _streaming(path):  # a whole city: read streaming, into arrays
            streets, features, boundaries = read_extract_streaming(ox, path)
            return _assemble(streets, features, boundaries, spec, where)
        graph, features, boundaries = _read_extract(ox, path)
    return _assemble(graph_streets(ox, graph, where), features, boundaries, spec, where)


def _streaming(path: Path) -> bool:
    """Whether an extract is read by :mod:`sim.osm_stream` (.osm.pbf, the format whole-city
    extracts come in) rather than into osmnx's graph (OSM XML: its messages on broken files are
    osmnx's and ours; the two readers give the same city, ``tests/test_osm_stream.py``)."""
    return path.name.lower().endswith(".pbf")


def read_extract_streaming(
    ox: Any, path: Path, shown: Path | None = None
) -> tuple[Streets, list[Feature], Any]:
    """An extract read by :mod:`sim.osm_stream` (any format pyosmium reads), with osmnx's
    walking filter and the way tags osmnx keeps on edges."""
    from sim.osm_stream import read_pbf

    rules = walk_filter()
    useful = set(ox.settings.useful_tags_way)
    edge_tags = ("highway", *sorted({t for t, _ in rules if t in useful and t != "highway"}))
    need_osmium(path)
    return read_pbf(path, shown or path, edge_tags, rules, ox)


# ---------------------------------------------------------------- graph to arrays
def graph_streets(ox: Any, graph: Any, where: str) -> Streets:
    """An osmnx graph's walking streets (:func:`_walkable`), its largest connected part."""
    g = _walkable(graph)
    if g.number_of_edges() == 0:
        raise ScenarioError(f"{where}: the map has no walkable streets")
    g = ox.truncate.largest_component(g, strongly=False)
    ids = sorted(g.nodes)
    index = {n: i for i, n in enumerate(ids)}
    x = np.array([float(g.nodes[n]["x"]) for n in ids])
    y = np.array([float(g.nodes[n]["y"]) for n in ids])
    crs = str(g.graph.get("crs")) if _is_projected(g) else None
    edges = []
    for u, v, data in g.edges(data=True):
        geom = data.get("geometry")
        pts = np.asarray(geom.coords, np.float64) if geom is not None else None
        edges.append((index[u], index[v], pts, _first(data.get("highway"))))
    return Streets(x, y, crs, edges)


def _assemble(
    streets: Streets, features: list[Feature], boundaries: Any, spec: OsmCity, where: str
) -> Prepared:
    if not streets.edges:
        raise ScenarioError(f"{where}: the map has no walkable streets")
    x, y = streets.x, streets.y
    projected = streets.crs is not None
    crs = streets.crs if streets.crs is not None else _utm(x, y)
    to_xy = _projector(crs)
    if not projected:
        x, y = (np.asarray(c, np.float64) for c in to_xy(x, y))
    eu_l, ev_l, pts_l, cls_l = [], [], [], []
    for a, b, shape, cls in streets.edges:
        if a == b:
            continue
        if shape is not None and not projected:
            gx, gy = to_xy(shape[:, 0], shape[:, 1])
            pts = np.stack([gx, gy], axis=1)
        elif shape is not None:
            pts = shape
        else:
            pts = np.array([[x[a], y[a]], [x[b], y[b]]])
        eu_l.append(a)
        ev_l.append(b)
        pts_l.append(pts)
        cls_l.append(cls)
    eu, ev = np.array(eu_l, np.int64), np.array(ev_l, np.int64)
    if spec.consolidate_m > 0:
        cluster = consolidate(x, y, eu, ev, spec.consolidate_m)
        k = int(cluster.max()) + 1
        count = np.bincount(cluster, minlength=k)
        x = np.bincount(cluster, x, k) / count
        y = np.bincount(cluster, y, k) / count
        eu, ev = cluster[eu], cluster[ev]
    best: dict[tuple[int, int], tuple[float, Any, str]] = {}
    for a, b, pts0, cls in zip(eu.tolist(), ev.tolist(), pts_l, cls_l, strict=True):
        if a == b:
            continue
        lo, hi = (a, b) if a < b else (b, a)
        pts = pts0
        # Oriented from lo to hi, ends pinned to the (possibly merged) crossings.
        if np.hypot(*(pts[0] - (x[lo], y[lo]))) > np.hypot(*(pts[-1] - (x[lo], y[lo]))):
            pts = pts[::-1]
        pts = pts.copy()
        pts[0] = (x[lo], y[lo])
        pts[-1] = (x[hi], y[hi])
        street_m = max(float(np.hypot(*np.diff(pts, axis=0).T).sum()), 0.5)
        # The shortest street between two crossings; among equally short ones, the first by
        # class and shape (not by the order the graph lists them in).
        old = best.get((lo, hi))
        if (
            old is None
            or street_m < old[0]
            or (street_m == old[0] and (cls, pts.tobytes()) < (old[2], old[1].tobytes()))
        ):
            best[(lo, hi)] = (street_m, pts, cls)
    keys = sorted(best)
    eu = np.array([kk[0] for kk in keys], np.int32)
    ev = np.array([kk[1] for kk in keys], np.int32)
    length = np.array([best[kk][0] for kk in keys])
    shapes = np.array([shapely.LineString(best[kk][1]) for kk in keys], dtype=object)
    street_class = [best[kk][2] for kk in keys]
    x, y, eu, ev, length, shapes, street_class = _largest(
        x, y, eu, ev, length, shapes, street_class
    )
    if x.size < 2:
        raise ScenarioError(f"{where}: the map has fewer than two connected crossings")
    fx, fy, ftype, fname, fring = _features_xy(features, to_xy)
    centre = _centre(x, y, fx, fy, ftype)
    district, names = districts(x, y, centre, boundaries, crs, spec.districts)
    city = City(
        "osm",
        x,
        y,
        eu,
        ev,
        length,
        district,
        names,
        centre,
        shapes=shapes,
        crs=crs,
        attribution=ATTRIBUTION,
    )
    city.home_weight = _home_weight(city, street_class, fx, fy, fring, features)
    tagged = _tagged_places(city, fx, fy, ftype, fname)
    return Prepared(city, tagged)


def consolidate(
    x: np.ndarray, y: np.ndarray, eu: np.ndarray, ev: np.ndarray, tolerance: float
) -> npt.NDArray[np.int64]:
    """Cluster index of every node after merging nearby intersections (osmnx's rule).

    As ``osmnx.consolidate_intersections``: nodes whose ``tolerance`` buffers overlap (closer
    than twice the tolerance, transitively) form a candidate cluster, and a cluster is split
    into the parts that its own streets connect, so that only nodes joined by a street inside
    the cluster merge. Dead ends are kept. Clusters are numbered by their smallest node.
    """
    import scipy.sparse as sp
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    n = x.size
    pairs = cKDTree(np.stack([x, y], axis=1)).query_pairs(2 * tolerance, output_type="ndarray")
    near = sp.coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, candidate = connected_components(near, directed=False)
    inside = candidate[eu] == candidate[ev]
    street = sp.coo_matrix((np.ones(int(inside.sum())), (eu[inside], ev[inside])), shape=(n, n))
    _, label = connected_components(street, directed=False)
    # Renumber by smallest member so the result does not depend on scipy's numbering.
    first = np.full(label.max() + 1, n, np.int64)
    np.minimum.at(first, label, np.arange(n))
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return rank[label].astype(np.int64)


def _utm(x: np.ndarray, y: np.ndarray) -> str:
    """The projection for a graph in degrees, as osmnx's own picks it: the WGS 84 UTM zone of
    its middle from pyproj's database, or the polar (UPS) one beyond UTM's limits."""
    from pyproj.aoi import AreaOfInterest
    from pyproj.database import query_utm_crs_info

    lon, lat = float(np.median(x)), float(np.median(y))
    if lat > 84 or lat < -80:
        return "EPSG:32661" if lat > 0 else "EPSG:32761"
    zones = query_utm_crs_info(
        datum_name="WGS 84", area_of_interest=AreaOfInterest(lon, lat, lon, lat)
    )
    return f"EPSG:{zones[0].code}"


def _walkable(graph: Any) -> Any:
    """The graph without the edges osmnx's walking filter (:func:`walk_filter`) excludes. An
    edge merged from several ways (a tag's values in a list) is excluded by a rule when all
    its values match it."""
    g = graph.copy()
    rules = walk_filter()
    drop = [
        (u, v, k)
        for u, v, k, d in g.edges(keys=True, data=True)
        if d.get("highway") is None or any(_excluded(d.get(tag), pattern) for tag, pattern in rules)
    ]
    g.remove_edges_from(drop)
    g.remove_nodes_from([n for n in list(g.nodes) if g.degree(n) == 0])
    return g


def _excluded(value: Any, pattern: re.Pattern[str]) -> bool:
    if value is None:
        return False
    values = value if isinstance(value, list) else [value]
    return bool(values) and all(pattern.search(str(v)) for v in values)


def _first(value: Any) -> str:
    # osmnx joins the differing tags of merged ways into a list built from a set, whose order
    # follows Python's per-process string hashing: take the alphabetically first, not the
    # first listed, so the same map gives the same city in every process.
    if isinstance(value, list):
        return min(str(v) for v in value) if value else ""
    return "" if value is None else str(value)


def _is_projected(g: Any) -> bool:
    crs = g.graph.get("crs")
    if crs is None:
        return False
    try:
        import pyproj

        return bool(pyproj.CRS.from_user_input(crs).is_projected)
    except Exception:
        return False


def _largest(
    x: np.ndarray,
    y: np.ndarray,
    eu: np.ndarray,
    ev: np.ndarray,
    length: np.ndarray,
    shapes: np.ndarray,
    street_class: list[str],
) -> tuple[Any, ...]:
    """Only the largest connected part (merging can in principle split or strand nodes)."""
    import scipy.sparse as sp
    from scipy.sparse.csgraph import connected_components

    n = x.size
    adj = sp.coo_matrix((np.ones(eu.size), (eu, ev)), shape=(n, n))
    _, label = connected_components(adj, directed=False)
    used = np.zeros(n, bool)
    used[eu] = used[ev] = True
    sizes = np.bincount(label[used], minlength=label.max() + 1)
    keep = used & (label == int(np.argmax(sizes)))
    new = np.cumsum(keep) - 1
    e_keep = keep[eu] & keep[ev]
    return (
        x[keep],
        y[keep],
        new[eu[e_keep]].astype(np.int32),
        new[ev[e_keep]].astype(np.int32),
        length[e_keep],
        shapes[e_keep],
        [c for c, k in zip(street_class, e_keep, strict=True) if k],
    )


def _projector(crs: str) -> Any:
    import pyproj

    tf = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    return tf.transform


def _features_xy(features: list[Feature], to_xy: Any) -> tuple[Any, ...]:
    if not features:
        empty = np.zeros(0)
        return empty, empty, [], [], []
    lon = np.array([f.lon for f in features])
    lat = np.array([f.lat for f in features])
    fx, fy = to_xy(lon, lat)
    ftype = [place_type_of(f.tags) for f in features]
    fname = [f.tags.get("name", "") for f in features]
    rings: list[np.ndarray | None] = []
    for f in features:
        if f.ring is not None and len(f.ring) >= 4:
            rx, ry = to_xy(f.ring[:, 0], f.ring[:, 1])
            rings.append(np.stack([rx, ry], axis=1))
        else:
            rings.append(None)
    return np.asarray(fx, float), np.asarray(fy, float), ftype, fname, rings


def _centre(
    x: np.ndarray, y: np.ndarray, fx: np.ndarray, fy: np.ndarray, ftype: list[str | None]
) -> int:
    """The crossing nearest the middle of the map, or a tagged square close to it."""
    mx, my = float(np.median(x)), float(np.median(y))
    d = np.hypot(x - mx, y - my)
    centre = int(np.argmin(d))
    extent = float(np.percentile(d, 90)) or 1.0
    squares = [i for i, t in enumerate(ftype) if t == "plaza"]
    if squares:
        sq = np.array(squares)
        ds = np.hypot(fx[sq] - mx, fy[sq] - my)
        j = int(np.argmin(ds))
        if ds[j] < 0.3 * extent:
            centre = int(np.argmin(np.hypot(x - fx[sq[j]], y - fy[sq[j]])))
    return centre


def _nearest(city: City, fx: np.ndarray, fy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from scipy.spatial import cKDTree

    tree = cKDTree(np.stack([city.node_x_m, city.node_y_m], axis=1))
    dist, node = tree.query(np.stack([fx, fy], axis=1))
    return np.asarray(node, np.int64), np.asarray(dist, np.float64)


def _home_weight(
    city: City,
    street_class: list[str],
    fx: np.ndarray,
    fy: np.ndarray,
    rings: list[Any],
    features: list[Feature],
) -> np.ndarray:
    """Relative number of homes at each crossing: buildings where there are enough, else streets.

    Every crossing keeps a little weight (from its streets), so every district has homes.
    """
    per_m = np.array([_HOME_PER_M.get(c, _HOME_PER_M_OTHER) for c in street_class])
    half = 0.5 * city.edge_length_m * per_m
    street = np.bincount(city.edge_u, half, city.n_nodes) + np.bincount(
        city.edge_v, half, city.n_nodes
    )
    street = street / street.sum()
    homes = [i for i, f in enumerate(features) if f.tags.get("building") in _RESIDENTIAL_BUILDINGS]
    if len(homes) < _MIN_BUILDINGS:
        return street + 1e-6
    idx = np.array(homes)
    # A building's floor area in square metres (at least 10), shapely's; 100 without a shape.
    has = np.array([rings[i] is not None for i in homes])
    area = np.full(len(homes), 100.0)
    if has.any():
        shapes = [shapely.Polygon(rings[i]) for i in np.asarray(homes)[has]]
        area[has] = np.maximum(shapely.area(shapes), 10.0)
    levels = np.array([_levels(features[i].tags) for i in homes])
    node, dist = _nearest(city, fx[idx], fy[idx])
    ok = dist <= _SNAP_M
    floor = np.bincount(node[ok], (area * levels)[ok], city.n_nodes)
    if floor.sum() <= 0:
        return street + 1e-6
    return 0.8 * floor / floor.sum() + 0.2 * street + 1e-6


def _levels(tags: dict[str, str]) -> float:
    try:
        return min(max(float(tags.get("building:levels", "1")), 1.0), 60.0)
    except ValueError:
        return 1.0


def _tagged_places(
    city: City, fx: np.ndarray, fy: np.ndarray, ftype: list[str | None], fname: list[str]
) -> TaggedPlaces:
    out: TaggedPlaces = {}
    if not ftype:
        return out
    node, dist = _nearest(city, fx, fy)
    for t in PLACE_TYPES:
        sel = [i for i, ft in enumerate(ftype) if ft == t and dist[i] <= _SNAP_M]
        if t == "transit_hub":  # a station's entrances, platforms and stops: one hub
            sel = _one_per_cluster(sel, fx, fy, 150.0)
        nodes: list[int] = []
        names: list[str] = []
        for i in sel:
            n = int(node[i])
            if n in nodes:
                j = nodes.index(n)
                names[j] = names[j] or fname[i]
                continue
            nodes.append(n)
            names.append(fname[i])
        if nodes:
            out[t] = (np.array(nodes, np.int32), names)
    return out


def _one_per_cluster(sel: list[int], fx: np.ndarray, fy: np.ndarray, radius: float) -> list[int]:
    kept: list[int] = []
    for i in sorted(sel, key=lambda i: (fx[i], fy[i])):
        if all(math.hypot(fx[i] - fx[j], fy[i] - fy[j]) > radius for j in kept):
            kept.append(i)
    return kept
