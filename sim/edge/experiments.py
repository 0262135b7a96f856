"""Many runs: comparisons of scenarios and parameter sweeps, on local processes or Dask.

An edge module (like ``sim.edge.api``): it runs simulations and hands their summaries to
``analysis.compare``. Replication ``r`` of every scenario or sweep point uses the same seed and
replication index, so they share their common random numbers. Results do not depend on where a
run executed: every task is a pure function of (scenario, overrides, seed, replication).

Sweeps write each point's rows as soon as its replications are done (one Parquet file per point,
written to a temporary name and renamed, so a killed run leaves only whole points), and
``resume`` skips the points already on disk.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import json
import logging
import math
import multiprocessing
import os
import signal
import threading
import time
import tomllib
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from sim import tomlio
from sim.errors import UserError, short, shown
from sim.files import atomic_path, write_json
from sim.rng import Streams, declare
from sim.scenario import Scenario, load_scenario, unique_names

if TYPE_CHECKING:
    from analysis.sensitivity import Factor

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
class _Task:
    key: Any
    scenario: dict[str, Any]
    replication: int
    out: str | None = None


def _execute(
    tasks: list[_Task],
    seed: int,
    *,
    workers: int | None,
    scheduler: str | None,
    on_result: Callable[[_Task, dict[str, float]], None],
    progress: ProgressFn | None,
) -> None:
    """Run the tasks on local processes, or on a Dask cluster when given its address."""
    done = 0
    total = len(tasks)
    if scheduler:
        try:
            from distributed import Client, as_completed
        except ImportError as exc:  # pragma: no cover - a dependency
            raise UserError(f"--scheduler needs dask.distributed ({exc})") from None
        where = f"--scheduler {short(scheduler, 100)}"
        # distributed logs its reconnection attempts (with tracebacks) at ERROR; what matters
        # to the user is said below in one message.
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
                    if _is_connection_loss(exc):
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
            if _is_connection_loss(exc):
                raise UserError(
                    f"{where}: lost the Dask scheduler before every run finished "
                    f"({type(exc).__name__}); {done} of {total} runs were done"
                ) from None
            raise
        finally:
            with contextlib.suppress(Exception):  # the scheduler may be gone already
                client.close(timeout=5)
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


def _is_connection_loss(exc: BaseException) -> bool:
    """A Dask connection to the scheduler or a worker gone (CommClosedError and kin)."""
    return isinstance(exc, OSError | TimeoutError | asyncio.TimeoutError) or type(exc).__name__ in (
        "CommClosedError",
        "FutureCancelledError",
        "CancelledError",
        "KilledWorker",
    )


def _run_pool(
    tasks: list[_Task],
    seed: int,
    ctx: Any,
    n: int,
    on_result: Callable[[_Task, dict[str, float]], None],
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
            pending: dict[Future[dict[str, float]], _Task] = {
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
        pool.shutdown(wait=False, cancel_futures=True)
        for w in workers:
            with contextlib.suppress(Exception):
                w.terminate()
        raise
    pool.shutdown(wait=True)


# ---------------------------------------------------------------- compare
def compare(
    paths: Sequence[str | Path],
    *,
    replications: int,
    out: str | Path,
    seed: int | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    overrides: Sequence[str] = (),
    progress: ProgressFn | None = None,
) -> pa.Table:
    """Run scenarios side by side, ``replications`` times each, on common random numbers.

    Writes ``replications.parquet`` (every run's metrics), ``comparison.parquet`` (means, 95%
    intervals, paired differences against the first scenario), ``compare.json`` and, for
    replication 0 of each scenario, a full run directory under ``runs/<name>``.
    """
    from analysis.compare import comparison_table

    if replications < 1:
        raise UserError("--replications: expected at least 1")
    scenarios = [load_scenario(p, list(overrides)) for p in paths]
    names = unique_names([s.name for s in scenarios], "-")
    common_seed = scenarios[0].seed if seed is None else seed
    out = _fresh_dir(Path(out))
    tasks = [
        _Task((name, r), sc.to_dict(), r, str(out / "runs" / name) if r == 0 else None)
        for r in range(replications)
        for name, sc in zip(names, scenarios, strict=True)
    ]
    rows: list[dict[str, Any]] = []

    def keep(task: _Task, metrics: dict[str, float]) -> None:
        name, r = task.key
        rows.extend(
            {"scenario": name, "replication": r, "metric": m, "value": v}
            for m, v in metrics.items()
        )

    _execute(
        tasks, common_seed, workers=workers, scheduler=scheduler, on_result=keep, progress=progress
    )
    rows.sort(key=lambda x: (names.index(x["scenario"]), x["replication"], x["metric"]))
    _write_atomic(_rows_table(rows, {"scenario": pa.string()}), out / "replications.parquet")
    table = comparison_table(rows, names)
    _write_atomic(table, out / "comparison.parquet")
    write_json(
        out / "compare.json",
        {
            "scenarios": names,
            "files": [str(p) for p in paths],
            "replications": replications,
            "seed": common_seed,
            # What the intervals hold: run-to-run variation only, or the model's uncertainty too.
            "model_uncertainty": {
                n: sc.facematch.uncertainty for n, sc in zip(names, scenarios, strict=True)
            },
        },
    )
    return table


# ---------------------------------------------------------------- sweep
def parse_grid(items: Sequence[str]) -> dict[str, list[Any]]:
    """``key.path=v1,v2,...`` (values in TOML, bare words as strings) to {key: [values]}."""
    grid: dict[str, list[Any]] = {}
    for raw in items:
        key, sep, values = raw.partition("=")
        key = key.strip()
        if not sep or not key or not values.strip():
            raise UserError(f"--grid {shown(raw)}: expected key.path=v1,v2,...")
        if key in grid:
            raise UserError(
                f"--grid {shown(key)}: given twice; give all its values in one "
                f"--grid {key}=v1,v2,..."
            )
        parsed = []
        for v in values.split(","):
            if not v.strip():
                raise UserError(f"--grid {shown(raw)}: an empty value; expected key.path=v1,v2,...")
            try:
                parsed.append(tomllib.loads(f"v = {v.strip()}")["v"])
            except tomllib.TOMLDecodeError:
                parsed.append(v.strip())
            except (ValueError, RecursionError) as exc:  # 5,000 digits, 600 brackets...
                raise UserError(
                    f"--grid {shown(key)}: cannot read the value {shown(v)} ({type(exc).__name__})"
                ) from None
        grid[key] = parsed
    if not grid:
        raise UserError("sweep: give at least one --grid key.path=v1,v2,...")
    points = math.prod(len(v) for v in grid.values())
    if points > MAX_POINTS:
        raise UserError(f"--grid: {points:,} points; expected at most {MAX_POINTS:,}")
    return grid


def sweep(
    path: str | Path,
    grid: dict[str, list[Any]],
    *,
    replications: int,
    out: str | Path,
    seed: int | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    progress: ProgressFn | None = None,
) -> pa.Table:
    """Run every combination of the grid, ``replications`` times each.

    Each point's rows go to ``points/point-<id>.parquet`` as soon as its replications are done;
    ``sweep.parquet`` holds them all at the end, sorted, whatever ran where.
    """
    if replications < 1:
        raise UserError("--replications: expected at least 1")
    keys = list(grid)
    points = _points(grid)
    scenarios = check_points(path, grid)  # every point, before running any
    common_seed = scenarios[0].seed if seed is None else seed
    out = Path(out)
    # What the points are, by content (the scenario file may be edited between two calls):
    # --resume continues only the same sweep.
    meta = {
        "scenario": str(path),
        "grid": grid,
        "replications": replications,
        "seed": common_seed,
        "scenario_hashes": [sc.content_hash() for sc in scenarios],
    }
    out = _start(
        out,
        meta,
        resume,
        ("scenario", "grid", "replications", "seed"),
        "sweep",
        "grid, scenario, seed or number of replications",
    )
    todo = [i for i in range(len(points)) if not _point_file(out, i).exists()]
    tasks = [_Task(i, scenarios[i].to_dict(), r) for i in todo for r in range(replications)]
    partial: dict[int, list[dict[str, Any]]] = {i: [] for i in todo}
    counts: dict[int, int] = dict.fromkeys(todo, 0)

    def keep(task: _Task, metrics: dict[str, float]) -> None:
        i = task.key
        partial[i].extend(
            {
                "point": i,
                **{k: _text(v) for k, v in points[i].items()},
                "replication": task.replication,
                "metric": m,
                "value": v,
            }
            for m, v in metrics.items()
        )
        counts[i] += 1
        if counts[i] == replications:
            rows = sorted(partial.pop(i), key=lambda x: (x["replication"], x["metric"]))
            key_types = {"point": pa.int32(), **dict.fromkeys(keys, pa.string())}
            _write_atomic(_rows_table(rows, key_types), _point_file(out, i))

    _execute(
        tasks, common_seed, workers=workers, scheduler=scheduler, on_result=keep, progress=progress
    )
    table = pa.concat_tables([pq.read_table(_point_file(out, i)) for i in range(len(points))])
    table = table.sort_by(
        [("point", "ascending"), ("replication", "ascending"), ("metric", "ascending")]
    )
    _write_atomic(table, out / "sweep.parquet")
    return table


# ---------------------------------------------------------------- sensitivity
MAX_FACTORS = 30
declare(
    "sensitivity.design",
    "the Morris trajectories or Sobol scrambling of a sensitivity design, and its bootstrap",
)


def parse_vary(items: Sequence[str]) -> list[Factor]:
    """``key.path=low,high`` (two numbers; integers stay integers), or a face-match assumption's
    path alone for its declared range, to the inputs a sensitivity analysis varies."""
    from analysis.sensitivity import Factor
    from sim.facematch import ASSUMPTION_BY_PATH

    out: list[Factor] = []
    for raw in items:
        key, sep, values = raw.partition("=")
        key = key.strip()
        declared = ASSUMPTION_BY_PATH.get(key)
        label = declared.name if declared else ""
        if not key:
            raise UserError(f"--vary {shown(raw)}: expected key.path=low,high")
        if any(f.key == key for f in out):
            raise UserError(f"--vary {shown(key)}: given twice")
        if not sep:
            if declared is None:
                raise UserError(
                    f"--vary {shown(key)}: expected key.path=low,high; a key alone is only "
                    f"for the face-match model's declared assumptions, which have their "
                    f"range: {', '.join(ASSUMPTION_BY_PATH)}"
                )
            out.append(Factor(key, declared.low, declared.high, False, label))
            continue
        parts = [v.strip() for v in values.split(",")]
        nums: list[int | float] = []
        for v in parts:
            try:
                x = tomllib.loads(f"v = {v}")["v"] if v else None
            except (tomllib.TOMLDecodeError, ValueError, RecursionError):
                x = None
            if isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x):
                raise UserError(
                    f"--vary {shown(raw)}: {shown(v)} is not a number; expected "
                    f"key.path=low,high with two numbers"
                )
            nums.append(x)
        if len(nums) != 2:
            raise UserError(
                f"--vary {shown(raw)}: expected two numbers, low and high (got {len(nums)})"
            )
        low, high = nums
        if not low < high:
            raise UserError(f"--vary {shown(raw)}: expected low < high")
        integer = all(isinstance(v, int) for v in nums)
        if integer and high - low < 3:
            raise UserError(
                f"--vary {shown(raw)}: a whole-number range needs at least four "
                f"values (the design's levels); widen it, or give it as decimals"
            )
        out.append(Factor(key, float(low), float(high), integer, label))
    if not out:
        raise UserError("sensitivity: give at least one --vary key.path=low,high")
    if len(out) > MAX_FACTORS:
        raise UserError(f"--vary: {len(out)} inputs; expected at most {MAX_FACTORS}")
    return out


def _factor_value(f: Factor, v: float) -> str:
    return str(int(v)) if f.integer else _toml(float(v))


def sensitivity(
    path: str | Path,
    factors: Sequence[Factor],
    *,
    method: str = "morris",
    samples: int = 10,
    replications: int = 1,
    against: str | Path | None = None,
    metrics: Sequence[str] | None = None,
    out: str | Path,
    seed: int | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    overrides: Sequence[str] = (),
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Run the scenario (and ``against``, a policy to compare with, on the same inputs) at every
    point of a Morris or Sobol design over ``factors``, plus the scenario as given
    NOISE_REPLICATIONS times; write ``sensitivity.parquet`` (every run), ``indices.parquet``
    and ``sensitivity.json`` (the design and the verdicts). Points are written as they finish
    (``points/``) and ``resume`` skips those already there."""
    from analysis.sensitivity import METRICS, NOISE_REPLICATIONS, design

    roles = {"base": path} if against is None else {"base": path, "against": against}
    n_points = _check_design_size(method, samples, replications, len(factors), len(roles))
    given = {role: load_scenario(p, list(overrides)) for role, p in roles.items()}
    common_seed = given["base"].seed if seed is None else seed
    design_seed = _design_seed(common_seed)
    x = design(factors, method, samples, design_seed)
    scenarios = _design_scenarios(roles, factors, x, overrides)
    out = Path(out)
    meta = {
        "scenario": str(path),
        "against": None if against is None else str(against),
        "factors": [dataclasses.asdict(f) for f in factors],
        "method": method,
        "samples": samples,
        "replications": replications,
        "seed": common_seed,
        "design_seed": design_seed,
        "points": n_points,
        "metrics": list(metrics or METRICS),
        "overrides": list(overrides),
        "scenario_hashes": {
            role: [given[role].content_hash()] + [sc.content_hash() for sc in scs]
            for role, scs in scenarios.items()
        },
    }
    out = _start(
        out,
        meta,
        resume,
        (
            "scenario",
            "against",
            "factors",
            "method",
            "samples",
            "replications",
            "seed",
            "metrics",
            "overrides",
        ),
        "sensitivity",
        "scenario, policy, --vary, method, samples, seed, metrics or number of replications",
    )
    names = [f.key for f in factors]
    todo = [i for i in range(-1, n_points) if not _sens_file(out, i).exists()]
    tasks = []
    for i in todo:
        reps = NOISE_REPLICATIONS if i < 0 else replications
        for role in roles:
            sc = given[role] if i < 0 else scenarios[role][i]
            keep_run = i < 0 and role == "base"
            tasks += [
                _Task(
                    (i, role),
                    sc.to_dict(),
                    r,
                    str(out / "runs" / role) if keep_run and r == 0 else None,
                )
                for r in range(reps)
            ]
    partial: dict[int, list[dict[str, Any]]] = {i: [] for i in todo}
    counts = dict.fromkeys(todo, 0)

    def keep(task: _Task, found: dict[str, float]) -> None:
        i, role = task.key
        point = (
            dict.fromkeys(names, math.nan)
            if i < 0
            else dict(zip(names, map(float, x[i]), strict=True))
        )
        partial[i].extend(
            {
                "point": i,
                **point,
                "role": role,
                "replication": task.replication,
                "metric": m,
                "value": v,
            }
            for m, v in found.items()
        )
        counts[i] += 1
        if counts[i] == (NOISE_REPLICATIONS if i < 0 else replications) * len(roles):
            rows = sorted(partial.pop(i), key=lambda r: (r["role"], r["replication"], r["metric"]))
            key_types = {
                "point": pa.int32(),
                **dict.fromkeys(names, pa.float64()),
                "role": pa.string(),
            }
            _write_atomic(_rows_table(rows, key_types), _sens_file(out, i))

    _execute(
        tasks, common_seed, workers=workers, scheduler=scheduler, on_result=keep, progress=progress
    )
    table = pa.concat_tables([pq.read_table(_sens_file(out, i)) for i in range(-1, n_points)])
    table = table.sort_by(
        [
            ("point", "ascending"),
            ("role", "ascending"),
            ("replication", "ascending"),
            ("metric", "ascending"),
        ]
    )
    _write_atomic(table, out / "sensitivity.parquet")
    return _sensitivity_findings(out, meta, factors, x, table, given)


def check_design(
    path: str | Path,
    factors: Sequence[Factor],
    method: str,
    samples: int,
    against: str | Path | None = None,
    overrides: Sequence[str] = (),
) -> int:
    """Check the scenario (and ``against``) at every point of the design; the points."""
    from analysis.sensitivity import design

    roles = {"base": path} if against is None else {"base": path, "against": against}
    _check_design_size(method, samples, 1, len(factors), len(roles))
    seed = load_scenario(path, list(overrides)).seed
    x = design(factors, method, samples, _design_seed(seed))
    _design_scenarios(roles, factors, x, overrides)
    return len(x)


def _check_design_size(method: str, samples: int, replications: int, k: int, roles: int) -> int:
    """The design's points, once its settings are known to make sense and fit."""
    from analysis.sensitivity import METHODS, NOISE_REPLICATIONS, runs_in

    if method not in METHODS:
        raise UserError(f"--method {shown(method)}: expected one of {', '.join(METHODS)}")
    if samples < 2:
        raise UserError("--samples: expected at least 2")
    if method == "sobol" and samples & (samples - 1):
        raise UserError(
            f"--samples {samples}: Sobol designs need a power of two (e.g. "
            f"{1 << max(1, samples.bit_length() - 1)} or {1 << samples.bit_length()})"
        )
    if replications < 1:
        raise UserError("--replications: expected at least 1")
    n_points = runs_in(method, samples, k)
    total = (n_points * replications + NOISE_REPLICATIONS) * roles
    if n_points > MAX_POINTS or total > MAX_REPLICATIONS:
        raise UserError(
            f"sensitivity: {total:,} runs ({n_points:,} points); expected at most "
            f"{MAX_REPLICATIONS:,}: fewer --samples or inputs"
        )
    return n_points


def _design_seed(seed: int) -> int:
    return int(Streams(seed, 0).generator("sensitivity.design").integers(1, 2**31 - 1))


def _design_scenarios(
    roles: dict[str, str | Path], factors: Sequence[Factor], x: Any, overrides: Sequence[str]
) -> dict[str, list[Scenario]]:
    """Every point's scenario for every role, each checked as ``survsim validate`` would."""
    from sim.world import checked_city

    cities: dict[str, Any] = {}
    out: dict[str, list[Scenario]] = {role: [] for role in roles}
    for row in x:
        sets = [f"{f.key}={_factor_value(f, v)}" for f, v in zip(factors, row, strict=True)]
        for role, p in roles.items():
            try:
                sc = load_scenario(p, [*overrides, *sets])
                checked_city(sc, cities)
            except UserError as exc:
                where = ", ".join(sets)
                raise UserError(
                    [f"{p} at {short(where, 200)}: {q}" for q in exc.problems]
                ) from None
            out[role].append(sc)
    return out


def _sensitivity_findings(
    out: Path,
    meta: dict[str, Any],
    factors: Sequence[Factor],
    x: Any,
    table: pa.Table,
    given: dict[str, Scenario],
) -> dict[str, Any]:
    from analysis.rates import FEW_EVENTS
    from analysis.sensitivity import collect, findings

    summary_path = out / "runs" / "base" / "summary.json"
    run = json.loads(summary_path.read_text("utf-8")) if summary_path.is_file() else {}
    labels = run.get("group_labels") or {}
    names = tuple(sc.name for sc in given.values())
    got = findings(
        factors,
        meta["method"],
        x,
        collect(table.to_pylist(), meta["points"], meta["replications"]),
        meta["metrics"],
        meta["design_seed"],
        reference=run.get("false_alert_reference_group"),
        few=FEW_EVENTS,
        labels=labels,
        names=(names[0], names[-1]),
    )
    rows = got["indices"]
    cols = [
        "target",
        "metric",
        "method",
        "input",
        "mu_star",
        "mu_star_conf",
        "mu",
        "sigma",
        "S1",
        "S1_conf",
        "ST",
        "ST_conf",
        "strength",
        "floor",
        "matters",
    ]
    types = {
        "target": pa.string(),
        "metric": pa.string(),
        "method": pa.string(),
        "input": pa.string(),
        "matters": pa.bool_(),
    }
    _write_atomic(
        pa.table({c: pa.array([r.get(c) for r in rows], types.get(c, pa.float64())) for c in cols}),
        out / "indices.parquet",
    )
    result = {
        **meta,
        "labels": {f.key: f.name for f in factors},
        "metric_ranges": [{**m, "drivers": list(m["drivers"])} for m in got["metrics"]],
        "verdicts": [
            {
                **dataclasses.asdict(v),
                "drivers": list(v.drivers),
                "robust": v.robust,
                "text": v.text({f.key: f.name for f in factors}),
            }
            for v in got["verdicts"]
        ],
        "complete": True,
    }
    write_json(out / "sensitivity.json", result)
    return result


def _sens_file(out: Path, i: int) -> Path:
    return out / "points" / ("given.parquet" if i < 0 else f"point-{i:05d}.parquet")


def _start(
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
        out = _fresh_dir(out)  # also with --resume, when there is nothing there yet
    (out / "points").mkdir(parents=True, exist_ok=True)
    write_json(record, meta)
    return out


def _points(grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    keys = list(grid)
    return [
        dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(grid[k] for k in keys))
    ]


def check_points(path: str | Path, grid: dict[str, list[Any]]) -> list[Scenario]:
    """The scenario at every point of the grid, each checked as ``survsim validate`` checks
    a file (the city built, every place it names, sizes that would exhaust memory)."""
    from sim.world import checked_city

    out = []
    cities: dict[str, Any] = {}
    for p in _points(grid):
        sc = load_scenario(path, [f"{k}={_toml(v)}" for k, v in p.items()])
        where = ", ".join(f"{k}={_text(v)}" for k, v in p.items())
        try:
            checked_city(sc, cities)
        except UserError as exc:
            raise UserError([f"{path} at {short(where, 200)}: {p}" for p in exc.problems]) from None
        out.append(sc)
    return out


def _point_file(out: Path, i: int) -> Path:
    return out / "points" / f"point-{i:05d}.parquet"


def _write_atomic(table: pa.Table, path: Path) -> None:
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


def _toml(v: Any) -> str:
    return tomlio.value(v)


def _text(v: Any) -> str:
    return v if isinstance(v, str) else _toml(v)


def _rows_table(rows: list[dict[str, Any]], keys: Mapping[str, pa.DataType]) -> pa.Table:
    """Rows of many runs as a table: the key columns (name -> type), then replication, metric
    and value."""
    cols: dict[str, pa.Array] = {k: pa.array([r[k] for r in rows], t) for k, t in keys.items()}
    cols["replication"] = pa.array([r["replication"] for r in rows], pa.int32())
    cols["metric"] = pa.array([r["metric"] for r in rows], pa.string())
    cols["value"] = pa.array([r["value"] for r in rows], pa.float64())
    return pa.table(cols)


def _fresh_dir(out: Path) -> Path:
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
