"""Sensitivity analysis runs (``survsim sensitivity``): the scenario, and a policy to compare it
with, at every point of a Morris or Sobol design over some of its inputs, on local processes or
Dask; ``analysis.sensitivity`` makes the design and reads the indices and verdicts from the runs.

Points are written as they finish (``points/``), and ``resume`` skips those already there.
"""

from __future__ import annotations

import dataclasses
import json
import math
import tomllib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from sim import tomlio
from sim.edge.batch import (
    MAX_POINTS,
    MAX_REPLICATIONS,
    ProgressFn,
    Task,
    execute,
    output_dir,
    rows_table,
    write_atomic,
)
from sim.errors import UserError, short, shown
from sim.files import write_json
from sim.rng import Streams, declare
from sim.scenario import Scenario, load_scenario

if TYPE_CHECKING:
    from analysis.sensitivity import Factor


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
    return str(int(v)) if f.integer else tomlio.value(float(v))


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
    from analysis.sensitivity import METRICS, design

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
    out = output_dir(
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
    todo = [i for i in range(-1, n_points) if not _sens_file(out, i).exists()]
    tasks = _point_tasks(todo, roles, given, scenarios, replications, out)
    keep = _point_writer(out, [f.key for f in factors], x, todo, replications, len(roles))
    execute(
        tasks, common_seed, workers=workers, scheduler=scheduler, on_result=keep, progress=progress
    )
    table = _all_points(out, n_points)
    return _sensitivity_findings(out, meta, factors, x, table, given)


def _point_tasks(
    todo: Sequence[int],
    roles: dict[str, str | Path],
    given: dict[str, Scenario],
    scenarios: dict[str, list[Scenario]],
    replications: int,
    out: Path,
) -> list[Task]:
    """The runs of the points not done yet, for every role; point -1 is the scenario as given,
    run NOISE_REPLICATIONS times (the base's first run kept as a run directory)."""
    from analysis.sensitivity import NOISE_REPLICATIONS

    tasks = []
    for i in todo:
        reps = NOISE_REPLICATIONS if i < 0 else replications
        for role in roles:
            sc = given[role] if i < 0 else scenarios[role][i]
            keep_run = i < 0 and role == "base"
            tasks += [
                Task(
                    (i, role),
                    sc.to_dict(),
                    r,
                    str(out / "runs" / role) if keep_run and r == 0 else None,
                )
                for r in range(reps)
            ]
    return tasks


def _point_writer(
    out: Path, names: list[str], x: Any, todo: Sequence[int], replications: int, n_roles: int
) -> Callable[[Task, dict[str, float]], None]:
    """What to do with each finished run: keep its rows, and write its point's file once every
    run of the point (all replications of all roles) is in."""
    from analysis.sensitivity import NOISE_REPLICATIONS

    partial: dict[int, list[dict[str, Any]]] = {i: [] for i in todo}
    counts = dict.fromkeys(todo, 0)

    def keep(task: Task, found: dict[str, float]) -> None:
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
        if counts[i] == (NOISE_REPLICATIONS if i < 0 else replications) * n_roles:
            rows = sorted(partial.pop(i), key=lambda r: (r["role"], r["replication"], r["metric"]))
            key_types = {
                "point": pa.int32(),
                **dict.fromkeys(names, pa.float64()),
                "role": pa.string(),
            }
            write_atomic(rows_table(rows, key_types), _sens_file(out, i))

    return keep


def _all_points(out: Path, n_points: int) -> pa.Table:
    """Every point's rows (the scenario as given first), sorted, written to sensitivity.parquet."""
    table = pa.concat_tables([pq.read_table(_sens_file(out, i)) for i in range(-1, n_points)])
    table = table.sort_by(
        [
            ("point", "ascending"),
            ("role", "ascending"),
            ("replication", "ascending"),
            ("metric", "ascending"),
        ]
    )
    write_atomic(table, out / "sensitivity.parquet")
    return table


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
    write_atomic(
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
