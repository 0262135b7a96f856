"""Crowds: people standing at a gathering are in view of the street cameras that watch the
place for as long as they stay, not only while walking past (one capture chance per camera,
during their stay). No capture inside an exclusion zone.
"""

from __future__ import annotations

import numpy as np
import shapely

from sim.cameras import capture_quality
from sim.kinds import street_view_kinds
from sim.population import PURPOSES
from sim.rng import keyed_uniform
from sim.sensors.base import NOTHING, BaseSensor, Context, Output, captures
from sim.units import HOUR


class CrowdCaptures(BaseSensor):
    """Captures of the people at a gathering by the cameras that see its place."""

    @classmethod
    def create(cls, ctx: Context) -> CrowdCaptures | None:
        w = ctx.world
        street = np.flatnonzero(w.cameras.is_kind(*street_view_kinds()))
        nodes, cams = [], []
        for n in np.unique(w.gatherings.node):
            x, y = w.city.node_x_m[n], w.city.node_y_m[n]
            if w.excluded is not None and shapely.contains_xy(w.excluded, x, y):
                continue  # no capture inside an exclusion zone
            seeing = street[w.cameras.sees(street, x, y)]
            nodes.append(np.full(seeing.size, n, np.int64))
            cams.append(seeing.astype(np.int64))
        if not nodes:
            return None
        node, cam = np.concatenate(nodes), np.concatenate(cams)
        return cls(ctx, node, cam) if cam.size else None

    def __init__(self, ctx: Context, node: np.ndarray, cams: np.ndarray) -> None:
        super().__init__(ctx)
        self.node = node  # (place, camera that sees it) pairs
        self.cams = cams

    def on_trips(self, a: int, b: int) -> Output:
        ctx = self.ctx
        w = ctx.world
        t = w.trips
        rows = a + np.flatnonzero(t.purpose[a:b] == PURPOSES.index("gathering"))
        if rows.size == 0:
            return NOTHING
        match = t.dest_node[rows][:, None] == self.node[None, :]
        ti, ci = np.nonzero(match)
        trip = rows[ti]
        cam = self.cams[ci]
        c = w.cameras
        ckey = ctx.camera_key[cam]
        # When in their stay the frame is grabbed (up to an hour in), and how the face is
        # turned in a crowd (keyed, so the same person gets the same frame).
        when = t.arrive_s[trip] + keyed_uniform(ctx.coins.crowd_time, trip, ckey) * HOUR
        facing = 0.5 + 0.5 * keyed_uniform(ctx.coins.crowd_facing, trip, ckey)
        caught = keyed_uniform(ctx.coins.capture_crowd, trip, ckey) < c.p_capture[cam]
        caught &= (when < ctx.duration_s) & ctx.active(cam, when)
        trip, cam, when, facing = trip[caught], cam[caught], when[caught], facing[caught]
        node = t.dest_node[trip]
        x, y = w.city.node_x_m[node], w.city.node_y_m[node]
        dist = np.hypot(x - c.x_m[cam], y - c.y_m[cam])
        hour = (when // HOUR).astype(np.int64) % 24
        crowd = w.walkers_per_hour[node, hour] / 60.0
        quality = capture_quality(
            np.maximum(dist, 5.0),
            c.height_m[cam],
            c.range_m[cam],
            facing,
            hour,
            crowd,
            np.zeros(trip.size),
        )
        return [
            captures(
                t=when,
                trip=trip,
                camera=cam,
                person=t.person_id[trip],
                quality=quality,
                distance=dist,
                x=x,
                y=y,
            )
        ]
