"""Shortest-path trees kept compact, for cities whose whole trees would not fit in memory.

:class:`sim.routing.Router` keeps, per destination and crossing, a distance, a parent, a hop
count, an edge and the tables that jump along the trees: about 64 bytes per entry, which is
21.6 GiB for the metropolis (40,000 crossings, 9,052 destination crossings). :class:`CompactRouter`
computes the same trees (the same Dijkstra distances, the same tie-breaking rule, the same
additions: see :meth:`sim.routing.Router._build_trees`) a block of destinations at a time and
keeps only two values per entry: the parent, as its place in the crossing's neighbour list (one
byte), and the distance to the root (4 bytes when every distance is exact in float32, as on a
grid of whole-metre blocks; else 8). Trips are then walked up their trees one step at a time,
all trips of a batch together, so a query costs the steps of its paths, not the size of the
trees. Every answer is the same, bit for bit, as :class:`~sim.routing.Router` gives: the two
are interchangeable (``tests/test_routing_compact.py`` holds them to it), and
:func:`sim.routing.router_for` picks one by size.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Union

import numpy as np
import numpy.typing as npt

from sim import cache as sim_cache
from sim.city import City
from sim.routing import (
    Adjacency,
    Climb,
    Paths,
    Router,
    Steps,
    destination_rows,
    tree_slots,
    tree_sums,
    trees_entry,
    trip_trees,
)

if TYPE_CHECKING:
    from sim.routing_zoned import ZonedRouter

# One step of a walk: k, the trips walking, their nodes, which leave them, the step's place.
_Step = tuple[int, npt.NDArray[Any], npt.NDArray[Any], npt.NDArray[np.bool_], npt.NDArray[Any]]
# Bump when what the compact trees hold, or how they are computed, changes.
COMPACT_VERSION = 1
BLOCK_ENTRIES = 1 << 23  # tree entries computed at once (a block of destinations)


class CompactRouter:
    """Shortest-path trees rooted at each destination node, kept compact (see the module).

    Parameters
    ----------
    city
        The street graph.
    destinations
        Nodes that trips go to or come from (duplicates are ignored).
    cache
        Keep the trees in the on-disk cache (:mod:`sim.cache`) for the next run of the city.
    """

    slot: npt.NDArray[Any]  # (tree, node) parent's place in the node's neighbour list; root: max
    dist_m: npt.NDArray[Any]  # (tree, node) distance to the root (float32 when exact, or float64)

    def __init__(self, city: City, destinations: npt.ArrayLike, *, cache: bool = False) -> None:
        self.city = city
        self.destinations, self.row_of = destination_rows(city, destinations)
        self.adj = Adjacency.of(city)
        self._slot_dtype = np.uint8 if self.adj.max_degree < 255 else np.uint16
        self.root_slot = int(np.iinfo(self._slot_dtype).max)
        entry = (
            trees_entry("compact", COMPACT_VERSION, city, self.destinations)
            if cache and sim_cache.enabled()
            else None
        )
        shape = (self.destinations.size, city.n_nodes)
        trees = sim_cache.memo(
            entry,
            ("slot", "dist_m"),
            self._computed,
            lambda got: (
                got["slot"].shape == shape
                and got["slot"].dtype == self._slot_dtype
                and got["dist_m"].shape == shape
                and got["dist_m"].dtype in (np.float32, np.float64)
            ),
        )
        self.slot, self.dist_m = trees["slot"], trees["dist_m"]
        self._slot_flat = self.slot.reshape(-1)
        self._dist_flat = self.dist_m.reshape(-1)

    @property
    def nbytes(self) -> int:
        return int(self.slot.nbytes + self.dist_m.nbytes)

    # -- building -------------------------------------------------------------------------

    def _computed(self) -> sim_cache.Arrays:
        """The trees, a block of destinations at a time (see :func:`build_block`); distances
        kept in float32 while every one so far is exact in it."""
        n = self.city.n_nodes
        d = self.destinations.size
        slot = np.empty((d, n), self._slot_dtype)
        dist: npt.NDArray[Any] = np.empty((d, n), np.float32)
        rows = max(1, BLOCK_ENTRIES // max(n, 1))
        for a in range(0, d, rows):
            s, block = build_block(self.city, self.adj, self.destinations[a : a + rows])
            slot[a : a + rows] = np.where(s < 0, self.root_slot, s)
            del s
            if dist.dtype == np.float32 and not np.array_equal(block.astype(np.float32), block):
                dist = np.concatenate([dist[:a].astype(np.float64), np.empty((d - a, n))])
            dist[a : a + rows] = block
        return {"slot": slot, "dist_m": dist}

    # -- queries --------------------------------------------------------------------------

    def distance_rows(self, roots: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Distances from each of the destination nodes ``roots`` to every node."""
        return np.asarray(self.dist_m[self.row_of[np.asarray(roots)]], np.float64)

    def distance_m(self, root: npt.ArrayLike, other: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Shortest distance between destination nodes ``root`` and any nodes ``other``."""
        flat = self.row_of[np.asarray(root)].astype(np.int64) * self.city.n_nodes
        return self._dist_flat[flat + np.asarray(other)].astype(np.float64)

    def _trees_of(
        self, origin: npt.ArrayLike, dest: npt.ArrayLike, toward_dest: npt.ArrayLike
    ) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.int64], npt.NDArray[np.int32]]:
        """Per trip: whether it walks toward its tree's root, the offset of its tree in the
        flat tables, and the node where its walk up the tree starts."""
        toward, row, start = trip_trees(self.row_of, origin, dest, toward_dest)
        return toward, row.astype(np.int64) * self.city.n_nodes, start

    def _walk(self, base: npt.NDArray[np.int64], start: npt.NDArray[np.int32]) -> Iterator[_Step]:
        """Walk trips up their trees: per step ``k`` (0 at the start), the trips still on
        the way (indices), the node each is at, and the neighbour-list place of its next
        step (``adj.ptr[node] + slot``; the root's trips are left out of the next step).
        Trips are walked in order of their tree, so each step reads the tables in order."""
        adj = self.adj
        order = np.argsort(base, kind="stable")
        idx = order
        at = base[order]
        node = start[order].astype(np.int32)
        k = 0
        while idx.size:
            s = self._slot_flat[at + node]
            going = s != self.root_slot
            pos = adj.ptr[node[going]] + s[going]
            yield k, idx, node, going, pos
            idx, at = idx[going], at[going]
            node = adj.nbr[pos]
            k += 1

    def _lengths(
        self, base: npt.NDArray[np.int64], start: npt.NDArray[np.int32]
    ) -> npt.NDArray[np.int64]:
        """Nodes on each trip's path (its start and the root included)."""
        length = np.zeros(base.size, np.int64)
        for k, idx, _node, going, _pos in self._walk(base, start):
            length[idx[~going]] = k + 1
        return length

    def climb(
        self, origin: npt.ArrayLike, dest: npt.ArrayLike, toward_dest: npt.ArrayLike
    ) -> Climb:
        """As :meth:`sim.routing.Router.climb`: the trips longest path first, and per step
        up the trees the node and distance walked of those still walking."""
        toward, base, start = self._trees_of(origin, dest, toward_dest)
        length = self._lengths(base, start)
        order = np.argsort(-length, kind="stable")
        walking = length.size - np.cumsum(np.bincount(length))  # trips with more than k nodes
        adj = self.adj
        at = base[order]
        node = start[order].astype(np.int32)
        fwd = toward[order]
        full = self._dist_flat[at + node].astype(np.float64)

        def steps() -> Iterator[tuple[int, npt.NDArray[Any], npt.NDArray[np.float64]]]:
            for k in range(walking.size):
                m = int(walking[k])
                if m == 0:
                    return
                if k:
                    here = node[:m]
                    node[:m] = adj.nbr[adj.ptr[here] + self._slot_flat[at[:m] + here]]
                to_root = self._dist_flat[at[:m] + node[:m]].astype(np.float64)
                yield m, node[:m].copy(), np.where(fwd[:m], full[:m] - to_root, to_root)

        return order, steps()

    def expand(
        self, origin: npt.ArrayLike, dest: npt.ArrayLike, toward_dest: npt.ArrayLike
    ) -> Paths:
        """As :meth:`sim.routing.Router.expand`: every node of many trips' paths, in order."""
        toward, base, start = self._trees_of(origin, dest, toward_dest)
        trips: list[npt.NDArray[np.int64]] = []
        ks: list[npt.NDArray[np.int64]] = []
        nodes: list[npt.NDArray[np.int32]] = []
        edges: list[npt.NDArray[np.int64]] = []
        length = np.zeros(base.size, np.int64)
        for k, idx, node, going, pos in self._walk(base, start):
            trips.append(idx)
            ks.append(np.full(idx.size, k, np.int64))
            nodes.append(node)
            e = np.full(idx.size, -1, np.int64)
            e[going] = self.adj.edge[pos]
            edges.append(e)
            length[idx[~going]] = k + 1
        if not trips:  # no trips at all
            z = np.zeros(0, np.int64)
            return walked_paths(toward, length, z, z, z, np.zeros(0), np.zeros(0), z)
        trip = np.concatenate(trips)
        node = np.concatenate(nodes)
        to_root = self._dist_flat[base[trip] + node].astype(np.float64)
        full = self._dist_flat[base + start].astype(np.float64)
        return walked_paths(
            toward, length, trip, np.concatenate(ks), node, to_root, full, np.concatenate(edges)
        )

    def skip_tables(
        self, marked: npt.NDArray[np.bool_]
    ) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
        """Per place in the neighbour lists (padded past the end, so that a root's slot reads
        False), whether its step is marked as walked toward a root (first table) and away from
        it (the reverse edge marked): what :meth:`marked_steps` checks each step against."""
        marked = np.asarray(marked, bool)
        pad = np.zeros(self.root_slot + 1, bool)
        return (
            np.concatenate([marked[self.adj.edge], pad]),
            np.concatenate([marked[self.adj.edge ^ 1], pad]),
        )

    def marked_steps(
        self,
        tables: tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]],
        origin: npt.ArrayLike,
        dest: npt.ArrayLike,
        toward_dest: npt.ArrayLike,
    ) -> Steps:
        """As :meth:`sim.routing.Router.marked_steps`: the steps of many trips on marked
        directed edges, in order of trip and position, found by walking the paths (a lean
        walk of :meth:`_walk`'s kind: only the marked steps are kept)."""
        toward, base, start = self._trees_of(origin, dest, toward_dest)
        either = tables[0] | tables[1]
        adj = self.adj
        nbr = np.concatenate([adj.nbr, np.zeros(self.root_slot + 1, np.int32)])
        found: list[tuple[npt.NDArray[np.int64], int, npt.NDArray[np.int64]]] = []
        length = np.zeros(base.size, np.int64)
        idx = np.argsort(base, kind="stable")
        at = base[idx]
        node = start[idx].astype(np.int32)
        k = 0
        while idx.size:
            s = self._slot_flat[at + node]
            pos = adj.ptr[node] + s  # a root's slot points past its list (at most the pad)
            going = s != self.root_slot
            hit = np.flatnonzero(either[pos] & going)
            if hit.size:
                found.append((idx[hit], k, pos[hit]))
            if not going.all():
                length[idx[~going]] = k + 1
                idx, at, pos = idx[going], at[going], pos[going]
            node = nbr[pos]
            k += 1
        trip, pos, step, _ = marked_hits(found, toward, tables)
        child = np.repeat(np.arange(self.city.n_nodes), np.diff(adj.ptr))[pos]
        d_child = self._dist_flat[base[trip] + child].astype(np.float64)
        d_parent = self._dist_flat[base[trip] + adj.nbr[pos]].astype(np.float64)
        full = self._dist_flat[base[trip] + start[trip]].astype(np.float64)
        return walked_steps(adj, toward, length, trip, step, pos, d_child, d_parent, full)


def marked_hits(
    found: Sequence[tuple[Any, ...]],
    toward: npt.NDArray[np.bool_],
    tables: tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64], Any]:
    """The steps a walk found on a marked edge either way (``found``: per step ``k`` of the
    walk, the trips and the steps' places in the neighbour lists), kept where the direction
    walked is marked: their trips, places and steps, and which were kept."""
    if not found:
        z = np.zeros(0, np.int64)
        return z, z, z, np.zeros(0, bool)
    trip = np.concatenate([f[0] for f in found])
    pos = np.concatenate([f[2] for f in found])
    keep = np.where(toward[trip], tables[0][pos], tables[1][pos])
    step = np.concatenate([np.full(f[0].size, f[1], np.int64) for f in found])
    return trip[keep], pos[keep], step[keep], keep


def walked_steps(
    adj: Adjacency,
    toward: npt.NDArray[np.bool_],
    length: npt.NDArray[np.int64],
    trip: npt.NDArray[np.int64],
    step: npt.NDArray[np.int64],
    pos: npt.NDArray[np.int64],
    d_child: npt.NDArray[np.float64],
    d_parent: npt.NDArray[np.float64],
    full: npt.NDArray[np.float64],
) -> WalkedSteps:
    """Marked steps in order of trip and position, from the walk's: each step's trip, its
    step count from the walk's start, its place in the neighbour lists, the distances to the
    root of the node it leaves and of the one it reaches, and its trip's whole length."""
    ahead = toward[trip]
    edge = np.where(ahead, adj.edge[pos], adj.edge[pos] ^ 1)
    along0 = np.where(ahead, full - d_child, d_parent)
    along1 = np.where(ahead, full - d_parent, d_child)
    position = np.where(ahead, step, length[trip] - 2 - step)
    order = np.lexsort((position, trip))
    return WalkedSteps(trip[order], edge[order], along0[order], along1[order], position[order])


def walked_paths(
    toward: npt.NDArray[np.bool_],
    length: npt.NDArray[np.int64],
    trip: npt.NDArray[np.int64],
    step: npt.NDArray[np.int64],
    node: npt.NDArray[Any],
    to_root: npt.NDArray[np.float64],
    full: npt.NDArray[np.float64],
    tree_edge: npt.NDArray[np.int64],
) -> Paths:
    """Paths from a walk up the trees: per trip and step from the walk's start (``trip``,
    ``step``), the node, its distance to the root and the tree edge taken from it (-1 at the
    root); ``length`` nodes per trip and ``full`` its whole length."""
    offset = np.zeros(length.size + 1, np.int64)
    np.cumsum(length, out=offset[1:])
    fwd = toward[trip]
    # Toward the root the k-th node from the start is at position k; reversed, from the end.
    where = offset[trip] + np.where(fwd, step, length[trip] - 1 - step)
    out = np.empty(where.size, np.int32)
    out[where] = node
    along = np.empty(where.size)
    along[where] = np.where(fwd, full[trip] - to_root, to_root)
    # The step from each position to the next: toward the root the tree edge of this node;
    # reversed, the previous node's (one nearer the root), walked down.
    step_edge = np.full(where.size, -1, np.int64)
    fw = np.flatnonzero(fwd & (tree_edge >= 0))
    step_edge[where[fw]] = tree_edge[fw]
    bw = np.flatnonzero(~fwd & (tree_edge >= 0))
    step_edge[where[bw] - 1] = tree_edge[bw] ^ 1
    return Paths(offset, out, along, step_edge)


class WalkedSteps(Steps):
    """:class:`sim.routing.Steps` found by walking the paths: distances walked known."""

    def __init__(
        self,
        trip: npt.NDArray[np.int64],
        edge: npt.NDArray[np.int64],
        along0: npt.NDArray[np.float64],
        along1: npt.NDArray[np.float64],
        position: npt.NDArray[np.int64],
    ) -> None:
        self.trip, self.edge = trip, edge
        self._along0, self._along1, self._position = along0, along1, position

    def along(
        self, rows: npt.NDArray[np.int64] | slice = slice(None)
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        return self._along0[rows], self._along1[rows]

    @property
    def position(self) -> npt.NDArray[np.int64]:
        return self._position


def build_block(
    city: City, adj: Adjacency, roots: npt.NDArray[np.int32]
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.float64]]:
    """The canonical trees of ``roots`` (:func:`sim.routing.tree_slots`): each entry's parent
    slot (-1 at a root) and its distance to the root, summed as the whole trees sum it
    (:func:`sim.routing.tree_sums`)."""
    slot = tree_slots(city, adj, roots)
    n_rows, n = slot.shape
    has = slot >= 0
    node = np.broadcast_to(np.arange(n, dtype=np.int64), slot.shape)
    pos = np.where(has, adj.ptr[node] + np.maximum(slot, 0), 0)
    step = np.where(has, adj.length_m[pos], 0.0).ravel()
    flat_base = (np.arange(n_rows, dtype=np.int64) * n)[:, None]
    up = (np.where(has, adj.nbr[pos].astype(np.int64), node) + flat_base).ravel()
    del pos, node
    return slot, tree_sums(step, up).reshape(n_rows, n)


# Whole trees (sim.routing.Router: fastest to query) while they take at most this much memory;
# beyond it, compact ones. Both give the same answers, so the choice changes only speed.
FULL_TREES_MAX_BYTES = 2 * 2**30
FULL_BYTES_PER_ENTRY = 64  # distance, parent, hops, edge, parent and level-order tables
COMPACT_BYTES_PER_ENTRY = 9  # a parent slot and a float64 distance (float32 on grids)


def full_trees_fit(destinations: int, crossings: int) -> bool:
    """Whether whole trees of this many destinations and crossings are kept."""
    return destinations * crossings * FULL_BYTES_PER_ENTRY <= FULL_TREES_MAX_BYTES


def routing_kind(destinations: int, crossings: int, paths: str = "exact") -> str:
    """Which tables a city's routes come from: 'whole' or 'compact' trees (exact shortest
    paths, by size), or 'zones' (:mod:`sim.routing_zoned`) when the scenario asks for them
    (``routing.paths``). Never chosen by the machine, so a scenario gives the same routes
    everywhere; zones are never chosen for the user, since they move the figures."""
    if paths == "zones":
        return "zones"
    return "whole" if full_trees_fit(destinations, crossings) else "compact"


def router_for(
    city: City, destinations: npt.ArrayLike, *, cache: bool = False, paths: str = "exact"
) -> Router | CompactRouter | ZonedRouter:
    """The router :func:`routing_kind` picks: whole trees, compact ones (both exact, the
    same answers) or zones."""
    dest = np.unique(np.asarray(destinations, np.int32))
    kind = routing_kind(dest.size, city.n_nodes, paths)
    if kind == "whole":
        return Router(city, dest, cache=cache)
    if kind == "compact":
        return CompactRouter(city, dest, cache=cache)
    from sim.routing_zoned import ZonedRouter

    return ZonedRouter(city, dest, cache=cache)


Routes = Union[Router, CompactRouter, "ZonedRouter"]  # every router answers the same questions


DISTANCE_BLOCK = 1 << 24  # distances computed at once by nearest()


def nearest(
    router: Routes, roots: npt.NDArray[np.int32], nodes: npt.NDArray[np.int32]
) -> npt.NDArray[np.int64]:
    """For each of ``nodes``, the index of the nearest of the destination nodes ``roots`` (the
    first of equals), a block of roots at a time (a row per root is a row of the city)."""
    best = np.full(nodes.size, np.inf)
    pick = np.zeros(nodes.size, np.int64)
    block = max(1, DISTANCE_BLOCK // max(router.city.n_nodes, 1))
    for a in range(0, roots.size, block):
        dist = router.distance_rows(roots[a : a + block])[:, nodes]
        i = np.argmin(dist, axis=0)
        d = dist[i, np.arange(nodes.size)]
        closer = d < best
        best[closer], pick[closer] = d[closer], a + i[closer]
    return pick
