"""What routing by zones (``routing.paths = "zones"``, :mod:`sim.routing_zoned`) costs in
accuracy: the same scenario run with exact shortest paths and with zones, compared in metres
walked (per trip) and in the run's figures (captures, alerts, false alerts), next to how much the
same figures move between two seeds of the exact run (the yardstick of what is noise).

    python benchmarks/bench_zoned.py [--people 50000] [--scenario scenarios/capital_cctv.toml]
    python benchmarks/bench_zoned.py --grid 100 --people 100000   # bench_metro.py's scaled grid
    python benchmarks/bench_zoned.py --set city.rings=40            # a larger radial capital

The route lengths are compared trip by trip on the exact run's trips, routed both ways.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
FIGURES = ("captures", "alerts", "false_alerts", "true_alerts")


def compare(
    path: Path | dict[str, Any], people: int, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    from sim.edge.api import run
    from sim.scenario import load_scenario
    from sim.world import build_world

    over = {"population.people": people, **(extra or {})}
    exact = load_scenario(path, {**over, "routing.paths": "exact"})
    zones = load_scenario(path, {**over, "routing.paths": "zones"})
    t0 = time.perf_counter()
    we = build_world(exact)
    t1 = time.perf_counter()
    wz = build_world(zones)
    t2 = time.perf_counter()
    # The exact run's trips, routed both ways (the runs' own trips differ a little: how long
    # a trip takes moves when the next one starts, and what fits in the day).
    t = we.trips
    root = np.where(t.toward_dest, t.dest_node, t.origin_node)
    other = np.where(t.toward_dest, t.origin_node, t.dest_node)
    shortest = we.router.distance_m(root, other)
    stretch = wz.router.distance_m(root, other) - shortest
    rel = stretch / np.maximum(shortest, 1.0)
    row: dict[str, Any] = {
        "scenario": exact.name,
        "crossings": we.city.n_nodes,
        "people": people,
        "trips": {"exact": int(we.trips.n), "zones": int(wz.trips.n)},
        "zones": getattr(wz.router, "n_zones", None),
        "zone_crossings": getattr(wz.router, "zone_nodes", None),
        "build_s": {"exact": t1 - t0, "zones": t2 - t1},
        "stretch_m": {
            "mean": float(stretch.mean()),
            "p95": float(np.percentile(stretch, 95)),
            "max": float(stretch.max()),
            "min": float(stretch.min()),
        },
        "stretch_share_mean": float(rel.mean()),
        "trips_longer_share": float((stretch > 1e-6).mean()),
        "mean_trip_m": float(shortest.mean()),
    }
    del we, wz
    runs = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, sc, seed in (
            ("exact", exact, None),
            ("zones", zones, None),
            ("exact, next seed", exact, exact.seed + 1),
        ):
            got = run(sc, seed=seed, out=Path(tmp) / name.replace(" ", "_").replace(",", ""))
            runs[name] = {k: got.summary.get(k) for k in FIGURES}
    row["figures"] = runs
    return row


def source(path: Path, grid: int | None, people: int) -> Path | dict[str, Any]:
    """The scenario file, or with ``grid`` the metropolis of bench_metro.py on that grid."""
    if grid is None:
        return path
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import bench_metro

    return bench_metro.scenario(grid, people)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--scenario", type=Path, default=ROOT / "scenarios" / "capital_cctv.toml")
    p.add_argument("--people", type=int, default=50_000)
    p.add_argument("--grid", type=int, help="bench_metro.py's metropolis scaled to SIDE x SIDE")
    p.add_argument("--set", nargs="*", default=[], help="KEY=VALUE overrides, e.g. city.rings=40")
    args = p.parse_args(argv)
    extra = {k: json.loads(v) for k, v in (kv.split("=", 1) for kv in args.set)}
    got = compare(source(args.scenario, args.grid, args.people), args.people, extra)
    print(json.dumps(got, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
