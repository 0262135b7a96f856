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

import math
import threading
import time
import uuid
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from analysis.metrics import alert_is_true
from classroom.presets import Controls, overrides
from sim.engine import Engine
from sim.errors import UserError
from sim.scenario import load_scenario
from sim.schema import WRONGFUL_STOP
from sim.units import DAY
from sim.world import World, build_world

SAMPLE_PEOPLE = 600  # moving people drawn on the map
MAX_MARKS = 600  # alerts drawn on the map (the most recent)


def _clock(t_s: float) -> str:
    day, rest = divmod(int(t_s), int(DAY))
    h, m = divmod(rest // 60, 60)
    return f"{'day ' + str(day + 1) + ', ' if day else ''}{h:02d}:{m:02d}"


def singular(label: str) -> str:
    """'Black women' -> 'Black woman'; 'Minority men' -> 'minority man'."""
    words = label.split()
    if not words:
        return "person"
    last = {"women": "woman", "men": "man", "people": "person"}.get(words[-1].lower())
    if last is None:
        return f"member of the group {label}"
    first = words[:-1]
    if first and first[0] in ("Minority", "Majority"):
        first[0] = first[0].lower()
    return " ".join([*first, last])


def article(noun: str) -> str:
    return f"an {noun}" if noun[:1].lower() in "aeiou" else f"a {noun}"


@dataclass
class _Events:
    """Columns appended batch by batch (plain lists of numpy arrays, joined on demand)."""

    parts: dict[str, list[np.ndarray]] = field(default_factory=dict)
    cache: dict[str, np.ndarray] = field(default_factory=dict)

    def add(self, name: str, values: np.ndarray) -> None:
        self.parts.setdefault(name, []).append(values)
        self.cache.pop(name, None)

    def get(self, name: str, dtype: Any = np.float64) -> np.ndarray:
        if name not in self.cache:
            p = self.parts.get(name)
            self.cache[name] = np.concatenate(p) if p else np.zeros(0, dtype)
        return self.cache[name]


class Run:
    """A session's run: status, the events so far, and what to show at the playback clock."""

    def __init__(self, controls: Controls, seconds_per_day: float) -> None:
        self.id = uuid.uuid4().hex
        self.controls = controls
        self.seconds_per_day = seconds_per_day
        self.status = "queued"
        self.message = ""
        self.lock = threading.Lock()
        self.created = time.monotonic()
        self.play_start: float | None = None
        self.computed_s = 0.0
        self.duration_s = DAY
        self.finished_compute: float | None = None
        self.ev = _Events()
        self.world: World | None = None
        self.static: dict[str, Any] = {}
        self.watchlist: list[pa.RecordBatch] = []
        self.narration: list[tuple[float, str]] = []
        self.cancelled = False
        self.gathering_names: list[str] = []
        self.sample = np.zeros(0, np.int64)

    # ---------------------------------------------------------------- computing (worker)
    def compute(self) -> None:
        try:
            path, ov = overrides(self.controls)
            scenario = load_scenario(path, ov)
            with self.lock:
                self.status = "building"
            world = build_world(scenario)
            with self.lock:
                self.world = world
                self.duration_s = scenario.duration_s
                self._static(world)
                self.status = "running"
                self.play_start = time.monotonic()
            for name, batch in Engine(world, self._progress).batches():
                if self.cancelled:
                    return
                with self.lock:
                    self._feed(name, batch)
            with self.lock:
                self.computed_s = self.duration_s
                self.finished_compute = time.monotonic()
                self.status = "computed"
        except KeyError as exc:
            self._fail(f"unknown scenario {exc}; pick one from the list")
        except UserError as exc:
            self._fail(str(exc))
        except Exception as exc:
            self._fail(f"the run failed ({type(exc).__name__}: {exc})")

    def _fail(self, message: str) -> None:
        with self.lock:
            self.status = "failed"
            self.message = message

    def _progress(self, done_s: float, total_s: float) -> None:
        with self.lock:
            self.computed_s = done_s

    def _static(self, w: World) -> None:
        city = w.city
        xs: list[float | None] = []
        ys: list[float | None] = []
        for g in city.edge_geometry:
            cx, cy = g.xy
            xs.extend([*map(float, cx), None])
            ys.extend([*map(float, cy), None])
        groups = w.population.group_names
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
        }
        gov = w.scenario.governance
        self.static["relevant"] = [
            *(["stops", "wrongful_stops"] if gov.alert_action != "log" else []),
            *(["patrol_stops"] if w.patrols.n else []),
            *(["assembly_alarms"] if gov.assembly_analytics else []),
        ]
        stride = max(1, w.population.n // SAMPLE_PEOPLE)
        self.sample = np.arange(0, w.population.n, stride)[:SAMPLE_PEOPLE]

    def _feed(self, name: str, batch: pa.RecordBatch) -> None:
        n = batch.num_rows
        if n == 0:
            return
        col = {f: batch.column(f) for f in batch.schema.names}

        def a(f: str) -> np.ndarray:
            return col[f].to_numpy(zero_copy_only=False)

        if name == "watchlist":
            self.watchlist.append(batch)
        elif name == "people":
            self.ev.add("person.group", a("group_id"))
        elif name == "trips":
            keep = np.isin(a("person_id"), self.sample)
            for f in ("person_id", "depart_s", "arrive_s", "origin_node", "dest_node"):
                self.ev.add(f"trip.{f}", a(f)[keep])
        elif name == "captures":
            self.ev.add("cap.id", a("capture_id"))
            self.ev.add("cap.t", a("t_s"))
            self.ev.add("cap.person", a("person_id"))
            self.ev.add("cap.x", a("x_m").astype(np.float64))
            self.ev.add("cap.y", a("y_m").astype(np.float64))
        elif name == "alerts":
            self._alerts(batch, a)
        elif name == "stops":
            self._stops(a, col["outcome"].to_pylist())
        elif name == "patrol_stops":
            self.ev.add("pstop.t", a("t_s"))
        elif name == "assembly_alerts":
            t, x, y, k = a("t_s"), a("x_m"), a("y_m"), a("n_flagged")
            self.ev.add("asm.t", t)
            self.ev.add("asm.x", x)
            self.ev.add("asm.y", y)
            for ti, xi, yi, ki in zip(t, x, y, k, strict=True):
                self.narration.append(
                    (
                        float(ti),
                        f"The system raised an assembly alarm "
                        f"{self._near(xi, yi)}: {int(ki)} flagged people "
                        f"seen together.",
                    )
                )
        elif name == "gathering_participants":
            self.ev.add("gp.person", a("person_id"))
            self.ev.add("gp.gathering", a("gathering_id"))
        elif name == "gatherings":
            self.ev.add("g.x", a("x_m"))
            self.ev.add("g.y", a("y_m"))
            self.ev.add("g.start", a("start_s"))
            self.ev.add("g.end", a("end_s"))
            self.gathering_names = [str(s) for s in col["name"].to_pylist()]
            self.ev.add("g.routine", a("routine"))
        elif name == "identity_log":
            self.ev.add("id.t", a("t_s"))
            self.ev.add("id.person", a("identity"))

    def _capture_rows(self, capture_id: np.ndarray) -> np.ndarray:
        ids = self.ev.get("cap.id", np.int64)
        pos = np.searchsorted(ids, capture_id)
        return np.minimum(pos, max(ids.size - 1, 0))

    def _alerts(self, batch: pa.RecordBatch, a: Any) -> None:
        assert self.world is not None
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
        ):
            self.ev.add(f, v)
        labels = self.static["labels"]
        for i in range(t.size):
            who = article(singular(labels[int(group[i])]))
            if true[i]:
                text = f"A camera {self._near(x[i], y[i])} recognised a person on the watchlist."
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
        if ids.size:
            self.ev.add("stop.x", self.ev.get("al.x")[pos])
            self.ev.add("stop.y", self.ev.get("al.y")[pos])
        labels = self.static["labels"]
        for i in np.flatnonzero(wrong):
            g = int(self.ev.get("al.group", np.int64)[pos[i]]) if ids.size else 0
            x, y = (
                (self.ev.get("al.x")[pos[i]], self.ev.get("al.y")[pos[i]])
                if ids.size
                else (math.nan, math.nan)
            )
            who = article(singular(labels[g]))
            self.narration.append(
                (
                    float(t[i]),
                    f"{who[0].upper()}{who[1:]} "
                    f"was stopped by officers {self._near(x, y)} after a false "
                    f"match.",
                )
            )

    def _near(self, x: float, y: float) -> str:
        px, py, names = self.static["places"]
        if not len(names) or not np.isfinite(x):
            return "in town"
        d = np.hypot(px - x, py - y)
        i = int(np.argmin(d))
        return f"at {names[i]}" if d[i] < 150 else f"near {names[i]}"

    # ---------------------------------------------------------------- viewing (any thread)
    def clock_s(self, now: float | None = None) -> float:
        """The playback clock: simulated seconds a viewer sees now."""
        if self.play_start is None:
            return 0.0
        now = time.monotonic() if now is None else now
        if self.seconds_per_day <= 0:
            played = math.inf
        else:
            played = (now - self.play_start) * DAY / self.seconds_per_day
        return float(min(played, self.computed_s, self.duration_s))

    def snapshot(self) -> dict[str, Any]:
        """Everything the page shows, at the playback clock (JSON-friendly)."""
        with self.lock:
            t = self.clock_s()
            done = self.status == "computed" and t >= self.duration_s
            status = "done" if done else "running" if self.status == "computed" else self.status
            out: dict[str, Any] = {
                "status": status,
                "message": self.message,
                "clock": _clock(t),
                "t_s": t,
                "progress": t / self.duration_s if self.duration_s else 0.0,
                "controls": self.controls.__dict__,
            }
            if not self.static:
                return out
            out["relevant"] = self.static["relevant"]
            ev = self.ev
            cap_t = ev.get("cap.t")
            al_t, al_true = ev.get("al.t"), ev.get("al.true", bool)
            seen = al_t <= t
            n_true = int(np.count_nonzero(al_true[seen]))
            n_alerts = int(np.count_nonzero(seen))
            stop_t, stop_wrong = ev.get("stop.t"), ev.get("stop.wrong", bool)
            s_seen = stop_t <= t
            labels = self.static["labels"]
            false_by_group = np.bincount(
                ev.get("al.group", np.int64)[seen & ~al_true].astype(np.int64),
                minlength=len(labels),
            )
            residents = np.asarray(self.static["residents"], np.float64)
            named = self._protesters_named(t)
            out.update(
                {
                    "counters": {
                        "captures": int(np.count_nonzero(cap_t <= t)),
                        "alerts": n_alerts,
                        "true_alerts": n_true,
                        "false_alerts": n_alerts - n_true,
                        "stops": int(np.count_nonzero(s_seen)),
                        "wrongful_stops": int(np.count_nonzero(stop_wrong[s_seen])),
                        "patrol_stops": int(np.count_nonzero(ev.get("pstop.t") <= t)),
                        "assembly_alarms": int(np.count_nonzero(ev.get("asm.t") <= t)),
                        **(
                            {"protesters_named": named[0], "protesters": named[1]}
                            if named is not None
                            else {}
                        ),
                    },
                    "groups": {
                        "labels": labels,
                        "false_alerts": false_by_group.tolist(),
                        "per_10k": [
                            float(f / r * 10_000) if r else 0.0
                            for f, r in zip(false_by_group, residents, strict=True)
                        ],
                    },
                    "map": self._map(t),
                    "narration": [
                        f"{_clock(ts)}  {text}"
                        for ts, text in sorted(
                            (n for n in self.narration if n[0] <= t),
                            key=lambda n: n[0],
                            reverse=True,
                        )[:8]
                    ],
                }
            )
            return out

    def _protesters_named(self, t: float) -> tuple[int, int] | None:
        routine = self.ev.get("g.routine", bool)
        gid = self.ev.get("gp.gathering", np.int64)
        part = self.ev.get("gp.person", np.int64)
        if routine.size:
            part = part[~routine[np.minimum(gid, routine.size - 1)]]
        if not part.size or not self.gathering_names:
            return None
        ids = self.ev.get("id.person", np.int64)[self.ev.get("id.t") <= t]
        named = int(np.isin(np.unique(part), ids).sum())
        return named, int(np.unique(part).size)

    def _map(self, t: float) -> dict[str, Any]:
        ev = self.ev
        al_t = ev.get("al.t")
        seen = np.flatnonzero(al_t <= t)[-MAX_MARKS:]
        tru = ev.get("al.true", bool)[seen]
        x, y = ev.get("al.x")[seen], ev.get("al.y")[seen]
        st = ev.get("stop.t")
        wrong = ev.get("stop.wrong", bool)
        sx, sy = ev.get("stop.x"), ev.get("stop.y")
        s_sel = (st <= t) & wrong
        s_sel = s_sel[: sx.size]
        asm = ev.get("asm.t") <= t
        gx, gy = ev.get("g.x"), ev.get("g.y")
        g_on = (ev.get("g.start") <= t) & (ev.get("g.end") >= t)
        return {
            "streets": self.static["streets"],
            "cameras": self.static["cameras"],
            "people": self._people(t),
            "true": (x[tru].round(1).tolist(), y[tru].round(1).tolist()),
            "false": (x[~tru].round(1).tolist(), y[~tru].round(1).tolist()),
            "stops": (sx[s_sel].round(1).tolist(), sy[s_sel].round(1).tolist()),
            "assemblies": (
                ev.get("asm.x")[asm].round(1).tolist(),
                ev.get("asm.y")[asm].round(1).tolist(),
            ),
            "gatherings": (gx[g_on].tolist(), gy[g_on].tolist()),
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
            at = frac[i] * (along[-1] if along.size else 0.0)
            xs.append(round(float(np.interp(at, along, cx[nodes])), 1))
            ys.append(round(float(np.interp(at, along, cy[nodes])), 1))
        return xs, ys


class Sessions:
    """The runs of all browser sessions: one current run each, a few computing at a time."""

    def __init__(self, workers: int = 2, keep: int = 200) -> None:
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="survsim-run")
        self.runs: OrderedDict[str, Run] = OrderedDict()
        self.lock = threading.Lock()
        self.keep = keep

    def start(self, session: str, controls: Controls, seconds_per_day: float) -> Run:
        run = Run(controls, seconds_per_day)
        with self.lock:
            old = self.runs.pop(session, None)
            if old is not None:
                old.cancelled = True
            self.runs[session] = run
            while len(self.runs) > self.keep:
                _, gone = self.runs.popitem(last=False)
                gone.cancelled = True
        self.pool.submit(run.compute)
        return run

    def get(self, session: str) -> Run | None:
        with self.lock:
            return self.runs.get(session)
