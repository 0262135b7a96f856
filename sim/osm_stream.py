"""A whole-city ``.osm.pbf`` read in one streaming pass, into arrays: the walking graph osmnx would
build from it, without osmnx's graph in memory.

osmnx reads an extract into Python objects (about 7 KiB per OSM node: 2.6 GiB for a city of
384,000 nodes, hundreds of GiB for a whole metropolis). Here one pyosmium pass keeps only what
the city needs, in flat arrays: every node's id and location (24 bytes), every way's node refs
(8 bytes each) and the few tags of ways the walking graph reads, the tagged features places come
from, and administrative boundaries. The graph is then built with numpy the way osmnx builds it
(``graph_from_xml(bidirectional=True, simplify=True, retain_all=True)`` and then
``sim.osm``'s walking filter and largest component):

- every way is a path of street segments, walkable both ways (repeated consecutive refs
  dropped), buildings and walls included, because osmnx's simplification sees them too;
- a node is an endpoint unless it has exactly two neighbours, one segment to each
  (``osmnx.simplification._is_endpoint`` for a graph whose edges all run both ways);
- the segments between endpoints merge into one edge, whose tags are the set of its ways'
  values (osmnx: one value, or a list of the distinct ones); rings with no endpoint go;
- an edge is dropped when it has no ``highway`` or when, for one of osmnx's walking-filter
  rules, every value it has matches the rule (only tags osmnx keeps on edges:
  ``settings.useful_tags_way``);
- the largest connected part (ties: the one with the node read first), its crossings sorted by
  OSM id.

``tests/test_osm.py`` holds the result to osmnx's, array for array, on the two real extracts and
on a synthetic city. One difference is deliberate: a way that refers to a node the file does not
hold (an extract cut without complete ways) loses the segments at that node here, where osmnx
fails. Boundaries are few: the administrative relations, their member ways and those ways' nodes
are written to a small OSM XML file that osmnx reads as before (``features_from_xml``).
"""

from __future__ import annotations

import tempfile
import xml.etree.ElementTree as ET
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from sim.errors import ScenarioError
from sim.osm_read import Feature, Streets, _interesting

# What reading costs, bytes (measured on benchmarks/osm_synth.py --side 330: 384,000 nodes,
# about 730,000 way refs, 17,000 features, 321 MiB over the imports): per node (id and
# location), per way ref (the ref, then the segment arrays the graph is built from) and per
# tagged feature (its tags and points, as Python objects).
BYTES_PER_NODE = 24
BYTES_PER_REF = 400
BYTES_PER_FEATURE = 2048
_CHECK_EVERY = 1 << 20  # elements read between two looks at the memory it will take


@dataclass
class _Read:
    """What the pass keeps."""

    node_id: array[int] = field(default_factory=lambda: array("q"))
    lon: array[float] = field(default_factory=lambda: array("d"))
    lat: array[float] = field(default_factory=lambda: array("d"))
    refs: array[int] = field(default_factory=lambda: array("q"))  # every way's refs, deduplicated
    way_ptr: array[int] = field(default_factory=lambda: array("q", [0]))
    way_id: array[int] = field(default_factory=lambda: array("q"))
    way_tags: list[tuple[str | None, ...]] = field(default_factory=list)  # the edge tags
    node_features: list[Feature] = field(default_factory=list)
    way_features: list[tuple[dict[str, str], list[int]]] = field(default_factory=list)
    boundary_ways: dict[int, dict[str, str]] = field(default_factory=dict)  # tagged admin ways
    relations: list[tuple[int, dict[str, str], list[tuple[str, int, str]]]] = field(
        default_factory=list
    )
    streets: int = 0


@dataclass(frozen=True)
class _Nodes:
    """The nodes read: ids and locations in reading order, and the ids sorted (with where each
    is)."""

    node_id: npt.NDArray[np.int64]
    sorted_id: npt.NDArray[np.int64]
    order: npt.NDArray[np.int64]  # row of each sorted id
    lon: npt.NDArray[np.float64]
    lat: npt.NDArray[np.float64]

    def locate(
        self, ids: npt.NDArray[np.int64]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
        """Each OSM node id's row, and whether the file holds it."""
        if self.sorted_id.size == 0:
            return np.zeros(ids.size, np.int64), np.zeros(ids.size, bool)
        at = np.minimum(np.searchsorted(self.sorted_id, ids), self.sorted_id.size - 1)
        return self.order[at], self.sorted_id[at] == ids


def read_pbf(
    path: Path, shown: Path, edge_tags: tuple[str, ...], rules: list[tuple[str, Any]], ox: Any
) -> tuple[Streets, list[Feature], Any]:
    """The walking graph, tagged features and administrative boundaries of an extract.

    ``edge_tags``: the way tags an edge keeps (``highway`` first); ``rules``: the walking filter
    (tag, compiled pattern); ``ox``: osmnx, for the boundaries only."""
    got = _scan(path, shown, edge_tags)
    if got.streets == 0:
        raise ScenarioError(
            f"city.path: {shown}: the extract has no streets (no ways tagged highway=*)"
        )
    node_id = np.frombuffer(got.node_id, np.int64)
    order = np.argsort(node_id, kind="stable")
    nodes = _Nodes(
        node_id,
        node_id[order],
        order,
        np.frombuffer(got.lon, np.float64),
        np.frombuffer(got.lat, np.float64),
    )
    features = got.node_features + _way_features(got.way_features, nodes)
    streets = _streets(got, nodes, edge_tags, rules)
    admin = got.relations or got.boundary_ways
    boundaries = _boundaries(got, nodes, ox) if admin else None
    return streets, features, boundaries


def _scan(path: Path, shown: Path, edge_tags: tuple[str, ...]) -> _Read:
    import osmium

    from sim.budget import memory_limit_bytes

    got = _Read()
    limit = memory_limit_bytes()
    try:
        for count, obj in enumerate(osmium.FileProcessor(str(path))):
            if count % _CHECK_EVERY == 0:
                _check(got, limit, shown)
            if isinstance(obj, osmium.osm.Node):
                loc = obj.location
                got.node_id.append(obj.id)
                got.lon.append(loc.lon if loc.valid() else np.nan)
                got.lat.append(loc.lat if loc.valid() else np.nan)
                if len(obj.tags):
                    tags = {t.k: t.v for t in obj.tags}
                    if _interesting(tags):
                        got.node_features.append(Feature(tags, got.lon[-1], got.lat[-1]))
            elif isinstance(obj, osmium.osm.Way):
                raw = [n.ref for n in obj.nodes]
                tags = {t.k: t.v for t in obj.tags}
                if "highway" in tags:
                    got.streets += 1
                if tags.get("boundary") == "administrative":
                    got.boundary_ways[obj.id] = tags
                if tags and _interesting(tags):
                    got.way_features.append((tags, raw))
                prev = None
                for r in raw:  # consecutive repeats dropped (osmnx's _convert_path)
                    if r != prev:
                        got.refs.append(r)
                    prev = r
                got.way_ptr.append(len(got.refs))
                got.way_id.append(obj.id)
                got.way_tags.append(tuple(tags.get(k) for k in edge_tags))
            elif isinstance(obj, osmium.osm.Relation):
                tags = {t.k: t.v for t in obj.tags}
                if tags.get("boundary") == "administrative":
                    members = [(m.type, m.ref, m.role) for m in obj.members]
                    got.relations.append((obj.id, tags, members))
    except ScenarioError:
        raise
    except Exception as exc:
        raise ScenarioError(
            f"city.path: {shown}: not a readable OpenStreetMap PBF file ({exc})"
        ) from None
    _check(got, limit, shown)
    return got


def needed_bytes(got: _Read) -> float:
    """What reading the elements read so far takes, building the graph included (bytes)."""
    features = len(got.node_features) + len(got.way_features)
    return (
        len(got.node_id) * BYTES_PER_NODE
        + len(got.refs) * BYTES_PER_REF
        + features * BYTES_PER_FEATURE
    )


def _check(got: _Read, limit: float, shown: Path) -> None:
    """Stop reading, with the estimate and the limit, once the extract would take more memory
    than the machine allows (checked as the file is read: an extract of a country is refused
    after its first millions of nodes, not when the machine runs out)."""
    from sim.budget import gib

    need = needed_bytes(got)
    if need > limit:
        raise ScenarioError(
            f"city.path: {shown}: reading this extract would take more than "
            f"{gib(need)} (stopped after {len(got.node_id):,} nodes and "
            f"{len(got.way_ptr) - 1:,} ways), more than this machine's limit of "
            f"{gib(limit)} (80% of its memory, or SURVSIM_MAX_MEMORY_GB); use "
            f"an extract of the area you study"
        )


def _way_features(ways: list[tuple[dict[str, str], list[int]]], nodes: _Nodes) -> list[Feature]:
    """Tagged ways as features (as ``sim.osm_read._scan_xml``: the mean of the nodes the file
    holds, and the ring of a closed way)."""
    out = []
    for tags, raw in ways:
        row, found = nodes.locate(np.array(raw, np.int64))
        row = row[found]
        if row.size == 0:
            continue
        pts = np.stack([nodes.lon[row], nodes.lat[row]], axis=1)
        closed = len(raw) > 3 and raw[0] == raw[-1]
        mid = pts.mean(axis=0)
        out.append(Feature(tags, float(mid[0]), float(mid[1]), pts if closed else None))
    return out


def _streets(
    got: _Read, nodes: _Nodes, edge_tags: tuple[str, ...], rules: list[tuple[str, Any]]
) -> Streets:
    """The simplified, filtered walking graph's largest part (see the module docstring)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    lon, lat = nodes.lon, nodes.lat
    refs = np.frombuffer(got.refs, np.int64)
    ptr = np.frombuffer(got.way_ptr, np.int64)
    row, found = nodes.locate(refs)
    # Segments: consecutive refs of one way, both nodes in the file.
    way_of_ref = np.repeat(np.arange(ptr.size - 1), np.diff(ptr))
    same_way = way_of_ref[1:] == way_of_ref[:-1]
    ok = same_way & found[1:] & found[:-1]
    sa, sb, sway = row[:-1][ok], row[1:][ok], way_of_ref[1:][ok]
    n_nodes, n_seg = lon.size, sa.size
    deg = np.bincount(sa, minlength=n_nodes) + np.bincount(sb, minlength=n_nodes)
    lo, hi = np.minimum(sa, sb), np.maximum(sa, sb)
    pairs = np.unique(lo * np.int64(n_nodes) + hi)
    nbrs = np.bincount(pairs // n_nodes, minlength=n_nodes) + np.bincount(
        pairs % n_nodes, minlength=n_nodes
    )
    endpoint = ~((nbrs == 2) & (deg == 2))
    # Chains: segments joined at nodes that are not endpoints.
    inc_node = np.concatenate([sa, sb])
    inc_seg = np.concatenate([np.arange(n_seg), np.arange(n_seg)])
    by_node = np.argsort(inc_node, kind="stable")
    inc_node, inc_seg = inc_node[by_node], inc_seg[by_node]
    inner = ~endpoint[inc_node]
    first = np.flatnonzero(inner & np.r_[True, inc_node[1:] != inc_node[:-1]])
    # every inner node has exactly two incidences, adjacent after the sort
    join = coo_matrix(
        (np.ones(first.size), (inc_seg[first], inc_seg[first + 1])), shape=(n_seg, n_seg)
    )
    n_chain, chain = connected_components(join, directed=False)
    kept, cls, names = _walkable_chains(got, chain, n_chain, sway, edge_tags, rules)
    # The chains' ends: incidences at endpoints (two per chain; none for a ring).
    at_end = ~inner
    end_chain = chain[inc_seg[at_end]]
    end_node, end_seg = inc_node[at_end], inc_seg[at_end]
    by_chain = np.argsort(end_chain, kind="stable")
    end_chain, end_node, end_seg = end_chain[by_chain], end_node[by_chain], end_seg[by_chain]
    starts = np.flatnonzero(np.r_[True, end_chain[1:] != end_chain[:-1]])
    has_ends = np.zeros(n_chain, bool)
    has_ends[end_chain] = True
    kept &= has_ends
    c_start = np.full(n_chain, -1, np.int64)
    c_node = np.full(n_chain, -1, np.int64)
    c_start[end_chain[starts]] = end_seg[starts]
    c_node[end_chain[starts]] = end_node[starts]
    # The walking graph: kept chains between endpoints; its largest connected part.
    chains = np.flatnonzero(kept)
    ends = _chain_ends(chains, c_start, c_node, sa, sb, endpoint, inc_node, inc_seg, first)
    u = c_node[chains]
    v = np.array([e[-1] for e in ends], np.int64) if chains.size else np.zeros(0, np.int64)
    used = np.zeros(n_nodes, bool)
    used[u] = used[v] = True
    _, part = connected_components(
        coo_matrix((np.ones(u.size), (u, v)), shape=(n_nodes, n_nodes)), directed=False
    )
    sizes = np.bincount(part[used], minlength=part.max() + 1)
    biggest = np.flatnonzero(sizes == sizes.max())
    # Ties: the part of the node read first (osmnx keeps the first in its node order).
    first_row = np.full(part.max() + 1, n_nodes, np.int64)
    np.minimum.at(first_row, part[used], np.flatnonzero(used))
    best = biggest[np.argmin(first_row[biggest])]
    keep = used & (part == best)
    rows = np.flatnonzero(keep)
    rows = rows[np.argsort(nodes.node_id[rows], kind="stable")]  # by OSM id, as osmnx's sorted(g)
    index = np.full(n_nodes, -1, np.int64)
    index[rows] = np.arange(rows.size)
    edges: list[tuple[int, int, npt.NDArray[np.float64] | None, str]] = []
    for k, c in enumerate(chains.tolist()):
        a = int(u[k])
        if not keep[a]:
            continue
        path = ends[k]
        pts = np.stack([lon[path], lat[path]], axis=1)
        edges.append((int(index[a]), int(index[path[-1]]), pts, names[int(cls[c])]))
    return Streets(lon[rows].copy(), lat[rows].copy(), None, edges)


def _walkable_chains(
    got: _Read,
    chain: npt.NDArray[np.int32],
    n_chain: int,
    sway: npt.NDArray[np.int64],
    edge_tags: tuple[str, ...],
    rules: list[tuple[str, Any]],
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.int64], list[str]]:
    """Which chains (merged streets) the walking filter keeps, each one's street class (a code
    into the names returned: the first of its highway values by name) and the names."""
    # Each chain's tag values: the sets of its ways' values, as codes per tag.
    n_ways = len(got.way_tags)
    cw = np.unique(chain.astype(np.int64) * np.int64(n_ways) + sway)
    cw_chain, cw_way = cw // n_ways, cw % n_ways
    n_values = np.zeros((len(edge_tags), n_chain), np.int64)  # distinct values per chain
    cls = np.full(n_chain, -1, np.int64)
    names: list[str] = []
    kept = np.ones(n_chain, bool)
    patterns = dict(rules)
    for k, tag in enumerate(edge_tags):
        code, strings = _codes([t[k] for t in got.way_tags])
        pair = np.unique(cw_chain * np.int64(len(strings) + 1) + code[cw_way] + 1)
        pc, pv = pair // (len(strings) + 1), pair % (len(strings) + 1) - 1
        pc, pv = pc[pv >= 0], pv[pv >= 0]
        n_values[k] = np.bincount(pc, minlength=n_chain)
        if k == 0:  # highway: codes are in order of name, so the smallest is the first
            names = strings
            lowest = np.full(n_chain, len(strings), np.int64)
            np.minimum.at(lowest, pc, pv)
            cls = np.where(n_values[0] > 0, lowest, -1)
        if tag in patterns:  # excluded when every value it has matches the rule
            match = np.array([bool(patterns[tag].search(x)) for x in strings], bool)
            hits = np.bincount(pc, weights=match[pv], minlength=n_chain)
            kept &= ~((n_values[k] > 0) & (hits == n_values[k]))
    kept &= n_values[0] > 0
    return kept, cls, names


def _codes(values: list[str | None]) -> tuple[npt.NDArray[np.int64], list[str]]:
    """Each value's code (-1: none), codes in order of the values' names, and the names."""
    names = sorted({v for v in values if v is not None})
    index = {v: i for i, v in enumerate(names)}
    return np.array([index.get(v, -1) if v is not None else -1 for v in values], np.int64), names


def _chain_ends(
    chains: npt.NDArray[np.int64],
    c_start: npt.NDArray[np.int64],
    c_node: npt.NDArray[np.int64],
    sa: npt.NDArray[np.int64],
    sb: npt.NDArray[np.int64],
    endpoint: npt.NDArray[np.bool_],
    inc_node: npt.NDArray[np.int64],
    inc_seg: npt.NDArray[np.int64],
    first: npt.NDArray[np.int64],
) -> list[npt.NDArray[np.int64]]:
    """Each kept chain's nodes in order, from the endpoint it starts at to the other."""
    # The two segments of each inner node.
    seg1 = np.full(endpoint.size, -1, np.int64)
    seg2 = np.full(endpoint.size, -1, np.int64)
    seg1[inc_node[first]] = inc_seg[first]
    seg2[inc_node[first]] = inc_seg[first + 1]
    a_l, b_l, s1, s2, inner = (
        sa.tolist(),
        sb.tolist(),
        seg1.tolist(),
        seg2.tolist(),
        (~endpoint).tolist(),
    )
    out = []
    for c in chains.tolist():
        node, seg = int(c_node[c]), int(c_start[c])
        path = [node]
        while True:
            node = b_l[seg] if a_l[seg] == node else a_l[seg]
            path.append(node)
            if not inner[node]:
                break
            seg = s2[node] if s1[node] == seg else s1[node]
        out.append(np.array(path, np.int64))
    return out


def _boundaries(got: _Read, nodes: _Nodes, ox: Any) -> Any:
    """The administrative boundaries, read by osmnx from a small XML file of just them."""
    wanted = set(got.boundary_ways)
    for _, _, members in got.relations:
        wanted.update(ref for kind, ref, _ in members if kind == "w")
    way_ids = np.frombuffer(got.way_id, np.int64)
    ptr = np.frombuffer(got.way_ptr, np.int64)
    refs = np.frombuffer(got.refs, np.int64)
    rows = np.flatnonzero(np.isin(way_ids, np.fromiter(wanted, np.int64, len(wanted))))
    root = ET.Element("osm", version="0.6")
    node_refs = np.unique(
        np.concatenate([refs[ptr[w] : ptr[w + 1]] for w in rows] or [np.zeros(0, np.int64)])
    )
    at, found = nodes.locate(node_refs.astype(np.int64))
    for nid, r in zip(node_refs[found].tolist(), at[found].tolist(), strict=True):
        lat, lon = repr(float(nodes.lat[r])), repr(float(nodes.lon[r]))
        ET.SubElement(root, "node", id=str(nid), lat=lat, lon=lon)
    for w in rows.tolist():
        el = ET.SubElement(root, "way", id=str(int(way_ids[w])))
        for r in refs[ptr[w] : ptr[w + 1]].tolist():
            ET.SubElement(el, "nd", ref=str(r))
        for k, v in got.boundary_ways.get(int(way_ids[w]), {}).items():
            ET.SubElement(el, "tag", k=k, v=v)
    kinds = {"n": "node", "w": "way", "r": "relation"}
    for rid, tags, members in got.relations:
        el = ET.SubElement(root, "relation", id=str(rid))
        for kind, ref, role in members:
            ET.SubElement(el, "member", type=kinds.get(kind, kind), ref=str(ref), role=role)
        for k, v in tags.items():
            ET.SubElement(el, "tag", k=k, v=v)
    with tempfile.TemporaryDirectory() as tmp:
        xml_path = Path(tmp) / "boundaries.osm"
        ET.ElementTree(root).write(xml_path, encoding="utf-8", xml_declaration=True)
        try:
            return ox.features_from_xml(xml_path, tags={"boundary": "administrative"})
        except Exception:  # districts fall back to clustering, as from XML
            return None
