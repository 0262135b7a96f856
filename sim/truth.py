"""The truth side of a run, apart from the clock: what the routed sensors see of chunks of trips,
with what the instruments return of each capture.

Routing the trips and finding their captures is most of a run's work (about 85% of the engine's
time on the capital), and it needs nothing from the system view: every draw is a keyed coin
(``sim.coins``), so the rows of a chunk of trips are a function of the world and the chunk
alone. The engine (``sim.engine``) asks a :class:`RoutedSource` for them chunk by chunk, in the
order of :func:`route_plan`; :class:`LocalRoutes` computes them here, and ``sim.edge.cluster``
has Dask workers compute them, each from its own copy of the world (built from the same
scenario and seed, so the same bits), while the engine runs the system view on the rows as
they come back in order.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

from sim import __version__
from sim.observe import Observer
from sim.sensors import Context, Output, build_sensors
from sim.world import World

ROUTE_CHUNK = 16_384  # trips whose routes are expanded together (whole windows)

Chunk = tuple[int, int]  # trips a:b


class TruthSide:
    """The sensors and instruments of one world: the part of a run that needs no system view."""

    def __init__(self, world: World) -> None:
        self.world = world
        s = world.scenario
        devices = world.cameras
        # Each device searches its list at its deployment's threshold (one it cannot go below
        # is the regulator's).
        thresholds = np.array(
            [s.threshold_of(i) for i in range(len(s.deployment))] if devices.n else [], np.float64
        )
        self.cam_threshold = (
            thresholds[devices.deployment] if devices.n else np.zeros(0, np.float64)
        )
        self.camera_key = devices.stable_key(world.city.n_nodes)
        self.sensors = build_sensors(
            Context(world, world.coins, self.camera_key, self.cam_threshold, s.duration_s)
        )
        self.routed = [x for x in self.sensors if x.routed]
        # Truth's last step: what the instruments return of each capture.
        self.observer = Observer(world, self.camera_key, self.cam_threshold)

    def observed(self, new: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Captures with the instruments' columns added (the face-match decision depends only
        on the capture: every coin is keyed by trip and camera) and the captures table's
        types."""
        if new["t"].size:
            new.update(self.observer.observe(new))
        for name in ("quality", "distance", "x", "y"):
            new[name] = new[name].astype(np.float32, copy=False)
        new["trip"] = new["trip"].astype(np.int64, copy=False)
        return new

    def routed_rows(self, a: int, b: int) -> Output:
        """The routed sensors' rows for trips ``a:b``, captures observed."""
        out: Output = []
        for sensor in self.routed:
            for table, cols in sensor.on_routes(a, b):
                out.append((table, self.observed(cols) if table == "captures" else cols))
        return out


def window_ends(duration_s: float, batch_s: float) -> npt.NDArray[np.float64]:
    """The end of each micro-batch window of a run."""
    n = max(1, int(np.ceil(duration_s / batch_s)))
    return np.array([min((k + 1) * batch_s, duration_s) for k in range(n)], np.float64)


def chunk_stop(
    depart_s: npt.NDArray[np.float64], ends: npt.NDArray[np.float64], a: int, b: int, chunk: int
) -> int:
    """Where a chunk of trips from ``a`` ends: at ``b`` (the end of a window) or, to make about
    ``chunk`` trips, at the end of the window of trip ``a + chunk``."""
    limit = min(max(b, a + chunk), depart_s.size)
    if limit > b:  # extend to the end of the window of the limit's trip
        last = min(int(np.searchsorted(ends, depart_s[limit - 1], side="right")), ends.size - 1)
        b = max(b, int(np.searchsorted(depart_s, ends[last], side="left")))
    return b


def route_plan(
    depart_s: npt.NDArray[np.float64], ends: npt.NDArray[np.float64], chunk: int = ROUTE_CHUNK
) -> list[Chunk]:
    """The chunks of trips whose routes the engine expands together, in order: each begins with
    the first trip not yet routed when its window comes and ends with a whole window, after
    about ``chunk`` trips. How trips are chunked changes nothing in the output."""
    plan: list[Chunk] = []
    starts = np.searchsorted(depart_s, np.concatenate([[0.0], ends[:-1]]), side="left")
    stops = np.searchsorted(depart_s, ends, side="left")
    routed_to = 0
    for a, b in zip(starts.tolist(), stops.tolist(), strict=True):
        if b > a and b > routed_to:
            start = max(routed_to, a)
            routed_to = chunk_stop(depart_s, ends, start, b, chunk)
            plan.append((start, routed_to))
    return plan


class RoutedSource(Protocol):
    """Where the engine gets the routed rows of each chunk of its plan, in order."""

    def start(self, plan: Sequence[Chunk]) -> None:
        """The chunks that will be asked for, in order (a source may compute ahead)."""

    def rows(self, i: int) -> Output:
        """The rows of chunk ``i`` of the plan."""


class LocalRoutes:
    """Routed rows computed in this process, when asked for."""

    def __init__(self, truth: TruthSide) -> None:
        self.truth = truth
        self.plan: Sequence[Chunk] = ()

    def start(self, plan: Sequence[Chunk]) -> None:
        self.plan = plan

    def rows(self, i: int) -> Output:
        return self.truth.routed_rows(*self.plan[i])


def fingerprint(world: World) -> str:
    """A digest of what decides a world's routed rows (the package version, scenario, seed and
    replication, then what the world built of them: trips, people's speeds and cameras): two
    processes whose worlds have the same fingerprint produce the same rows."""
    h = hashlib.blake2b(digest_size=16)
    s = world.scenario
    h.update(f"{__version__} {s.content_hash()} {world.seed} {world.replication}".encode())
    t = world.trips
    for arr in (
        t.person_id,
        t.depart_s,
        t.origin_node,
        t.dest_node,
        world.population.speed_mps,
        world.cameras.node,
    ):
        h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()
