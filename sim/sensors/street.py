"""Street cameras (fixed CCTV, recognition vans): faces grabbed from walkers passing in view.

The routes' steps on watched edges come from the router, jumping along its trees from one
watched edge to the next (``Router.marked_steps``); per trip and camera there is one capture
chance, at the first passage.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from sim.cameras import capture_quality, entry_points
from sim.city import City
from sim.errors import shown
from sim.kinds import Kind, Placing, register
from sim.places import place_type_problems, place_type_sites, suggest_places
from sim.rng import keyed_uniform
from sim.routing import Steps
from sim.scenario import Cctv, Van
from sim.sensors.base import NOTHING, BaseSensor, Context, Output, captures, take
from sim.units import HOUR

MIN_FACING_COS = float(np.cos(np.radians(60.0)))  # the face is usable within 60 degrees


def first_per_key(
    key: npt.NDArray[np.int64], when: npt.NDArray[np.float64]
) -> npt.NDArray[np.int64]:
    """Per distinct ``key``, the row with the smallest ``when`` (the earliest row on ties),
    in order of key: what a stable lexsort by (key, when) and taking each key's first row gives,
    without sorting by ``when`` (rows arrive nearly sorted by key, which a stable sort likes)."""
    if key.size == 0:
        return np.zeros(0, np.int64)
    order = np.argsort(key, kind="stable")
    k = key[order]
    starts = np.flatnonzero(np.concatenate([[True], k[1:] != k[:-1]]))
    group = np.repeat(np.arange(starts.size), np.diff(np.append(starts, k.size)))
    w = when[order]
    lowest = np.minimum.reduceat(w, starts)
    cand = np.flatnonzero(w == lowest[group])
    g = group[cand]
    first = cand[np.concatenate([[True], g[1:] != g[:-1]])]
    return order[first]


class StreetPassages(BaseSensor):
    """Camera passages of walkers on watched street edges."""

    routed = True

    @classmethod
    def create(cls, ctx: Context) -> StreetPassages | None:
        return cls(ctx) if ctx.world.coverage.n_pairs else None

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self._skips: tuple[np.ndarray, np.ndarray] | None = None  # to the watched streets

    def on_routes(self, a: int, b: int) -> Output:
        """The passages of the trips ``a:b`` (their steps on watched edges)."""
        w = self.ctx.world
        t = w.trips
        if self._skips is None:
            self._skips = w.router.skip_tables(np.diff(w.coverage.ptr) > 0)
        return self.passages(
            a,
            w.router.marked_steps(
                self._skips, t.origin_node[a:b], t.dest_node[a:b], t.toward_dest[a:b]
            ),
        )

    def passages(self, a: int, steps: Steps) -> Output:
        """The passages of the trips from ``a`` on, given their steps on watched edges."""
        ctx = self.ctx
        w = ctx.world
        t = w.trips
        cov = w.coverage
        if steps.edge.size == 0:
            return NOTHING
        counts = cov.ptr[steps.edge + 1] - cov.ptr[steps.edge]
        rep = np.repeat(np.arange(counts.size), counts)
        within = np.arange(rep.size) - np.repeat(np.cumsum(counts) - counts, counts)
        pair = cov.ptr[steps.edge[rep]] + within
        trip = steps.trip[rep] + a
        cam = cov.camera[pair]
        # One capture chance per trip and camera, its coin keyed by both: tossed first, so
        # that only the passages of (trip, camera) pairs it lets through are placed.
        ckey = ctx.camera_key[cam]
        lucky = np.flatnonzero(
            keyed_uniform(ctx.coins.capture_passage, trip, ckey) < w.cameras.p_capture[cam]
        )
        rep, pair, trip, cam, ckey = take(lucky, rep, pair, trip, cam, ckey)
        # The moment the camera grabs the face: a point of the stretch in view, keyed by trip
        # and camera. The walker must face the camera then (within 60 degrees).
        s_pos = keyed_uniform(ctx.coins.passage_position, trip, ckey)
        frac, dist, facing, px, py = cov.passage(
            pair, s_pos, w.cameras.x_m[cam], w.cameras.y_m[cam]
        )
        speed = w.population.speed_mps[t.person_id[trip]].astype(np.float64)
        along0, along1 = steps.along(rep)
        t_start = t.depart_s[trip] + along0 / speed
        t_end = t.depart_s[trip] + along1 / speed
        when = t_start + frac * (t_end - t_start)
        # The chance is at the first passage (earliest, ties to the earlier row); rows
        # ordered by trip and camera.
        sel = first_per_key(trip.astype(np.int64) * np.int64(w.cameras.n) + cam, when)
        trip, cam, when, dist, facing, px, py = take(sel, trip, cam, when, dist, facing, px, py)
        caught = (when < ctx.duration_s) & (facing >= MIN_FACING_COS)
        caught &= ctx.active(cam, when)
        trip, cam, when, dist, facing, px, py = take(caught, trip, cam, when, dist, facing, px, py)
        hour = (when // HOUR).astype(np.int64) % 24
        crowd = w.walkers_per_hour[w.cameras.node[cam], hour] / 60.0
        quality = capture_quality(
            dist,
            w.cameras.height_m[cam],
            w.cameras.range_m[cam],
            facing,
            hour,
            crowd,
            w.population.speed_mps[t.person_id[trip]],
        )
        return [
            captures(
                t=when,
                trip=trip,
                camera=cam,
                person=t.person_id[trip],
                quality=quality,
                distance=dist,
                x=px,
                y=py,
            )
        ]


def _cctv_pool(spec: Cctv, city: City) -> npt.NDArray[np.int64] | None:
    """The crossings a camera may stand at (None: any)."""
    if spec.placement == "districts":
        ids = [city.district_names.index(d) for d in spec.districts]
        return np.flatnonzero(np.isin(city.node_district, ids))
    if spec.placement == "entry_points":
        return entry_points(city)
    return None


def _check_cctv(spec: Cctv, index: int, city: City) -> list[str]:
    if spec.placement == "districts":
        unknown = [d for d in spec.districts if d not in city.district_names]
        if unknown:
            return [
                f"deployment.{index}.districts: no district "
                f"{', '.join(map(shown, unknown))}; the city's districts are: "
                f"{', '.join(city.district_names)}"
            ]
    pool = _cctv_pool(spec, city)
    have = city.n_nodes if pool is None else int(pool.size)
    if spec.count <= have:
        return []
    where = (
        "crossings to put them on"
        if pool is None
        else f"crossings that qualify for placement {shown(spec.placement)}"
    )
    return [
        f"deployment.{index}.count: {spec.count:,} cameras but the city has only "
        f"{have:,} {where}; expected at most {have:,}"
    ]


def _place_cctv(spec: Cctv, at: Placing) -> npt.NDArray[np.int64]:
    n, k = at.city.n_nodes, spec.count
    if spec.placement == "random":
        nodes = at.rng.choice(n, size=k, replace=False)
    elif spec.placement == "footfall":
        # Busiest crossings first; ties broken by node id for a stable order.
        nodes = np.lexsort((np.arange(n), -at.footfall))[:k]
    elif spec.placement == "centre":
        nodes = np.lexsort((np.arange(n), at.city.distance_from_centre_m()))[:k]
    else:
        pool = _cctv_pool(spec, at.city)
        assert pool is not None
        nodes = pool[np.lexsort((pool, -at.footfall[pool]))[:k]]
    return np.sort(nodes)


def _check_van(spec: Van, index: int, city: City) -> list[str]:
    if not spec.places:
        return place_type_problems(spec, index, city, spec.count)
    return [
        f"deployment.{index}.places: no place named {shown(p)} (a van outside the city); "
        f"{suggest_places(p, city)}"
        for p in spec.places
        if p not in city.place_name
    ]


def _place_van(spec: Van, at: Placing) -> npt.NDArray[np.integer[Any]]:
    city = at.city
    if spec.places:
        return np.array([city.place_node[city.place_name.index(p)] for p in spec.places])
    return place_type_sites(spec, at, spec.count)


register(Kind(Cctv, _place_cctv, StreetPassages, _check_cctv, street_view=True))
register(Kind(Van, _place_van, None, _check_van, street_view=True))
