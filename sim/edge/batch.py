"""Running many simulations, shared by ``sim.edge.experiments`` and ``sim.edge.sensitivity_runs``:
tasks on local processes or a Dask cluster, and the tables and output directories they write.

Every task is a pure function of (scenario, overrides, seed, replication), so results do not depend
on where a run executed. Tables are written to a temporary name and renamed, so a killed run leaves
only whole files.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from sim.errors import UserError, short
from sim.files import atomic_path, write_json
from sim.scenario import Scenario

ProgressFn = Callable[[int, int], None]
MAX_POINTS = 100_000  # points of one sweep grid
MAX_REPLICATIONS = 100_000


def _worker_init(parent_pid: int) -> None:
    """In each local worker process: Ctrl-C is the parent's to handle (it stops the pool),
    and a worker whose parent died (killed, say) exits instead of running on."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="survsim-parent-watch", daemon=True).start()


def run_task(
    scenario: dict[str, Any], seed: int, replication: int, out: str | None = None
) -> dict[str, float]:
    """One run, returning its flattened summary (executed in a worker process)."""
    from analysis.compare import flatten
    from sim.edge.api import run
    from sim.procs import tune_allocator

    tune_allocator()  # a worker process of ours (or Dask's): see sim.procs
    sc = Scenario.model_validate(scenario)
    return flatten(run(sc, seed=seed, replication=replication, out=out, overwrite=True).summary)


_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "ARROW_NUM_THREADS")


def _workers(n: int | None) -> int:
    return max(1, n if n else (os.cpu_count() or 1))


@dataclass
class Task:
    """One run: what it belongs to (``key``), its scenario and replication, and the run directory
    to keep it in (or None)."""

    key: Any
    scenario: dict[str, Any]
    replication: int
    out: str | None = None


def execute(
    tasks: list[Task],
    seed: int,
    *,
    workers: int | None,
    scheduler: str | None,
    on_result: Callable[[Task, dict[str, float]], None],
    progress: ProgressFn | None,
) -> None:
    """Run the tasks on local processes, or on a Dask cluster when given its address."""
    done = 0
    total = len(tasks)
    if scheduler:
        from distributed import as_completed

        from sim.edge.cluster import connected, is_connection_loss

        where = f"--scheduler {short(scheduler, 100)}"
        with connected(scheduler) as client:
            try:
                futs = {
                    client.submit(
                        run_task, t.scenario, seed, t.replication, t.out, pure=False, retries=3
                    ): t
                    for t in tasks
                }
                for fut in as_completed(futs):
                    try:
                        metrics = fut.result()
                    except UserError:
                        raise
                    except Exception as exc:
                        if is_connection_loss(exc):
                            raise UserError(
                                f"{where}: lost the Dask scheduler before every run "
                                f"finished ({type(exc).__name__}); {done} of {total} "
                                f"runs were done"
                            ) from None
                        raise
                    on_result(futs[fut], metrics)
                    done += 1
                    if progress:
                        progress(done, total)
            except UserError:
                raise
            except Exception as exc:
                if is_connection_loss(exc):
                    raise UserError(
                        f"{where}: lost the Dask scheduler before every run finished "
                        f"({type(exc).__name__}); {done} of {total} runs were done"
                    ) from None
                raise
        return
    # One thread per worker process: the processes are the parallelism, and numeric libraries
    # that each start a thread per core would fight over the same cores (Dask's workers do the
    # same). Fresh ('spawn') processes read these settings when they import numpy and arrow.
    ctx = multiprocessing.get_context("spawn")
    saved = {k: os.environ.get(k) for k in _THREAD_VARS}
    os.environ.update(dict.fromkeys(_THREAD_VARS, "1"))
    try:
        _run_pool(tasks, seed, ctx, _workers(workers), on_result, progress)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    """While the block runs (in the main thread; elsewhere a no-op), SIGINT is ignored, which
    processes started then inherit, and blocked, so one that arrives meanwhile is held and
    raised here when the block ends, not lost."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    can_block = hasattr(signal, "pthread_sigmask")
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT}) if can_block else None
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, before)
        if mask is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)  # a held Ctrl-C arrives now


def _run_pool(
    tasks: list[Task],
    seed: int,
    ctx: Any,
    n: int,
    on_result: Callable[[Task, dict[str, float]], None],
    progress: ProgressFn | None,
) -> None:
    done, total = 0, len(tasks)
    pool = ProcessPoolExecutor(
        max_workers=n, mp_context=ctx, initializer=_worker_init, initargs=(os.getpid(),)
    )
    try:
        # The workers start with Ctrl-C ignored (a disposition they inherit), so one pressed
        # while they are still importing does not print their tracebacks; the parent restores
        # its own handler once they exist, and stops them itself.
        with _sigint_ignored():
            pending: dict[Future[dict[str, float]], Task] = {
                pool.submit(run_task, t.scenario, seed, t.replication, t.out): t for t in tasks
            }
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in finished:
                t = pending.pop(fut)
                on_result(t, fut.result())
                done += 1
                if progress:
                    progress(done, total)
    except BaseException:
        # Ctrl-C, or a run that failed: stop the other runs now rather than wait for them.
        workers = list(getattr(pool, "_processes", {}).values())
        manager = getattr(pool, "_executor_manager_thread", None)  # shutdown() drops it
        pool.shutdown(wait=False, cancel_futures=True)
        for w in workers:
            with contextlib.suppress(Exception):
                w.terminate()
        # Let the pool's manager thread see its workers gone and close its wake-up pipe
        # before the interpreter exits: otherwise the exit hook of concurrent.futures can
        # write to that pipe while the thread closes it, and print a traceback (EBADF).
        if manager is not None:
            with contextlib.suppress(BaseException):
                manager.join(timeout=30)
        raise
    pool.shutdown(wait=True)


def output_dir(
    out: Path, meta: dict[str, Any], resume: bool, settings: Sequence[str], kind: str, what: str
) -> Path:
    """The output directory of a sweep or sensitivity run: new, or with ``resume`` the same
    design's (the same settings and the same scenario content at every point)."""
    record = out / f"{kind}.json"
    if resume and record.is_file():
        try:
            before = json.loads(record.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UserError(f"{record}: cannot read the {kind} to resume ({exc})") from None
        now = json.loads(json.dumps(meta))
        if not isinstance(before, dict):
            before = {}
        if any(before.get(k) != now[k] for k in settings):
            raise UserError(
                f"{out}: --resume with a different {what} than the {kind} already there"
            )
        if before.get("scenario_hashes") != now["scenario_hashes"]:
            raise UserError(
                f"{out}: --resume, but the scenario's content (the file, or a file "
                f"it extends) changed since this {kind} started; start a new "
                f"{kind} with another --out"
            )
    else:
        out = fresh_dir(out)  # also with --resume, when there is nothing there yet
    (out / "points").mkdir(parents=True, exist_ok=True)
    write_json(record, meta)
    return out


def write_atomic(table: pa.Table, path: Path) -> None:
    with atomic_path(path) as tmp:
        pq.write_table(_with_versions(table), tmp)


def _with_versions(table: pa.Table) -> pa.Table:
    """The table with the survsim and library versions in its metadata."""
    from sim import __version__
    from sim.edge.api import library_versions

    return table.replace_schema_metadata(
        {
            **(table.schema.metadata or {}),
            b"survsim_version": __version__.encode(),
            b"library_versions": json.dumps(library_versions(), sort_keys=True).encode(),
        }
    )


def rows_table(rows: list[dict[str, Any]], keys: Mapping[str, pa.DataType]) -> pa.Table:
    """Rows of many runs as a table: the key columns (name -> type), then replication, metric
    and value."""
    cols: dict[str, pa.Array] = {k: pa.array([r[k] for r in rows], t) for k, t in keys.items()}
    cols["replication"] = pa.array([r["replication"] for r in rows], pa.int32())
    cols["metric"] = pa.array([r["metric"] for r in rows], pa.string())
    cols["value"] = pa.array([r["value"] for r in rows], pa.float64())
    return pa.table(cols)


def fresh_dir(out: Path) -> Path:
    """A new (or empty) output directory; an existing non-empty one is never overwritten."""
    try:
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise UserError(
                f"{out}: already exists and is not empty; choose another --out "
                f"(or --resume a sweep)"
            )
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"{out}: cannot create the output directory ({exc})") from None
    return out
