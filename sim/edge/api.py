"""The Python API: ``load_scenario``, ``run`` and ``stream``.

This is the edge of the package (with the CLI): it joins the engine to the recorder and to the
summary computed by ``analysis``. Model and engine modules never import ``analysis``.
"""

from __future__ import annotations

import contextlib
import json
import platform
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from sim import __version__
from sim.engine import Engine, ProgressFn
from sim.errors import ScenarioError
from sim.files import write_json, write_text_atomic
from sim.recorder import ArrowRecorder, mark_run, prepare_run_dir
from sim.routing_zoned import ZonedRouter
from sim.scenario import Scenario, load_scenario
from sim.schema import SCHEMA_VERSION, TABLES
from sim.world import World, build_world


@dataclass
class RunResult:
    """What a run produced: its tables (in memory, or read back from ``out``) and its summary."""

    tables: dict[str, pa.Table]
    summary: dict[str, Any]
    out: Path | None = None


# Trips routed together on Dask workers: larger tasks than in one process (the chunking changes
# nothing in the output), so a task's overhead is small beside its work.
_CLUSTER_CHUNK = 65_536


def _as_scenario(scenario: Scenario | str | Path | dict[str, Any]) -> Scenario:
    return scenario if isinstance(scenario, Scenario) else load_scenario(scenario)


_LIBRARIES = ("numpy", "scipy", "pyarrow", "shapely", "simpy", "pydantic", "networkx")


def library_versions() -> dict[str, str]:
    """The versions of Python and of the libraries whose behaviour can change a run's output
    (recorded in every output file: same scenario + seed + versions = the same output)."""
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for name in _LIBRARIES:
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:  # pragma: no cover - all are dependencies
            out[name] = "not installed"
    if "osmnx" in sys.modules:  # real maps only
        out["osmnx"] = md.version("osmnx")
    return out


def run_metadata(world: World) -> dict[str, str]:
    s = world.scenario
    return {
        "scenario": s.name,
        "seed": str(world.seed),
        "replication": str(world.replication),
        "scenario_hash": s.content_hash(),
        "schema_version": SCHEMA_VERSION,
        "survsim_version": __version__,
        "duration_s": repr(s.duration_s),
        "library_versions": json.dumps(library_versions(), sort_keys=True),
        "model_uncertainty": (
            f"ensemble draw {world.replication}"
            if s.facematch.uncertainty == "ensemble"
            else "none"
        ),
        # Routes by zones are approximate (sim.routing_zoned); exact trees give shortest paths.
        "routing": "zones" if isinstance(world.router, ZonedRouter) else "exact",
        **({"map_attribution": world.city.attribution} if world.city.attribution else {}),
    }


def stream(
    scenario: Scenario | str | Path | dict[str, Any],
    *,
    seed: int | None = None,
    replication: int = 0,
    on_progress: ProgressFn | None = None,
) -> Iterator[tuple[str, pa.RecordBatch]]:
    """Run a scenario and yield ``(table, RecordBatch)`` in simulated-time order as it goes."""
    world = build_world(_as_scenario(scenario), seed=seed, replication=replication)
    yield from Engine(world, on_progress).batches()


def release_freed_memory() -> None:
    """Hand the memory the run's world held back to the system: a million people's arrays are
    freed into the C allocator's heap, which keeps them (about 1 GiB at 1,000,000 people for 7
    days) unless asked to trim it (glibc's ``malloc_trim``; elsewhere nothing is done)."""
    import ctypes
    import gc

    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def run(
    scenario: Scenario | str | Path | dict[str, Any],
    *,
    seed: int | None = None,
    replication: int = 0,
    out: str | Path | None = None,
    overwrite: bool = False,
    on_progress: ProgressFn | None = None,
    scheduler: str | None = None,
) -> RunResult:
    """Run a scenario to the end.

    Parameters
    ----------
    scenario
        A :class:`Scenario`, a path to a scenario file, or a dictionary.
    seed
        Overrides the scenario's seed.
    replication
        Replication index (its streams derive from the seed and this index).
    out
        Run directory: ``scenario.resolved.toml``, ``events/<table>.arrow`` (written batch by
        batch) and ``summary.json``. Without it the tables stay in memory.
    overwrite
        Replace a run already in ``out``.
    scheduler
        The address of a Dask scheduler: its workers route the trips and find their captures
        (``sim.edge.cluster``), this process runs the system view. The output is the same.
    """
    sc = _as_scenario(scenario)
    if seed is not None:
        if not 0 <= seed < 2**63 or not 0 <= replication < 2**31:
            raise ScenarioError(
                f"seed {seed} / replication {replication}: expected a seed from "
                f"0 to 2**63 - 1 and a replication from 0 to 2**31 - 1"
            )
        sc = sc.model_copy(update={"seed": int(seed)})
    started = time.perf_counter()
    if out is not None:
        prepare_run_dir(Path(out), overwrite=overwrite, check_only=True)
    with _started(sc, replication, on_progress, scheduler) as running:
        if out is None:
            return _in_memory(running, started)
        return _to_dir(running, Path(out), overwrite, started)


class _Running:
    """A run's engine until its batches are all out; then :meth:`done` lets go of it and of its
    world (the trips, trees and people: the analysis reads the files), on the Dask workers too,
    and hands the freed memory back to the system."""

    def __init__(self, engine: Engine, cluster: Any) -> None:
        self._engine: Engine | None = engine
        self.cluster = cluster
        self.meta = run_metadata(engine.w)
        self.scenario = engine.w.scenario

    def batches(self) -> Iterator[tuple[str, pa.RecordBatch]]:
        assert self._engine is not None
        return self._engine.batches()

    def done(self) -> None:
        self._engine = None
        if self.cluster is not None:
            self.cluster.close()
        release_freed_memory()


@contextlib.contextmanager
def _started(
    sc: Scenario, replication: int, on_progress: ProgressFn | None, scheduler: str | None
) -> Iterator[_Running]:
    """The run's world and engine; with ``scheduler``, its Dask workers too."""
    with contextlib.ExitStack() as stack:
        cluster = None
        if scheduler is not None:
            from sim.edge.cluster import ClusterRun, connected

            client = stack.enter_context(connected(scheduler))
            # The workers build their worlds while this process builds its own.
            cluster = ClusterRun(client, sc, sc.seed, replication)
            stack.callback(cluster.close)
        world = build_world(sc, replication=replication)
        if cluster is not None:
            cluster.check(world)
        chunk = _CLUSTER_CHUNK if cluster is not None else None
        running = _Running(Engine(world, on_progress, routes=cluster, route_chunk=chunk), cluster)
        del world  # the engine's until it is done
        yield running


def _in_memory(running: _Running, started: float) -> RunResult:
    from analysis.metrics import summarize

    parts: dict[str, list[pa.RecordBatch]] = {name: [] for name in TABLES}
    for name, batch in running.batches():
        parts[name].append(batch)
    running.done()
    tables = {
        name: pa.Table.from_batches(b, schema=TABLES[name].schema(running.meta))
        for name, b in parts.items()
    }
    return RunResult(tables, summarize(tables, wall_s=time.perf_counter() - started))


def _to_dir(running: _Running, out: Path, overwrite: bool, started: float) -> RunResult:
    from analysis.metrics import read_run, summarize
    from analysis.tracking import tracking_table

    sc, meta = running.scenario, running.meta
    run_dir = prepare_run_dir(out, overwrite=overwrite)
    info = {
        k: meta[k] for k in ("scenario", "seed", "replication", "scenario_hash", "survsim_version")
    }
    mark_run(run_dir, "running", **info, library_versions=library_versions())
    try:
        write_text_atomic(run_dir / "scenario.resolved.toml", sc.to_toml())
        recorder = ArrowRecorder(run_dir / "events", meta)
        try:
            recorder.touch_all()
            for name, batch in running.batches():
                recorder.write(name, batch)
        finally:
            recorder.close()
        running.done()
        tables = read_run(run_dir)
        # Per-person tracking reach (truth against the identity log), next to the summary
        # (which summarises the same table).
        reach = tracking_table(tables, sc.duration_s)
        # Mapped again: the pages the histories read (most of the captures' and trips'
        # columns, gigabytes at a million people for a week) leave the resident set.
        del tables
        release_freed_memory()
        tables = read_run(run_dir)
        summary = summarize(tables, wall_s=time.perf_counter() - started, tracking=reach)
        reach = reach.replace_schema_metadata(meta)
        with (
            pa.OSFile(str(run_dir / "tracking.arrow"), "wb") as sink,
            pa.ipc.new_stream(sink, reach.schema) as writer,
        ):
            writer.write_table(reach)
        write_json(run_dir / "summary.json", summary)
    except BaseException as exc:
        # The folder stays, marked: `report` and `run` then say the run did not finish.
        with contextlib.suppress(OSError):
            mark_run(run_dir, "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed")
        raise
    mark_run(run_dir, "complete")
    return RunResult(tables, summary, run_dir)
