"""Benchmark: a sweep of 32 points x 4 replications of classroom_small.

Targets (issue "Comparisons, sweeps on Dask, and the policy report"): at least 1.8x faster on 2
local workers than on 1, and the Dask path (a LocalCluster of 2 single-threaded worker
processes on the same machine) at most 15% slower than 2 local processes. All three runs must
give the same dataset.

    python benchmarks/bench_sweep.py [--points 32] [--replications 4] [--json] [--check]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SCENARIO = HERE.parent / "scenarios" / "classroom_small.toml"


def grid(points: int) -> dict[str, list[float]]:
    """``points`` thresholds by two camera counts."""
    half = max(points // 2, 1)
    return {"facematch.threshold": [round(float(t), 4) for t in np.linspace(0.5, 0.7, half)],
            "deployment.0.count": [20, 40]}


def same(a: object, b: object) -> bool:
    import pyarrow as pa

    assert isinstance(a, pa.Table) and isinstance(b, pa.Table)
    if a.schema != b.schema or a.num_rows != b.num_rows:
        return False
    for name in a.column_names:
        x, y = a.column(name).to_numpy(), b.column(name).to_numpy()
        ok = np.array_equal(x, y, equal_nan=True) if x.dtype.kind == "f" else \
            np.array_equal(x, y)
        if not ok:
            return False
    return True


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--points", type=int, default=32)
    p.add_argument("--replications", type=int, default=4)
    p.add_argument("--json", action="store_true")
    p.add_argument("--check", action="store_true")
    a = p.parse_args(argv)
    from distributed import LocalCluster

    from sim.experiments import sweep

    g = grid(a.points)
    times: dict[str, float] = {}
    tables = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, workers in (("local, 1 worker", 1), ("local, 2 workers", 2)):
            print(f"sweeping on {label} ...", file=sys.stderr)
            t0 = time.perf_counter()
            tables[label] = sweep(SCENARIO, g, replications=a.replications,
                                  out=Path(tmp) / label.replace(" ", "_").replace(",", ""),
                                  workers=workers)
            times[label] = time.perf_counter() - t0
        print("sweeping on Dask, 2 workers ...", file=sys.stderr)
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster:
            t0 = time.perf_counter()
            tables["dask, 2 workers"] = sweep(SCENARIO, g, replications=a.replications,
                                              out=Path(tmp) / "dask",
                                              scheduler=cluster.scheduler_address)
            times["dask, 2 workers"] = time.perf_counter() - t0
    speedup = times["local, 1 worker"] / times["local, 2 workers"]
    dask_cost = times["dask, 2 workers"] / times["local, 2 workers"] - 1
    identical = all(same(t, tables["local, 1 worker"]) for t in tables.values())
    runs = len(g["facematch.threshold"]) * len(g["deployment.0.count"]) * a.replications
    report = {"runs": runs, "seconds": times, "speedup_2_over_1": speedup,
              "dask_extra_cost": dask_cost, "identical": identical}
    if a.json:
        print(json.dumps(report, indent=2))
    else:
        for k, v in times.items():
            print(f"{k:<18} {v:7.1f} s  ({runs / v:5.2f} runs/s)")
        print(f"2 workers over 1: x{speedup:.2f} (target at least x1.8)")
        print(f"Dask over local processes: {dask_cost:+.0%} (target at most +15%)")
        print(f"identical datasets: {identical}")
    ok = identical and speedup >= 1.8 and dask_cost <= 0.15
    return 0 if ok or not a.check else 1


if __name__ == "__main__":
    sys.exit(main())
