"""Shortest paths toward a bounded set of destinations, expanded for many trips at once.

Every trip in survsim has one end at a *destination* (a workplace, shop, school, plaza...), so one
shortest-path tree per destination (``scipy.sparse.csgraph.dijkstra``, computed once and reused)
answers every routing question. A trip toward a destination follows the tree's predecessor links
from its origin; a trip away from one (going home) is the reverse of the tree path from home. Paths
of thousands of trips are expanded together, one numpy step per hop, never a graph call per trip.
When only some streets matter (those a camera watches), :meth:`Router.marked_steps` finds just
those steps of each route by jumping between them along the trees (:meth:`Router.skip_tables`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.sparse.csgraph import dijkstra

from sim.city import City

# From this many trips in one expansion on, walking the trees step by step beats binary lifting.
_WALK_FROM_TRIPS = 1500


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
    and position along it: what filtering :meth:`Router.expand`'s steps by their edge gives."""

    trip: npt.NDArray[np.int64]  # index of the trip in the expanded batch
    position: npt.NDArray[np.int64]  # path position where the step starts
    edge: npt.NDArray[np.int64]  # the directed edge walked
    along0_m: npt.NDArray[np.float64]  # distance walked at the start of the step
    along1_m: npt.NDArray[np.float64]  # ... and at its end


class Router:
    """Shortest-path trees rooted at each destination node.

    Parameters
    ----------
    city
        The street graph.
    destinations
        Nodes that trips go to or come from (duplicates are ignored).
    """

    def __init__(self, city: City, destinations: npt.ArrayLike) -> None:
        self.city = city
        self.destinations = np.unique(np.asarray(destinations, np.int32))
        self.row_of = np.full(city.n_nodes, -1, np.int32)
        self.row_of[self.destinations] = np.arange(self.destinations.size, dtype=np.int32)
        dist, pred = dijkstra(city.adjacency, directed=False, indices=self.destinations,
                              return_predecessors=True)
        if not np.all(np.isfinite(dist)):
            raise ValueError("the street graph is not connected")
        self.dist_m = dist.astype(np.float64)
        self.pred = pred.astype(np.int32)
        self._lift: list[npt.NDArray[np.int64]] | None = None
        self._parent: npt.NDArray[np.int64] | None = None
        self.hops = self._hop_counts()
        # Directed edge of each tree step node -> pred[node] (-1 at the root).
        self.pred_edge = np.full(self.pred.shape, -1, np.int64)
        has = self.pred >= 0
        r, c = np.nonzero(has)
        self.pred_edge[r, c] = city.directed_edge(c, self.pred[r, c])

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

    def skip_tables(self, marked: npt.NDArray[np.bool_]) -> tuple[npt.NDArray[Any],
                                                                   npt.NDArray[Any]]:
        """For every tree entry, the first entry on the way to the root (itself included) whose
        tree step is on a marked directed edge, walked toward the root (first table) or away
        from it (second table, the reverse edge); ``pred.size`` where there is none. Flat
        indices ``row * n + node``, filled level by level down all trees at once (a node's
        answer is itself if marked, else its parent's), one pass over the entries."""
        n_rows, n = self.pred.shape
        none = n_rows * n
        dtype = np.int32 if none < 2**31 - 1 else np.int64
        up = self._up()
        pe = self.pred_edge.ravel()
        hops = self.hops.ravel()
        depth = int(hops.max()) if hops.size else 0
        # Entries by level (hops from the root): a radix sort when the levels fit 16 bits.
        by_level = np.argsort(hops.astype(np.uint16) if depth < 1 << 16 else hops,
                              kind="stable")
        first = np.searchsorted(hops[by_level], np.arange(depth + 2))
        tables = []
        for flip in (0, 1):
            jump = np.full(none + 1, none, dtype)
            for level in range(1, depth + 1):
                e = by_level[first[level]:first[level + 1]]
                here = marked[pe[e] ^ flip]
                jump[e] = np.where(here, e, jump[up[e]])
            tables.append(jump)
        return tables[0], tables[1]

    def _trees_of(self, origin: npt.ArrayLike, dest: npt.ArrayLike, toward_dest: npt.ArrayLike
                  ) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.int32], npt.NDArray[np.int32]]:
        """Per trip: whether it walks toward its tree's root, the tree (row), and the node
        where its walk up the tree starts (the end that is not the root)."""
        origin = np.asarray(origin, np.int32)
        dest = np.asarray(dest, np.int32)
        toward = np.asarray(toward_dest, bool)
        row = self.row_of[np.where(toward, dest, origin)]
        if np.any(row < 0):
            raise ValueError("a trip with neither end at a destination node")
        return toward, row, np.where(toward, origin, dest)

    def marked_steps(self, tables: tuple[npt.NDArray[Any], npt.NDArray[Any]],
                     origin: npt.ArrayLike, dest: npt.ArrayLike,
                     toward_dest: npt.ArrayLike) -> Steps:
        """The steps of many trips that walk a marked directed edge (see :meth:`skip_tables`),
        found by jumping from marked step to marked step instead of expanding every path:
        the same steps, positions and distances as :meth:`expand` gives for them."""
        toward, row, start = self._trees_of(origin, dest, toward_dest)
        n = self.pred.shape[1]
        none = self.pred.size
        up = self._up()
        flat_start = row.astype(np.int64) * n + start
        hops = self.hops.ravel()
        dist = self.dist_m.ravel()
        pe = self.pred_edge.ravel()
        # Jump from marked step to marked step; round r finds each trip's r-th marked step
        # from its tree start (toward the root: in path order; away from it: from the end).
        rounds: list[tuple[np.ndarray, np.ndarray, int, bool]] = []
        for fwd, table in ((True, tables[0]), (False, tables[1])):
            idx = np.flatnonzero(toward == fwd)
            cur = table[flat_start[idx]]
            r = 0
            while True:
                keep = cur != none
                idx, cur = idx[keep], cur[keep]
                if idx.size == 0:
                    break
                rounds.append((idx, cur, r, fwd))
                cur = table[up[cur]]
                r += 1
        if not rounds:
            z = np.zeros(0, np.int64)
            return Steps(z, z, z, np.zeros(0), np.zeros(0))
        # Each found step's place in (trip, position) order, without sorting: a trip's steps
        # are consecutive, forward ones in round order and reversed ones in reverse.
        found = np.concatenate([i for i, _, _, _ in rounds])
        count = np.bincount(found, minlength=toward.size)
        first = np.concatenate([[0], np.cumsum(count)[:-1]])
        total = int(count.sum())
        slot = np.concatenate([first[i] + (r if f else count[i] - 1 - r)
                               for i, _, r, f in rounds])
        order = np.empty(total, np.int64)
        order[slot] = np.arange(total)
        trip = found.astype(np.int64)[order]
        c = np.concatenate([c for _, c, _, _ in rounds]).astype(np.int64)[order]
        parent = up[c].astype(np.int64)
        s = flat_start[trip]
        ahead = toward[trip]
        # Toward the root the step leaves c for its parent, hops[s] - hops[c] steps in;
        # away from it (a reversed tree path) it arrives at c from the parent, at hops[c] - 1.
        position = np.where(ahead, hops[s] - hops[c], hops[c] - 1).astype(np.int64)
        edge = np.where(ahead, pe[c], pe[c] ^ 1)
        along0 = np.where(ahead, dist[s] - dist[c], dist[parent])
        along1 = np.where(ahead, dist[s] - dist[parent], dist[c])
        return Steps(trip, position, edge, along0, along1)

    def _up(self) -> npt.NDArray[np.int64]:
        """Flat index of each tree entry's parent (a root points at itself)."""
        if self._parent is None:
            n_rows, n = self.pred.shape
            dtype = np.int32 if n_rows * n < 2**31 else np.int64
            base = (np.arange(n_rows, dtype=np.int64) * n)[:, None]
            self._parent = np.where(self.pred >= 0, base + self.pred,
                                    base + np.arange(n, dtype=np.int64)[None, :]
                                    ).ravel().astype(dtype)
        return self._parent

    def _walk(self, row: npt.NDArray[np.int32], start: npt.NDArray[np.int32],
              toward: npt.NDArray[np.bool_], length: npt.NDArray[np.int64],
              offset: npt.NDArray[np.int64], total: int) -> npt.NDArray[np.int64]:
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

    def expand(self, origin: npt.ArrayLike, dest: npt.ArrayLike,
               toward_dest: npt.ArrayLike) -> Paths:
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
        j = np.arange(total, dtype=np.int64) - offset[trip]  # position within the trip
        fwd = toward[trip]
        # Steps up the tree from the start: walked forward toward the root, or read backward.
        k = np.where(fwd, j, length[trip] - 1 - j)
        row_base = row[trip].astype(np.int64) * n
        if length.size < _WALK_FROM_TRIPS:
            cur = row_base + start[trip]
            for level, up in enumerate(self._lifts()):
                m = np.flatnonzero((k >> level) & 1)
                if m.size:
                    cur[m] = up[cur[m]]
        else:  # many trips: one step up all their trees at a time is cheaper
            cur = self._walk(row, start, toward, length, offset, total)
        node = (cur - row_base).astype(np.int32)
        # The directed edge of the step from each position to the next (-1 at a trip's end):
        # toward the root the tree edge of this node; reversed, the next node's, walked down.
        step_edge = np.full(total, -1, np.int64)
        inner = np.flatnonzero(j < length[trip] - 1)
        pe = self.pred_edge.ravel()
        f = fwd[inner]
        here = row_base[inner] + node[inner]
        there = row_base[inner] + node[np.minimum(inner + 1, total - 1)]
        step_edge[inner] = np.where(f, pe[here], pe[there] ^ 1)
        # Distance walked: along the tree toward the root it falls by dist[root] per node.
        to_root = self.dist_m[row[trip], node]
        full = self.dist_m[row, start]
        along = np.where(fwd, full[trip] - to_root, to_root)
        return Paths(offset, node, along, step_edge)
