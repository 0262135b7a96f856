"""Patrols: officers on foot with body-worn cameras, and cars with cameras, moving through the
city on their schedules (``sim.patrols``). Walkers who pass a patrol may be stopped by an
officer (at the deployment's stop rate, weighted by each group's stop propensity), and a stop
may come with a face scan (the deployment's scan rule); car cameras scan whoever they pass.
"""

from __future__ import annotations

import numpy as np

from sim.cameras import NIGHT_LIGHT
from sim.kinds import Kind, Placing, kind_index, register
from sim.rng import keyed_uniform
from sim.scenario import Bodycam, Carcam
from sim.sensors.base import NOTHING, BaseSensor, Context, Output, captures
from sim.units import HOUR

SCAN_RULES = ("all", "suspicion_only", "none")  # Bodycam.scan


class PatrolEncounters(BaseSensor):
    """Stops and scans of walkers by the patrols they pass."""

    routed = True

    @classmethod
    def create(cls, ctx: Context) -> PatrolEncounters | None:
        return cls(ctx) if ctx.world.patrols.n else None

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        deps = ctx.world.scenario.deployment
        pop = ctx.world.population
        names = pop.group_names
        shares = pop.group_counts() / max(pop.n, 1)
        # Per deployment (and one more row for none): the stop rule.
        self.stop_rate = np.array([getattr(d, "stops_per_officer_hour", 0.0) for d in deps] + [0.0])
        self.stop_propensity = np.ones((len(deps) + 1, len(names)))
        for i, d in enumerate(deps):
            for g, v in getattr(d, "stop_propensity", {}).items():
                self.stop_propensity[i, names.index(g)] = v
        self.mean_propensity = np.maximum(self.stop_propensity @ shares, 1e-12)
        self.scan_rule = np.array(
            [SCAN_RULES.index(d.scan) if isinstance(d, Bodycam) else 2 for d in deps] + [2]
        )
        self.p_suspicion = np.array([getattr(d, "p_suspicion", 0.0) for d in deps] + [0.0])

    def on_routes(self, a: int, b: int) -> Output:
        """Walkers of the trips ``a:b`` who pass a patrol."""
        ctx = self.ctx
        w = ctx.world
        t = w.trips
        pop = w.population
        pat = w.patrols
        paths = w.router.expand(t.origin_node[a:b], t.dest_node[a:b], t.toward_dest[a:b])
        trip = a + paths.trip_of_position()
        when = t.depart_s[trip] + paths.along_m / pop.speed_mps[t.person_id[trip]]
        iv = pat.at(paths.node, when)
        sel = np.flatnonzero(iv >= 0)
        if sel.size == 0:
            return NOTHING
        trip, when, iv = trip[sel], when[sel], iv[sel]
        dev = pat.device[iv]
        node = pat.node[iv]
        # One encounter per walker and patrol on a trip: the first.
        order = np.lexsort((when, dev, trip))
        trip, when, dev, node = trip[order], when[order], dev[order], node[order]
        first = np.ones(trip.size, bool)
        first[1:] = (trip[1:] != trip[:-1]) | (dev[1:] != dev[:-1])
        keep = first & (when < ctx.duration_s)
        trip, when, dev, node = trip[keep], when[keep], dev[keep], node[keep]
        c = w.cameras
        person = t.person_id[trip]
        hour = (when // HOUR).astype(np.int64) % 24
        ckey = ctx.camera_key[dev]
        is_officer = c.kind[dev] == kind_index("bodycam")
        # Officers stop passers-by at their stop rate, weighted by each group's propensity:
        # p = stops per hour x propensity / (passers-by per hour x mean propensity).
        passers = np.maximum(w.walkers_per_hour[node, hour], 1.0)
        dep = c.deployment[dev]
        rate = self.stop_rate[dep]
        prop = self.stop_propensity[dep, pop.group[person]]
        p_stop = rate * prop / (passers * self.mean_propensity[dep])
        stopped = is_officer & (keyed_uniform(ctx.coins.patrol_stop, trip, ckey) < p_stop)
        rule = self.scan_rule[dep]
        suspicious = keyed_uniform(ctx.coins.patrol_suspicion, trip, ckey) < self.p_suspicion[dep]
        scanned = stopped & ((rule == 0) | ((rule == 1) & suspicious))
        out: Output = []
        si = np.flatnonzero(stopped)
        if si.size:
            out.append(
                (
                    "patrol_stops",
                    {
                        "t_s": when[si],
                        "camera_id": dev[si],
                        "person_id": person[si],
                        "node": node[si],
                        "scanned": scanned[si],
                    },
                )
            )
        caught = scanned | (
            ~is_officer & (keyed_uniform(ctx.coins.capture_carcam, trip, ckey) < c.p_capture[dev])
        )
        ci = np.flatnonzero(caught)
        if ci.size == 0:
            return out
        light = np.where((hour[ci] < 6) | (hour[ci] >= 20), NIGHT_LIGHT, 1.0)
        out.append(
            captures(
                t=when[ci],
                trip=trip[ci],
                camera=dev[ci],
                person=person[ci],
                quality=c.fixed_quality[dev[ci]] * light,
                distance=np.where(is_officer[ci], 1.0, 10.0),
                x=w.city.node_x_m[node[ci]],
                y=w.city.node_y_m[node[ci]],
            )
        )
        return out


def _place(spec: Bodycam | Carcam, at: Placing) -> np.ndarray:
    """Where beats and loops start (they fit any city: they wrap around)."""
    city = at.city
    k = spec.officers if isinstance(spec, Bodycam) else spec.cars
    if spec.placement == "random":
        return np.sort(at.rng.choice(city.n_nodes, size=k, replace=k > city.n_nodes))
    by = -at.footfall if spec.placement == "footfall" else city.distance_from_centre_m()
    order = np.lexsort((np.arange(city.n_nodes), by))
    return np.sort(order[np.arange(k) % city.n_nodes])


register(Kind(Bodycam, _place, PatrolEncounters))
register(Kind(Carcam, _place, None))
