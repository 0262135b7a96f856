"""Routing by destination zones with exact last legs, for cities too large for a tree per
destination.

:class:`~sim.routing.Router` and :class:`~sim.routing_compact.CompactRouter` keep one
shortest-path tree per destination: destinations x crossings entries, which grows with the
square of the city when its places grow with it (53 GiB of compact trees on a 400 x 400 grid).
:class:`ZonedRouter` keeps, instead:

- **zones**: the crossings cut into square cells of about ``2 * sqrt(crossings)`` crossings;
- **one tree per zone** that holds a destination: the shortest paths from every crossing to the
  *nearest crossing of the zone* (one Dijkstra from all of the zone's crossings at once), with
  where each path enters the zone;
- **one small tree per destination**, over its zone only: the exact shortest paths from every
  crossing of its zone to it (Dijkstra on the zone and the cells around it, checked to be the
  whole graph's shortest paths, widened where the check fails).

A trip from a crossing outside the destination's zone walks the zone's tree until it enters the
zone, then the destination's tree to the destination; a trip that starts inside the zone walks
only the destination's tree. So the route is an exact shortest path to the zone followed by an
exact shortest path within it: never shorter than the true shortest path, longer by at most the
zone's diameter, and equal to it on a uniform grid (the crossing where the path enters the zone
lies between the two ends). Memory and work grow as crossings x zones plus destinations x zone
size: about crossings^1.5 instead of crossings^2. Trips are walked step by step like
:class:`~sim.routing_compact.CompactRouter`'s (every query answers for the path walked: its
length, its camera passages and its timings are those of that path), and every table is built
with the same tie rule and fixed additions (:func:`sim.routing.canonical_slots`,
:func:`sim.routing.tree_sums`), so the routes are the same on every machine. What the
approximation costs is measured in ``benchmarks/bench_zoned.py`` (metres and captures against
the exact trees). Besides metres, it concentrates routes: every trip to a zone follows the one
zone tree until it gets there (on a grid all trips from a diagonal quadrant enter at the zone's
corner), where exact trees spread them over one tree per destination; cameras placed by footfall
then see more faces (x2.1 the captures on a 100 x 100 grid). Runs by zones say so
(``summary.json``: ``routing``) and their report warns.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.sparse.csgraph import dijkstra

from sim import cache as sim_cache
from sim.city import City
from sim.routing import (
    _TIE_RTOL,
    Adjacency,
    Climb,
    Paths,
    Steps,
    canonical_slots,
    destination_rows,
    tree_sums,
    trees_entry,
    trip_trees,
)
from sim.routing_compact import marked_hits, walked_paths, walked_steps

# Bump when what the zoned tables hold, or how they are computed, changes.
ZONED_VERSION = 1
ZONE_NODES_PER_SQRT = 2.0  # crossings per zone = this x sqrt(crossings)
_ZONE_BLOCK_ENTRIES = 1 << 23  # zone-tree entries made canonical at once
_NAMES = (
    "zone_of",
    "zone_row",
    "zslot",
    "zdist",
    "zloc",
    "xptr",
    "xnode",
    "lptr",
    "lpar",
    "lslot",
    "ldist",
)
# One step of a walk: k, the trips walking, their nodes, the distance each has left to its
# tree's root, which of them go on, the step's place in the neighbour lists, and the distance
# left at the next node (for those that go on).
_Step = tuple[
    int,
    npt.NDArray[np.int64],
    npt.NDArray[np.int32],
    npt.NDArray[np.float64],
    npt.NDArray[np.bool_],
    npt.NDArray[np.int64],
    npt.NDArray[np.float64],
]


def zone_size(crossings: int) -> int:
    """Crossings per zone for a city of this many crossings (about 2 sqrt(n): it balances
    the zone trees, zones x crossings, against the last legs, destinations x zone size)."""
    return max(16, round(ZONE_NODES_PER_SQRT * math.sqrt(max(crossings, 1))))


def zoned_entries(destinations: int, crossings: int) -> tuple[float, float]:
    """Expected table entries: zone trees (zones x crossings) and last legs (destinations x
    about 1.5 zone sizes). For the up-front memory estimate."""
    size = zone_size(crossings)
    zones = min(destinations, math.ceil(crossings / size))
    return float(zones) * crossings, 1.5 * float(destinations) * size


class ZonedRouter:
    """Routes by destination zones with exact last legs (see the module). Built as
    :class:`~sim.routing_compact.CompactRouter` is (the city, its destination nodes, whether
    to use the on-disk cache), with ``zone_nodes`` crossings per zone (default
    :func:`zone_size`; tests use small zones)."""

    def __init__(
        self,
        city: City,
        destinations: npt.ArrayLike,
        *,
        cache: bool = False,
        zone_nodes: int | None = None,
    ) -> None:
        self.city = city
        self.destinations, self.row_of = destination_rows(city, destinations)
        self.adj = Adjacency.of(city)
        self.zone_nodes = zone_size(city.n_nodes) if zone_nodes is None else int(zone_nodes)
        self._slot_dtype = np.uint8 if self.adj.max_degree < 255 else np.uint16
        self.root_slot = int(np.iinfo(self._slot_dtype).max)
        entry = (
            trees_entry(f"zoned{self.zone_nodes}", ZONED_VERSION, city, self.destinations)
            if cache and sim_cache.enabled()
            else None
        )
        t = sim_cache.memo(entry, _NAMES, self._computed, self._fits)
        self.zone_of, self.zone_row = t["zone_of"], t["zone_row"]
        self.zslot, self.zdist, self.zloc = t["zslot"], t["zdist"], t["zloc"]
        self.xptr, self.xnode = t["xptr"], t["xnode"]
        self.lptr, self.lpar, self.lslot, self.ldist = t["lptr"], t["lpar"], t["lslot"], t["ldist"]
        self._zslot_flat = self.zslot.reshape(-1)
        self._zdist_flat = self.zdist.reshape(-1)
        self._zloc_flat = self.zloc.reshape(-1)

    def _fits(self, got: sim_cache.Arrays) -> bool:
        n, d = self.city.n_nodes, self.destinations.size
        return (
            got["zone_of"].shape == (n,)
            and got["zone_row"].shape == (d,)
            and got["zslot"].ndim == 2
            and got["zslot"].shape[1] == n
            and got["zslot"].dtype == self._slot_dtype
            and got["zdist"].shape == got["zslot"].shape
            and got["zloc"].shape == got["zslot"].shape
            and got["lptr"].shape == (d + 1,)
            and got["lpar"].shape == got["lslot"].shape == got["ldist"].shape
        )

    @property
    def n_zones(self) -> int:
        """Zones that hold a destination (each has a zone tree)."""
        return int(self.zslot.shape[0])

    @property
    def nbytes(self) -> int:
        return int(sum(getattr(self, k).nbytes for k in _NAMES))

    # -- building -------------------------------------------------------------------------

    def _computed(self) -> sim_cache.Arrays:
        city, adj = self.city, self.adj
        cell_x, cell_y, side = _cells(city, self.zone_nodes)
        zone_key = cell_y.astype(np.int64) * (int(cell_x.max(initial=0)) + 1) + cell_x
        _, zone_of = np.unique(zone_key, return_inverse=True)
        zone_of = zone_of.astype(np.int32).reshape(-1)
        dest_zone = zone_of[self.destinations]
        zones, zone_row = np.unique(dest_zone, return_inverse=True)  # zones with destinations
        zslot, zdist, zentry = _zone_trees(city, adj, zone_of, zones, self.root_slot)
        zslot = zslot.astype(self._slot_dtype)
        rho = street_ratio(city)
        lptr = np.zeros(self.destinations.size + 1, np.int64)
        xnodes, legs = [], []
        zloc = np.empty(zslot.shape, np.int32)
        for k, z in enumerate(zones):
            rows = np.flatnonzero(zone_row == k)
            members = np.flatnonzero(zone_of == z).astype(np.int32)
            near = (np.abs(cell_x - cell_x[members[0]]), np.abs(cell_y - cell_y[members[0]]))
            xnode, leg = _last_legs(
                city, adj, members, self.destinations[rows], near, side, self.root_slot, rho
            )
            xnodes.append(xnode)
            legs.append((rows, leg))
            zloc[k] = np.searchsorted(xnode, zentry[k])
            lptr[rows + 1] = xnode.size
        np.cumsum(lptr, out=lptr)
        total = int(lptr[-1])
        lpar = np.empty(total, np.int32)
        lslot = np.empty(total, self._slot_dtype)
        ldist = np.empty(total, np.float64)
        for rows, (par, slot, dist) in legs:  # a zone's rows are alike in size
            at = (lptr[rows][:, None] + np.arange(par.shape[1])).ravel()
            lpar[at], lslot[at], ldist[at] = par.ravel(), slot.ravel(), dist.ravel()
        xptr = np.zeros(zones.size + 1, np.int64)
        np.cumsum([x.size for x in xnodes], out=xptr[1:])
        return {
            "zone_of": zone_of,
            "zone_row": zone_row.astype(np.int32),
            "zslot": zslot,
            "zdist": _narrow(zdist),
            "zloc": zloc,
            "xptr": xptr,
            "xnode": np.concatenate(xnodes) if xnodes else np.zeros(0, np.int32),
            "lptr": lptr,
            "lpar": lpar,
            "lslot": lslot,
            "ldist": _narrow(ldist),
        }

    # -- queries --------------------------------------------------------------------------

    def distance_m(self, root: npt.ArrayLike, other: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Length of the route between destination nodes ``root`` and any nodes ``other``."""
        row = self.row_of[np.asarray(root)]
        if np.any(row < 0):
            raise ValueError("a distance from a node that is not a destination")
        zb = self.zone_row[row].astype(np.int64) * self.city.n_nodes
        flat = zb + np.asarray(other)
        local = self.lptr[row] + self._zloc_flat[flat]
        return (
            self._zdist_flat[flat].astype(np.float64) + self.ldist[local].astype(np.float64)
        ).reshape(np.shape(flat))

    def distance_rows(self, roots: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Route lengths from each of the destination nodes ``roots`` to every node."""
        roots = np.atleast_1d(np.asarray(roots))
        nodes = np.arange(self.city.n_nodes)
        return np.stack([self.distance_m(np.full(nodes.size, r), nodes) for r in roots])

    def _walk(self, row: npt.NDArray[np.int32], start: npt.NDArray[np.int32]) -> Iterator[_Step]:
        """Walk trips to their roots: the zone's tree until the zone, then the destination's
        tree. Trips leave the walk as they arrive; the others keep their order."""
        adj = self.adj
        n = self.city.n_nodes
        idx = np.arange(row.size, dtype=np.int64)
        zb = self.zone_row[row].astype(np.int64) * n
        lb = self.lptr[row]
        node = start.astype(np.int32)
        flat = zb + node
        entry_left = self.ldist[lb + self._zloc_flat[flat]].astype(np.float64)
        li = np.full(row.size, -1, np.int64)  # place in the destination's tree (-1: not yet)
        rem = self._zdist_flat[flat].astype(np.float64) + entry_left
        k = 0
        while idx.size:
            zone = li < 0
            s = self._zslot_flat[zb + node]
            arrive = zone & (s == self.root_slot)  # at the zone: the destination's tree
            li[arrive] = self._zloc_flat[zb[arrive] + node[arrive]]
            zone &= ~arrive
            local = lb + np.maximum(li, 0)
            slot = np.where(zone, s, self.lslot[local])
            parent = np.where(zone, -1, self.lpar[local])
            going = zone | (parent >= 0)
            pos = adj.ptr[node] + np.where(going, slot, 0)
            g = np.flatnonzero(going)
            nxt = adj.nbr[pos[g]]
            li_g = np.where(zone[g], -1, parent[g])
            rem_next = np.where(
                zone[g],
                self._zdist_flat[zb[g] + nxt].astype(np.float64) + entry_left[g],
                self.ldist[lb[g] + np.maximum(li_g, 0)].astype(np.float64),
            )
            yield k, idx, node, rem, going, pos, rem_next
            idx, zb, lb, entry_left = idx[g], zb[g], lb[g], entry_left[g]
            node, li, rem = nxt, li_g, rem_next
            k += 1

    def lengths(
        self, origin: npt.ArrayLike, dest: npt.ArrayLike, toward_dest: npt.ArrayLike
    ) -> npt.NDArray[np.int64]:
        """Nodes on each trip's path (both ends included)."""
        _, row, start = trip_trees(self.row_of, origin, dest, toward_dest)
        length = np.zeros(row.size, np.int64)
        for k, idx, _node, _rem, going, _pos, _next in self._walk(row, start):
            length[idx[~going]] = k + 1
        return length

    def climb(
        self, origin: npt.ArrayLike, dest: npt.ArrayLike, toward_dest: npt.ArrayLike
    ) -> Climb:
        """As :meth:`sim.routing.Router.climb`: the trips longest path first, and per step
        the node and distance walked of those still walking (always a prefix: trips leave
        the walk in order of length and the others keep their order)."""
        toward, row, start = trip_trees(self.row_of, origin, dest, toward_dest)
        order = np.argsort(-self.lengths(origin, dest, toward_dest), kind="stable")
        fwd = toward[order]

        def steps() -> Iterator[tuple[int, npt.NDArray[Any], npt.NDArray[np.float64]]]:
            full = np.zeros(0)
            for k, idx, node, rem, _going, _pos, _next in self._walk(row[order], start[order]):
                if k == 0:
                    full = rem
                m = idx.size
                yield m, node, np.where(fwd[:m], full[:m] - rem, rem)

        return order, steps()

    def expand(
        self, origin: npt.ArrayLike, dest: npt.ArrayLike, toward_dest: npt.ArrayLike
    ) -> Paths:
        """As :meth:`sim.routing.Router.expand`: every node of many trips' paths, in order."""
        toward, row, start = trip_trees(self.row_of, origin, dest, toward_dest)
        parts: list[tuple[npt.NDArray[np.int64], int, npt.NDArray[Any], Any, Any]] = []
        length = np.zeros(row.size, np.int64)
        full = np.zeros(row.size)
        for k, idx, node, rem, going, pos, _next in self._walk(row, start):
            if k == 0:
                full = rem.copy()
            e = np.where(going, self.adj.edge[pos], -1)
            parts.append((idx, k, node, rem, e))
            length[idx[~going]] = k + 1
        if not parts:  # no trips at all
            z = np.zeros(0, np.int64)
            return walked_paths(toward, length, z, z, z, np.zeros(0), full, z)
        return walked_paths(
            toward,
            length,
            np.concatenate([p[0] for p in parts]),
            np.concatenate([np.full(p[0].size, p[1], np.int64) for p in parts]),
            np.concatenate([p[2] for p in parts]),
            np.concatenate([p[3] for p in parts]),
            full,
            np.concatenate([p[4] for p in parts]),
        )

    def skip_tables(
        self, marked: npt.NDArray[np.bool_]
    ) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
        """Per place in the neighbour lists, whether its step is marked walked toward a root
        (first table) and away from it (second): what :meth:`marked_steps` checks."""
        marked = np.asarray(marked, bool)
        return marked[self.adj.edge], marked[self.adj.edge ^ 1]

    def marked_steps(
        self,
        tables: tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]],
        origin: npt.ArrayLike,
        dest: npt.ArrayLike,
        toward_dest: npt.ArrayLike,
    ) -> Steps:
        """As :meth:`sim.routing.Router.marked_steps`: the steps of many trips on marked
        directed edges, in order of trip and position, with the distances walked."""
        toward, row, start = trip_trees(self.row_of, origin, dest, toward_dest)
        either = tables[0] | tables[1]
        found = []
        length = np.zeros(row.size, np.int64)
        full = np.zeros(row.size)
        for k, idx, _node, rem, going, pos, rem_next in self._walk(row, start):
            if k == 0:
                full = rem.copy()
            length[idx[~going]] = k + 1
            g = np.flatnonzero(going)
            hit = np.flatnonzero(either[pos[g]])
            if hit.size:
                h = g[hit]
                found.append((idx[h], k, pos[h], rem[h], rem_next[hit]))
        trip, pos, step, keep = marked_hits(found, toward, tables)
        d_child = np.concatenate([f[3] for f in found])[keep] if found else np.zeros(0)
        d_parent = np.concatenate([f[4] for f in found])[keep] if found else np.zeros(0)
        return walked_steps(
            self.adj, toward, length, trip, step, pos, d_child, d_parent, full[trip]
        )


def _cells(
    city: City, zone_nodes: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], float]:
    """Each crossing's square cell (across, down), cells sized to hold about ``zone_nodes``
    crossings, and the cells' side in metres."""
    x, y = city.node_x_m, city.node_y_m
    n = max(city.n_nodes, 1)
    w = float(x.max() - x.min()) if x.size else 0.0
    h = float(y.max() - y.min()) if y.size else 0.0
    side = max(math.sqrt(max(w, 1.0) * max(h, 1.0) * zone_nodes / n), 1.0)
    return (
        np.floor((x - x.min()) / side).astype(np.int64),
        np.floor((y - y.min()) / side).astype(np.int64),
        side,
    )


def _narrow(a: npt.NDArray[np.float64]) -> npt.NDArray[Any]:
    """float32 when every value is exact in it (whole-metre grids), else float64."""
    b = a.astype(np.float32)
    return b if np.array_equal(b, a) else a


def _zone_trees(
    city: City,
    adj: Adjacency,
    zone_of: npt.NDArray[np.int32],
    zones: npt.NDArray[np.int64],
    root_slot: int,
) -> tuple[npt.NDArray[Any], npt.NDArray[np.float64], npt.NDArray[np.int32]]:
    """Per zone, every crossing's parent slot toward the zone (``root_slot`` inside it), its
    distance to the zone, and the zone crossing its path enters at: one Dijkstra from all of
    the zone's crossings, then the tie rule and the fixed additions of the destination trees."""
    n = city.n_nodes
    slot = np.empty((zones.size, n), np.int32)
    dist = np.empty((zones.size, n), np.float64)
    entry = np.empty((zones.size, n), np.int32)
    rows = max(1, _ZONE_BLOCK_ENTRIES // max(n, 1))
    node = np.arange(n, dtype=np.int64)
    for a in range(0, zones.size, rows):
        block = zones[a : a + rows]
        d = np.empty((block.size, n))
        fallback = np.empty((block.size, n), np.int32)
        for j, z in enumerate(block):
            d[j], fallback[j], _ = dijkstra(
                city.adjacency,
                directed=False,
                indices=np.flatnonzero(zone_of == z),
                min_only=True,
                return_predecessors=True,
            )
        if not np.all(np.isfinite(d)):
            raise ValueError("the street graph is not connected")
        s = canonical_slots(adj, d, fallback)
        has = s >= 0
        pos = np.where(has, adj.ptr[node] + np.maximum(s, 0), 0)
        base = (np.arange(block.size, dtype=np.int64) * n)[:, None]
        up = (np.where(has, adj.nbr[pos].astype(np.int64), node) + base).ravel()
        step = np.where(has, adj.length_m[pos], 0.0).ravel()
        dist[a : a + block.size] = tree_sums(step, up).reshape(block.size, n)
        entry[a : a + block.size] = (_tree_roots(up) % n).reshape(block.size, n)
        slot[a : a + block.size] = np.where(has, s, root_slot)
    return slot, dist, entry


def _tree_roots(up: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Each entry's root, by pointer jumping (``up``: each entry's parent, a root itself)."""
    while True:
        nxt = up[up]
        if np.array_equal(nxt, up):
            return up
        up = nxt


def _last_legs(
    city: City,
    adj: Adjacency,
    members: npt.NDArray[np.int32],
    roots: npt.NDArray[np.int32],
    near: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]],
    side: float,
    root_slot: int,
    rho: float,
) -> tuple[npt.NDArray[np.int32], tuple[Any, Any, Any]]:
    """The exact shortest paths from every crossing of a zone (``members``) to each of its
    destinations ``roots``: the crossings they pass (sorted) and, per root and crossing, the
    parent's place in that list (-1 at the root, -2 off every path), its slot in the whole
    graph's neighbour lists, and the distance to the root.

    Dijkstra runs on the zone and a ring of cells around it (``near``: each crossing's
    distance in cells from the zone, across and down; ``side``: a cell's side in metres). A
    way round through the rest of the city leaves the ring at one of its edge crossings: it
    is at least the root's distance to the nearest edge crossing (where its search first
    leaves the ring) plus ``rho`` (no street is shorter than ``rho`` x the straight line
    between its ends) x the straight line from the zone crossing to the nearest edge
    crossing. A root whose every zone crossing is nearer than that, by more than the tie
    tolerance, has the whole graph's shortest paths and all its ties inside the ring; the
    others are searched again in a ring twice as wide, up to the whole city."""
    n = city.n_nodes
    margin = 1
    todo = np.arange(roots.size)
    parts = []
    while todo.size:
        inside = (near[0] <= margin) & (near[1] <= margin)
        sub = np.flatnonzero(inside).astype(np.int32)
        sadj, gpos = _sub_adjacency(adj, sub, inside)
        whole = sub.size == n
        limit = np.inf if whole else (margin + 1) * side
        dist = dijkstra(
            _csr(sadj, sub.size),
            directed=False,
            indices=np.searchsorted(sub, roots[todo]),
            limit=limit,
        )
        to_m = dist[:, np.searchsorted(sub, members)]
        if whole:
            if not np.all(np.isfinite(to_m)):
                raise ValueError("the street graph is not connected")
            ok = np.ones(todo.size, bool)
        else:
            edge = np.flatnonzero(np.diff(adj.ptr)[sub] > np.diff(sadj.ptr))
            reach = np.minimum(dist[:, edge].min(axis=1, initial=np.inf), limit)
            gap = rho * _gaps(city, members, sub[edge])
            tol = _TIE_RTOL * (1.0 + to_m.max(axis=1))
            slack = to_m * (1.0 + 1e-9) + tol[:, None]
            ok = np.all(slack < reach[:, None] + gap[None, :], axis=1)
        parts.append((todo[ok], sub, dist[ok]))
        todo = todo[~ok]
        margin *= 2
    # The last ring searched (sub, sadj, gpos) is the widest and holds the others: the
    # roots settled in narrower rings have no distance (infinite) beyond them.
    if len(parts) > 1:
        dist = np.full((roots.size, sub.size), np.inf)
        for rows, part_sub, d in parts:
            dist[rows[:, None], np.searchsorted(sub, part_sub)[None, :]] = d
    return _paths_up(adj, sadj, gpos, sub, dist, np.searchsorted(sub, members), root_slot)


def _gaps(
    city: City, members: npt.NDArray[np.int32], edge: npt.NDArray[np.int32]
) -> npt.NDArray[np.float64]:
    """Each zone crossing's straight-line distance to the nearest of the ring's edge
    crossings (infinite when the ring has none)."""
    if not edge.size:
        return np.full(members.size, np.inf)
    from scipy.spatial import cKDTree

    x, y = city.node_x_m, city.node_y_m
    got, _ = cKDTree(np.stack([x[edge], y[edge]], axis=1)).query(
        np.stack([x[members], y[members]], axis=1)
    )
    return np.asarray(got, np.float64)


def street_ratio(city: City) -> float:
    """The least ratio of a street's length to the straight line between its ends (at most
    1, a hair below for rounding): no route is shorter than this x the straight line."""
    dx = city.node_x_m[city.edge_u] - city.node_x_m[city.edge_v]
    dy = city.node_y_m[city.edge_u] - city.node_y_m[city.edge_v]
    line = np.hypot(dx, dy)
    pos = line > 0
    least = np.min(city.edge_length_m[pos] / line[pos], initial=1.0)
    return max(0.0, min(1.0, float(least)) * (1.0 - 1e-9))


def _paths_up(
    adj: Adjacency,
    sadj: Adjacency,
    gpos: npt.NDArray[np.int64],
    sub: npt.NDArray[np.int32],
    dist: npt.NDArray[np.float64],
    loc_members: npt.NDArray[np.int64],
    root_slot: int,
) -> tuple[npt.NDArray[np.int32], tuple[Any, Any, Any]]:
    """The trees of :func:`_last_legs`, made canonical only where they are walked: from the
    zone's crossings up to each root, a wave at a time (each crossing's parent by the tie
    rule of :func:`sim.routing.canonical_slots`, the lowest-numbered neighbour on a shortest
    path and nearer the root), then summed along the trees (:func:`sim.routing.tree_sums`)."""
    r, m = dist.shape
    tol = _TIE_RTOL * (1.0 + dist[:, loc_members].max(axis=1))
    flat = dist.ravel()
    seen = np.full(r * m, -1, np.int64)  # flat entry -> its number among the entries walked
    entries: list[npt.NDArray[np.int64]] = []
    parents: list[npt.NDArray[np.int64]] = []
    slots: list[npt.NDArray[np.int64]] = []
    cur = ((np.arange(r, dtype=np.int64) * m)[:, None] + loc_members[None, :]).ravel()
    count = 0
    while cur.size:
        seen[cur] = np.arange(count, count + cur.size)
        count += cur.size
        row, node = np.divmod(cur, m)
        deg = np.diff(sadj.ptr)[node]
        deg = np.where(flat[cur] == 0.0, 0, deg)  # a root has no parent
        rep = np.repeat(np.arange(cur.size), deg)
        first = np.concatenate([[0], np.cumsum(deg)[:-1]])
        pos = sadj.ptr[node][rep] + (np.arange(rep.size) - first[rep])
        d_here = flat[cur][rep]
        d_nbr = flat[row[rep] * m + sadj.nbr[pos]]
        ok = (d_here - d_nbr - sadj.length_m[pos] >= -tol[row[rep]]) & (d_nbr < d_here)
        big = np.iinfo(np.int64).max
        has = deg > 0
        best = np.full(cur.size, big)
        if rep.size:
            best[has] = np.minimum.reduceat(np.where(ok, pos, big), first[has])
        if np.any(has & (best == big)):
            raise ValueError("a crossing with no neighbour nearer its destination")
        parent = np.where(has, row * m + sadj.nbr[np.where(has, best, 0)], cur)
        entries.append(cur)
        parents.append(parent)
        slots.append(np.where(has, best, -1))
        up = parent[has]
        cur = np.unique(up[seen[up] < 0])
    entry = np.concatenate(entries)
    parent = np.concatenate(parents)
    spos = np.concatenate(slots)
    walked = spos >= 0
    step = np.where(walked, sadj.length_m[np.maximum(spos, 0)], 0.0)
    sums = tree_sums(step, seen[parent])
    row, node = np.divmod(entry, m)
    keep = np.unique(node)
    place = np.full(m, -2, np.int64)
    place[keep] = np.arange(keep.size)
    par = np.full((r, keep.size), -2, np.int32)
    gslot = np.full((r, keep.size), root_slot, np.int64)
    dist_out = np.zeros((r, keep.size))
    at = (row, place[node])
    par[at] = np.where(walked, place[parent % m], -1)
    g = gpos[np.maximum(spos, 0)] - adj.ptr[sub[node]]
    gslot[at] = np.where(walked, g, root_slot)
    dist_out[at] = sums
    return sub[keep], (par, gslot, dist_out)


def _sub_adjacency(
    adj: Adjacency, sub: npt.NDArray[np.int32], inside: npt.NDArray[np.bool_]
) -> tuple[Adjacency, npt.NDArray[np.int64]]:
    """The street steps between crossings of ``sub`` (sorted), numbered within it, and each
    step's place in the whole graph's neighbour lists (the order of neighbours is kept, so
    the tie rule picks the same neighbour)."""
    lo, hi = adj.ptr[sub], adj.ptr[sub + 1]
    count = hi - lo
    pos = np.repeat(lo - np.concatenate([[0], np.cumsum(count)[:-1]]), count) + np.arange(
        int(count.sum())
    )
    keep = inside[adj.nbr[pos]]
    pos = pos[keep]
    src = np.repeat(np.arange(sub.size), count)[keep]
    ptr = np.zeros(sub.size + 1, np.int64)
    np.cumsum(np.bincount(src, minlength=sub.size), out=ptr[1:])
    nbr = np.searchsorted(sub, adj.nbr[pos]).astype(np.int32)
    return Adjacency(ptr, nbr, adj.edge[pos], adj.length_m[pos]), pos


def _csr(sadj: Adjacency, size: int) -> Any:
    """The sparse matrix of a (sub)graph's steps, for scipy's Dijkstra."""
    from scipy.sparse import csr_matrix

    return csr_matrix((sadj.length_m, sadj.nbr, sadj.ptr), shape=(size, size))
