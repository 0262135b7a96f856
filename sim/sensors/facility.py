"""Closed facilities (prisons): identity checks at the door, one-to-one (a face against the
identity its bearer claims). Staff and visitors verify on arrival; inmates' checks and impostor
attempts follow the facility's own schedule (``World.facility_checks``).
"""

from __future__ import annotations

import numpy as np

from sim.city import City
from sim.kinds import Kind, Placing, register
from sim.population import PURPOSES
from sim.rng import keyed_uniform
from sim.scenario import Facility
from sim.schema import IMPOSTOR, INMATE, STAFF, VISITOR
from sim.sensors.base import NOTHING, BaseSensor, Context, Output


class FacilityChecks(BaseSensor):
    """One-to-one verifications at facility doors."""

    @classmethod
    def create(cls, ctx: Context) -> FacilityChecks | None:
        cams = np.flatnonzero(ctx.world.cameras.is_kind("facility"))
        return cls(ctx, cams) if cams.size else None

    def __init__(self, ctx: Context, cams: np.ndarray) -> None:
        super().__init__(ctx)
        w = ctx.world
        self.at = np.full(w.city.n_nodes, -1, np.int64)  # the facility's device at a crossing
        self.at[w.cameras.node[cams]] = cams

    def on_trips(self, a: int, b: int) -> Output:
        """Staff arriving for work and visitors verify at the door (their own identity)."""
        ctx = self.ctx
        w = ctx.world
        t = w.trips
        site = self.at[t.dest_node[a:b]]
        purpose = t.purpose[a:b]
        staff = purpose == PURPOSES.index("work")
        visit = purpose == PURPOSES.index("visit")
        rows = np.flatnonzero((site >= 0) & (staff | visit))
        if rows.size == 0:
            return NOTHING
        trip = a + rows
        cam = site[rows]
        when = t.arrive_s[trip]
        ok = when < ctx.duration_s
        trip, cam, when = trip[ok], cam[ok], when[ok]
        person = t.person_id[trip]
        group = w.population.group[person]
        u = keyed_uniform(ctx.coins.verify_arrival, trip, ctx.camera_key[cam])
        p_ok = w.model.p_hit(
            ctx.cam_threshold[cam], w.model_group[group], w.cameras.fixed_quality[cam]
        )
        return [
            (
                "verifications",
                {
                    "t_s": when,
                    "camera_id": cam,
                    "subject": np.where(staff[rows][ok], STAFF, VISITOR).astype(object),
                    "person_id": person,
                    "inmate_id": np.full(trip.size, -1),
                    "group_id": group,
                    "genuine": np.ones(trip.size, bool),
                    "accepted": u < p_ok,
                },
            )
        ]

    def on_window(self, t0: float, t1: float) -> Output:
        """Inmates' door checks (genuine) and impostor attempts in this window."""
        ctx = self.ctx
        w = ctx.world
        fc = w.facility_checks
        lo, hi = np.searchsorted(fc["t_s"], [t0, t1], side="left")
        if hi <= lo:
            return NOTHING
        idx = np.arange(lo, hi)
        cam = fc["camera_id"][idx]
        group = fc["group_id"][idx]
        genuine = fc["genuine"][idx]
        mg = w.model_group[group]
        u = keyed_uniform(ctx.coins.verify_inmate, idx, ctx.camera_key[cam])
        thr = ctx.cam_threshold[cam]
        p_genuine = w.model.p_hit(thr, mg, w.cameras.fixed_quality[cam])
        # An impostor passes if their face matches the look-alike (same group) they pose as.
        p_impostor = w.model.fmr_at(thr, mg)
        accepted = np.where(genuine, u < p_genuine, u < p_impostor)
        return [
            (
                "verifications",
                {
                    "t_s": fc["t_s"][idx],
                    "camera_id": cam,
                    "subject": np.where(genuine, INMATE, IMPOSTOR).astype(object),
                    "person_id": np.full(idx.size, -1),
                    "inmate_id": fc["inmate_id"][idx],
                    "group_id": group,
                    "genuine": genuine,
                    "accepted": accepted,
                },
            )
        ]


def _check(spec: Facility, index: int, city: City) -> list[str]:
    if city.places_of("prison").size:
        return []
    return [
        f"deployment.{index}: a facility needs a prison in the city; set city.places.prisons = 1"
    ]


def _place(spec: Facility, at: Placing) -> np.ndarray:
    return np.unique(at.city.places_of("prison"))[:1]  # the facility's doors, at its site


register(Kind(Facility, _place, FacilityChecks, _check))
