"""Many runs: comparisons of scenarios and parameter sweeps, on local processes or Dask.

An edge module (like ``sim.edge.api``): it runs simulations and hands their summaries to
``analysis.compare``. Replication ``r`` of every scenario or sweep point uses the same seed and
replication index, so they share their common random numbers. Results do not depend on where a
run executed: every task is a pure function of (scenario, overrides, seed, replication).

Sweeps write each point's rows as soon as its replications are done (one Parquet file per point,
written to a temporary name and renamed, so a killed run leaves only whole points), and
``resume`` skips the points already on disk.

How the tasks run (local processes or Dask) and how their tables are written is in
``sim.edge.batch``; sensitivity analyses are in ``sim.edge.sensitivity_runs`` (their functions
re-exported here).
"""

from __future__ import annotations

import itertools
import math
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from sim import tomlio
from sim.edge.batch import MAX_POINTS as MAX_POINTS
from sim.edge.batch import MAX_REPLICATIONS as MAX_REPLICATIONS
from sim.edge.batch import ProgressFn as ProgressFn
from sim.edge.batch import Task, execute, fresh_dir, output_dir, rows_table, write_atomic
from sim.edge.batch import run_task as run_task
from sim.edge.sensitivity_runs import MAX_FACTORS as MAX_FACTORS
from sim.edge.sensitivity_runs import check_design as check_design
from sim.edge.sensitivity_runs import parse_vary as parse_vary
from sim.edge.sensitivity_runs import sensitivity as sensitivity
from sim.errors import UserError, short, shown
from sim.files import write_json
from sim.scenario import Scenario, load_scenario, unique_names


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
    out = fresh_dir(Path(out))
    tasks = [
        Task((name, r), sc.to_dict(), r, str(out / "runs" / name) if r == 0 else None)
        for r in range(replications)
        for name, sc in zip(names, scenarios, strict=True)
    ]
    rows: list[dict[str, Any]] = []

    def keep(task: Task, metrics: dict[str, float]) -> None:
        name, r = task.key
        rows.extend(
            {"scenario": name, "replication": r, "metric": m, "value": v}
            for m, v in metrics.items()
        )

    execute(
        tasks, common_seed, workers=workers, scheduler=scheduler, on_result=keep, progress=progress
    )
    rows.sort(key=lambda x: (names.index(x["scenario"]), x["replication"], x["metric"]))
    write_atomic(rows_table(rows, {"scenario": pa.string()}), out / "replications.parquet")
    table = comparison_table(rows, names)
    write_atomic(table, out / "comparison.parquet")
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
    out = output_dir(
        out,
        meta,
        resume,
        ("scenario", "grid", "replications", "seed"),
        "sweep",
        "grid, scenario, seed or number of replications",
    )
    todo = [i for i in range(len(points)) if not _point_file(out, i).exists()]
    tasks = [Task(i, scenarios[i].to_dict(), r) for i in todo for r in range(replications)]
    partial: dict[int, list[dict[str, Any]]] = {i: [] for i in todo}
    counts: dict[int, int] = dict.fromkeys(todo, 0)

    def keep(task: Task, metrics: dict[str, float]) -> None:
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
            write_atomic(rows_table(rows, key_types), _point_file(out, i))

    execute(
        tasks, common_seed, workers=workers, scheduler=scheduler, on_result=keep, progress=progress
    )
    table = pa.concat_tables([pq.read_table(_point_file(out, i)) for i in range(len(points))])
    table = table.sort_by(
        [("point", "ascending"), ("replication", "ascending"), ("metric", "ascending")]
    )
    write_atomic(table, out / "sweep.parquet")
    return table


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


def _toml(v: Any) -> str:
    return tomlio.value(v)


def _text(v: Any) -> str:
    return v if isinstance(v, str) else _toml(v)
