"""Patrols: where each patrol officer (body-worn camera) or patrol car is, and when.

Each patrol walks (or drives) a loop of crossings, a random walk from its start, over and over
during its daily shift. The schedule is a table of intervals (device, node, start, end) sorted by
node and start, so "which patrol is at this crossing at this time" is a binary search, for
millions of walker positions at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sim.cameras import Cameras
from sim.city import City
from sim.scenario import Bodycam, Carcam, Deployment
from sim.units import DAY, HOUR

# A car sees walkers on the street it drives along, not only at the crossing: its interval at a
# crossing is widened by the time a walker needs to cover the camera's reach (20 m at 1.3 m/s).
_CAR_SLACK_S = 15.0


@dataclass
class Patrols:
    """Intervals during which a patrol device is at a crossing (sorted by node, then start)."""

    device: npt.NDArray[np.int64]  # camera id of the device
    node: npt.NDArray[np.int32]
    start_s: npt.NDArray[np.float64]
    end_s: npt.NDArray[np.float64]

    @property
    def n(self) -> int:
        return int(self.device.size)

    @classmethod
    def empty(cls) -> Patrols:
        z = np.zeros(0)
        return cls(np.zeros(0, np.int64), np.zeros(0, np.int32), z, z)

    def at(self, node: npt.ArrayLike, t: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """Index of the interval covering each (node, time), or -1."""
        node = np.asarray(node, np.int64)
        t = np.asarray(t, np.float64)
        if self.n == 0:
            return np.full(node.size, -1, np.int64)
        # Lexicographic search on (node, start): first the node's block, then the start time.
        lo = np.searchsorted(self.node, node, side="left")
        hi = np.searchsorted(self.node, node, side="right")
        out = np.full(node.size, -1, np.int64)
        has = np.flatnonzero(hi > lo)
        if has.size == 0:
            return out
        # Within a node's block starts are sorted: offset the search by the block start.
        key = self.node.astype(np.float64) * 1e9 + self.start_s
        idx = np.searchsorted(key, node[has] * 1e9 + t[has], side="right") - 1
        ok = (idx >= lo[has]) & (idx < hi[has])
        ok[ok] &= t[has][ok] < self.end_s[idx[ok]]
        out[has[ok]] = idx[ok]
        return out


def build_patrols(
    cams: Cameras,
    deployments: Sequence[Deployment],
    city: City,
    duration_s: float,
    rng: np.random.Generator,
) -> Patrols:
    """The schedule of every body-worn and car camera over the run."""
    devices = np.flatnonzero(cams.is_kind("bodycam", "carcam"))
    if devices.size == 0:
        return Patrols.empty()
    adj = city.adjacency
    parts: list[tuple[np.ndarray, ...]] = []
    n_days = int(np.ceil(duration_s / DAY))
    for dev in devices:
        spec = deployments[int(cams.deployment[dev])]
        assert isinstance(spec, Bodycam | Carcam)
        loop = _random_loop(
            adj,
            int(cams.node[dev]),
            spec.beat_nodes if isinstance(spec, Bodycam) else spec.route_nodes,
            rng,
        )
        if isinstance(spec, Bodycam):
            stay = np.full(loop.size, spec.dwell_s)
            slack = 0.0
        else:
            nxt = np.roll(loop, -1)
            leg = np.hypot(
                city.node_x_m[nxt] - city.node_x_m[loop], city.node_y_m[nxt] - city.node_y_m[loop]
            )
            stay = np.maximum(leg / spec.speed_mps, 1.0)
            slack = _CAR_SLACK_S
        shift = (spec.end_h - spec.start_h) * HOUR
        laps = int(np.ceil(shift / stay.sum())) + 1
        offs = np.concatenate([[0.0], np.cumsum(np.tile(stay, laps))])[:-1]
        keep = offs < shift
        nodes = np.tile(loop, laps)[keep]
        rel = offs[keep]
        dur = np.tile(stay, laps)[keep]
        for day in range(n_days):
            t0 = day * DAY + spec.start_h * HOUR
            start = t0 + rel
            end = np.minimum(start + dur, t0 + shift)
            parts.append(
                (
                    np.full(nodes.size, dev, np.int64),
                    nodes.astype(np.int32),
                    start - slack,
                    end + slack,
                )
            )
    device = np.concatenate([p[0] for p in parts])
    node = np.concatenate([p[1] for p in parts])
    start = np.concatenate([p[2] for p in parts])
    end = np.concatenate([p[3] for p in parts])
    order = np.lexsort((start, node))
    return Patrols(device[order], node[order], start[order], end[order])


def _random_loop(
    adj: object, start: int, length: int, rng: np.random.Generator
) -> npt.NDArray[np.int32]:
    """A beat: a walk of ``length`` crossings from ``start`` that avoids going straight back,
    then back the same way, so that repeating it is a continuous round."""
    indptr = adj.indptr  # type: ignore[attr-defined]
    indices = adj.indices  # type: ignore[attr-defined]
    walk = [start]
    prev = -1
    for _ in range(length - 1):
        cur = walk[-1]
        nbrs = indices[indptr[cur] : indptr[cur + 1]]
        options = nbrs[nbrs != prev] if nbrs.size > 1 else nbrs
        prev = cur
        walk.append(int(options[int(rng.integers(options.size))]))
    return np.asarray(walk + walk[-2:0:-1], np.int32)
