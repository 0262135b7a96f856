"""The engine: the simulated clock. simpy schedules, numpy computes, batches flow out in
simulated-time order.

Like SimPy's own core, this module only schedules and forwards; model modules decide. A clock
process wakes once per micro-batch (``engine.batch_s``): it emits the trips that depart in the
coming window, asks the sensors (``sim.sensors``, one module per capture source) for their rows,
and releases every pending row that falls inside the window, in time order (no trip departing
later can produce an earlier one). Routed sensors are called ahead, about ``ROUTE_CHUNK`` trips
at a time (whole windows, ``sim.truth.route_plan``); every draw is keyed by trip and camera, so
how many windows are routed at once changes nothing in the output, nor where: the routed rows
come from a ``sim.truth.RoutedSource``, this process or Dask workers (``sim.edge.cluster``).
Captures are queued with what the instruments return of them (``sim.observe``) and released to
the system view (``sim.system``), which never sees whose face they were; each alert it raises
is a simpy process here, where the review queue, officers and stops attach.

The stream is exposed as a generator of ``(table, RecordBatch)`` pairs; the recorder writes them,
the demo app can draw them, and analysis reads the files.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Generator, Iterator
from typing import Any

import numpy as np
import pyarrow as pa
import simpy

from sim.held import Held
from sim.observe import TRUTH_COLUMNS
from sim.order import time_order
from sim.schema import (
    ARREST,
    AUTO_ACTED,
    CONFIRMED,
    DROPPED,
    MISSED,
    REJECTED,
    TABLES,
    WRONGFUL_STOP,
)
from sim.sensors import Output
from sim.system.view import Alert, SystemView
from sim.tables import batch, static_batches
from sim.truth import (
    ROUTE_CHUNK,
    LocalRoutes,
    RoutedSource,
    TruthSide,
    chunk_stop,
    route_plan,
    window_ends,
)
from sim.world import World

ProgressFn = Callable[[float, float], None]


class Engine:
    """Runs one world and yields its event batches.

    Parameters
    ----------
    world
        The assembled world (see :func:`sim.world.build_world`).
    on_progress
        Called with (simulated seconds done, total) after each micro-batch.
    routes
        Where the routed rows of each chunk of trips come from (default: computed here,
        :class:`sim.truth.LocalRoutes`).
    route_chunk
        About how many trips are routed together (default ``sim.truth.ROUTE_CHUNK``; it
        changes nothing in the output).
    """

    def __init__(
        self,
        world: World,
        on_progress: ProgressFn | None = None,
        routes: RoutedSource | None = None,
        route_chunk: int | None = None,
    ) -> None:
        self.w = world
        self.on_progress = on_progress
        s = world.scenario
        self.duration_s = s.duration_s
        self.batch_s = s.engine.batch_s
        self.latency_s = s.facematch.latency_s
        self.outbox: deque[tuple[str, pa.RecordBatch]] = deque()
        self._list_names = list(world.watchlists)
        devices = world.cameras
        # The sensors and instruments (truth), and the system that acts on what they return
        # without knowing whose faces they are.
        self.truth = TruthSide(world)
        self.sensors = self.truth.sensors
        self.observer = self.truth.observer
        self.system = SystemView(
            s,
            devices.x_m,
            devices.y_m,
            devices.watchlist,
            [wl.person_id for wl in world.watchlists.values()],
            world.classifier.labels if world.classifier is not None else None,
        )
        self._window_ends = window_ends(self.duration_s, self.batch_s)
        # The chunks of trips routed together, and where their rows come from (here, or
        # Dask workers: sim.edge.cluster).
        self.route_chunk = ROUTE_CHUNK if route_chunk is None else route_chunk
        self._plan = (
            route_plan(world.trips.depart_s, self._window_ends, self.route_chunk)
            if self.truth.routed
            else []
        )
        self._next_chunk = 0
        self.routes: RoutedSource = routes if routes is not None else LocalRoutes(self.truth)
        # Captures, released in time order (then trip, camera).
        self._pending = Held(
            self._window_ends, "t", sort=lambda c: time_order(c["t"], c["trip"], c["camera"])
        )
        self._later_next = 0  # the window whose release of held rows comes next
        self._trip_rows = (0, 0)  # the trips in _trip_batch (rows a to b)
        self._trip_batch: pa.RecordBatch | None = None
        self._rows: dict[str, list[tuple[Any, ...]]] = {
            "alerts": [],
            "reviews": [],
            "review_queue": [],
            "stops": [],
        }
        self._in_custody: set[tuple[int, int]] = set()  # (list, entry) arrested
        self._being_handled: set[tuple[int, int]] = set()  # an officer is on the way
        self.reviewers: simpy.Resource | None = None
        self.officers: simpy.Resource | None = None
        self._later: dict[str, Held] = {}
        self._row_count: dict[str, int] = {}
        self.n_captures = 0
        self.n_alerts = 0
        self.n_stops = 0

    # ------------------------------------------------------------ public
    def batches(self) -> Iterator[tuple[str, pa.RecordBatch]]:
        """Every output batch, in simulated-time order (static tables first)."""
        yield from static_batches(self.w, self.observer.entry_of_person)
        env = simpy.Environment()
        gov = self.w.scenario.governance
        if self.w.reviewer is not None:
            self.reviewers = simpy.Resource(env, capacity=gov.review.reviewers)
        self.officers = simpy.Resource(env, capacity=gov.officers)
        self.routes.start(self._plan)
        env.process(self._clock(env))
        # Events after the end of the run (reviews, stops still under way) are not simulated.
        while env.peek() <= self.duration_s:
            env.step()
            while self.outbox:
                yield self.outbox.popleft()
        self._flush_alerts()
        while self.outbox:
            yield self.outbox.popleft()

    # ------------------------------------------------------------ the clock
    def _clock(self, env: simpy.Environment) -> Generator[simpy.Event, None, None]:
        trips = self.w.trips
        for k, t1 in enumerate(self._window_ends.tolist()):
            t0 = k * self.batch_s
            a, b = np.searchsorted(trips.depart_s, [t0, t1], side="left")
            if b > a:
                self._emit_trips(a, b)
                self._route_ahead(b)
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

    def _route_ahead(self, b: int) -> None:
        """Queue the camera passages and patrol encounters of the chunk of trips that holds trip
        ``b - 1`` (the last departing in this window), if its routes are not expanded yet: the
        chunk reaches to the end of this window or further (``sim.truth.route_plan``). Every
        draw is keyed by trip and camera and the held rows are released in time order, so
        routing several windows at once gives the same rows as routing each on its own, with
        far fewer (larger) numpy calls."""
        while self._next_chunk < len(self._plan) and self._plan[self._next_chunk][0] < b:
            self._take_rows(self.routes.rows(self._next_chunk), observed=True)
            self._next_chunk += 1

    def _take_rows(self, rows: Output, observed: bool = False) -> None:
        """A sensor's rows: captures to the face-match search (unless ``observed`` already),
        the others held until their time."""
        for table, cols in rows:
            if table == "captures":
                self._pending.add(cols if observed else self.truth.observed(cols))
            else:
                self._queue(table, cols)

    def _emit_trips(self, a: int, b: int) -> None:
        """The trips departing in a window: a slice of a batch built for the next
        ``ROUTE_CHUNK`` trips or more (whole windows), not eight arrays per window."""
        if not self._trip_rows[0] <= a < b <= self._trip_rows[1]:
            t = self.w.trips
            stop = self._chunk_stop(a, b)
            sl = slice(a, stop)
            self._trip_batch = batch(
                "trips",
                {
                    "trip_id": np.arange(a, stop),
                    "person_id": t.person_id[sl],
                    "depart_s": t.depart_s[sl],
                    "arrive_s": t.arrive_s[sl],
                    "origin_node": t.origin_node[sl],
                    "dest_node": t.dest_node[sl],
                    "purpose": t.purpose[sl],
                    "length_m": t.length_m[sl],
                },
            )
            self._trip_rows = (a, stop)
        assert self._trip_batch is not None
        self.outbox.append(("trips", self._trip_batch.slice(a - self._trip_rows[0], b - a)))

    def _chunk_stop(self, a: int, b: int) -> int:
        # Always ROUTE_CHUNK, whatever the routing chunk: the trips table's batches are slices
        # of these, and the file's bytes depend on them.
        return chunk_stop(self.w.trips.depart_s, self._window_ends, a, b, ROUTE_CHUNK)

    # ------------------------------------------------------------ captures
    def _queue(self, table: str, new: dict[str, np.ndarray]) -> None:
        """Rows of another table that happen later: held until their time comes. Keys are the
        table's column names, without the id."""
        held = self._later.get(table)
        if held is None:
            held = self._later[table] = Held(self._window_ends, "t_s")
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
            ids = (
                out[id_col][order].astype(np.int64)
                if id_col in out
                else np.arange(start, start + n, dtype=np.int64)
            )
            cols: dict[str, object] = {id_col: pa.array(ids)}
            for f in list(schema)[1:]:
                v = out[f.name][order]
                if pa.types.is_dictionary(f.type):  # names, encoded in order of appearance
                    cols[f.name] = pa.array(v.tolist(), f.type)
                else:
                    cols[f.name] = pa.array(v.astype(f.type.to_pandas_dtype()))
            self.outbox.append((table, batch(table, cols)))
            self._row_count[table] = start + n

    def _release_captures(self, env: simpy.Environment, k: int) -> None:
        """Emit the pending captures of window ``k`` in time order and schedule their alerts."""
        cap = self._pending.release(k)  # in time order
        if not cap:
            return
        n = cap["t"].size
        ids = np.arange(self.n_captures, self.n_captures + n, dtype=np.int64)
        self.n_captures += n
        self.outbox.append(
            (
                "captures",
                batch(
                    "captures",
                    {
                        "capture_id": ids,
                        "t_s": cap["t"],
                        "camera_id": cap["camera"],
                        "person_id": cap["person"],
                        "trip_id": cap["trip"],
                        "quality": cap["quality"],
                        "distance_m": cap["distance"],
                        "x_m": cap["x"],
                        "y_m": cap["y"],
                    },
                ),
            )
        )
        seen = self.system.release(ids, {k: v for k, v in cap.items() if k not in TRUTH_COLUMNS})
        self.outbox.extend(seen.batches)
        for table, rows in seen.held:
            self._queue(table, rows)
        person = cap["person"]
        for alert in seen.alerts:  # the person stopped, if it comes to that: truth
            env.process(self._alert(env, alert, int(person[alert.row])))

    def _alert(
        self, env: simpy.Environment, a: Alert, person: int
    ) -> Generator[simpy.Event, None, None]:
        """An alert's life: raised, reviewed (queue), acted on (an officer travels and stops)."""
        yield env.timeout(a.t - env.now)
        alert_id = self.n_alerts
        self.n_alerts += 1
        self._rows["alerts"].append(
            (alert_id, a.t, a.capture, a.camera, self._list_names[a.watchlist], a.entry, a.score)
        )
        gov = self.w.scenario.governance
        act = True
        if self.w.reviewer is not None:
            rv = gov.review
            assert self.reviewers is not None
            waiting = len(self.reviewers.queue)
            if waiting >= rv.max_queue and rv.overflow != "wait":
                act = rv.overflow == "auto_act"
                self._rows["reviews"].append(
                    (alert_id, env.now, 0.0, AUTO_ACTED if act else DROPPED)
                )
            else:
                arrived = env.now
                with self.reviewers.request() as req:
                    self._queue_changed(env)
                    yield req
                    self._queue_changed(env)
                    yield env.timeout(rv.review_time_s)
                act = a.confirms
                self._rows["reviews"].append(
                    (
                        alert_id,
                        env.now,
                        env.now - arrived - rv.review_time_s,
                        CONFIRMED if act else REJECTED,
                    )
                )
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
                outcome, busy = MISSED, 0.0
            else:
                outcome, busy = ((ARREST if a.finds_listed else WRONGFUL_STOP), gov.stop_duration_s)
            self._rows["stops"].append(
                (self.n_stops, alert_id, env.now, person, outcome, busy, env.now - a.t)
            )
            self.n_stops += 1
            if outcome == ARREST:
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
