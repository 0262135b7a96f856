"""One simulation per browser session, computed in the background and played back live.

A :class:`Run` is fed the engine's event batches as they are produced (in a worker thread) and
answers :meth:`Run.snapshot` at any moment with what a viewer should see "now": events up to the
playback clock, which advances at the classroom's chosen speed and never passes what the engine
has computed. Computing a classroom day takes a second or two; playing it back takes the time
the teacher picks.

:class:`Sessions` keeps the runs of many sessions apart (each browser page gets its own id),
limits how many compute at once, and forgets old ones.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from typing import Any

import numpy as np
import pyarrow as pa

from analysis.metrics import alert_is_true
from classroom import measures, story
from classroom.measures import Events
from classroom.playback import Playhead
from classroom.presets import PRESETS, Controls, overrides, public_message
from sim.engine import Engine
from sim.errors import UserError
from sim.scenario import load_scenario
from sim.schema import MISSED, WRONGFUL_STOP
from sim.units import DAY
from sim.world import World, build_world

SAMPLE_PEOPLE = 600  # moving people drawn on the map
MAX_MARKS = 600  # alerts drawn on the map (the most recent)
log = logging.getLogger("survsim.classroom")


class Run:
    """A session's run: status, the events so far, the playhead, and what to show at it."""

    def __init__(self, controls: Controls, seconds_per_day: float, *, replication: int = 0) -> None:
        self.id = uuid.uuid4().hex
        self.controls = controls
        self.replication = replication
        self.playhead = Playhead(seconds_per_day)
        self.status = "queued"
        self.message = ""
        self.lock = threading.Lock()
        self.computed_s = 0.0
        self._clock_s = 0.0  # the engine's clock (the events are complete one window behind)
        self.duration_s = DAY
        self.ev = Events()
        self.world: World | None = None
        self.static: dict[str, Any] = {}
        self.watchlist: list[pa.RecordBatch] = []
        self.narration: list[tuple[float, str]] = []
        self.cancelled = False
        self.gathering_names: list[str] = []
        self.sample = np.zeros(0, np.int64)
        self._record: dict[str, Any] | None = None

    @property
    def preset(self) -> str:
        return self.controls.preset

    @property
    def active(self) -> bool:
        """Queued or computing (not yet computed, failed or stopped)."""
        return self.status in ("queued", "building", "running") and not self.cancelled

    # ---------------------------------------------------------------- computing (worker)
    def compute(self) -> None:
        """Build the world and run the engine, feeding the events in; a run put away
        (:meth:`shelve`) meanwhile stops at its next batch, leaving nothing behind."""
        if self.cancelled:
            return
        try:
            try:
                path, ov = overrides(self.controls)
            except KeyError:
                self._fail("unknown scenario; pick one from the list")
                return
            scenario = load_scenario(path, ov)
            with self.lock:
                if self.cancelled:
                    return
                self.status = "building"
            world = build_world(scenario, replication=self.replication)
            with self.lock:
                if self.cancelled:
                    return
                self.world = world
                self.duration_s = scenario.duration_s
                self._static(world)
                self.status = "running"
                self.playhead.start(time.monotonic())
            for name, batch in Engine(world, self._progress).batches():
                with self.lock:
                    if self.cancelled:
                        return
                    self._feed(name, batch)
            with self.lock:
                if self.cancelled:
                    return
                self._advance(self.duration_s)
                self.status = "computed"
        except UserError as exc:
            self._fail(public_message(str(exc)))
        except Exception as exc:  # shown without the server's paths; logged in one line
            log.error("a classroom run failed: %s", repr(f"{type(exc).__name__}: {exc}")[:300])
            self._fail("the run failed unexpectedly; the server's log says why")

    def _fail(self, message: str) -> None:
        with self.lock:
            if self.status != "shelved":
                self.status = "failed"
                self.message = message

    def _progress(self, done_s: float, total_s: float) -> None:
        """The engine's clock reached ``done_s``: the batches of its last window are still to
        come (they are yielded after this call), those of the window before are all in. So
        the events are complete up to the previous value."""
        with self.lock:
            done, self._clock_s = self._clock_s, done_s
            self._advance(done)

    def _advance(self, computed_s: float) -> None:
        """Events are complete up to ``computed_s``; a playhead that waited at the old limit
        goes on from there, it does not jump by the time it waited (call under the lock)."""
        now = time.monotonic()
        ph = self.playhead
        if ph.playing and ph.anchor_wall is not None:
            ph.play(now, self.limit_s())  # hold where it stands (at most the old limit)
        self.computed_s = computed_s

    def _static(self, w: World) -> None:
        city = w.city
        xs: list[float | None] = []
        ys: list[float | None] = []
        for g in city.edge_geometry:
            cx, cy = g.xy
            xs.extend([*map(float, cx), None])
            ys.extend([*map(float, cy), None])
        groups = w.population.group_names
        gov = w.scenario.governance
        self.static = {
            "streets": (xs, ys),
            "cameras": (w.cameras.x_m.tolist(), w.cameras.y_m.tolist()),
            "labels": list(w.population.group_labels),
            "residents": np.bincount(w.population.group, minlength=len(groups)).tolist(),
            "places": (
                city.node_x_m[city.place_node],
                city.node_y_m[city.place_node],
                list(city.place_name),
            ),
            "relevant": [
                *(["stops", "wrongful_stops"] if gov.alert_action != "log" else []),
                *(["patrol_stops"] if w.patrols.n else []),
                *(["assembly_alarms"] if gov.assembly_analytics else []),
            ],
            "ban": bool(gov.ban),
        }
        if gov.ban:
            self.narration.append(
                (
                    0.0,
                    "Face recognition is banned today: the cameras may record, but the system "
                    "searches no face, so nobody can be flagged.",
                )
            )
        stride = max(1, w.population.n // SAMPLE_PEOPLE)
        self.sample = np.arange(0, w.population.n, stride)[:SAMPLE_PEOPLE]

    def _feed(self, name: str, batch: pa.RecordBatch) -> None:
        if batch.num_rows == 0:
            return
        col = {f: batch.column(f) for f in batch.schema.names}

        def a(f: str) -> np.ndarray:
            return col[f].to_numpy(zero_copy_only=False)

        ev = self.ev
        if name == "watchlist":
            self.watchlist.append(batch)
        elif name == "people":
            ev.add("person.group", a("group_id"))
            ev.add("person.listed", a("is_listed"))
        elif name == "trips":
            keep = np.isin(a("person_id"), self.sample)
            for f in ("person_id", "depart_s", "arrive_s", "origin_node", "dest_node"):
                ev.add(f"trip.{f}", a(f)[keep])
        elif name == "captures":
            ev.add("cap.id", a("capture_id"))
            ev.add("cap.t", a("t_s"))
            ev.add("cap.person", a("person_id"))
            ev.add("cap.x", a("x_m").astype(np.float64))
            ev.add("cap.y", a("y_m").astype(np.float64))
        elif name == "alerts":
            self._alerts(batch, a)
        elif name == "stops":
            self._stops(a, col["outcome"].to_pylist())
        elif name == "patrol_stops":
            ev.add("pstop.t", a("t_s"))
            ev.add("pstop.person", a("person_id"))
        elif name == "assembly_alerts":
            ev.add("asm.id", a("assembly_id"))
            self._assemblies(a("t_s"), a("x_m"), a("y_m"), a("n_flagged"))
        elif name == "assembly_members":
            ev.add("am.id", a("assembly_id"))
            ev.add("am.capture", a("capture_id"))
        elif name == "gathering_participants":
            ev.add("gp.person", a("person_id"))
            ev.add("gp.gathering", a("gathering_id"))
        elif name == "gatherings":
            self._gatherings(col, a)
        elif name == "identity_log":
            ev.add("id.t", a("t_s"))
            ev.add("id.person", a("identity"))
            ev.add("id.capture", a("capture_id"))

    def _assemblies(self, t: np.ndarray, x: np.ndarray, y: np.ndarray, k: np.ndarray) -> None:
        self.ev.add("asm.t", t)
        self.ev.add("asm.x", x)
        self.ev.add("asm.y", y)
        for ti, xi, yi, ki in zip(t, x, y, k, strict=True):
            self.narration.append(
                (
                    float(ti),
                    f"The system raised an assembly alarm {self._near(xi, yi)}: {int(ki)} "
                    f"flagged people seen together.",
                )
            )

    def _gatherings(self, col: dict[str, Any], a: Any) -> None:
        for f in ("x", "y"):
            self.ev.add(f"g.{f}", a(f"{f}_m"))
        self.ev.add("g.start", a("start_s"))
        self.ev.add("g.end", a("end_s"))
        self.ev.add("g.size", a("size"))
        routine = a("routine").astype(bool)
        self.ev.add("g.routine", routine)
        names = [str(s) for s in col["name"].to_pylist()]
        self.gathering_names = [n for n, r in zip(names, routine, strict=True) if not r]
        for n, r, t0, t1, x, y in zip(
            names, routine, a("start_s"), a("end_s"), a("x_m"), a("y_m"), strict=True
        ):
            what = f"An everyday crowd ({n})" if r else f"The {n}"
            self.narration.append((float(t0), f"{what} gathers {self._near(x, y)}."))
            self.narration.append((float(t1), f"{what} {self._near(x, y)} disperses."))

    def _capture_rows(self, capture_id: np.ndarray) -> np.ndarray:
        ids = self.ev.get("cap.id", np.int64)
        pos = np.searchsorted(ids, capture_id)
        return np.minimum(pos, max(ids.size - 1, 0))

    def _alerts(self, batch: pa.RecordBatch, a: Any) -> None:
        rows = self._capture_rows(a("capture_id"))
        person = self.ev.get("cap.person", np.int64)[rows]
        true = (
            alert_is_true(
                pa.Table.from_batches(self.watchlist), pa.Table.from_batches([batch]), person
            )
            if self.watchlist
            else np.zeros(batch.num_rows, bool)
        )
        group = self.ev.get("person.group", np.int64)[person]
        t = a("t_s")
        x = self.ev.get("cap.x")[rows]
        y = self.ev.get("cap.y")[rows]
        for f, v in (
            ("al.id", a("alert_id")),
            ("al.t", t),
            ("al.x", x),
            ("al.y", y),
            ("al.true", true),
            ("al.group", group),
            ("al.person", person),
        ):
            self.ev.add(f, v)
        labels = self.static["labels"]
        listed = self.ev.get("person.listed", bool)[person]
        for i in range(t.size):
            who = story.article(story.singular(labels[int(group[i])]))
            if true[i]:
                text = f"A camera {self._near(x[i], y[i])} recognised a person on the watchlist."
            elif listed[i]:
                text = (
                    f"A person on the watchlist, {who}, was matched to someone else's entry "
                    f"{self._near(x[i], y[i])}."
                )
            else:
                text = (
                    f"An innocent person, {who}, was falsely matched to the watchlist "
                    f"{self._near(x[i], y[i])}."
                )
            self.narration.append((float(t[i]), text))

    def _stops(self, a: Any, outcome: list[Any]) -> None:
        ids = self.ev.get("al.id", np.int64)
        t = a("t_s")
        pos = np.minimum(np.searchsorted(ids, a("alert_id")), max(ids.size - 1, 0))
        wrong = np.array([o == WRONGFUL_STOP for o in outcome])
        self.ev.add("stop.t", t)
        self.ev.add("stop.wrong", wrong)
        self.ev.add("stop.made", np.array([o != MISSED for o in outcome]))  # as the report
        if not ids.size:
            return
        x, y = self.ev.get("al.x")[pos], self.ev.get("al.y")[pos]
        self.ev.add("stop.x", x)
        self.ev.add("stop.y", y)
        labels = self.static["labels"]
        for i in np.flatnonzero(wrong):
            who = story.article(
                story.singular(labels[int(self.ev.get("al.group", np.int64)[pos[i]])])
            )
            self.narration.append(
                (
                    float(t[i]),
                    f"{story.capital(who)} was stopped by officers {self._near(x[i], y[i])} "
                    f"after a false match.",
                )
            )

    def _near(self, x: float, y: float) -> str:
        px, py, names = self.static["places"]
        if not len(names) or not np.isfinite(x):
            return "in town"
        d = np.hypot(px - x, py - y)
        i = int(np.argmin(d))
        return f"at {names[i]}" if d[i] < 150 else f"near {names[i]}"

    # ---------------------------------------------------------------- playback (any thread)
    def limit_s(self) -> float:
        return min(self.computed_s, self.duration_s)

    def clock_s(self, now: float | None = None) -> float:
        """The playback clock: simulated seconds a viewer sees now."""
        now = time.monotonic() if now is None else now
        return self.playhead.at(now, self.limit_s())

    def control(self, action: str, seconds_per_day: float | None = None) -> None:
        """Play, pause, step (one simulated hour), reset, or a new speed."""
        with self.lock:
            now, lim = time.monotonic(), self.limit_s()
            ph = self.playhead
            if action == "play":
                if ph.at(now, lim) >= self.duration_s:
                    ph.reset(now)  # played to the end: Play plays the day again
                ph.play(now, lim)
            elif action == "pause":
                ph.pause(now, lim)
            elif action == "step":
                ph.step(now, lim)
            elif action == "reset":
                ph.reset(now)
            elif action == "speed" and seconds_per_day is not None:
                ph.set_speed(seconds_per_day, now, lim)

    # ---------------------------------------------------------------- viewing (any thread)
    def snapshot(self, now: float | None = None) -> dict[str, Any]:
        """Everything the page shows, at the playback clock (JSON-friendly)."""
        with self.lock:
            t = self.clock_s(now)
            at_end = t >= self.duration_s
            if self.status == "computed":
                status = "done" if at_end else "running" if self.playhead.playing else "paused"
            elif self.status == "running" and not self.playhead.playing:
                status = "paused"
            else:
                status = self.status
            out: dict[str, Any] = {
                "status": status,
                "message": self.message,
                "clock": story.clock(t),
                "t_s": t,
                "progress": t / self.duration_s if self.duration_s else 0.0,
                "playing": self.playhead.playing,
                "controls": self.controls.__dict__,
            }
            if not self.static or self.status in ("failed", "shelved"):
                return out
            out.update(self._figures(t))
            if status == "done":
                if "assembly_alarms" in self.static["relevant"]:
                    out["assemblies"] = measures.assemblies(self.ev)
                out["summary"] = story.day_summary(out, self.preset)
            return out

    def _figures(self, t: float) -> dict[str, Any]:
        ev = self.ev
        labels = self.static["labels"]
        relevant = self.static["relevant"]
        counters = measures.counters(ev, t)
        out: dict[str, Any] = {
            "relevant": relevant,
            "counters": counters,
            "groups": {"labels": labels, **measures.false_alert_rates(ev, t, len(labels))},
            "series": measures.series(ev, t, self.series_keys()),
            "map": self._map(t),
            "narration": story.recent(self.narration, t),
            "gathering_names": self.gathering_names,
            "residents": self.static["residents"],
            "duration_h": self.duration_s / 3600.0,
        }
        if "patrol_stops" in relevant:
            out["patrol"] = measures.patrol_stop_rates(ev, t, self.static["residents"])
        return out

    def series_keys(self) -> list[str]:
        keys = ["false_alerts", "true_alerts"]
        rel = self.static.get("relevant", [])
        keys += [k for k in ("wrongful_stops", "patrol_stops", "assembly_alarms") if k in rel]
        if self.ev.get("g.routine", bool).size and (~self.ev.get("g.routine", bool)).any():
            keys.append("protesters_named")
        return keys

    def record(self) -> dict[str, Any] | None:
        """The whole day's results and settings (for the runs side by side and another day's
        luck), kept once made (also when the run is put away); None unless computed."""
        with self.lock:
            return self._record_locked()

    def _record_locked(self) -> dict[str, Any] | None:
        if self._record is None and self.status == "computed":
            t = self.duration_s
            labels = self.static["labels"]
            self._record = {
                "controls": dict(self.controls.__dict__),
                "label": PRESETS[self.preset].label,
                "relevant": list(self.static["relevant"]),
                "counters": measures.counters(self.ev, t),
                "groups": {"labels": labels, **measures.false_alert_rates(self.ev, t, len(labels))},
                "series": measures.series(self.ev, t, self.series_keys()),
            }
        return self._record

    def shelve(self) -> None:
        """Drop the events and the world (memory): the run can no longer be shown, but its
        record stays."""
        with self.lock:
            self._record_locked()
            self.cancelled = True
            self.ev = Events()
            self.world = None
            self.narration = []
            self.watchlist = []
            if self.status != "failed":
                self.status = "shelved"
                self.message = "this run was put away to free memory; press Run to run it again"

    def _map(self, t: float) -> dict[str, Any]:
        ev = self.ev
        al_t = ev.get("al.t")
        seen = np.flatnonzero(al_t <= t)[-MAX_MARKS:]
        tru = ev.get("al.true", bool)[seen]
        x, y = ev.get("al.x")[seen], ev.get("al.y")[seen]
        st = ev.get("stop.t")
        sx, sy = ev.get("stop.x"), ev.get("stop.y")
        s_sel = ((st <= t) & ev.get("stop.wrong", bool))[: sx.size]
        asm = ev.get("asm.t") <= t
        gx, gy = ev.get("g.x"), ev.get("g.y")
        g_on = (ev.get("g.start") <= t) & (ev.get("g.end") >= t)
        routine = ev.get("g.routine", bool)
        px, py, names = self.static["places"]
        return {
            "streets": self.static["streets"],
            "cameras": self.static["cameras"],
            "places": (px.round(1).tolist(), py.round(1).tolist(), names),
            "people": self._people(t),
            "true": (x[tru].round(1).tolist(), y[tru].round(1).tolist()),
            "false": (x[~tru].round(1).tolist(), y[~tru].round(1).tolist()),
            "stops": (sx[s_sel].round(1).tolist(), sy[s_sel].round(1).tolist()),
            "assemblies": (
                ev.get("asm.x")[asm].round(1).tolist(),
                ev.get("asm.y")[asm].round(1).tolist(),
            ),
            "gatherings": (gx[g_on & ~routine].tolist(), gy[g_on & ~routine].tolist()),
            "crowds": (gx[g_on & routine].tolist(), gy[g_on & routine].tolist()),
        }

    def _people(self, t: float) -> tuple[list[float], list[float]]:
        """Where the sampled people walking now are, along their routes."""
        w = self.world
        ev = self.ev
        dep, arr = ev.get("trip.depart_s"), ev.get("trip.arrive_s")
        on = np.flatnonzero((dep <= t) & (arr > t))
        if w is None or not on.size:
            return [], []
        o = ev.get("trip.origin_node", np.int64)[on]
        d = ev.get("trip.dest_node", np.int64)[on]
        toward = w.router.row_of[d] >= 0
        ok = toward | (w.router.row_of[o] >= 0)
        on, o, d, toward = on[ok], o[ok], d[ok], toward[ok]
        if not on.size:
            return [], []
        paths = w.router.expand(o, d, toward)
        frac = (t - dep[on]) / np.maximum(arr[on] - dep[on], 1e-9)
        xs, ys = [], []
        cx, cy = w.city.node_x_m, w.city.node_y_m
        for i in range(on.size):
            s, e = paths.offset[i], paths.offset[i + 1]
            along = paths.along_m[s:e]
            nodes = paths.node[s:e]
            if not along.size:
                continue
            at = frac[i] * along[-1]
            xs.append(round(float(np.interp(at, along, cx[nodes])), 1))
            ys.append(round(float(np.interp(at, along, cy[nodes])), 1))
        return xs, ys
