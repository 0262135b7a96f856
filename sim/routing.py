"""Shortest paths toward a bounded set of destinations, expanded for many trips at once.

Every trip in survsim has one end at a *destination* (a workplace, shop, school, plaza...), so one
shortest-path tree per destination (``scipy.sparse.csgraph.dijkstra``, computed once and reused;
kept in the on-disk cache of :mod:`sim.cache` for the next run of the same city) answers every
routing question. A trip toward a destination follows the tree's predecessor links
from its origin; a trip away from one (going home) is the reverse of the tree path from home. Paths
of thousands of trips are expanded together, one numpy step per hop, never a graph call per trip.
When only some streets matter (those a camera watches), :meth:`Router.marked_steps` finds just
those steps of each route by jumping between them along the trees (:meth:`Router.skip_tables`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy
from scipy.sparse.csgraph import dijkstra

from sim import cache as sim_cache
from sim.city import City

# From this many trips in one expansion on, walking the trees step by step beats binary lifting.
_WALK_FROM_TRIPS = 1500
# Bump when what the trees hold, or how they are computed, changes (cached trees are then stale).
TREES_VERSION = 3
_TREE_DTYPES = {"dist_m": np.float64, "pred": np.int32, "hops": np.int32, "pred_edge": np.int64}
_TREES = tuple(_TREE_DTYPES)
_CACHED = (*_TREES, "up", "level_order", "level_first", "level_at", "level_parent")


# What climb() gives: the trips in walking order, and per step up the trees (m, node, along_m).
Climb = tuple[
    npt.NDArray[np.int64], Iterator[tuple[int, npt.NDArray[Any], npt.NDArray[np.float64]]]
]


@dataclass
class Paths:
    """Node sequences of many trips, flattened.

    ``node[offset[i]:offset[i+1]]`` is trip ``i``'s path from its origin to its destination and
    ``along_m`` the distance walked when each node is reached.
    """

    offset: npt.NDArray[np.int64]
    node: npt.NDArray[np.int32]
    along_m: npt.NDArray[np.float64]
    step_edge: npt.NDArray[np.int64]  # directed edge from position i to i+1; -1 at a trip's end

    @property
    def n_trips(self) -> int:
        return int(self.offset.size - 1)

    def trip_of_position(self) -> npt.NDArray[np.int64]:
        return np.repeat(np.arange(self.n_trips), np.diff(self.offset))


@dataclass
class Steps:
    """Selected street steps of many trips (those on marked directed edges), in order of trip
    and position along it: what filtering :meth:`Router.expand`'s steps by their edge gives.

    ``trip`` and ``edge`` are filled; positions and distances walked are worked out when asked
    for (:meth:`along`, for the rows a caller keeps), from each step's tree entries."""

    trip: npt.NDArray[np.int64]  # index of the trip in the expanded batch
    edge: npt.NDArray[np.int64]  # the directed edge walked
    _entry: npt.NDArray[np.int64]  # the step's tree entry (flat index): it leaves or reaches it
    _start: npt.NDArray[np.int64]  # the trip's tree start (flat index)
    _ahead: npt.NDArray[np.bool_]  # walked toward the tree's root
    _router: Router

    def along(
        self, rows: npt.NDArray[np.int64] | slice = slice(None)
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Distance walked at the start and at the end of the steps ``rows``."""
        dist = self._router.dist_m.ravel()
        c, s, ahead = self._entry[rows], self._start[rows], self._ahead[rows]
        parent = self._router._up()[c].astype(np.int64)
        # Toward the root the step leaves c for its parent; away from it (a reversed tree
        # path) it arrives at c from the parent.
        return (
            np.where(ahead, dist[s] - dist[c], dist[parent]),
            np.where(ahead, dist[s] - dist[parent], dist[c]),
        )

    @property
    def along0_m(self) -> npt.NDArray[np.float64]:
        """Distance walked at the start of each step."""
        return self.along()[0]

    @property
    def along1_m(self) -> npt.NDArray[np.float64]:
        """... and at its end."""
        return self.along()[1]

    @property
    def position(self) -> npt.NDArray[np.int64]:
        """Path position where each step starts: toward the root, hops[s] - hops[c] steps in;
        away from it, hops[c] - 1."""
        hops = self._router.hops.ravel()
        c, s = self._entry, self._start
        return np.where(self._ahead, hops[s] - hops[c], hops[c] - 1).astype(np.int64)


@dataclass
class _Levels:
    """Tree entries numbered in level order (see :meth:`Router._level_order`)."""

    order: npt.NDArray[np.int64]  # level position -> flat (tree, node) index
    first: npt.NDArray[np.int64]  # where each level starts (depth + 2 values)
    at: npt.NDArray[Any]  # flat index -> level position
    parent: npt.NDArray[Any]  # level position -> its parent's level position (a root: itself)


class Router:
    """Shortest-path trees rooted at each destination node.

    Parameters
    ----------
    city
        The street graph.
    destinations
        Nodes that trips go to or come from (duplicates are ignored).
    """

    dist_m: npt.NDArray[np.float64]  # (tree, node) shortest distance to the tree's root
    pred: npt.NDArray[np.int32]  # (tree, node) parent node toward the root (-1 at the root)
    hops: npt.NDArray[np.int32]  # (tree, node) edges to the root
    pred_edge: npt.NDArray[np.int64]  # (tree, node) directed edge to the parent (-1: root)

    def __init__(self, city: City, destinations: npt.ArrayLike, *, cache: bool = False) -> None:
        self.city = city
        self.destinations, self.row_of = destination_rows(city, destinations)
        self._lift: list[npt.NDArray[np.int64]] | None = None
        self._parent: npt.NDArray[np.int64] | None = None
        self._levels: _Levels | None = None
        self._entry = (
            trees_entry("trees", TREES_VERSION, city, self.destinations)
            if cache and sim_cache.enabled()
            else None
        )
        if self._entry is None:
            self._build_trees()
            return
        shape = (self.destinations.size, city.n_nodes)
        trees = sim_cache.memo(
            self._entry, _CACHED, self._computed_trees, lambda got: _fits(got, shape)
        )
        self.dist_m, self.pred = trees["dist_m"], trees["pred"]
        self.hops, self.pred_edge = trees["hops"], trees["pred_edge"]
        self._parent = trees["up"]
        self._levels = _Levels(
            trees["level_order"], trees["level_first"], trees["level_at"], trees["level_parent"]
        )

    def _computed_trees(self) -> sim_cache.Arrays:
        """The trees computed afresh, with the tables every run with cameras uses (the
        parent and level-order tables), as the cache keeps them."""
        self._build_trees()
        lv = self._level_order()
        return {
            **{name: getattr(self, name) for name in _TREES},
            "up": self._up(),
            "level_order": lv.order,
            "level_first": lv.first,
            "level_at": lv.at,
            "level_parent": lv.parent,
        }

    def _build_trees(self) -> None:
        """Shortest-path trees whose shape does not depend on the scipy version.

        Where two paths to a root are equally short, which one Dijkstra keeps is an accident of
        its implementation (scipy 1.16 changed it, and with it the routes people walk). So only
        the distances are taken from scipy; each node's parent is then chosen by a fixed rule,
        the lowest-numbered neighbour on a shortest path (within 1e-9 of the distance, and
        strictly nearer the root, so the trees have no cycles), and the distances are summed
        again along the chosen trees (the same additions on every machine).
        """
        city = self.city
        adj = Adjacency.of(city)
        self.pred = _parents(adj, tree_slots(city, adj, self.destinations))
        self._parent = None
        # Directed edge of each tree step node -> pred[node] (-1 at the root).
        self.pred_edge = np.full(self.pred.shape, -1, np.int64)
        has = self.pred >= 0
        r, c = np.nonzero(has)
        self.pred_edge[r, c] = city.directed_edge(c, self.pred[r, c])
        self.hops = self._hop_counts()
        self.dist_m = self._summed_distances()

    def _summed_distances(self) -> npt.NDArray[np.float64]:
        """Distance from each node to each tree's root, summed along the tree by pointer
        jumping (as :meth:`_hop_counts`): fixed additions for a fixed tree."""
        n_rows, n = self.pred.shape
        step = np.zeros(self.pred.size, np.float64)
        edge = self.pred_edge.ravel()
        has = edge >= 0
        step[has] = self.city.edge_length_m[edge[has] // 2]
        return tree_sums(step, self._up()).reshape(n_rows, n)

    def _hop_counts(self) -> npt.NDArray[np.int32]:
        """Edges from each node to each tree's root, by pointer jumping over all trees at once.

        Each round adds the hops of the node an entry points at and then points two steps up,
        so ``ceil(log2(depth))`` rounds of whole-array gathers do it (instead of one round per
        edge of the deepest path).
        """
        n_rows, n = self.pred.shape
        up = self._up()  # a root points at itself and adds no hops
        hops = (self.pred >= 0).ravel().astype(np.int32)
        depth = 1
        while depth < n:  # after each round, hops counts up to 2 * depth edges
            nxt = up[up]
            if np.array_equal(nxt, up):
                break
            hops = hops + hops[up]
            up = nxt
            depth *= 2
        return hops.reshape(n_rows, n)

    def distance_m(self, root: npt.ArrayLike, other: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Shortest distance between destination nodes ``root`` and any nodes ``other``."""
        return self.dist_m[self.row_of[np.asarray(root)], np.asarray(other)]

    def distance_rows(self, roots: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Distances from each of the destination nodes ``roots`` to every node."""
        return self.dist_m[self.row_of[np.asarray(roots)]]

    def _lifts(self) -> list[npt.NDArray[np.int64]]:
        """Binary-lifting tables: entry ``l`` maps (row, node) to its 2**l-th ancestor.

        Flat indices ``row * n + node``; a root points at itself. Built on first use.
        """
        if self._lift is None:
            tables = [self._up()]
            depth = int(self.hops.max()) if self.hops.size else 0
            while (1 << len(tables)) <= depth:
                tables.append(tables[-1][tables[-1]])
            self._lift = tables
        return self._lift

    def skip_tables(
        self, marked: npt.NDArray[np.bool_]
    ) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
        """For every tree entry, the first entry on the way to the root (itself included) whose
        tree step is on a marked directed edge, walked toward the root (first table) or away
        from it (second table, the reverse edge); ``pred.size`` where there is none. Entries
        are numbered in level order (:meth:`_level_order`: a level is a contiguous slice whose
        parents are in the slice before it, which keeps the gathers cache-friendly); the
        tables are filled level by level down all trees at once (a node's answer is itself if
        marked, else its parent's), one pass over the entries. A router built with
        ``cache=True`` keeps the tables of each set of marked edges (a camera network) in the
        on-disk cache too."""
        entry = (
            sim_cache.route_entry("skips", self._entry.name, np.asarray(marked, bool))
            if self._entry is not None and sim_cache.enabled()
            else None
        )
        dtype = self._level_order().parent.dtype
        got = sim_cache.memo(
            entry,
            ("toward", "away"),
            lambda: dict(zip(("toward", "away"), self._skip_tables(marked), strict=True)),
            lambda got: all(
                a.shape == (self.pred.size,) and a.dtype == dtype for a in got.values()
            ),
        )
        return got["toward"], got["away"]

    def _skip_tables(
        self, marked: npt.NDArray[np.bool_]
    ) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
        lv = self._level_order()
        none = lv.order.size
        dtype = lv.parent.dtype
        edge = self.pred_edge.ravel()[lv.order]
        roots = int(lv.first[1]) if lv.first.size > 1 else 0
        tables = []
        for flip in (0, 1):
            here = np.zeros(none, bool)
            here[roots:] = marked[edge[roots:] ^ flip]
            jump = np.full(none, none, dtype)
            for level in range(1, lv.first.size - 1):
                a, b = int(lv.first[level]), int(lv.first[level + 1])
                jump[a:b] = np.where(here[a:b], np.arange(a, b, dtype=dtype), jump[lv.parent[a:b]])
            tables.append(jump)
        return tables[0], tables[1]

    def _trees_of(
        self, origin: npt.ArrayLike, dest: npt.ArrayLike, toward_dest: npt.ArrayLike
    ) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.int32], npt.NDArray[np.int32]]:
        """Per trip: whether it walks toward its tree's root, the tree (row), and the node
        where its walk up the tree starts (the end that is not the root)."""
        return trip_trees(self.row_of, origin, dest, toward_dest)

    def marked_steps(
        self,
        tables: tuple[npt.NDArray[Any], npt.NDArray[Any]],
        origin: npt.ArrayLike,
        dest: npt.ArrayLike,
        toward_dest: npt.ArrayLike,
    ) -> Steps:
        """The steps of many trips that walk a marked directed edge (see :meth:`skip_tables`),
        found by jumping from marked step to marked step instead of expanding every path:
        the same steps, positions and distances as :meth:`expand` gives for them."""
        toward, row, start = self._trees_of(origin, dest, toward_dest)
        n = self.pred.shape[1]
        lv = self._level_order()
        none = self.pred.size
        flat_start = row.astype(np.int64) * n + start
        start_at = lv.at[flat_start]  # in the tables' numbering (level order)
        # Jump from marked step to marked step; round r finds each trip's r-th marked step
        # from its tree start (toward the root: in path order; away from it: from the end).
        rounds: list[tuple[np.ndarray, np.ndarray, int, bool]] = []
        for fwd, table in ((True, tables[0]), (False, tables[1])):
            idx = np.flatnonzero(toward == fwd)
            cur = table[start_at[idx]]
            r = 0
            while True:
                keep = cur != none
                idx, cur = idx[keep], cur[keep]
                if idx.size == 0:
                    break
                rounds.append((idx, cur, r, fwd))
                cur = table[lv.parent[cur]]
                r += 1
        if not rounds:
            z = np.zeros(0, np.int64)
            return Steps(z, z, z, z, np.zeros(0, bool), self)
        # Each found step's place in (trip, position) order, without sorting: a trip's steps
        # are consecutive, forward ones in round order and reversed ones in reverse.
        found = np.concatenate([i for i, _, _, _ in rounds])
        count = np.bincount(found, minlength=toward.size)
        first = np.concatenate([[0], np.cumsum(count)[:-1]])
        total = int(count.sum())
        slot = np.concatenate([first[i] + (r if f else count[i] - 1 - r) for i, _, r, f in rounds])
        order = np.empty(total, np.int64)
        order[slot] = np.arange(total)
        trip = found.astype(np.int64)[order]
        c = lv.order[np.concatenate([c for _, c, _, _ in rounds])[order]]  # flat indices
        ahead = toward[trip]
        pe = self.pred_edge.ravel()[c]
        edge = np.where(ahead, pe, pe ^ 1)
        return Steps(trip, edge, c, flat_start[trip], ahead, self)

    def _level_order(self) -> _Levels:
        """Tree entries in level order (hops from the root; index order within a level) and
        the parent of each in that numbering. Built on first use."""
        if self._levels is None:
            hops = self.hops.ravel()
            none = hops.size
            depth = int(hops.max()) if hops.size else -1
            # A radix sort when the levels fit 16 bits.
            order = np.argsort(hops.astype(np.uint16) if depth < 1 << 16 else hops, kind="stable")
            first = np.zeros(depth + 2, np.int64)
            np.cumsum(np.bincount(hops, minlength=depth + 1), out=first[1:])
            dtype = _index_dtype(none)
            at = np.empty(none, dtype)
            at[order] = np.arange(none, dtype=dtype)
            self._levels = _Levels(order, first, at, at[self._up()[order]])
        return self._levels

    def _up(self) -> npt.NDArray[np.int64]:
        """Flat index of each tree entry's parent (a root points at itself)."""
        if self._parent is None:
            n_rows, n = self.pred.shape
            dtype = _index_dtype(n_rows * n)
            parent: npt.NDArray[Any] = np.where(
                self.pred >= 0, self.pred, np.arange(n, dtype=np.int32)[None, :]
            ).astype(dtype)
            parent += (np.arange(n_rows, dtype=dtype) * n)[:, None]
            self._parent = parent.ravel()
        return self._parent

    def _walk(
        self,
        row: npt.NDArray[np.int32],
        start: npt.NDArray[np.int32],
        toward: npt.NDArray[np.bool_],
        length: npt.NDArray[np.int64],
        offset: npt.NDArray[np.int64],
        total: int,
    ) -> npt.NDArray[np.int64]:
        """Flat (row, node) index of every path position, walking all trips up their trees
        one step at a time (reversed trips are written from their end)."""
        up = self._up()
        n = self.pred.shape[1]
        cur = (row.astype(np.int64) * n + start).astype(up.dtype)
        out = np.empty(total, up.dtype)
        base = np.where(toward, offset[:-1], offset[1:] - 1)
        sign = np.where(toward, 1, -1)
        active = np.arange(length.size)
        k = 0
        while active.size:
            out[base[active] + sign[active] * k] = cur[active]
            cur[active] = up[cur[active]]
            k += 1
            active = active[length[active] > k]
        return out.astype(np.int64)

    def climb(
        self, origin: npt.ArrayLike, dest: npt.ArrayLike, toward_dest: npt.ArrayLike
    ) -> Climb:
        """Every node of many trips' paths, for callers that only count visits (not in path
        order): the trips sorted longest path first (``order``), and one item per step up the
        trees, ``(m, node, along_m)`` for the trips ``order[:m]`` that still walk: the node each
        of them is at after that many steps from its tree start, and the distance it has walked
        when it reaches it (the same ``along_m`` as :meth:`expand` gives there).

        The walking trips are always a prefix of ``order``, so each step is a few slices and
        two gathers, whatever the mix of path lengths.
        """
        toward, row, start = self._trees_of(origin, dest, toward_dest)
        n = self.pred.shape[1]
        length = self.hops[row, start].astype(np.int64) + 1
        order = np.argsort(-length, kind="stable")
        walking = length.size - np.cumsum(np.bincount(length))  # trips with more than k nodes
        up = self._up()
        dist = self.dist_m.ravel()
        cur = (row.astype(np.int64) * n + start)[order].astype(up.dtype)
        fwd = toward[order]
        full = self.dist_m[row, start][order]

        def steps() -> Iterator[tuple[int, npt.NDArray[Any], npt.NDArray[np.float64]]]:
            for k in range(walking.size):
                m = int(walking[k])
                if m == 0:
                    return
                if k:
                    cur[:m] = up[cur[:m]]
                here = cur[:m]
                to_root = dist[here]
                yield m, here % n, np.where(fwd[:m], full[:m] - to_root, to_root)

        return order, steps()

    def expand(
        self, origin: npt.ArrayLike, dest: npt.ArrayLike, toward_dest: npt.ArrayLike
    ) -> Paths:
        """Expand the paths of many trips.

        Parameters
        ----------
        origin, dest
            Trip end nodes.
        toward_dest
            True where ``dest`` is a destination (walk the tree of ``dest`` from ``origin``);
            False where ``origin`` is one (walk the tree of ``origin`` from ``dest``, reversed).

        Every position of every path is filled at once: the node ``k`` steps from the start up
        the tree is found by binary lifting (one gather per bit of ``k``), so the cost does not
        grow with the number of steps of the longest path.
        """
        toward, row, start = self._trees_of(origin, dest, toward_dest)
        n = self.pred.shape[1]
        length = self.hops[row, start].astype(np.int64) + 1
        offset = np.zeros(length.size + 1, np.int64)
        np.cumsum(length, out=offset[1:])
        total = int(offset[-1])
        trip = np.repeat(np.arange(length.size), length)
        fwd = toward[trip]
        if length.size < _WALK_FROM_TRIPS:
            j = np.arange(total, dtype=np.int64) - offset[trip]  # position within the trip
            # Steps up the tree from the start: walked forward toward the root, or read
            # backward.
            k = np.where(fwd, j, length[trip] - 1 - j)
            cur = row[trip].astype(np.int64) * n + start[trip]
            for level, up in enumerate(self._lifts()):
                m = np.flatnonzero((k >> level) & 1)
                if m.size:
                    cur[m] = up[cur[m]]
        else:  # many trips: one step up all their trees at a time is cheaper
            cur = self._walk(row, start, toward, length, offset, total)
        # ``cur`` is each position's flat (tree, node) index.
        node = (cur % n).astype(np.int32)
        # The directed edge of the step from each position to the next (-1 at a trip's end):
        # toward the root the tree edge of this node; reversed, the next node's, walked down.
        step_edge = np.full(total, -1, np.int64)
        not_last = np.ones(total, bool)
        not_last[offset[1:] - 1] = False
        inner = np.flatnonzero(not_last)
        pe = self.pred_edge.ravel()
        step_edge[inner] = np.where(fwd[inner], pe[cur[inner]], pe[cur[inner + 1]] ^ 1)
        # Distance walked: along the tree toward the root it falls by dist[root] per node.
        to_root = self.dist_m.ravel()[cur]
        full = self.dist_m[row, start]
        along = np.where(fwd, full[trip] - to_root, to_root)
        return Paths(offset, node, along, step_edge)


def trip_trees(
    row_of: npt.NDArray[np.int32],
    origin: npt.ArrayLike,
    dest: npt.ArrayLike,
    toward_dest: npt.ArrayLike,
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.int32], npt.NDArray[np.int32]]:
    """Per trip: whether it walks toward its tree's root, the tree (its root's row in
    ``row_of``), and the node where its walk up the tree starts (the end that is not the
    root)."""
    origin = np.asarray(origin, np.int32)
    dest = np.asarray(dest, np.int32)
    toward = np.asarray(toward_dest, bool)
    row = row_of[np.where(toward, dest, origin)]
    if np.any(row < 0):
        raise ValueError("a trip with neither end at a destination node")
    return toward, row, np.where(toward, origin, dest)


def destination_rows(
    city: City, destinations: npt.ArrayLike
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32]]:
    """The distinct destination nodes, in order, and each node's tree (row; -1: none)."""
    dest = np.unique(np.asarray(destinations, np.int32))
    row_of = np.full(city.n_nodes, -1, np.int32)
    row_of[dest] = np.arange(dest.size, dtype=np.int32)
    return dest, row_of


def trees_entry(kind: str, version: int, city: City, destinations: npt.NDArray[np.int32]) -> Path:
    """The cache entry of a city's trees of one ``kind`` (whole, compact): keyed by the street
    graph (ends and lengths of every edge), the destinations, and the versions of what
    computes the trees (scipy's dijkstra breaks ties between equally short paths its own
    way)."""
    return sim_cache.route_entry(
        kind,
        f"v{version}:numpy{np.__version__}:scipy{scipy.__version__}",
        np.asarray(city.n_nodes),
        city.edge_u,
        city.edge_v,
        city.edge_length_m,
        destinations,
    )


def tree_slots(city: City, adj: Adjacency, roots: npt.NDArray[np.int32]) -> npt.NDArray[np.int32]:
    """The canonical shortest-path trees of ``roots``: scipy's distances, then each node's
    parent by :func:`canonical_slots` (its place in the node's neighbour list; -1 at a root)."""
    dist, fallback = dijkstra(
        city.adjacency, directed=False, indices=roots, return_predecessors=True
    )
    if not np.all(np.isfinite(dist)):
        raise ValueError("the street graph is not connected")
    return canonical_slots(adj, dist, fallback.astype(np.int32))


def tree_sums(step: npt.NDArray[np.float64], up: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
    """Distance from each tree entry to its root: ``step`` (the length of each entry's step to
    its parent, 0 at a root) summed along the trees by pointer jumping (``up``: each entry's
    parent, a root itself). Each round adds the sum of the entry pointed at and points twice
    as far up, so the additions depend only on the tree: the same bits for whole trees and for
    compact ones computed a block at a time."""
    while True:
        nxt = up[up]
        step = step + step[up]  # a root's entry is 0: reaching it adds nothing
        if np.array_equal(nxt, up):
            return step
        up = nxt


def _index_dtype(size: int) -> type[np.signedinteger[Any]]:
    """The integer type of flat (tree, node) indices: int32 while ``size`` itself (the "none"
    marker of the skip tables) fits it."""
    return np.int32 if size < 2**31 - 1 else np.int64


def _fits(trees: dict[str, np.ndarray], shape: tuple[int, int]) -> bool:
    """Whether a cache entry holds trees of this shape (and its level tables cover them)."""
    size = shape[0] * shape[1]
    return all(
        trees[k].shape == shape and trees[k].dtype == np.dtype(t) for k, t in _TREE_DTYPES.items()
    ) and all(trees[k].shape == (size,) for k in ("up", "level_order", "level_at", "level_parent"))


# Relative tolerance of "equally short" when trees are made canonical (far above the rounding
# of summed street lengths, far below any real difference: street lengths are >= 0.5 m).
_TIE_RTOL = 1e-9
_CANON_CHUNK = 1 << 22  # tree entries x directed edges handled per block (memory bound)


@dataclass(frozen=True)
class Adjacency:
    """The directed street steps grouped by the node they leave (CSR), each node's neighbours
    in increasing order: ``nbr[ptr[a]:ptr[a+1]]`` are the neighbours of ``a``, ``edge`` the
    directed edge of each step (as :meth:`City.directed_edge`) and ``length_m`` its length."""

    ptr: npt.NDArray[np.int64]
    nbr: npt.NDArray[np.int32]
    edge: npt.NDArray[np.int64]
    length_m: npt.NDArray[np.float64]

    @classmethod
    def of(cls, city: City) -> Adjacency:
        e = np.arange(city.n_edges, dtype=np.int64)
        src = np.concatenate([city.edge_u, city.edge_v]).astype(np.int64)
        dst = np.concatenate([city.edge_v, city.edge_u]).astype(np.int64)
        order = np.lexsort((dst, src))  # stable: as City.directed_edge picks among equals
        ptr = np.zeros(city.n_nodes + 1, np.int64)
        np.cumsum(np.bincount(src, minlength=city.n_nodes), out=ptr[1:])
        return cls(
            ptr,
            dst[order].astype(np.int32),
            np.concatenate([2 * e, 2 * e + 1])[order],
            np.concatenate([city.edge_length_m, city.edge_length_m])[order],
        )

    @property
    def max_degree(self) -> int:
        return int(np.diff(self.ptr).max(initial=0))


def canonical_slots(
    adj: Adjacency, dist: npt.NDArray[np.float64], fallback: npt.NDArray[np.int32]
) -> npt.NDArray[np.int32]:
    """Each node's parent in each tree, as its place in the node's neighbour list (``-1`` at
    the roots): the lowest-numbered neighbour ``p`` on a shortest path to the root
    (``dist[p] + length >= dist[node]`` within the tolerance, which for streets longer than
    the tolerance also means ``dist[p] < dist[node]``: no cycles); ``fallback`` (scipy's
    parent) where no neighbour qualifies."""
    n_rows, n = dist.shape
    slot = np.full((n_rows, n), -1, np.int32)
    if adj.nbr.size == 0:
        return slot
    degree = np.diff(adj.ptr)
    nodes = np.flatnonzero(degree > 0)  # all of them, in a connected city
    starts = adj.ptr[nodes]
    src = np.repeat(np.arange(n), degree)
    dst = adj.nbr.astype(np.int64)
    local = (np.arange(dst.size) - adj.ptr[src]).astype(np.int32)
    none = np.int32(np.iinfo(np.int32).max)
    rows = max(1, _CANON_CHUNK // max(src.size, 1))
    for a in range(0, n_rows, rows):
        d = dist[a : a + rows]
        tol = _TIE_RTOL * (1.0 + d.max(axis=1, keepdims=True))  # per tree, in metres
        gap = d[:, src]
        gap -= d[:, dst]
        gap -= adj.length_m  # dist[node] - dist[p] - length: 0 on a shortest path, < 0 off it
        ok = gap >= -tol
        if float(adj.length_m.min()) <= 2.0 * float(tol.max()):  # streets shorter than rounding
            ok &= d[:, dst] < d[:, src]
        best = np.minimum.reduceat(np.where(ok, local, none), starts, axis=1)
        slot[a : a + rows, nodes] = best
    lost = np.nonzero(slot == none)
    if lost[0].size:  # scipy's parent, found in the node's neighbour list
        node, parent = lost[1], fallback[lost]
        keys = np.repeat(np.arange(n, dtype=np.int64), degree) * n + dst
        slot[lost] = np.searchsorted(keys, node * np.int64(n) + parent) - adj.ptr[node]
    slot[dist == 0] = -1  # the roots (street lengths are positive: only a root is at 0)
    return slot


def _canonical_parents(
    city: City, dist: npt.NDArray[np.float64], fallback: npt.NDArray[np.int32]
) -> npt.NDArray[np.int32]:
    """Each node's parent node in each tree (-1 at the roots), by :func:`canonical_slots`."""
    adj = Adjacency.of(city)
    return _parents(adj, canonical_slots(adj, dist, fallback))


def _parents(adj: Adjacency, slot: npt.NDArray[np.int32]) -> npt.NDArray[np.int32]:
    """Parent nodes from parent slots (-1 at the roots)."""
    has = slot >= 0
    pred = np.full(slot.shape, -1, np.int32)
    node = np.nonzero(has)[1]
    pred[has] = adj.nbr[adj.ptr[node] + slot[has]]
    return pred
