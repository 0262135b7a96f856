"""One run across a Dask cluster (``survsim run --scheduler ADDRESS``, ``sim.run(scheduler=)``).

People and their captures are independent until the system view sees them: routing the trips,
finding their camera passages and patrol encounters and deciding what the instruments return of
each capture (``sim.truth``) is most of the engine's work and needs nothing from the system.
So:

- every worker builds its own copy of the world from the scenario, seed and replication (a pure
  function of them: the same bits everywhere, checked by a fingerprint of the trips, people's
  speeds and cameras against this process's world), instead of receiving it;
- the workers compute the routed rows of the run's chunks of trips (``sim.truth.route_plan``,
  each chunk whole windows of departures), a few chunks ahead of the clock;
- this process runs the engine: the clock, the other sensors (doors, crowds, facilities), the
  system view, alerts, reviews and stops, on the rows as they come back in chunk order, and
  writes the files. Captures are released in time order as always, so the output is the
  single-process run's, byte for byte.

What stays in this process is the one system stage, which is sequential by nature (alerts queue
for the same reviewers and officers). Nothing big travels to the workers (the scenario); the
routed rows travel back (about 60 bytes per capture).

A worker keeps the world of its latest runs (:data:`_KEEP`) until this process says the run is
over (:func:`forget`).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

from sim.errors import UserError, short
from sim.scenario import Scenario
from sim.sensors import Output
from sim.truth import Chunk, TruthSide, fingerprint
from sim.world import World, build_world

_KEEP = 2  # worlds a worker keeps (runs of one client at a time, with room for one more)
_worlds: dict[str, tuple[TruthSide, str]] = {}  # run key -> its truth side, fingerprint
_lock = threading.Lock()


class DifferentWorldError(Exception):
    """A worker built another world than the client from the same scenario and seed."""


# ------------------------------------------------------------------ on the workers
def _truth(key: str, scenario: Scenario, seed: int, replication: int) -> tuple[TruthSide, str]:
    """The run's truth side on this worker and its world's fingerprint, built on first use
    (one build per worker, even with several threads)."""
    from sim.procs import tune_allocator

    with _lock:
        got = _worlds.get(key)
        if got is None:
            tune_allocator()
            while len(_worlds) >= _KEEP:
                _worlds.pop(next(iter(_worlds)))
            world = build_world(scenario, seed=seed, replication=replication)
            got = _worlds[key] = (TruthSide(world), fingerprint(world))
        return got


def prepare(key: str, scenario: Scenario, seed: int, replication: int) -> str:
    """Build the run's world on this worker; its fingerprint."""
    return _truth(key, scenario, seed, replication)[1]


def chunk_rows(
    key: str, scenario: Scenario, seed: int, replication: int, expected: str, a: int, b: int
) -> Output:
    """The routed rows of trips ``a:b`` (``sim.truth.TruthSide.routed_rows``), from a world
    whose fingerprint is the client's (``expected``; a worker that joined late builds its
    world here)."""
    truth, mine = _truth(key, scenario, seed, replication)
    if mine != expected:
        raise DifferentWorldError(mine)
    return truth.routed_rows(a, b)


def forget(key: str) -> bool:
    """Drop a run's world from this worker and hand its memory back to the system."""
    from sim.edge.api import release_freed_memory

    with _lock:
        had = _worlds.pop(key, None) is not None
    release_freed_memory()
    return had


# ------------------------------------------------------------------ in this process
@contextlib.contextmanager
def connected(scheduler: str) -> Iterator[Any]:
    """A Dask client of the scheduler at ``scheduler``, closed after the block; a scheduler
    that cannot be reached or is lost is one readable message."""
    try:
        from distributed import Client
    except ImportError as exc:  # pragma: no cover - a dependency
        raise UserError(f"--scheduler needs dask.distributed ({exc})") from None
    where = f"--scheduler {short(scheduler, 100)}"
    # distributed logs its reconnection attempts (with tracebacks) at ERROR; what matters to
    # the user is said in one message.
    for name in ["distributed", *logging.root.manager.loggerDict]:
        if name.split(".")[0] == "distributed":
            logging.getLogger(name).setLevel(logging.CRITICAL)
    try:
        client = Client(scheduler, timeout=10)
    except Exception as exc:  # a bad address, a refused connection, a timeout, ...
        raise UserError(
            f"{where}: cannot reach a Dask scheduler there "
            f"({type(exc).__name__}: {short(str(exc), 200)}); expected an "
            f"address such as tcp://10.0.0.5:8786"
        ) from None
    try:
        yield client
    finally:
        with contextlib.suppress(Exception):  # the scheduler may be gone already
            client.close(timeout=5)


def is_connection_loss(exc: BaseException) -> bool:
    """A Dask connection to the scheduler or a worker gone (CommClosedError and kin)."""
    import asyncio

    return isinstance(exc, OSError | TimeoutError | asyncio.TimeoutError) or type(exc).__name__ in (
        "CommClosedError",
        "FutureCancelledError",
        "CancelledError",
        "KilledWorker",
    )


class ClusterRun:
    """The workers' side of one run, seen from this process: their worlds (started before
    this process builds its own, so the builds overlap) and the routed rows of each chunk
    (a :class:`sim.truth.RoutedSource`).

    Parameters
    ----------
    client
        A connected ``distributed.Client``.
    scenario, seed, replication
        The run.
    ahead
        Chunks computed ahead of the clock, per worker thread.
    """

    def __init__(
        self, client: Any, scenario: Scenario, seed: int, replication: int, ahead: int = 3
    ) -> None:
        self.client = client
        self.where = f"--scheduler {short(str(client.scheduler.address), 100)}"
        self.args = (f"run-{uuid.uuid4().hex}", scenario, seed, replication)
        workers = client.scheduler_info()["workers"]
        if not workers:
            raise UserError(f"{self.where}: the cluster has no workers")
        threads = sum(int(w.get("nthreads", 1)) for w in workers.values())
        self.ahead = max(2, ahead * threads)
        self._prepared = {
            addr: client.submit(
                prepare, *self.args, workers=[addr], allow_other_workers=False, pure=False
            )
            for addr in workers
        }
        self.plan: Sequence[Chunk] = ()
        self._futures: dict[int, Any] = {}
        self._submitted = 0
        self._expected = ""
        self._closed = False

    def check(self, world: World) -> None:
        """Wait for the workers' worlds and hold each to this process's ``world``."""
        self._expected = fingerprint(world)
        for addr, fut in self._prepared.items():
            if self._result(fut) != self._expected:
                raise self._different(f"at {addr}")
        self._prepared.clear()

    def _different(self, which: str) -> UserError:
        return UserError(
            f"{self.where}: the worker {short(which, 60)} built a different world from the "
            f"same scenario and seed (another survsim or library version, or another map "
            f"file at the scenario's city.path?); every worker must install survsim from "
            f"the same lock file and see the same files"
        )

    # RoutedSource
    def start(self, plan: Sequence[Chunk]) -> None:
        self.plan = plan
        self._submit(self.ahead)

    def rows(self, i: int) -> Output:
        self._submit(i + 1 + self.ahead)
        fut = self._futures.pop(i)
        rows: Output = self._result(fut)
        fut.release()
        return rows

    def close(self) -> None:
        """Cancel what is still computing and drop the run's world from every worker (once:
        the run calls it when its batches are out, and again when it ends)."""
        if self._closed:
            return
        self._closed = True
        for fut in [*self._futures.values(), *self._prepared.values()]:
            with contextlib.suppress(Exception):
                fut.cancel()
        self._futures.clear()
        with contextlib.suppress(Exception):
            self.client.run(forget, self.args[0])

    def _submit(self, upto: int) -> None:
        while self._submitted < min(upto, len(self.plan)):
            a, b = self.plan[self._submitted]
            self._futures[self._submitted] = self.client.submit(
                chunk_rows, *self.args, self._expected, a, b, pure=False, retries=2
            )
            self._submitted += 1

    def _result(self, fut: Any) -> Any:
        try:
            return fut.result()
        except UserError:
            raise
        except DifferentWorldError:
            raise self._different("that took a chunk of trips") from None
        except Exception as exc:
            if is_connection_loss(exc):
                raise UserError(
                    f"{self.where}: lost the Dask scheduler or its workers during the run "
                    f"({type(exc).__name__})"
                ) from None
            raise
