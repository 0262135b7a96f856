"""Shortest paths toward a bounded set of destinations, expanded for many trips at once.

Every trip in survsim has one end at a *destination* (a workplace, shop, school, plaza...), so one
shortest-path tree per destination (``scipy.sparse.csgraph.dijkstra``, computed once and reused)
answers every routing question. A trip toward a destination follows the tree's predecessor links
from its origin; a trip away from one (going home) is the reverse of the tree path from home. Paths
of thousands of trips are expanded together, one numpy step per hop, never a graph call per trip.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.sparse.csgraph import dijkstra

from sim.city import City


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
        self.hops = self._hop_counts()
        # Directed edge of each tree step node -> pred[node] (-1 at the root).
        self.pred_edge = np.full(self.pred.shape, -1, np.int64)
        has = self.pred >= 0
        r, c = np.nonzero(has)
        self.pred_edge[r, c] = city.directed_edge(c, self.pred[r, c])

    def _hop_counts(self) -> npt.NDArray[np.int32]:
        """Edges from each node to each tree's root, by walking all predecessor links at once."""
        n_rows, n = self.pred.shape
        hops = np.zeros((n_rows, n), np.int32)
        rows = np.repeat(np.arange(n_rows), n)
        cur = np.tile(np.arange(n, dtype=np.int32), n_rows)
        alive = np.ones(cur.size, bool)
        alive[self.pred.ravel() < 0] = False
        flat = hops.ravel()
        while alive.any():
            idx = np.flatnonzero(alive)
            flat[idx] += 1
            cur[idx] = self.pred[rows[idx], cur[idx]]
            alive[idx] = self.pred[rows[idx], cur[idx]] >= 0
        return hops

    def distance_m(self, root: npt.ArrayLike, other: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Shortest distance between destination nodes ``root`` and any nodes ``other``."""
        return self.dist_m[self.row_of[np.asarray(root)], np.asarray(other)]

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
        """
        origin = np.asarray(origin, np.int32)
        dest = np.asarray(dest, np.int32)
        toward = np.asarray(toward_dest, bool)
        root = np.where(toward, dest, origin)
        start = np.where(toward, origin, dest)
        row = self.row_of[root]
        if np.any(row < 0):
            raise ValueError("a trip with neither end at a destination node")
        length = self.hops[row, start].astype(np.int64) + 1
        offset = np.zeros(length.size + 1, np.int64)
        np.cumsum(length, out=offset[1:])
        node = np.empty(int(offset[-1]), np.int32)
        step_edge = np.full(int(offset[-1]), -1, np.int64)
        # Write step k of every trip still walking; reversed trips fill from the end.
        base = np.where(toward, offset[:-1], offset[1:] - 1)
        sign = np.where(toward, 1, -1).astype(np.int64)
        cur = start.copy()
        active = np.arange(length.size)
        k = 0
        while active.size:
            node[base[active] + sign[active] * k] = cur[active]
            nxt = self.pred[row[active], cur[active]]
            keep = nxt >= 0
            edge = self.pred_edge[row[active], cur[active]]
            fwd = toward[active]
            # Toward the root the step cur -> nxt starts here; reversed, the walk goes nxt -> cur
            # and that step starts one position earlier.
            pos = np.where(fwd, base[active] + k, base[active] - k - 1)
            step_edge[pos[keep]] = np.where(fwd, edge, edge ^ 1)[keep]
            active = active[keep]
            cur[active] = nxt[keep]
            k += 1
        # Distance walked: along the tree toward the root it falls by dist[root] per node.
        trip = np.repeat(np.arange(length.size), length)
        to_root = self.dist_m[row[trip], node]
        total = self.dist_m[row, start]
        along = np.where(toward[trip], total[trip] - to_root, to_root)
        return Paths(offset, node, along, step_edge)
