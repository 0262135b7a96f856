"""Door cameras (``entry_point``): everyone arriving at a place with doors to visit it is
checked on the way in (a trip home to a crossing that also has a shop does not enter the shop).
"""

from __future__ import annotations

import numpy as np

from sim.city import City
from sim.kinds import Kind, Placing, register
from sim.places import place_type_problems, place_type_sites
from sim.population import PURPOSES
from sim.rng import keyed_uniform
from sim.scenario import EntryPoint
from sim.sensors.base import NOTHING, BaseSensor, Context, Output, captures

# The trip purposes that enter each type of place.
VISITS: dict[str, tuple[str, ...]] = {
    "workplace": ("work",),
    "shop": ("errand",),
    "school": ("school",),
    "airport": ("airport",),
    "plaza": ("leisure",),
    "place_of_worship": ("leisure",),
    "transit_hub": ("leisure",),
    "hospital": (),
}


class DoorCaptures(BaseSensor):
    """Captures at the doors of places, of the trips that visit them."""

    @classmethod
    def create(cls, ctx: Context) -> DoorCaptures | None:
        doors = ctx.world.cameras.is_kind("entry_point")
        return cls(ctx, np.flatnonzero(doors)) if doors.any() else None

    def __init__(self, ctx: Context, cams: np.ndarray) -> None:
        super().__init__(ctx)
        w = ctx.world
        self.cams = cams
        # Which trips go through a place's doors: those whose purpose is to visit that kind of
        # place.
        self.purpose = np.zeros((w.cameras.n, len(PURPOSES)), bool)
        for cam in cams:
            spec = w.scenario.deployment[int(w.cameras.deployment[cam])]
            for purpose in VISITS.get(str(getattr(spec, "place_type", None)), ()):
                self.purpose[cam, PURPOSES.index(purpose)] = True
        self.nodes = np.zeros(w.city.n_nodes, bool)
        self.nodes[w.cameras.node[cams]] = True

    def on_trips(self, a: int, b: int) -> Output:
        ctx = self.ctx
        w = ctx.world
        t = w.trips
        arriving = a + np.flatnonzero(self.nodes[t.dest_node[a:b]])
        if arriving.size == 0:
            return NOTHING
        c = w.cameras
        # Pair each arrival with every door camera at its place (usually one).
        dnode = c.node[self.cams]
        order = np.argsort(dnode, kind="stable")
        sorted_nodes = dnode[order]
        lo = np.searchsorted(sorted_nodes, t.dest_node[arriving], side="left")
        hi = np.searchsorted(sorted_nodes, t.dest_node[arriving], side="right")
        counts = hi - lo
        trip = np.repeat(arriving, counts)
        within = np.arange(trip.size) - np.repeat(np.cumsum(counts) - counts, counts)
        cam = self.cams[order[np.repeat(lo, counts) + within]].astype(np.int64)
        visiting = self.purpose[cam, t.purpose[trip]]
        trip, cam = trip[visiting], cam[visiting]
        when = t.arrive_s[trip]
        caught = keyed_uniform(ctx.coins.capture_door, trip, ctx.camera_key[cam]) < c.p_capture[cam]
        caught &= (when < ctx.duration_s) & ctx.active(cam, when)
        trip, cam, when = trip[caught], cam[caught], when[caught]
        return [
            captures(
                t=when,
                trip=trip,
                camera=cam,
                person=t.person_id[trip],
                quality=c.fixed_quality[cam],
                distance=np.ones(trip.size),
                x=c.x_m[cam],
                y=c.y_m[cam],
            )
        ]


def _check(spec: EntryPoint, index: int, city: City) -> list[str]:
    return place_type_problems(spec, index, city, spec.count)


def _place(spec: EntryPoint, at: Placing) -> np.ndarray:
    return place_type_sites(spec, at, spec.count)


register(Kind(EntryPoint, _place, DoorCaptures, _check))
