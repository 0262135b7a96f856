"""The engine: simpy schedules, numpy computes, batches flow out in simulated-time order.

Like SimPy's own core, this module only schedules and forwards. A clock process wakes once per
micro-batch (``engine.batch_s``): it emits the trips that depart in the coming window and
releases every pending capture that falls inside the window (no trip departing later can produce
an earlier one). Routes are handled ahead, about ``_ROUTE_CHUNK`` trips at a time (whole
windows): with numpy, never edge by edge, the steps of each route that a camera watches are found
by jumping along the routing trees, and the passages, captures and face-match decisions they
lead to join a pending pool until their time. Every draw is keyed by trip and camera, so how many
windows are routed at once changes nothing in the output. Each alert the face-match model raises
is a simpy event at its own time, which is where review, dispatch and stops attach.

The stream is exposed as a generator of ``(table, RecordBatch)`` pairs; the recorder writes them,
the demo app can draw them, and analysis reads the files.
"""

from __future__ import annotations

import functools
from collections import deque
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import shapely
import simpy

from sim.assembly import AssemblyDetector
from sim.cameras import CAMERA_KINDS
from sim.matching import Matcher
from sim.order import int_order, time_order
from sim.policy import searched_entries
from sim.population import AGE_BANDS, PURPOSES
from sim.rng import keyed_uniform
from sim.schema import TABLES
from sim.sensors import Context, Output, build_sensors
from sim.world import World

ProgressFn = Callable[[float, float], None]

_STATIC_CHUNK = 65_536
_ROUTE_CHUNK = 16_384  # trips whose routes are expanded together (whole windows)
_SOURCES = ("alert", "retained")  # identity_log.source

def _dict_array(codes: npt.ArrayLike, names: list[str] | tuple[str, ...]) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(pa.array(np.asarray(codes, np.int16)),
                                          _dictionary(tuple(names)))


@functools.lru_cache(maxsize=256)
def _dictionary(names: tuple[str, ...]) -> pa.Array:
    """A dictionary column's values (built once per set of names; Arrow arrays are
    immutable, so batches can share them)."""
    return pa.array(list(names), pa.string())


class _Held:
    """Rows held until their time comes, in buckets by the micro-batch that releases them.

    A row with time ``t`` is released by the first window whose end is after ``t`` (never
    earlier than the next release), so each release touches only its own rows instead of
    re-filtering everything held. Within a release, rows keep the order they were added in,
    or, with ``sort`` (rows -> their order, a stable sort), come in that order: each added
    part is sorted once, when it is added, and a release is sorted again only when it
    gathers more than one part.
    """

    def __init__(self, ends: npt.NDArray[np.float64], key: str,
                 sort: Callable[[dict[str, np.ndarray]], np.ndarray] | None = None) -> None:
        self.ends = ends  # end time of each window, as the clock computes it
        self.key = key
        self.sort = sort
        self.buckets: dict[int, list[dict[str, np.ndarray]]] = {}
        self.next = 0  # the window that releases next

    def add(self, rows: dict[str, np.ndarray]) -> None:
        t = rows[self.key]
        if t.size == 0:
            return
        if self.sort is not None:
            order = self.sort(rows)
            rows = {k: v[order] for k, v in rows.items()}
            t = rows[self.key]
        b = np.maximum(np.searchsorted(self.ends, t, side="right"), self.next)
        first, last = int(b.min()), int(b.max())
        if first == last:
            self.buckets.setdefault(first, []).append(rows)
            return
        if self.sort is not None:  # in time order, so each window's rows are a slice
            cuts = np.flatnonzero(b[1:] != b[:-1]) + 1
            for lo, hi in zip(np.concatenate([[0], cuts]).tolist(),
                              np.concatenate([cuts, [b.size]]).tolist(), strict=True):
                self.buckets.setdefault(int(b[lo]), []).append(
                    {k: v[lo:hi] for k, v in rows.items()})
            return
        order = int_order(b)  # window numbers: small keys, a radix sort
        sb = b[order]
        cuts = np.flatnonzero(sb[1:] != sb[:-1]) + 1
        for part in np.split(order, cuts):
            self.buckets.setdefault(int(b[part[0]]), []).append(
                {k: v[part] for k, v in rows.items()})

    def release(self, k: int) -> dict[str, np.ndarray]:
        """The rows window ``k`` releases (empty dict if none), in the order they were added
        (or sorted)."""
        self.next = k + 1
        chunks = self.buckets.pop(k, [])
        if not chunks:
            return {}
        if len(chunks) == 1:
            return chunks[0]
        rows = {name: np.concatenate([c[name] for c in chunks]) for name in chunks[0]}
        if self.sort is not None:
            order = self.sort(rows)
            rows = {name: v[order] for name, v in rows.items()}
        return rows


def _batch(table: str, columns: dict[str, object]) -> pa.RecordBatch:
    schema, names = _schema_and_names(table)
    return pa.RecordBatch.from_arrays([columns[name] for name in names], schema=schema)


@functools.lru_cache(maxsize=64)
def _schema_and_names(table: str) -> tuple[pa.Schema, tuple[str, ...]]:
    schema = TABLES[table].schema()
    return schema, tuple(schema.names)


class Engine:
    """Runs one world and yields its event batches.

    Parameters
    ----------
    world
        The assembled world (see :func:`sim.world.build_world`).
    on_progress
        Called with (simulated seconds done, total) after each micro-batch.
    """

    def __init__(self, world: World, on_progress: ProgressFn | None = None) -> None:
        self.w = world
        self.on_progress = on_progress
        s = world.scenario
        self.duration_s = s.duration_s
        self.batch_s = s.engine.batch_s
        self.latency_s = s.facematch.latency_s
        self.outbox: deque[tuple[str, pa.RecordBatch]] = deque()
        pop = world.population
        self.lists = list(world.watchlists.values())  # index = cameras.watchlist
        self._list_names = list(world.watchlists)
        # entry_of_person[l][p]: person p's entry on list l, or -1.
        self.entry_of_person = np.stack([wl.entry_of_person(pop.n) for wl in self.lists])
        coins = self.coins = world.coins
        # Each device searches its list at its deployment's threshold: one matcher per (list,
        # threshold) in use; a warrant limits the search of the main list.
        devices = world.cameras
        thresholds = np.array([s.threshold_of(i) for i in range(len(s.deployment))]
                              if devices.n else [], np.float64)
        self.cam_threshold = (thresholds[devices.deployment] if devices.n
                              else np.zeros(0, np.float64))
        pairs = sorted({(int(li), float(t)) for li, t in zip(devices.watchlist.tolist(),
                                                              self.cam_threshold.tolist(),
                                                              strict=True)}) or [(0, s.threshold)]
        rho = world.model.persistence if s.facematch.persistence is None \
            else s.facematch.persistence
        self.matchers = [
            Matcher(world.model, t, world.model_group[self.lists[li].group], coins.match(),
                    searched_entries(s.governance, self.lists[li].size) if li == 0 else None,
                    persistence=rho, n_people=pop.n,
                    people_group=world.model_group[pop.group], people_age=pop.age_band)
            for li, t in pairs]
        # A later search of kept captures for one person's face also finds other people's
        # faces (false links): a one-to-many search of each kept capture against every
        # resident, at the model's impostor rates (sim.matching; independent coins, residents
        # taken as adult entries: assumptions, docs/face_match.md).
        gov = s.governance
        self.link_matcher = (
            Matcher(world.model, s.threshold, world.model_group[pop.group],
                    coins.false_links(), persistence=0.0)
            if gov.scan_scope == "everyone" and gov.retention_days > 0 else None)
        index = {pair: i for i, pair in enumerate(pairs)}
        self.matcher_of_cam = np.array([index[(int(li), float(t))] for li, t in zip(
            devices.watchlist.tolist(), self.cam_threshold.tolist(), strict=True)], np.int64)
        self.matcher_list = np.array([li for li, _ in pairs], np.int64)
        self.camera_key = world.cameras.stable_key(world.city.n_nodes)
        self.sensors = build_sensors(Context(world, coins, self.camera_key, self.cam_threshold,
                                             self.duration_s))
        self._routed = [x for x in self.sensors if x.routed]
        n_windows = max(1, int(np.ceil(self.duration_s / self.batch_s)))
        self._window_ends = np.array([min((k + 1) * self.batch_s, self.duration_s)
                                      for k in range(n_windows)], np.float64)
        # Captures, released in time order (then trip, camera).
        self._pending = _Held(self._window_ends, "t",
                              sort=lambda c: time_order(c["t"], c["trip"], c["camera"]))
        self._later_next = 0  # the window whose release of held rows comes next
        self._routed_to = 0  # trips before this one have their routes expanded
        self._trip_rows = (0, 0)  # the trips in _trip_batch (rows a to b)
        self._trip_batch: pa.RecordBatch | None = None
        self._rows: dict[str, list[tuple[Any, ...]]] = {
            "alerts": [], "reviews": [], "review_queue": [], "stops": []}
        self._in_custody: set[tuple[int, int]] = set()  # (list, entry) arrested
        self._being_handled: set[tuple[int, int]] = set()  # an officer is on the way
        self.reviewers: simpy.Resource | None = None
        self.officers: simpy.Resource | None = None
        self._later: dict[str, _Held] = {}
        a = s.assembly
        self.detector = (AssemblyDetector(a.k, a.radius_m, a.window_min * 60.0)
                         if s.governance.assembly_analytics else None)
        clf = world.classifier
        self.target_label = (clf.labels.index(a.target_label)
                             if clf is not None and a.target_label in clf.labels else -1)
        self._row_count: dict[str, int] = {}
        self.n_captures = 0
        self.n_alerts = 0
        self.n_stops = 0

    # ------------------------------------------------------------ public
    def batches(self) -> Iterator[tuple[str, pa.RecordBatch]]:
        """Every output batch, in simulated-time order (static tables first)."""
        yield from self._static_batches()
        env = simpy.Environment()
        gov = self.w.scenario.governance
        if self.w.reviewer is not None:
            self.reviewers = simpy.Resource(env, capacity=gov.review.reviewers)
        self.officers = simpy.Resource(env, capacity=gov.officers)
        env.process(self._clock(env))
        # Events after the end of the run (reviews, stops still under way) are not simulated.
        while env.peek() <= self.duration_s:
            env.step()
            while self.outbox:
                yield self.outbox.popleft()
        self._flush_alerts()
        while self.outbox:
            yield self.outbox.popleft()

    # ------------------------------------------------------------ static tables
    def _static_batches(self) -> Iterator[tuple[str, pa.RecordBatch]]:
        w = self.w
        s = w.scenario
        pop = w.population
        yield "groups", _batch("groups", {
            "group_id": pa.array(np.arange(len(pop.group_names), dtype=np.int16)),
            "group": pa.array(pop.group_names),
            "label": pa.array(pop.group_labels),
            "share": pa.array([g.share for g in s.population.groups], pa.float64()),
            "model_group": pa.array([g.model_group or g.name for g in s.population.groups]),
            "classifier_label": pa.array(
                [w.classifier.truth[int(m)] if w.classifier is not None else ""
                 for m in w.classifier_row], pa.string()),
        })
        listed = np.asarray((self.entry_of_person >= 0).any(axis=0), bool)
        for a in range(0, pop.n, _STATIC_CHUNK):
            sl = slice(a, min(a + _STATIC_CHUNK, pop.n))
            yield "people", _batch("people", {
                "person_id": pa.array(np.arange(sl.start, sl.stop, dtype=np.int32)),
                "group_id": pa.array(pop.group[sl]),
                "age_band": _dict_array(pop.age_band[sl], AGE_BANDS),
                "home_node": pa.array(pop.home_node[sl]),
                "work_node": pa.array(pop.work_node[sl]),
                "speed_mps": pa.array(pop.speed_mps[sl]),
                "is_listed": pa.array(listed[sl]),
            })
        names = list(w.watchlists)
        for i, wl in enumerate(self.lists):
            yield "watchlist", _batch("watchlist", {
                "watchlist": _dict_array(np.full(wl.size, i), names),
                "entry_id": pa.array(np.arange(wl.size, dtype=np.int32)),
                "group_id": pa.array(wl.group),
                "person_id": pa.array(wl.person_id),
            })
        g = w.gatherings
        yield "gatherings", _batch("gatherings", {
            "gathering_id": pa.array(np.arange(g.n, dtype=np.int32)),
            "name": pa.array(g.name, pa.string()),
            "node": pa.array(g.node), "x_m": pa.array(w.city.node_x_m[g.node]),
            "y_m": pa.array(w.city.node_y_m[g.node]),
            "start_s": pa.array(g.start_s), "end_s": pa.array(g.end_s),
            "size": pa.array(np.bincount(g.participant_gathering, minlength=g.n)
                             .astype(np.int32)),
            "routine": pa.array(g.routine),
        })
        yield "gathering_participants", _batch("gathering_participants", {
            "gathering_id": pa.array(g.participant_gathering),
            "person_id": pa.array(g.participant_person),
        })
        city = w.city
        yield "nodes", _batch("nodes", {
            "node": pa.array(np.arange(city.n_nodes, dtype=np.int32)),
            "x_m": pa.array(city.node_x_m), "y_m": pa.array(city.node_y_m),
            "district": _dict_array(city.node_district, city.district_names),
        })
        coords = shapely.get_coordinates(city.edge_geometry)
        offsets = np.concatenate([[0], np.cumsum(shapely.get_num_coordinates(
            city.edge_geometry))]).astype(np.int32)
        yield "edges", _batch("edges", {
            "edge": pa.array(np.arange(city.n_edges, dtype=np.int32)),
            "u": pa.array(city.edge_u.astype(np.int32)),
            "v": pa.array(city.edge_v.astype(np.int32)),
            "length_m": pa.array(city.edge_length_m.astype(np.float64)),
            "x_m": pa.ListArray.from_arrays(pa.array(offsets), pa.array(coords[:, 0])),
            "y_m": pa.ListArray.from_arrays(pa.array(offsets), pa.array(coords[:, 1])),
        })
        c = w.cameras
        yield "cameras", _batch("cameras", {
            "camera_id": pa.array(np.arange(c.n, dtype=np.int32)),
            "deployment": _dict_array(c.deployment, c.deployment_names),
            "node": pa.array(c.node), "x_m": pa.array(c.x_m), "y_m": pa.array(c.y_m),
            "heading_deg": pa.array(c.heading_deg), "fov_deg": pa.array(c.fov_deg),
            "range_m": pa.array(c.range_m), "height_m": pa.array(c.height_m),
            "kind": _dict_array(c.kind, CAMERA_KINDS),
            "watchlist": _dict_array(c.watchlist, list(w.watchlists)),
            "active_from_s": pa.array(c.active_from_s), "active_to_s": pa.array(c.active_to_s),
        })

    # ------------------------------------------------------------ the clock
    def _clock(self, env: simpy.Environment) -> Generator[simpy.Event, None, None]:
        trips = self.w.trips
        n_windows = max(1, int(np.ceil(self.duration_s / self.batch_s)))
        for k in range(n_windows):
            t0 = k * self.batch_s
            t1 = min((k + 1) * self.batch_s, self.duration_s)
            a, b = np.searchsorted(trips.depart_s, [t0, t1], side="left")
            if b > a:
                self._emit_trips(a, b)
                if b > self._routed_to and self._routed:
                    self._route_ahead(max(self._routed_to, a), k)
                for sensor in self.sensors:
                    self._take_rows(sensor.on_trips(a, b))
            for sensor in self.sensors:
                self._take_rows(sensor.on_window(t0, t1))
            self._release_captures(env, k)
            self._release_later(k)
            yield env.timeout(t1 - t0)
            self._flush_alerts()
            if self.on_progress is not None:
                self.on_progress(t1, self.duration_s)

    def _route_ahead(self, a: int, k: int) -> None:
        """Expand the routes of the trips from ``a`` on, departing in window ``k`` and as many
        following windows as make up about ``_ROUTE_CHUNK`` trips, and queue their camera
        passages and patrol encounters. Every draw is keyed by trip and camera and the held
        rows are released in time order, so routing several windows at once gives the same
        rows as routing each on its own, with far fewer (larger) numpy calls."""
        trips = self.w.trips
        ends = self._window_ends
        b = self._chunk_stop(a, int(np.searchsorted(trips.depart_s, ends[k], side="left")))
        self._routed_to = b
        if b <= a:
            return
        for sensor in self._routed:
            self._take_rows(sensor.on_routes(a, b))

    def _take_rows(self, rows: Output) -> None:
        """A sensor's rows: captures to the face-match search, the others held until their
        time."""
        for table, cols in rows:
            if table == "captures":
                self._queue_captures(cols)
            else:
                self._queue(table, cols)

    def _emit_trips(self, a: int, b: int) -> None:
        """The trips departing in a window: a slice of a batch built for the next
        ``_ROUTE_CHUNK`` trips or more (whole windows), not eight arrays per window."""
        if not self._trip_rows[0] <= a < b <= self._trip_rows[1]:
            t = self.w.trips
            stop = self._chunk_stop(a, b)
            sl = slice(a, stop)
            self._trip_batch = _batch("trips", {
                "trip_id": pa.array(np.arange(a, stop, dtype=np.int64)),
                "person_id": pa.array(t.person_id[sl]),
                "depart_s": pa.array(t.depart_s[sl]),
                "arrive_s": pa.array(t.arrive_s[sl]),
                "origin_node": pa.array(t.origin_node[sl]),
                "dest_node": pa.array(t.dest_node[sl]),
                "purpose": _dict_array(t.purpose[sl], PURPOSES),
                "length_m": pa.array(t.length_m[sl]),
            })
            self._trip_rows = (a, stop)
        assert self._trip_batch is not None
        self.outbox.append(("trips", self._trip_batch.slice(a - self._trip_rows[0], b - a)))

    def _chunk_stop(self, a: int, b: int) -> int:
        """Where a chunk of trips from ``a`` ends: at ``b`` (the end of a window) or, to make
        about ``_ROUTE_CHUNK`` trips, at the end of the window of trip ``a + _ROUTE_CHUNK``."""
        trips = self.w.trips
        ends = self._window_ends
        limit = min(max(b, a + _ROUTE_CHUNK), trips.n)
        if limit > b:  # extend to the end of the window of the limit's trip
            last = min(int(np.searchsorted(ends, trips.depart_s[limit - 1], side="right")),
                       ends.size - 1)
            b = max(b, int(np.searchsorted(trips.depart_s, ends[last], side="left")))
        return b

    # ------------------------------------------------------------ captures
    def _queue_captures(self, new: dict[str, np.ndarray]) -> None:
        """Hold captures until their time, with the face-match decision already taken: it
        depends only on the capture itself (every coin is keyed by trip and camera), so it is
        decided here in bulk, for as many captures as were queued together."""
        if new["t"].size:
            new.update(self._decide(new))
        # The captures table's types, once per part rather than once per window.
        for name in ("quality", "distance", "x", "y"):
            new[name] = new[name].astype(np.float32, copy=False)
        new["trip"] = new["trip"].astype(np.int64, copy=False)
        self._pending.add(new)

    def _decide(self, cap: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Per capture: the entry of its camera's list the search claims (-1: none) and the
        score, and whether a retrospective search of kept captures would link it."""
        w = self.w
        trip, cam, person = cap["trip"], cap["camera"], cap["person"]
        group = w.model_group[w.population.group[person]]
        age = w.population.age_band[person]
        ckey = self.camera_key[cam]
        out: dict[str, np.ndarray] = {}
        gov = w.scenario.governance
        if gov.scan_scope == "everyone" and gov.retention_days > 0:
            u = keyed_uniform(self.coins.link, trip, ckey)
            out["linked"] = u < w.model.p_hit(w.scenario.threshold, group, cap["quality"])
            if self.link_matcher is not None:
                rows, who = self.link_matcher.false_matches(trip, ckey, group, age)
                other = np.full(trip.size, -1, np.int64)
                other[rows] = np.where(who == person[rows], -1, who)  # its owner: no false link
                out["false_link"] = other
        claimed = np.full(trip.size, -1, np.int32)
        score = np.full(trip.size, np.nan)
        mi = self.matcher_of_cam[cam]
        for m in np.unique(mi):
            sel = slice(None) if len(self.matchers) == 1 else np.flatnonzero(mi == m)
            li = self.matcher_list[m]
            d = self.matchers[m].decide(trip[sel], ckey[sel], group[sel],
                                        self.entry_of_person[li, person[sel]],
                                        cap["quality"][sel], age[sel], person[sel])
            claimed[sel] = d.claimed
            score[sel] = d.score
        out["claimed"] = claimed
        out["score"] = score
        return out

    def _queue(self, table: str, new: dict[str, np.ndarray]) -> None:
        """Rows of another table that happen later: held until their time comes. Keys are the
        table's column names, without the id."""
        held = self._later.get(table)
        if held is None:
            held = self._later[table] = _Held(self._window_ends, "t_s")
            held.next = self._later_next  # as if it had been released with the others
        held.add(new)

    def _release_later(self, k: int) -> None:
        """Emit the held rows of each table that fall before the end of window ``k``, in time
        order, numbered in that order (the first column of the table is the id)."""
        self._later_next = k + 1
        for table, held in self._later.items():
            out = held.release(k)
            if not out:
                continue
            order = time_order(out["t_s"])
            schema = TABLES[table].schema()
            id_col = schema.field(0).name
            start = self._row_count.get(table, 0)
            n = int(order.size)
            # Numbered in release order, unless the rows carry their own ids (assembly alarms
            # and their members share the detector's alarm numbers).
            ids = (out[id_col][order].astype(np.int64) if id_col in out
                   else np.arange(start, start + n, dtype=np.int64))
            cols: dict[str, object] = {id_col: pa.array(ids)}
            for f in list(schema)[1:]:
                v = out[f.name][order]
                if pa.types.is_dictionary(f.type):  # names, encoded in order of appearance
                    cols[f.name] = pa.array(v.tolist(), f.type)
                else:
                    cols[f.name] = pa.array(v.astype(f.type.to_pandas_dtype()))
            self.outbox.append((table, _batch(table, cols)))
            self._row_count[table] = start + n

    def _release_captures(self, env: simpy.Environment, k: int) -> None:
        """Emit the pending captures of window ``k`` in time order and schedule their alerts."""
        cap = self._pending.release(k)  # in time order
        if not cap:
            return
        n = cap["t"].size
        ids = np.arange(self.n_captures, self.n_captures + n, dtype=np.int64)
        self.n_captures += n
        self.outbox.append(("captures", _batch("captures", {
            "capture_id": pa.array(ids),
            "t_s": pa.array(cap["t"]),
            "camera_id": pa.array(cap["camera"]),
            "person_id": pa.array(cap["person"]),
            "trip_id": pa.array(cap["trip"]),  # types set when queued
            "quality": pa.array(cap["quality"]),
            "distance_m": pa.array(cap["distance"]),
            "x_m": pa.array(cap["x"]),
            "y_m": pa.array(cap["y"]),
        })))
        labels = self._label(ids, cap) if self.w.classifier is not None else None
        flagged = self._match(env, ids, cap)
        if self.detector is not None:
            self._detect(ids, cap, labels, flagged)

    def _detect(self, ids: npt.NDArray[np.int64], cap: dict[str, np.ndarray],
                labels: npt.NDArray[np.int16] | None,
                flagged: tuple[np.ndarray, np.ndarray]) -> None:
        """Feed the assembly detector what the system flags in this batch."""
        assert self.detector is not None
        a = self.w.scenario.assembly
        if a.flag == "listed":
            rows, key = flagged
        else:
            assert labels is not None
            rows = np.flatnonzero(labels == self.target_label)
            key = ids[rows]  # unknown faces: each capture counts as a face
        if rows.size == 0:
            return
        c = self.w.cameras
        cam = cap["camera"][rows]
        alarms = self.detector.feed(cap["t"][rows], c.x_m[cam], c.y_m[cam], key, ids[rows])
        if alarms:
            t, x, y, n, seq = (np.array(v) for v in list(zip(*alarms, strict=True))[:5])
            self._queue("assembly_alerts", {"assembly_id": seq.astype(np.int64),
                                            "t_s": t, "x_m": x, "y_m": y,
                                            "n_flagged": n.astype(np.int32),
                                            "flag": np.full(t.size, a.flag, object)})
            members = [m for *_, m in alarms]
            sizes = np.array([m.size for m in members])
            self._queue("assembly_members", {
                "assembly_id": np.repeat(seq.astype(np.int64), sizes),
                "t_s": np.repeat(t, sizes), "capture_id": np.concatenate(members)})

    def _label(self, ids: npt.NDArray[np.int64],
               cap: dict[str, np.ndarray]) -> npt.NDArray[np.int16]:
        """The system's demographic label of every captured face."""
        w = self.w
        clf = w.classifier
        assert clf is not None
        u = keyed_uniform(self.coins.label, cap["trip"], self.camera_key[cap["camera"]])
        label = clf.classify(w.classifier_row[w.population.group[cap["person"]]], u)
        self.outbox.append(("labels", _batch("labels", {
            "capture_id": pa.array(ids),
            "t_s": pa.array(cap["t"]),
            "camera_id": pa.array(cap["camera"]),
            "label": _dict_array(label, clf.labels),
        })))
        return label

    # ------------------------------------------------------------ matching and alerts
    def _match(self, env: simpy.Environment, ids: npt.NDArray[np.int64],
               cap: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """The one-to-many searches of a release (decided when the captures were queued, see
        :meth:`_decide`) turned into identity-log rows and alerts, each alert a simpy process.
        Returns the matched rows and their (list, entry) identity keys."""
        w = self.w
        trip, cam, person = cap["trip"], cap["camera"], cap["person"]
        lst = w.cameras.watchlist[cam]
        log: list[dict[str, np.ndarray]] = []
        matched: list[tuple[np.ndarray, np.ndarray]] = []
        gov = w.scenario.governance
        if "linked" in cap:
            # Kept captures: a later search for a face finds those of its owner that match.
            found = np.flatnonzero(cap["linked"])
            log.append({"row": found, "capture_id": ids[found], "t_s": cap["t"][found],
                        "camera_id": cam[found], "identity": person[found],
                        "source": np.full(found.size, _SOURCES.index("retained"), np.int16),
                        "kept_until_s": cap["t"][found] + gov.retention_days * 86_400.0})
        if "false_link" in cap:
            # ... and, searched for somebody else's face, some captures that are not theirs.
            wrong = np.flatnonzero(cap["false_link"] >= 0)
            log.append({"row": wrong, "capture_id": ids[wrong], "t_s": cap["t"][wrong],
                        "camera_id": cam[wrong], "identity": cap["false_link"][wrong],
                        "source": np.full(wrong.size, _SOURCES.index("retained"), np.int16),
                        "kept_until_s": cap["t"][wrong] + gov.retention_days * 86_400.0})
        alerting = np.flatnonzero(cap["claimed"] >= 0)
        alerting = alerting[cap["t"][alerting] + self.latency_s < self.duration_s]
        single = len(self.lists) == 1  # every camera searches list 0
        lists = ((0,) if alerting.size else ()) if single else np.unique(lst[alerting]).tolist()
        for li in lists:
            rows = alerting if single else alerting[lst[alerting] == li]
            claimed = cap["claimed"][rows]
            score = cap["score"][rows]
            t_alert = cap["t"][rows] + self.latency_s
            matched.append((rows, np.int64(li) * (1 << 32) + claimed))
            is_true = claimed == self.entry_of_person[li, person[rows]]
            # A match is logged under the identity it was matched to (kept for the run).
            log.append({"row": rows, "capture_id": ids[rows], "t_s": cap["t"][rows],
                        "camera_id": cam[rows],
                        "identity": self.lists[li].person_id[claimed],
                        "source": np.full(rows.size, _SOURCES.index("alert"), np.int16),
                        "kept_until_s": np.full(rows.size, np.inf)})
            if w.reviewer is not None:
                # The reviewer's verdict, decided now and revealed when the review is done.
                # Truth sets how hard it is: a true alert, or a look-alike of the same group.
                claimed_group = w.model_group[self.lists[li].group[claimed]]
                group = w.model_group[w.population.group[person[rows]]]
                u = keyed_uniform(self.coins.review, trip[rows], self.camera_key[cam[rows]])
                verdict = w.reviewer.confirms(is_true, group == claimed_group, u)
            else:
                verdict = np.ones(rows.size, bool)
            for k in range(rows.size):
                r = rows[k]
                env.process(self._alert(env, _Alert(
                    t=float(t_alert[k]), capture=int(ids[r]), camera=int(cam[r]),
                    watchlist=int(li), entry=int(claimed[k]), score=float(score[k]),
                    person=int(person[r]), is_true=bool(is_true[k]),
                    verdict=bool(verdict[k]))))
        if log:
            self._emit_log(log)
        if not matched:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        return (np.concatenate([m[0] for m in matched]),
                np.concatenate([m[1] for m in matched]))

    def _emit_log(self, parts: list[dict[str, np.ndarray]]) -> None:
        """The identity-log rows of one release, in capture order (a capture's rows in the
        order of ``parts``). Captures are numbered in time order, so capture order is the
        order of their rows in the release (``row``)."""
        if len(parts) == 1:
            rows = parts[0]
            order: slice | np.ndarray = slice(None)  # one part: already in row order
        else:
            rows = {k: np.concatenate([part[k] for part in parts]) for k in parts[0]}
            order = np.argsort(rows["row"], kind="stable")
        if rows["row"].size == 0:
            return
        self.outbox.append(("identity_log", _batch("identity_log", {
            "capture_id": pa.array(rows["capture_id"][order].astype(np.int64)),
            "t_s": pa.array(rows["t_s"][order]),
            "camera_id": pa.array(rows["camera_id"][order].astype(np.int32)),
            "identity": pa.array(rows["identity"][order].astype(np.int32)),
            "source": _dict_array(rows["source"][order], _SOURCES),
            "kept_until_s": pa.array(rows["kept_until_s"][order]),
        })))

    def _alert(self, env: simpy.Environment,
               a: _Alert) -> Generator[simpy.Event, None, None]:
        """An alert's life: raised, reviewed (queue), acted on (an officer travels and stops)."""
        yield env.timeout(a.t - env.now)
        alert_id = self.n_alerts
        self.n_alerts += 1
        self._rows["alerts"].append((alert_id, a.t, a.capture, a.camera,
                                     self._list_names[a.watchlist], a.entry, a.score))
        gov = self.w.scenario.governance
        act = True
        if self.w.reviewer is not None:
            rv = gov.review
            assert self.reviewers is not None
            waiting = len(self.reviewers.queue)
            if waiting >= rv.max_queue and rv.overflow != "wait":
                act = rv.overflow == "auto_act"
                self._rows["reviews"].append((alert_id, env.now, 0.0,
                                              "auto_acted" if act else "dropped"))
            else:
                arrived = env.now
                with self.reviewers.request() as req:
                    self._queue_changed(env)
                    yield req
                    self._queue_changed(env)
                    yield env.timeout(rv.review_time_s)
                act = a.verdict
                self._rows["reviews"].append((alert_id, env.now, env.now - arrived -
                                              rv.review_time_s,
                                              "confirmed" if act else "rejected"))
        if not act or gov.alert_action == "log":
            return
        # One intervention per identity at a time, and none once that identity is in custody.
        who = (a.watchlist, a.entry)
        if who in self._in_custody or who in self._being_handled:
            return
        self._being_handled.add(who)
        assert self.officers is not None
        with self.officers.request() as req:
            yield req
            travel = 0.0 if gov.alert_action == "stop" else float(self.w.travel_s[a.camera])
            yield env.timeout(travel)
            if env.now - a.t > gov.intercept_window_s:
                outcome, busy = "missed", 0.0
            else:
                outcome, busy = ("arrest" if a.is_true else "wrongful_stop"), gov.stop_duration_s
            self._rows["stops"].append((self.n_stops, alert_id, env.now, a.person, outcome,
                                        busy, env.now - a.t))
            self.n_stops += 1
            if outcome == "arrest":
                self._in_custody.add(who)
            self._being_handled.discard(who)
            yield env.timeout(busy + travel)  # the stop, then back to the station

    def _queue_changed(self, env: simpy.Environment) -> None:
        assert self.reviewers is not None
        self._rows["review_queue"].append((env.now, len(self.reviewers.queue)))

    def _flush_alerts(self) -> None:
        """Emit what the alert processes recorded since the last tick, in time order."""
        for table, rows in self._rows.items():
            if not rows:
                continue
            cols = list(zip(*rows, strict=True))
            schema = TABLES[table].schema()
            # (dictionary columns: names, encoded in order of appearance)
            arrays = [pa.array(values, f.type) for f, values in zip(schema, cols, strict=True)]
            self.outbox.append((table, pa.RecordBatch.from_arrays(arrays, schema=schema)))
            self._rows[table] = []


@dataclass
class _Alert:
    """One alert in flight (a simpy process needs an object; alerts are sparse)."""

    t: float
    capture: int
    camera: int
    watchlist: int
    entry: int
    score: float
    person: int  # truth: whose face it was (decides what a stop finds)
    is_true: bool
    verdict: bool  # the reviewer's verdict, revealed when the review ends
