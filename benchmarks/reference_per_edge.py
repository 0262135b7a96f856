"""Yardstick: the capital scenario simulated the obvious way, one simpy timeout per street edge.

survsim's engine never walks a street edge by edge: a clock process wakes every 5 minutes and
expands the routes of all trips departing in that window with numpy, decides their camera
passages and matches in bulk. This script implements the *same* scenario the obvious way and
measures survsim's speed-up over it, both run in the same invocation:

- **Reference engine** (``reference_run``): a ``simpy.Environment`` with one process per person.
  A process walks its person's trips in departure order: it waits until the trip departs, gets
  the trip's node path by walking the routing tree (``world.router.pred``; the directed edge of
  each step is ``router.pred_edge``, i.e. ``city.directed_edge(a, b)`` precomputed), then for
  every street edge of the path yields ``env.timeout(edge length / walking speed)``. At each
  edge it checks every camera whose view covers that directed edge (``world.coverage.ptr`` /
  ``camera``): a camera gets at most one capture chance per trip (its first passage), captures
  with chance ``p_capture``, at a uniform point of the stretch in view where the walker must
  face it within 60 degrees, with the capture quality of ``sim.cameras.capture_quality``. Each
  capture is matched at once, one at a time, against its camera's watchlist with the scenario's
  face-match model: by default with the model's closed-form rates (a listed person is found with
  the model's TPIR at that quality, anyone else falsely matched with their group's FPIR, the
  claimed identity drawn by FMR[g, h] x N_h, the score from the model), or with
  ``--decide matcher`` by calling ``sim.matching.Matcher.decide`` for each capture. An alert is
  raised ``facematch.latency_s`` later if that is before the end of the run. Captures and alerts
  (survsim's table schemas) are written to Arrow IPC files in a temporary directory at the end.
  Random numbers come from one numpy Generator of the scenario's seed (the world's stream
  ``"reference.per_edge"``); no global RNG. The run stops at ``scenario.duration_s``.
  The reference covers what ``capital_cctv`` uses (street cameras, one watchlist, no review):
  no door, crowd or patrol captures, no review queue, stops or identity log.
- **survsim**: ``sim.load_scenario`` + ``sim.edge.api.run(scenario, out=tmpdir, overwrite=True)``,
  the whole pipeline (world, engine, every table written, read back, summary, tracking).

What is timed (``time.perf_counter``), in both cases the **full pipeline** from the scenario to
the files: survsim's ``load_scenario`` + ``run``; the reference's ``load_scenario`` +
``sim.world.build_world`` + simulation + Arrow output. Building the world is the same function
on the same inputs in both, so it is shared work: the reference child times it separately, and
the report shows it and a second speed-up with it taken out of both sides (survsim's share is
taken as the reference's measured build time). Imports are not timed, in either child
(``bench_city.warm_imports``, which includes pandas: pyarrow imports it on its first
conversion of a Python list).
Each measured run is a fresh subprocess (its peak RSS, ``ru_maxrss``, is its own) that prints
its results as JSON on stdout. survsim and reference runs are interleaved; one unmeasured
survsim warm-up run precedes them. All runs share a private on-disk cache (``sim.cache``, never
the user's) that the warm-up run fills, so both sides read the city's routing trees instead of
computing them, as every run of a city after its first does; ``--cold-cache`` turns the cache
off (every run, on both sides, computes them).

The two implementations draw different random numbers, so their counts differ by chance but
must be in the same range; the script prints them side by side and warns if the captures
differ by more than 25%. Target (issue): at 10,000 and 100,000 people, survsim at least 20x
faster than the reference. ``--max-reference-s`` stops a slow reference simulation early and
extrapolates its time (and counts) linearly from the share of the day's street edges walked, which
is said in the output. The share of edges walked is used rather than the share of simulated
time because walking is not spread evenly over the day.

Usage::

    python benchmarks/reference_per_edge.py                         # 10,000 and 100,000 people
    python benchmarks/reference_per_edge.py --people 2000 10000 --repeats 1
    python benchmarks/reference_per_edge.py --json                  # machine-readable, every run
    python benchmarks/reference_per_edge.py --check                 # exit 1 if a speed-up < 20x
    python benchmarks/reference_per_edge.py --decide matcher        # Matcher.decide per capture
    python benchmarks/reference_per_edge.py --max-reference-s 600   # cap the reference's sim
    python benchmarks/reference_per_edge.py --cold-cache            # no routing-tree cache
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import platform
import resource
import statistics
import sys
import time
from bisect import bisect_right
from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import simpy

import sim
from sim.cameras import (
    BLUR_PER_MPS,
    CROWD_PER_MIN_HALF,
    FAST_WALK_MPS,
    NIGHT_LIGHT,
    capture_quality,
)
from sim.kinds import street_view_kinds
from sim.matching import Matcher
from sim.policy import searched_entries
from sim.rng import declare
from sim.schema import TABLES
from sim.sensors.street import MIN_FACING_COS as _MIN_FACING_COS
from sim.world import World, build_world

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_city import (
    CACHE_NOTE,
    cpu_count,
    git_state,
    route_cache,
    run_child,
    text_table,
    warm_imports,
)

declare("reference.per_edge", "the per-edge reference's own draws (its benchmark only)")

SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "capital_cctv.toml"

TARGET_SPEEDUP = 20.0
DEFAULT_PEOPLE = (10_000, 100_000)
SLOW_PEOPLE = 100_000  # from this size on, the reference runs once by default
CAPTURE_TOLERANCE = 0.25
CHILD_TIMEOUT_S = 4 * 3600.0
SLICE_S = 900.0  # simulated seconds between wall-clock checks of --max-reference-s
DECIDE_MODES = ("rates", "matcher")


# ---------------------------------------------------------------- the reference engine
@dataclass
class RefCounts:
    """What the reference run produced (counts so far)."""

    captures: int = 0
    alerts: int = 0
    false_alerts: int = 0
    trips_started: int = 0
    edges_walked: int = 0
    events: int | None = None
    t_reached_s: float = 0.0


class ReferenceEngine:
    """The capital scenario, one simpy process per person and one timeout per street edge.

    Parameters
    ----------
    world
        The assembled world (``sim.world.build_world``).
    decide
        ``"rates"``: decide each capture with the model's closed-form rates; ``"matcher"``: call
        ``sim.matching.Matcher.decide`` on each capture.
    """

    def __init__(self, world: World, decide: str = "rates") -> None:
        self.w = world
        self.decide_mode = decide
        s = world.scenario
        self.duration_s = float(s.duration_s)
        self.latency_s = float(s.facematch.latency_s)
        self.threshold = float(s.threshold)
        self.rng = world.streams.generator("reference.per_edge")
        pop, trips, city, router = world.population, world.trips, world.city, world.router
        cams, cov = world.cameras, world.coverage
        # Hot columns as Python lists: the per-edge loop reads them one value at a time.
        self.depart = trips.depart_s.tolist()
        self.origin = trips.origin_node.tolist()
        self.dest = trips.dest_node.tolist()
        self.toward = trips.toward_dest.tolist()
        self.speed = pop.speed_mps.astype(np.float64).tolist()
        self.row_of = router.row_of.tolist()
        self.pred = router.pred.tolist()
        self.pred_edge = router.pred_edge.tolist()
        self.edge_len = city.edge_length_m.astype(np.float64).tolist()
        self.cov_ptr = cov.ptr.tolist()
        self.cov_cam = cov.camera.tolist()
        self.cov_f0, self.cov_f1 = cov.frac0.tolist(), cov.frac1.tolist()
        self.cov_x0, self.cov_y0 = cov.x0_m.tolist(), cov.y0_m.tolist()
        self.cov_x1, self.cov_y1 = cov.x1_m.tolist(), cov.y1_m.tolist()
        street = cams.is_kind(*street_view_kinds())
        self.cam_street = street.tolist()
        self.cam_x, self.cam_y = cams.x_m.tolist(), cams.y_m.tolist()
        self.cam_p = cams.p_capture.tolist()
        self.cam_height, self.cam_range = cams.height_m.tolist(), cams.range_m.tolist()
        self.cam_from, self.cam_to = cams.active_from_s.tolist(), cams.active_to_s.tolist()
        self.cam_list = cams.watchlist.tolist()
        self.cam_key = cams.stable_key(city.n_nodes).tolist()
        self.cam_crowd = (world.walkers_per_hour[cams.node] / 60.0).tolist()  # camera x hour
        self.person_group = world.model_group[pop.group].astype(np.int64).tolist()
        self.person_age = pop.age_band.astype(np.int64).tolist()
        # Per person, their trips in departure order (trips are sorted by departure).
        order = np.argsort(trips.person_id, kind="stable")
        self.trip_order = order.tolist()
        self.person_ptr = np.concatenate(
            [[0], np.cumsum(np.bincount(trips.person_id, minlength=pop.n))]
        ).tolist()
        # Watchlists and their matchers, as the engine builds them.
        self.lists = list(world.watchlists.values())
        self.list_names = list(world.watchlists)
        keys = world.coins.match()
        self.matchers = [
            Matcher(
                world.model,
                self.threshold,
                world.model_group[wl.group],
                keys,
                searched_entries(s.governance, wl.size) if i == 0 else None,
            )
            for i, wl in enumerate(self.lists)
        ]
        self.entry_of_person = [wl.entry_of_person(pop.n).tolist() for wl in self.lists]
        self.list_person = [wl.person_id.tolist() for wl in self.lists]
        # Rates per list: the searched position of each entry, FPIR per group, claim CDFs.
        self.searched_pos: list[dict[int, int]] = [
            {int(e): i for i, e in enumerate(m.searched)} for m in self.matchers
        ]
        self.fpir = [m.fpir.tolist() for m in self.matchers]
        self.claim_cdf = [m.claim_cdf.tolist() for m in self.matchers]
        self.entries_by_group = [m.entries_by_group.tolist() for m in self.matchers]
        self.entries_start = [m.entries_start.tolist() for m in self.matchers]
        # Output rows, appended one capture / alert at a time.
        self.cap_rows: list[tuple[int, float, int, int, int, float, float, float, float]] = []
        self.alert_rows: list[tuple[int, float, int, int, str, int, float]] = []
        self.counts = RefCounts()

    # ------------------------------------------------------------ processes
    def person(self, env: simpy.Environment, p: int) -> Generator[simpy.Event, None, None]:
        """One person's day: their trips in order, each street edge one timeout."""
        c = self.counts
        edge_len, cov_ptr, speed = self.edge_len, self.cov_ptr, self.speed[p]
        for k in range(self.person_ptr[p], self.person_ptr[p + 1]):
            trip = self.trip_order[k]
            wait = self.depart[trip] - env.now
            if wait > 0:
                yield env.timeout(wait)
            c.trips_started += 1
            tried: set[int] = set()  # cameras that had their chance on this trip
            for de in self.path_edges(trip):
                dt_s = edge_len[de >> 1] / speed
                lo, hi = cov_ptr[de], cov_ptr[de + 1]
                if lo != hi:
                    self.check_cameras(env.now, dt_s, lo, hi, trip, p, speed, tried)
                c.edges_walked += 1
                yield env.timeout(dt_s)

    def path_edges(self, trip: int) -> list[int]:
        """Directed street edges of a trip, origin to destination, by walking the routing tree
        of the trip's destination end (toward it), or of its origin (reversed)."""
        toward = self.toward[trip]
        root, start = (
            (self.dest[trip], self.origin[trip]) if toward else (self.origin[trip], self.dest[trip])
        )
        row = self.row_of[root]
        pred, pred_edge = self.pred[row], self.pred_edge[row]
        edges: list[int] = []
        cur = start
        nxt = pred[cur]
        while nxt >= 0:
            edges.append(pred_edge[cur])  # = city.directed_edge(cur, nxt)
            cur = nxt
            nxt = pred[cur]
        if not toward:  # walked from the destination to the origin: reverse every step
            edges = [e ^ 1 for e in reversed(edges)]
        return edges

    def check_cameras(
        self,
        t0: float,
        dt_s: float,
        lo: int,
        hi: int,
        trip: int,
        person: int,
        speed: float,
        tried: set[int],
    ) -> None:
        """The cameras that see this directed edge: first passage of the trip, capture chance,
        the point of the stretch where the frame is grabbed, facing, quality, then the match."""
        rng = self.rng
        for k in range(lo, hi):
            cam = self.cov_cam[k]
            if cam in tried or not self.cam_street[cam]:
                continue
            tried.add(cam)
            if rng.random() >= self.cam_p[cam]:
                continue
            s = rng.random()
            frac, dist, facing, px, py = passage(
                self.cov_x0[k],
                self.cov_y0[k],
                self.cov_x1[k],
                self.cov_y1[k],
                self.cov_f0[k],
                self.cov_f1[k],
                s,
                self.cam_x[cam],
                self.cam_y[cam],
            )
            t = t0 + frac * dt_s
            if facing < _MIN_FACING_COS or t >= self.duration_s:
                continue
            tod = t % 86_400.0
            if not self.cam_from[cam] <= tod < self.cam_to[cam]:
                continue
            hour = int(t // 3600.0) % 24
            q = quality(
                dist,
                self.cam_height[cam],
                self.cam_range[cam],
                facing,
                hour,
                self.cam_crowd[cam][hour],
                speed,
            )
            cid = self.counts.captures
            self.counts.captures += 1
            self.cap_rows.append((cid, t, cam, person, trip, q, dist, px, py))
            self.match(cid, t, cam, person, trip, q)

    # ------------------------------------------------------------ matching, one capture
    def match(self, cid: int, t: float, cam: int, person: int, trip: int, q: float) -> None:
        li = self.cam_list[cam]
        g = self.person_group[person]
        a = self.person_age[person]
        entry = self.entry_of_person[li][person]
        if self.decide_mode == "matcher":
            claimed, score = self._decide_matcher(li, trip, cam, g, a, entry, q)
        else:
            claimed, score = self._decide_rates(li, a, g, entry, q)
        if claimed < 0:
            return
        t_alert = t + self.latency_s
        if t_alert >= self.duration_s:
            return
        aid = self.counts.alerts
        self.counts.alerts += 1
        if self.list_person[li][claimed] != person:
            self.counts.false_alerts += 1
        self.alert_rows.append((aid, t_alert, cid, cam, self.list_names[li], claimed, score))

    def _decide_rates(self, li: int, a: int, g: int, entry: int, q: float) -> tuple[int, float]:
        """Claimed entry (-1: no alert) and score, from the model's rates for one capture."""
        model, rng = self.w.model, self.rng
        pos = self.searched_pos[li].get(entry, -1) if entry >= 0 else -1
        if pos >= 0 and rng.random() < float(model.p_hit(self.threshold, g, q)):
            u = rng.random()
            return entry, float(model.genuine_score_above(self.threshold, np.int64(g), q, u))
        if rng.random() >= self.fpir[li][a][g]:
            return -1, math.nan
        cdf = self.claim_cdf[li][a][g]
        h = min(bisect_right(cdf, rng.random()), len(cdf) - 1)
        a, b = self.entries_start[li][h], self.entries_start[li][h + 1]
        pick = a + min(int(rng.random() * (b - a)), max(b - a - 1, 0))
        claimed_pos = self.entries_by_group[li][pick]
        m = self.matchers[li]
        score = float(
            model.impostor_score_above(
                self.threshold,
                np.int64(g),
                m.watchlist_group[claimed_pos],
                rng.random(),
                np.int64(a),
            )
        )
        return int(m.searched[claimed_pos]), score

    def _decide_matcher(
        self, li: int, trip: int, cam: int, g: int, a: int, entry: int, q: float
    ) -> tuple[int, float]:
        """Claimed entry and score from ``Matcher.decide`` called on this one capture."""
        d = self.matchers[li].decide(
            np.array([trip]),
            np.array([self.cam_key[cam]]),
            np.array([g]),
            np.array([entry]),
            np.array([q]),
            np.array([a]),
        )
        return int(d.claimed[0]), float(d.score[0])

    # ------------------------------------------------------------ running and output
    def run(self, max_sim_s: float | None = None) -> RefCounts:
        """Simulate until ``duration_s`` (or until ``max_sim_s`` of wall time has passed)."""
        env = simpy.Environment()
        started = time.perf_counter()
        for p in range(len(self.person_ptr) - 1):
            env.process(self.person(env, p))
        n_runs = 0
        if max_sim_s is None:
            env.run(until=self.duration_s)
            n_runs = 1
        else:
            t = 0.0
            while t < self.duration_s:
                t = min(t + SLICE_S, self.duration_s)
                env.run(until=t)
                n_runs += 1
                if time.perf_counter() - started > max_sim_s:
                    break
        self.counts.t_reached_s = float(env.now)
        # Events processed = events scheduled - events still queued - the `until` stop events.
        eid, queue = getattr(env, "_eid", None), getattr(env, "_queue", None)
        if eid is not None and queue is not None:
            self.counts.events = next(eid) - len(queue) - n_runs
        return self.counts

    def write(self, out_dir: Path) -> None:
        """Captures and alerts as Arrow IPC files (survsim's schemas and file format)."""
        for table, rows in (("captures", self.cap_rows), ("alerts", self.alert_rows)):
            schema = TABLES[table].schema()
            cols = list(zip(*rows, strict=True)) if rows else [[] for _ in schema]
            arrays = []
            for f, values in zip(schema, cols, strict=True):
                if pa.types.is_dictionary(f.type):
                    arrays.append(pa.array(values, pa.string()).dictionary_encode().cast(f.type))
                else:
                    arrays.append(pa.array(values, f.type))
            batch = pa.RecordBatch.from_arrays(arrays, schema=schema)
            with (
                pa.OSFile(str(out_dir / f"{table}.arrow"), "wb") as sink,
                pa.ipc.new_stream(sink, schema) as writer,
            ):
                writer.write_batch(batch)


def quality(
    dist: float, height: float, range_m: float, facing: float, hour: int, crowd: float, speed: float
) -> float:
    """``sim.cameras.capture_quality`` for one capture, in plain floats (checked against it)."""
    slant = math.hypot(dist, height)
    d = slant / range_m
    cos_pitch = dist / max(slant, 1e-9)
    q = (1.0 - 0.3 * min(max(d, 0.0), 1.0)) * (0.75 + 0.25 * min(max(facing, -1.0), 1.0))
    q *= 0.6 + 0.4 * cos_pitch
    hh = hour % 24
    if hh < 6 or hh >= 20:
        q *= NIGHT_LIGHT
    q /= 1.0 + crowd / CROWD_PER_MIN_HALF
    blur = 1.0 - BLUR_PER_MPS * max(speed - FAST_WALK_MPS, 0.0)
    return min(max(q * min(max(blur, 0.7), 1.0), 0.0), 1.0)


def passage(
    x0: float, y0: float, x1: float, y1: float, f0: float, f1: float, s: float, cx: float, cy: float
) -> tuple[float, float, float, float, float]:
    """``Coverage.passage`` for one stretch in view (x0, y0) -> (x1, y1), edge shares f0..f1,
    at position ``s``: share of the edge walked, distance to the camera, facing, the point."""
    dx, dy = x1 - x0, y1 - y0
    px, py = x0 + s * dx, y0 + s * dy
    step = max(math.hypot(dx, dy), 1e-9)
    tx, ty = cx - px, cy - py
    dist = math.hypot(tx, ty)
    facing = (dx * tx + dy * ty) / (step * max(dist, 1e-9)) if dist > 1e-6 else 0.0
    return f0 + s * (f1 - f0), dist, facing, px, py


def check_transcriptions(world: World, rng: np.random.Generator, n: int = 500) -> None:
    """The scalar ``quality`` and ``passage`` must equal survsim's vectorised functions."""
    args = (
        rng.uniform(0, 30, n),
        rng.uniform(2, 8, n),
        rng.uniform(10, 40, n),
        rng.uniform(-1, 1, n),
        rng.integers(0, 24, n),
        rng.uniform(0, 200, n),
        rng.uniform(0.8, 2.2, n),
    )
    want = capture_quality(*args)
    got = np.array([quality(*(float(a[i]) for a in args)) for i in range(n)])
    if not np.allclose(got, want, rtol=1e-9, atol=1e-12):
        raise RuntimeError("reference quality() no longer matches sim.cameras.capture_quality")
    cov = world.coverage
    if cov.n_pairs:
        k = rng.integers(0, cov.n_pairs, n)
        s = rng.uniform(0, 1, n)
        cam = cov.camera[k]
        cx, cy = world.cameras.x_m[cam], world.cameras.y_m[cam]
        want_p = np.stack(cov.passage(k, s, cx, cy), axis=1)
        cols = (cov.x0_m, cov.y0_m, cov.x1_m, cov.y1_m, cov.frac0, cov.frac1)
        got_p = np.array(
            [
                passage(*(float(c[k[i]]) for c in cols), float(s[i]), float(cx[i]), float(cy[i]))
                for i in range(n)
            ]
        )
        if not np.allclose(got_p, want_p, rtol=1e-9, atol=1e-9):
            raise RuntimeError("reference passage() no longer matches Coverage.passage")


# ---------------------------------------------------------------- the children: one run each
def scenario_overrides(people: int) -> list[str]:
    return [f"population.people={people}"]


def child_survsim(people: int, out: Path) -> dict[str, Any]:
    """survsim's full run in this process (call in a fresh process)."""
    from sim.edge.api import run

    warm_imports()  # not timed: what a run would import on first use

    started = time.perf_counter()
    scenario = sim.load_scenario(SCENARIO, overrides=scenario_overrides(people))
    result = run(scenario, out=out, overwrite=True)
    wall_s = time.perf_counter() - started
    summary = result.summary
    if summary["people"] != people:
        raise RuntimeError(f"ran {summary['people']} people, expected {people}")
    return {
        "impl": "survsim",
        "people": people,
        "wall_s": wall_s,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "captures": int(summary["captures"]),
        "alerts": int(summary["alerts"]),
        "false_alerts": int(summary["false_alerts"]),
        "trips": int(result.tables["trips"].num_rows),
    }


def child_reference(people: int, out: Path, decide: str, max_sim_s: float | None) -> dict[str, Any]:
    """The reference's full run in this process (call in a fresh process)."""
    warm_imports()  # as for survsim: its Arrow output would import pandas on first use
    started = time.perf_counter()
    scenario = sim.load_scenario(SCENARIO, overrides=scenario_overrides(people))
    world = build_world(scenario)
    built = time.perf_counter()
    engine = ReferenceEngine(world, decide)
    ready = time.perf_counter()
    counts = engine.run(max_sim_s)
    simulated = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    engine.write(out)
    wall_s = time.perf_counter() - started
    write_s = wall_s - (simulated - started)
    # Not timed: the scalar transcriptions still equal survsim's functions.
    check_transcriptions(world, np.random.default_rng(scenario.seed))
    build_s, setup_s, sim_s = built - started, ready - built, simulated - ready
    trips = world.trips
    duration = float(scenario.duration_s)
    complete = counts.t_reached_s >= duration
    # Every trip's street edges (hops to the root of its routing tree), for extrapolation.
    root = np.where(trips.toward_dest, trips.dest_node, trips.origin_node)
    start = np.where(trips.toward_dest, trips.origin_node, trips.dest_node)
    edges_total = int(world.router.hops[world.router.row_of[root], start].sum())
    done_share = 1.0
    if not complete:
        # The work is one timeout (and camera check) per edge: the share of the day's edges
        # walked when the simulation was stopped.
        done_share = counts.edges_walked / max(edges_total, 1)
    scale = 1.0 / max(done_share, 1e-9)
    est_wall_s = wall_s if complete else build_s + setup_s + (sim_s + write_s) * scale
    return {
        "impl": "reference",
        "people": people,
        "decide": decide,
        "wall_s": est_wall_s,
        "measured_wall_s": wall_s,
        "build_world_s": build_s,
        "setup_s": setup_s,
        "simulate_s": sim_s * scale,
        "write_s": write_s * scale,
        "measured_simulate_s": sim_s,
        "measured_write_s": write_s,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "complete": complete,
        "t_reached_s": counts.t_reached_s,
        "done_share": done_share,
        "captures": round(counts.captures * scale),
        "alerts": round(counts.alerts * scale),
        "false_alerts": round(counts.false_alerts * scale),
        "events": None if counts.events is None else round(counts.events * scale),
        "measured_captures": counts.captures,
        "measured_alerts": counts.alerts,
        "measured_events": counts.events,
        "trips": int(trips.n),
        "trips_started": counts.trips_started,
        "edges_walked": counts.edges_walked,
        "edges_total": edges_total,
    }


# ---------------------------------------------------------------- the parent
@dataclass
class Size:
    """One population size and the runs measured at it."""

    people: int
    survsim: list[dict[str, Any]] = field(default_factory=list)
    reference: list[dict[str, Any]] = field(default_factory=list)

    @staticmethod
    def _median(runs: list[dict[str, Any]], key: str) -> float:
        return float(statistics.median(r[key] for r in runs))

    def stats(self) -> dict[str, Any]:
        s, r = self.survsim, self.reference
        sw = [x["wall_s"] for x in s]
        rw = [x["wall_s"] for x in r]
        s_med, r_med = self._median(s, "wall_s"), self._median(r, "wall_s")
        build = self._median(r, "build_world_s")
        s_ex, r_ex = s_med - build, r_med - build
        caps_s, caps_r = s[0]["captures"], r[0]["captures"]
        return {
            "people": self.people,
            "survsim_median_s": s_med,
            "survsim_min_s": min(sw),
            "survsim_max_s": max(sw),
            "reference_median_s": r_med,
            "reference_min_s": min(rw),
            "reference_max_s": max(rw),
            "speedup": r_med / s_med,
            # Of the least disturbed runs (the machine's speed drifts between processes).
            "speedup_of_fastest": min(rw) / min(sw),
            "build_world_s": build,
            "speedup_excluding_world": (r_ex / s_ex) if s_ex > 0 else None,
            "reference_simulate_s": self._median(r, "simulate_s"),
            "reference_write_s": self._median(r, "write_s"),
            "survsim_peak_rss_mib": self._median(s, "peak_rss_mib"),
            "reference_peak_rss_mib": self._median(r, "peak_rss_mib"),
            "captures": {"survsim": caps_s, "reference": caps_r},
            "alerts": {"survsim": s[0]["alerts"], "reference": r[0]["alerts"]},
            "false_alerts": {"survsim": s[0]["false_alerts"], "reference": r[0]["false_alerts"]},
            "captures_ratio": caps_r / caps_s if caps_s else None,
            "captures_in_range": (
                abs(caps_r - caps_s) <= CAPTURE_TOLERANCE * caps_s if caps_s else caps_r == 0
            ),
            "reference_events": r[0]["events"],
            "trip_edges": r[0]["edges_total"],
            "trips": s[0]["trips"],
            "reference_extrapolated": not all(x["complete"] for x in r),
            "reference_done_share": min(x["done_share"] for x in r),
            "survsim_runs": len(s),
            "reference_runs": len(r),
        }


def measure(args: list[str], label: str) -> dict[str, Any]:
    """One measured run in a fresh interpreter; its output goes to a temporary directory."""
    return run_child(__file__, args, label, CHILD_TIMEOUT_S)


def print_table(report: dict[str, Any]) -> None:
    header = (
        "people",
        "survsim s",
        "reference s",
        "speed-up",
        "excl. world",
        "captures (sv / ref)",
        "alerts (sv / ref)",
        "false (sv / ref)",
        "simpy events",
    )
    rows: list[tuple[str, ...]] = []
    for st in report["sizes"]:
        ex = st["speedup_excluding_world"]
        events = st["reference_events"]
        star = "*" if st["reference_extrapolated"] else ""
        rows.append(
            (
                f"{st['people']:,}",
                f"{st['survsim_median_s']:.2f} "
                f"({st['survsim_min_s']:.2f}-{st['survsim_max_s']:.2f})",
                (
                    f"{st['reference_median_s']:.1f}{star}"
                    if st["reference_runs"] == 1
                    else f"{st['reference_median_s']:.1f}{star} ({st['reference_min_s']:.1f}-"
                    f"{st['reference_max_s']:.1f})"
                ),
                f"x{st['speedup']:.1f}",
                "-" if ex is None else f"x{ex:.1f}",
                f"{st['captures']['survsim']:,} / {st['captures']['reference']:,}",
                f"{st['alerts']['survsim']:,} / {st['alerts']['reference']:,}",
                f"{st['false_alerts']['survsim']:,} / {st['false_alerts']['reference']:,}",
                "-" if events is None else f"{events:,}{star}",
            )
        )
    print(
        f"reference_per_edge: {SCENARIO.name}, survsim vs one simpy timeout per street edge "
        f"(decide={report['decide']}), nproc={report['machine']['nproc']}, {report['date']}"
    )
    text_table(header, rows)
    print(
        "times: wall seconds of the full pipeline (scenario -> world -> simulation -> Arrow "
        "files), median (min-max) of runs in fresh processes, imports not counted"
    )
    for st in report["sizes"]:
        verdict = "met" if st["speedup"] >= TARGET_SPEEDUP else "MISSED"
        print(
            f"{st['people']:,} people: {st['trips']:,} trips, "
            f"{st['trip_edges']:,} street edges walked (one timeout each in the reference); "
            f"world building "
            f"{st['build_world_s']:.2f} s (in both times; 'excl. world' takes it out of both); "
            f"reference simulation {st['reference_simulate_s']:.1f} s, writing "
            f"{st['reference_write_s']:.2f} s; peak RSS survsim "
            f"{st['survsim_peak_rss_mib']:.0f} MiB, reference "
            f"{st['reference_peak_rss_mib']:.0f} MiB; runs {st['survsim_runs']} / "
            f"{st['reference_runs']}; fastest runs x{st['speedup_of_fastest']:.1f}; "
            f"target x{TARGET_SPEEDUP:g} (medians): {verdict}"
        )
        if st["reference_extrapolated"]:
            print(
                f"  * the reference was stopped after --max-reference-s with "
                f"{st['reference_done_share']:.0%} of the day's street edges walked; its "
                "simulation and writing times, counts and events are extrapolated linearly "
                "from that share"
            )
    print(
        f"cache: {CACHE_NOTE[report['route_cache']]} (both sides: the world is built by the "
        "same function)"
    )
    print(f"target (issue): survsim at least x{TARGET_SPEEDUP:g} faster at every size")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument(
        "--people",
        type=int,
        nargs="+",
        default=list(DEFAULT_PEOPLE),
        help="population sizes (default: 10000 100000)",
    )
    p.add_argument("--repeats", type=int, default=3, help="survsim runs per size (default 3)")
    p.add_argument(
        "--reference-repeats",
        type=int,
        default=None,
        help=f"reference runs per size (default: --repeats, but 1 from {SLOW_PEOPLE:,} people on)",
    )
    p.add_argument(
        "--decide",
        choices=DECIDE_MODES,
        default="rates",
        help="how the reference decides each capture: the model's rates (default) "
        "or a Matcher.decide call per capture",
    )
    p.add_argument(
        "--max-reference-s",
        type=float,
        default=None,
        help="stop the reference's simulation after this many wall seconds and "
        "extrapolate (default: no limit)",
    )
    p.add_argument("--no-warmup", action="store_true", help="skip the unmeasured warm-up run")
    p.add_argument(
        "--cold-cache",
        action="store_true",
        help="no on-disk cache: every run computes its routing trees (default: a "
        "private cache folder, filled by the warm-up run)",
    )
    p.add_argument("--json", action="store_true", help="print machine-readable results")
    p.add_argument(
        "--check", action="store_true", help=f"exit 1 if a speed-up is below x{TARGET_SPEEDUP:g}"
    )
    p.add_argument("--child", choices=("survsim", "reference"), help=argparse.SUPPRESS)
    p.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if any(n <= 0 for n in args.people) or args.repeats < 1:
        p.error("--people and --repeats must be positive")
    if args.reference_repeats is not None and args.reference_repeats < 1:
        p.error("--reference-repeats must be positive")
    if args.max_reference_s is not None and args.max_reference_s <= 0:
        p.error("--max-reference-s must be positive")
    if args.child and (args.out is None or len(args.people) != 1):
        p.error("--child needs --out and one --people")
    return args


def run_sizes(sizes: list[Size], args: argparse.Namespace, log: Any) -> None:
    """The warm-up run, then the measured runs of every size (survsim and reference
    interleaved)."""
    if not args.no_warmup:
        print("reference_per_edge: warm-up run (survsim, not measured) ...", file=log, flush=True)
        measure(["survsim", "--people", str(min(args.people))], "warm-up")
    for size in sizes:
        n_ref = args.reference_repeats or (1 if size.people >= SLOW_PEOPLE else args.repeats)
        ref_args = ["reference", "--people", str(size.people), "--decide", args.decide]
        if args.max_reference_s is not None:
            ref_args += ["--max-reference-s", repr(args.max_reference_s)]
        for i in range(max(args.repeats, n_ref)):  # interleaved: drift hits both alike
            if i < args.repeats:
                r = measure(["survsim", "--people", str(size.people)], "survsim")
                size.survsim.append(r)
                print(
                    f"reference_per_edge: {size.people:,} people, survsim "
                    f"[{i + 1}/{args.repeats}]: {r['wall_s']:.2f} s",
                    file=log,
                    flush=True,
                )
            if i < n_ref:
                r = measure(ref_args, "reference")
                size.reference.append(r)
                note = "" if r["complete"] else " (extrapolated)"
                print(
                    f"reference_per_edge: {size.people:,} people, reference "
                    f"[{i + 1}/{n_ref}]: {r['wall_s']:.2f} s{note} (world "
                    f"{r['build_world_s']:.2f} s, simulation {r['simulate_s']:.2f} s)",
                    file=log,
                    flush=True,
                )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child == "survsim":
        print(json.dumps(child_survsim(args.people[0], args.out)))
        return 0
    if args.child == "reference":
        print(
            json.dumps(child_reference(args.people[0], args.out, args.decide, args.max_reference_s))
        )
        return 0

    log = sys.stderr
    sizes = [Size(n) for n in args.people]
    with route_cache(args.cold_cache) as cache_mode:
        run_sizes(sizes, args, log)
    stats = [s.stats() for s in sizes]
    for st in stats:
        if not st["captures_in_range"]:
            print(
                f"reference_per_edge: warning: at {st['people']:,} people the captures differ "
                f"by more than {CAPTURE_TOLERANCE:.0%} (survsim {st['captures']['survsim']:,}, "
                f"reference {st['captures']['reference']:,}): the two do not simulate the "
                "same thing",
                file=log,
            )
    meets = all(st["speedup"] >= TARGET_SPEEDUP for st in stats)
    report: dict[str, Any] = {
        "benchmark": "reference_per_edge",
        "scenario": SCENARIO.name,
        "date": dt.date.today().isoformat(),
        "machine": {
            "nproc": cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "processor": platform.processor(),
        },
        "git": git_state(),
        "decide": args.decide,
        "route_cache": cache_mode,
        "timed": "full pipeline in both: load_scenario + build_world + simulation + output "
        "(survsim: sim.edge.api.run with out=tmpdir); imports not counted",
        "target_speedup": TARGET_SPEEDUP,
        "sizes": stats,
        "runs": {str(s.people): {"survsim": s.survsim, "reference": s.reference} for s in sizes},
        "meets_target": meets,
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_table(report)
    return 1 if args.check and not meets else 0


if __name__ == "__main__":
    sys.exit(main())
