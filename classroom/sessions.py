"""The server's runs: one page session each, shared fairly, bounded in number and memory.

A page (a browser tab) is a *session*; its *client* is the address it comes from. The server:

- computes runs on a few worker threads, taking the next run from the clients in turn (round
  robin), so one client that queues many runs delays its own, not another's;
- refuses a run when its client already has :data:`ACTIVE_PER_CLIENT` runs queued or
  computing, or when :data:`QUEUE_MAX` runs wait in all (a message in the page, nothing lost);
- keeps at most :data:`SESSIONS_PER_CLIENT` sessions per client and :data:`SESSIONS_MAX` in
  all, forgetting the least recently seen, and forgets sessions idle for :data:`IDLE_S`;
- keeps the events of at most :data:`FULL_RUNS` runs (the current run of the most recently
  seen sessions); an earlier run of a session is kept only as its results (the runs side by
  side, :data:`HISTORY` of them).

"Another day's luck" (:meth:`Sessions.luck`) computes the session's current settings again on
:data:`LUCK_DAYS` more replications (other random draws of the same town and policy) and
reports the range of each figure over all the days.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any

from classroom.measures import Share
from classroom.presets import Controls
from classroom.session import Run

ACTIVE_PER_CLIENT = 24  # runs queued or computing per client (a class on one address: 20)
QUEUE_MAX = 64  # runs waiting in all
SESSIONS_PER_CLIENT = 48
SESSIONS_MAX = 400
IDLE_S = 1800.0  # a session unseen this long is forgotten
FULL_RUNS = 40  # runs whose events are kept (about 10-30 MB each)
HISTORY = 6  # earlier runs of a session kept as results
LUCK_DAYS = 5  # more replications for "another day's luck"
RANGE_KEYS = ("false_alerts", "true_alerts", "wrongful_stops", "patrol_stops", "protesters_named")


class BusyError(ValueError):
    """The server will not take this run now (the message says why)."""


@dataclass
class _Session:
    client: str
    current: Run | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    luck: list[Run] = field(default_factory=list)
    luck_of: str = ""  # the run the luck runs repeat
    luck_result: dict[str, Any] | None = None  # their ranges, once all are computed
    last_seen: float = field(default_factory=time.monotonic)


class Sessions:
    """All sessions' runs, and the workers that compute them."""

    def __init__(self, workers: int = 2) -> None:
        self.lock = threading.Condition()
        self.sessions: OrderedDict[str, _Session] = OrderedDict()  # least recently seen first
        self.queues: OrderedDict[str, deque[Run]] = OrderedDict()  # per client, in turn
        self._threads = [
            threading.Thread(target=self._work, name=f"survsim-run-{i}", daemon=True)
            for i in range(workers)
        ]
        for th in self._threads:
            th.start()

    # ---------------------------------------------------------------- the queue
    def _work(self) -> None:
        while True:
            with self.lock:
                run = self._next()
                while run is None:
                    self.lock.wait()
                    run = self._next()
            run.compute()
            with self.lock:
                self.lock.notify_all()

    def _next(self) -> Run | None:
        """The next run, from the client whose turn it is (then at the back of the turn)."""
        for client in list(self.queues):
            q = self.queues[client]
            while q and q[0].cancelled:
                q.popleft()
            if not q:
                del self.queues[client]
                continue
            run = q.popleft()
            self.queues.move_to_end(client)
            if not q:
                del self.queues[client]
            return run
        return None

    def _active(self, client: str) -> int:
        return sum(
            (r.active for s in self.sessions.values() if s.client == client for r in _runs(s)),
            0,
        )

    def _check(self, client: str, n: int, freed: int = 0) -> None:
        """Raise BusyError unless ``client`` may queue ``n`` more runs (``freed``: its runs
        under way that these replace)."""
        for key in list(self.queues):  # runs replaced while waiting leave the queue now
            q = deque(r for r in self.queues[key] if not r.cancelled)
            if q:
                self.queues[key] = q
            else:
                del self.queues[key]
        waiting = sum(len(q) for q in self.queues.values())
        if waiting - freed + n > QUEUE_MAX:
            raise BusyError(f"the server is busy ({waiting} runs waiting); try again in a minute")
        if self._active(client) - freed + n > ACTIVE_PER_CLIENT:
            raise BusyError(
                f"this computer already has {ACTIVE_PER_CLIENT} runs under way; wait for one "
                f"to finish"
            )

    def _push(self, client: str, runs: list[Run]) -> None:
        self.queues.setdefault(client, deque()).extend(runs)
        self.lock.notify_all()

    # ---------------------------------------------------------------- sessions
    def _session(self, session: str, client: str) -> _Session:
        now = time.monotonic()
        s = self.sessions.get(session)
        if s is None:
            s = _Session(client)
            self.sessions[session] = s
        s.last_seen = now
        self.sessions.move_to_end(session)
        self._evict(now, client)
        return s

    def _evict(self, now: float, client: str) -> None:
        for key, s in list(self.sessions.items()):
            if now - s.last_seen > IDLE_S:
                self._forget(key)
        mine = [k for k, s in self.sessions.items() if s.client == client]
        for key in mine[: max(0, len(mine) - SESSIONS_PER_CLIENT)]:
            self._forget(key)
        while len(self.sessions) > SESSIONS_MAX:
            self._forget(next(iter(self.sessions)))
        full = [s.current for s in reversed(self.sessions.values()) if s.current is not None]
        for run in [r for r in full if r.status == "computed"][FULL_RUNS:]:
            run.shelve()

    def _forget(self, key: str) -> None:
        s = self.sessions.pop(key)
        for run in _runs(s):
            run.shelve()

    def start(
        self, session: str, controls: Controls, seconds_per_day: float, client: str = "local"
    ) -> Run:
        """A new run for ``session`` (its previous one kept as results); raises BusyError."""
        run = Run(controls, seconds_per_day)
        with self.lock:
            known = self.sessions.get(session)
            # Refused before anything changes: a refused page evicts nobody, keeps nothing.
            self._check(client, 1, freed=sum(r.active for r in _runs(known)) if known else 0)
            s = self._session(session, client)
            old = s.current
            self._push(client, [run])
            if old is not None:
                rec = old.record()
                if rec is not None:
                    s.history = [*s.history, rec][-HISTORY:]
                old.shelve()
            for r in s.luck:
                r.shelve()
            s.luck, s.luck_of, s.luck_result = [], "", None
            s.current = run
        return run

    def get(self, session: str) -> Run | None:
        with self.lock:
            s = self.sessions.get(session)
            if s is None:
                return None
            s.last_seen = time.monotonic()
            self.sessions.move_to_end(session)  # the most recently seen last (evicted last)
            return s.current

    def history(self, session: str) -> list[dict[str, Any]]:
        """The session's earlier runs' results, oldest first."""
        with self.lock:
            s = self.sessions.get(session)
            return list(s.history) if s else []

    # ---------------------------------------------------------------- another day's luck
    def luck(self, session: str, client: str = "local") -> None:
        """Compute the current run's settings on LUCK_DAYS more replications; raises BusyError,
        or ValueError when there is no finished run to repeat."""
        with self.lock:
            s = self.sessions.get(session)
            cur = s.current if s else None
            if s is None or cur is None or cur.status != "computed":
                raise ValueError("run a day first, then ask what another day's luck would do")
            if s.luck_of == cur.id:
                return  # asked already
            runs = [Run(cur.controls, 0.0, replication=r) for r in range(1, LUCK_DAYS + 1)]
            self._check(client, len(runs))
            self._push(client, runs)
            s.luck, s.luck_of, s.luck_result = runs, cur.id, None

    def luck_ranges(self, session: str) -> dict[str, Any] | None:
        """None when not asked; else {"done": k, "of": n} and, once all are done, each
        figure's lowest and highest value over the run and its replications."""
        with self.lock:
            s = self.sessions.get(session)
            if s is None or s.current is None or not (s.luck or s.luck_result):
                return None
            if s.luck_result is not None:
                return s.luck_result
            runs = [s.current, *s.luck]
            records = [r.record() for r in runs]
            done = [r for r in records if r is not None]
            out: dict[str, Any] = {"done": len(done) - 1, "of": len(runs) - 1}
            if any(r.status in ("failed", "shelved") for r in s.luck):
                return {**out, "failed": True}
            if len(done) < len(runs):
                return out
            s.luck_result = {**out, **ranges(done)}
            for r in s.luck:
                r.shelve()  # their records are all that is needed now (memory)
            s.luck = []
            return s.luck_result


def ranges(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The lowest and highest of each figure over ``records`` (days of the same settings):
    counters that matter to the scenario, the share of alerts wrong (said as "k of every
    100", :class:`classroom.measures.Share`), and each group's false-alert rate, or "few" for
    a group with too few false alerts to tell on some day."""
    out: dict[str, Any] = {"days": len(records), "counters": {}, "rate": []}
    relevant = set(records[0].get("relevant", ())) | {"false_alerts", "true_alerts"}
    for key in RANGE_KEYS:
        vals = [r["counters"][key] for r in records if key in r["counters"]]
        if len(vals) == len(records) and (key in relevant or key == "protesters_named"):
            out["counters"][key] = (min(vals), max(vals))
    shares = [
        Share(r["counters"]["false_alerts"], r["counters"]["alerts"])
        for r in records
        if r["counters"]["alerts"]
    ]
    if shares:
        lo = min(shares, key=lambda x: x.k / x.n)
        hi = max(shares, key=lambda x: x.k / x.n)
        out["false_share"] = (lo.of_100(), hi.of_100())
    labels = records[0]["groups"]["labels"]
    for g in range(len(labels)):
        rates = [r["groups"]["rate"][g] for r in records]
        few = any(r["groups"]["too_few"][g] for r in records)
        if any(x is None for x in rates):
            out["rate"].append(None)
        else:
            out["rate"].append("few" if few else (min(rates), max(rates)))
    return out


def _runs(s: _Session) -> list[Run]:
    return [*([s.current] if s.current is not None else []), *s.luck]
